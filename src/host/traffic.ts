/**
 * Packets and timers: what a guest's calls ask of the host after they return (its sends, its
 * `quid.after` timers, its log lines), and packets and notices coming in to a guest.
 *
 * Sends are routed after the call, never inside it, so a guest sending to itself queues a message;
 * a timer fires as a `timer` call, queued behind the guest's other calls like any.
 */
import { QuidError, ErrorCodes } from '../core/errors.js'
import { HOST_DEFAULTS, MAX_TIMERS } from './constants.js'
import { packetBytes, type EventPrices } from './prices.js'
import type { CallResult, Event } from './protocol.js'
import type { DropKind, Guest, GuestRouter, Packet } from './types.js'
import type { EvictReason } from '../ledger/records.js'
import { settled } from '../core/settle.js'

export type CallKind = 'start' | 'message' | 'stop' | 'timer' | 'unreachable'

/** What traffic needs from the guests' side (the host). */
export interface Calls {
  /** A running guest by id or address. */
  find(idOrAddress: string): Guest | undefined
  /** Calls a handler, after the guest's previous calls; metered and billed. */
  call(g: Guest, kind: CallKind, data?: Uint8Array, from?: string): Promise<CallResult>
  /** Ends a guest, after its previous calls. */
  end(g: Guest, reason: EvictReason): Promise<void>
  /**
   * Bills host-side CPU time done for the guest (prices.ts); ends it if its credit is spent.
   * Returns false when it did.
   */
  bill(g: Guest, ns: bigint): boolean
  log(guest: string, line: string): void
  report(err: unknown): void
}

/** The per-guest bounds traffic enforces (HostOptions; defaults in HOST_DEFAULTS). */
export interface TrafficLimits {
  maxPendingCalls: number
  maxPendingNotices: number
  maxOutgoing: number
  /** What the host's work around a call costs the guest (prices.ts, by place). */
  prices: EventPrices
}

export class Traffic {
  readonly router: GuestRouter

  constructor(
    private readonly calls: Calls,
    private readonly limits: TrafficLimits,
    router?: GuestRouter
  ) {
    // Default: packets to this host's own guests are delivered, others dropped.
    this.router = router ?? {
      send: (p) =>
        void this.deliverTo(p.to, p.from, p.data).catch((err: unknown) => this.calls.report(err))
    }
  }

  /** An event a sandbox emitted during a call. */
  onEvent(e: Event): void {
    if (e.event === 'log') {
      this.calls.log(e.guest, e.line)
      return
    }
    if (e.event === 'timer') {
      const g = this.calls.find(e.guest)
      if (!g || g.ended) return
      // The sandbox counts a guest's timers too; the host's own bound holds wherever isolates run.
      if (g.timers.size >= MAX_TIMERS) return this.drop(g, 'timers')
      if (!this.calls.bill(g, this.limits.prices.timer)) return
      const timer = setTimeout(() => {
        g.timers.delete(timer)
        if (g.ended) return
        this.queued(g, false, () => this.calls.call(g, 'timer', undefined, e.note), 'timers')
      }, e.ms)
      g.timers.add(timer)
      return
    }
    if (e.event !== 'send') return
    const g = this.calls.find(e.guest)
    if (!g || g.ended) return
    // The host throttles its own guest, before any peer would have reason to (docs/VNET.md).
    if (g.outgoing >= this.limits.maxOutgoing) return this.drop(g, 'sends')
    if (!g.sendRate.take()) return this.drop(g, 'rate')
    if (!this.calls.bill(g, this.limits.prices.send)) return
    const packet: Packet = { from: g.address, to: e.to, data: e.data }
    g.outgoing++
    // Routed after the current call, never inside it: a guest sending to itself queues a message.
    // A microtask, not a turn of the event loop: that turn cost a round trip about 6 µs per hop,
    // and calls that keep the loop in microtasks are made to yield by the place (in-process.ts).
    queueMicrotask(() => {
      // Sent and paid for during a call: it leaves even if the guest ended since.
      g.outgoing--
      try {
        this.router.send(packet)
      } catch (err) {
        this.calls.report(err)
      }
    })
  }

  /** Counts what was dropped for a guest; it sees the figures in `quid.dropped()`. */
  private drop(g: Guest, kind: DropKind): void {
    g.dropped[kind]++
  }

  /**
   * Queues a call on the guest's bounded queue; false (counted under `kind`) when it is full.
   * `notice` calls have a smaller share of the queue of their own.
   */
  private queued(
    g: Guest,
    notice: boolean,
    run: () => Promise<CallResult>,
    kind: DropKind
  ): Promise<CallResult> | null {
    if (g.pending >= this.limits.maxPendingCalls) {
      this.drop(g, kind)
      return null
    }
    if (notice && g.notices >= this.limits.maxPendingNotices) {
      this.drop(g, kind)
      return null
    }
    g.pending++
    if (notice) g.notices++
    const call = run()
    const done = (): void => {
      g.pending--
      if (notice) g.notices--
    }
    // The caller gets `call` itself, with its failure.
    void settled(call).then(done)
    return call
  }

  /** Cancels a guest's pending timers (it ended, or the host closes). */
  clearTimers(g: Guest): void {
    for (const timer of g.timers) clearTimeout(timer)
    g.timers.clear()
  }

  /**
   * Delivers a packet to a guest (by id or address). Resolves true once its `message` handler has
   * run, false if there is no such guest or its net credit cannot cover the bytes (it is evicted).
   */
  async deliverTo(to: string, from: string, data: Uint8Array): Promise<boolean> {
    const g = this.calls.find(to)
    if (!g || g.ended) return false
    if (data.byteLength > HOST_DEFAULTS.maxPacketBytes) return false
    // Every packet pays its wire size, so an empty one is not free.
    const bytes = BigInt(packetBytes(data.byteLength))
    if (g.net + bytes > g.reserved.net) {
      await this.calls.end(g, 'net-exhausted')
      return false
    }
    const call = this.queued(
      g,
      false,
      () => this.calls.call(g, 'message', data, from),
      'deliveries'
    )
    if (!call) return false
    g.net += bytes
    if (!this.calls.bill(g, this.limits.prices.deliver)) return false
    return evictedIsFalse(call)
  }

  /**
   * Tells a guest that a packet it sent could not be delivered (its `unreachable` handlers get the
   * address and the reason). Resolves false if the guest is gone; the call is metered like any.
   */
  notify(guest: string, to: string, reason: string): Promise<boolean> {
    const g = this.calls.find(guest)
    if (!g || g.ended) return Promise.resolve(false)
    const data = new TextEncoder().encode(reason.slice(0, 32))
    const call = this.queued(g, true, () => this.calls.call(g, 'unreachable', data, to), 'notices')
    if (!call) return Promise.resolve(false)
    if (!this.calls.bill(g, this.limits.prices.notice)) return Promise.resolve(false)
    return evictedIsFalse(call)
  }
}

/** True once the call has run; false if the guest was (or got) evicted. */
async function evictedIsFalse(call: Promise<CallResult>): Promise<boolean> {
  try {
    await call
    return true
  } catch (err) {
    if (err instanceof QuidError && err.code === ErrorCodes.GUEST_EVICTED) return false
    throw err
  }
}
