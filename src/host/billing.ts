/**
 * Billing: what a guest has used and may still use, turned from measured CPU time, net bytes and
 * disk into MI and bytes with the host's MIPS rating; the budget a call runs under; and the
 * `usage` and `evict` records that put it in the log (through the Book, which serialises them).
 */
import { HOST_DEFAULTS } from './constants.js'
import { miToNs, nsToMi } from './meter.js'
import { Book } from './book.js'
import type { Budget, CallResult } from './protocol.js'
import type { Guest } from './types.js'
import type { Ledger } from '../ledger/ledger.js'
import type { EvictReason, ResourceVector } from '../ledger/records.js'

/** The per-call limits a budget carries besides the guest's remaining credit. */
export interface CallLimits {
  callWallMs: number
  meteringSliceMs: number
  maxSendsPerCall: number
}

export class Billing {
  /** MI per second of CPU time: set once calibrated (or fixed by the operator). */
  mips = 0
  private readonly book: Book

  constructor(
    ledger: Ledger,
    clock: () => number,
    private readonly limits: CallLimits
  ) {
    this.book = new Book(ledger, clock)
  }

  /** What the guest has used, each figure capped at its reservation (what the log may say). */
  used(g: Guest): ResourceVector {
    const cap = (v: bigint, r: bigint): bigint => (v < r ? v : r)
    return {
      cpu: cap(this.measuredCpu(g), g.reserved.cpu),
      disk: cap(g.disk, g.reserved.disk),
      net: cap(g.net, g.reserved.net)
    }
  }

  /** cpu MI measured, before capping at the reservation. */
  measuredCpu(g: Guest): bigint {
    return g.baseCpu + nsToMi(g.cpuNs, this.mips)
  }

  /** What the guest's next call may spend: the rest of its credit, and the per-call limits. */
  budget(g: Guest): Budget {
    const u = this.used(g)
    return {
      cpuNs: miToNs(g.reserved.cpu - u.cpu, this.mips),
      net: Number(g.reserved.net - u.net),
      wallMs: this.limits.callWallMs,
      sliceMs: this.limits.meteringSliceMs,
      maxSends: this.limits.maxSendsPerCall,
      maxLogs: HOST_DEFAULTS.maxLogsPerCall,
      maxPacket: HOST_DEFAULTS.maxPacketBytes,
      dropped: { ...g.dropped }
    }
  }

  /**
   * Books what a call cost. Returns why the guest must end, if it must: the sandbox ended it, or
   * its CPU credit is spent.
   */
  charge(g: Guest, r: CallResult): EvictReason | undefined {
    g.cpuNs += r.cpuNs
    g.net += BigInt(r.netOut)
    g.disk = BigInt(r.disk)
    if (r.ended) return r.ended
    if (this.used(g).cpu >= g.reserved.cpu) return 'cpu-exhausted'
    return undefined
  }

  /**
   * Books host-side work done for the guest outside its calls (packets, notices, timers; prices.ts).
   * True while its CPU credit lasts.
   */
  bill(g: Guest, ns: bigint): boolean {
    g.cpuNs += ns
    return this.used(g).cpu < g.reserved.cpu
  }

  /**
   * The usage an ending guest is billed: what it used, capped at its credit (a guest stopped at its
   * credit pays all of it, one stopped short of it on a busy machine only what it used); its disk
   * is freed.
   */
  final(g: Guest): ResourceVector {
    const used = this.used(g)
    used.disk = 0n
    return used
  }

  /** Appends one batch of `usage` records for every guest whose figures moved since the last. */
  flush(guests: Iterable<Guest>): Promise<void> {
    return this.book.usage([...guests].map((g) => ({ guest: g, used: this.used(g) })))
  }

  /** Appends the guest's `evict` with its final usage; the ledger's rules release the rest. */
  evict(id: string, used: ResourceVector, reason: EvictReason): Promise<void> {
    return this.book.evict(id, used, reason)
  }
}
