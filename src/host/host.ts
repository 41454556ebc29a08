/**
 * A host: admits guests against good IOUs on itself, runs them in metered isolates inside sandbox
 * processes, bills them in its log, and evicts and deletes them when their credit runs out
 * (docs/HOST.md; the guest's side is docs/GUESTS.md).
 *
 * The host owns the guests' directories under `dir`, the sandbox processes, and the `capacity`,
 * `admit`, `usage` and `evict` records of its ledger. The ledger itself is passed in (the agent
 * owns it) and must be ready; the host never closes it.
 *
 * This file is the guests' lifecycle (admit, start, call one at a time, stop, evict) and wires the
 * other roles: the sandbox pool and crash recovery (pool.ts), billing (billing.ts), packets and
 * timers (traffic.ts), and restart restore (restore.ts).
 */
import ReadyResource from 'ready-resource'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { getHeapStatistics } from 'node:v8'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { deployRequestId } from '../ledger/codecs.js'
import { fromHex, toHex } from '../core/bytes.js'
import * as build from '../ledger/build.js'
import { formatAddress, guestAddress } from '../vnet/address.js'
import { checkDeploy, followable, type DeployInput } from './admission.js'
import { HOST_DEFAULTS } from './constants.js'
import { SandboxCrashed } from './sandbox.js'
import { Billing } from './billing.js'
import { Pool } from './pool.js'
import { Hibernation } from './hibernation.js'
import type { Isolation } from './place.js'
import { Traffic, type CallKind } from './traffic.js'
import { EVENT_PRICES } from './prices.js'
import { cleanShutdown, restore } from './restore.js'
import { TokenBucket } from '../exchange/limits.js'
import type { CallResult } from './protocol.js'
import { verifyStop } from './requests.js'
import type { EvictEvent, GuestInfo, Guest, HostOptions } from './types.js'
import type { Ledger } from '../ledger/ledger.js'
import type { EvictReason, ResourceVector } from '../ledger/records.js'
import type { Amounts } from '../ledger/amounts.js'
import { settled } from '../core/settle.js'

export type { Packet, GuestRouter, HostOptions, GuestInfo, EvictEvent } from './types.js'
export { signStop } from './requests.js'

/**
 * How far a calibration may be from the published rating and still be the same rating: about the
 * spread of calibrations on one machine (docs/HOST.md, "MIPS calibration").
 */
const RECALIBRATE_SPREAD = 0.1

export class Host extends ReadyResource {
  readonly ledger: Ledger
  readonly dir: string
  calibration: number[] = []
  private readonly opts: Required<
    Omit<HostOptions, 'router' | 'mips' | 'ledger' | 'dir' | 'limits'>
  >
  private readonly limits: Amounts
  private readonly fixedMips: number | undefined
  private readonly guests = new Map<string, Guest>()
  private readonly byAddress = new Map<string, Guest>()
  private pending = 0
  private timer: NodeJS.Timeout | null = null
  private heapTimer: NodeJS.Timeout | null = null
  private readonly billing: Billing
  private readonly pool: Pool
  private readonly hibernation: Hibernation
  private readonly traffic: Traffic

  constructor(opts: HostOptions) {
    super()
    this.ledger = opts.ledger
    this.dir = opts.dir
    this.limits = opts.limits
    this.fixedMips = opts.mips
    this.opts = {
      memoryLimitMb: opts.memoryLimitMb ?? HOST_DEFAULTS.memoryLimitMb,
      callWallMs: opts.callWallMs ?? HOST_DEFAULTS.callWallMs,
      meteringSliceMs: opts.meteringSliceMs ?? HOST_DEFAULTS.meteringSliceMs,
      usageIntervalMs: opts.usageIntervalMs ?? HOST_DEFAULTS.usageIntervalMs,
      hibernateAfterMs: opts.hibernateAfterMs ?? HOST_DEFAULTS.hibernateAfterMs,
      maxGuests: opts.maxGuests ?? HOST_DEFAULTS.maxGuests,
      isolation: opts.isolation ?? HOST_DEFAULTS.isolation,
      sandboxes: opts.sandboxes ?? HOST_DEFAULTS.sandboxes,
      maxCodeBytes: opts.maxCodeBytes ?? HOST_DEFAULTS.maxCodeBytes,
      maxSendsPerCall: opts.maxSendsPerCall ?? HOST_DEFAULTS.maxSendsPerCall,
      strictAddresses: opts.strictAddresses ?? false,
      maxPendingCalls: opts.maxPendingCalls ?? HOST_DEFAULTS.maxPendingCalls,
      maxPendingNotices: opts.maxPendingNotices ?? HOST_DEFAULTS.maxPendingNotices,
      maxOutgoing: opts.maxOutgoing ?? HOST_DEFAULTS.maxOutgoing,
      guestPacketsPerSec: opts.guestPacketsPerSec ?? HOST_DEFAULTS.guestPacketsPerSec,
      guestPacketBurst: opts.guestPacketBurst ?? HOST_DEFAULTS.guestPacketBurst,
      maxRevives: opts.maxRevives ?? HOST_DEFAULTS.maxRevives,
      heapCeiling: opts.heapCeiling ?? HOST_DEFAULTS.heapCeiling,
      heapCheckMs: opts.heapCheckMs ?? HOST_DEFAULTS.heapCheckMs,
      now: opts.now ?? Date.now
    }
    this.billing = new Billing(opts.ledger, () => this.clock(), this.opts)
    this.traffic = new Traffic(
      {
        find: (idOrAddress) => this.find(idOrAddress),
        call: (g, kind, data, from) => this.call(g, kind, data, from),
        end: (g, reason) => this.enqueue(g, () => this.evict(g, reason)),
        bill: (g, ns) => {
          if (g.ended) return false
          if (this.billing.bill(g, ns)) return true
          void this.enqueue(g, () => this.evict(g, 'cpu-exhausted')).catch((e) => this.report(e))
          return false
        },
        log: (guest, line) => this.emit('log', { guest, line }),
        report: (err) => this.report(err)
      },
      { ...this.opts, prices: EVENT_PRICES[this.opts.isolation] },
      opts.router
    )
    this.pool = new Pool(
      {
        guest: (id) => this.guests.get(id),
        evict: (g, reason) => this.evict(g, reason),
        revive: (g) => this.revive(g),
        event: (e) => this.traffic.onEvent(e),
        crashed: (info) => this.emit('crash', info),
        report: (err) => this.report(err)
      },
      this.opts.isolation
    )
    this.hibernation = new Hibernation(this.opts.hibernateAfterMs, {
      guests: () => this.guests.values(),
      sleep: (g) => this.sleep(g),
      report: (err) => this.report(err)
    })
  }

  /** Where guests run (HostOptions.isolation). */
  get isolation(): Isolation {
    return this.opts.isolation
  }

  /** MI per second of CPU time, as published in the host's `capacity` record. */
  get mips(): number {
    return this.billing.mips
  }

  protected override async _open(): Promise<void> {
    await this.ledger.ready()
    await mkdir(join(this.dir, 'guests'), { recursive: true })
    await this.pool.start(this.opts.sandboxes)
    let mips = this.fixedMips
    if (!mips) {
      const r = await this.pool.calibrate(HOST_DEFAULTS.calibrationRuns)
      mips = r.mips
      this.calibration = r.samples
    }
    // The same machine measured again gives a rating within a few per cent of the last: then the
    // published rating and record stand, so that a unit of CPU means the same across restarts.
    const published = this.ledger.capacity()
    if (
      published &&
      sameLimits(published.limits, build.vector(this.limits)) &&
      sameRating(published.mips, mips)
    ) {
      this.billing.mips = published.mips
    } else {
      this.billing.mips = mips
      await this.ledger.appendOwn(
        build.capacity(this.ledger.id, this.mips, this.limits, this.clock())
      )
    }
    await restore({
      ledger: this.ledger,
      guestsDir: join(this.dir, 'guests'),
      clock: () => this.clock(),
      evictRecord: (id, used, reason) => this.billing.evict(id, used, reason),
      evicted: (ev) => this.emit('evict', ev),
      adopt: (...args) => this.adopt(...args),
      revive: (g) => this.revive(g),
      maxRevives: this.opts.maxRevives
    })
    this.timer = setInterval(
      () => void this.tick().catch((e) => this.report(e)),
      this.opts.usageIntervalMs
    )
    this.timer.unref()
    this.hibernation.start()
    this.heapTimer = setInterval(() => this.checkHeap(), this.opts.heapCheckMs)
    this.heapTimer.unref()
  }

  /**
   * The agent survives first: past its heap ceiling the host evicts (`shed`) the guest holding the
   * most host-side work (queued calls and packets), one per check, before V8 would abort. A heap
   * grown by nothing a guest holds sheds nobody.
   */
  private checkHeap(): void {
    const heap = getHeapStatistics()
    if (heap.used_heap_size < heap.heap_size_limit * this.opts.heapCeiling) return
    let heaviest: Guest | undefined
    let most = 0
    for (const g of this.guests.values()) {
      const weight = g.pending + g.outgoing
      if (weight > most) {
        most = weight
        heaviest = g
      }
    }
    if (!heaviest) return
    const g = heaviest
    // Its queued calls are skipped, not run: the eviction waits only for the call running now.
    g.doomed = true
    const detail = `the host's heap passed its ceiling; the guest held ${most} queued calls and packets`
    this.enqueue(g, () => this.evict(g, 'shed', detail)).catch((e) => this.report(e))
  }

  protected override async _close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.hibernation.close()
    if (this.heapTimer) clearInterval(this.heapTimer)
    for (const g of this.guests.values()) this.traffic.clearTimers(g)
    await Promise.all([...this.guests.values()].map((g) => settled(g.chain)))
    await settled(this.pool.recovering)
    // Usage so far goes to the log; the guests themselves resume when the host starts again.
    await this.flushUsage().catch((err: unknown) => this.report(err))
    await this.pool.close()
    // Closed cleanly: the next start is no revival after a crash (restore.ts).
    await cleanShutdown([...this.guests.values()].map((g) => g.dir)).catch((e) => this.report(e))
  }

  /** The ledger's time never goes backwards; a record stamped before the log's clock is refused. */
  private clock(): number {
    return Math.max(this.opts.now(), this.ledger.clock())
  }

  /** A background failure: an 'error' event when someone listens, else a line on stderr (never a throw). */
  private report(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
    else process.stderr.write(`quid host: ${err instanceof Error ? err.message : String(err)}\n`)
  }

  /** Process ids of the sandbox processes (operators, and tests that kill one). */
  sandboxPids(): number[] {
    return this.pool.pids()
  }

  /** The sandbox holding a guest (tests kill it to stand in for a V8 abort). */
  sandboxOf(guest: string): { pid: number | undefined; kill(): void } | null {
    const g = this.guests.get(guest)
    return g ? { pid: g.sandbox.pid, kill: () => g.sandbox.kill() } : null
  }

  /** Per sandbox process: its resident memory (bytes) and how many guests it holds. */
  stats(): Promise<Array<{ pid: number | undefined; rss: number; guests: number }>> {
    return this.pool.stats()
  }

  /** Running guests with what they have used so far. */
  list(): GuestInfo[] {
    return [...this.guests.values()].map((g) => this.info(g))
  }

  /** Whether a guest runs here, by id or address (without building its record, as guest() does). */
  has(idOrAddress: string): boolean {
    return this.guests.has(idOrAddress) || this.byAddress.has(idOrAddress)
  }

  /** A running guest, by id or address. */
  guest(idOrAddress: string): GuestInfo | undefined {
    const g = this.find(idOrAddress)
    return g && this.info(g)
  }

  private find(idOrAddress: string): Guest | undefined {
    return this.guests.get(idOrAddress) ?? this.byAddress.get(idOrAddress)
  }

  private info(g: Guest): GuestInfo {
    return {
      id: g.id,
      address: g.address,
      owner: g.owner,
      reserved: { ...g.reserved },
      used: this.billing.used(g),
      asleep: g.asleep
    }
  }

  /**
   * Admits and starts a guest. Resolves once its `start` handler has run, with its id and address.
   * Refusals throw a QuidError whose `code` says why; none reserves anything.
   */
  async deploy(input: DeployInput & { follow?: Uint8Array[] }): Promise<GuestInfo> {
    if (this.closing) throw new QuidError(ErrorCodes.CLOSED, 'the host is closing')
    await this.ready()
    const { request, source } = checkDeploy(this.ledger.id, input, this.opts.maxCodeBytes)
    if (this.guests.size + this.pending >= this.opts.maxGuests) {
      throw new QuidError(
        ErrorCodes.HOST_FULL,
        `this host runs at most ${this.opts.maxGuests} guests`
      )
    }
    this.pending++
    let g: Guest
    try {
      for (const id of followable(this.ledger.id, input.follow ?? [])) await this.ledger.follow(id)
      // The reservation: the ledger judges every claim and appends, or refuses and appends nothing.
      await this.ledger.appendOwn(build.admit(request, input.signature, this.clock()))
      const id = toHex(deployRequestId(request))
      const dir = join(this.dir, 'guests', id)
      try {
        await mkdir(dir, { recursive: true })
        await writeFile(join(dir, 'code.js'), source)
      } catch (err) {
        // Admitted but cannot be kept: release the reservation at once rather than at a restart.
        await rm(dir, { recursive: true, force: true }).catch((e: unknown) => this.report(e))
        await this.billing.evict(id, { cpu: 0n, disk: 0n, net: 0n }, 'crashed')
        throw new QuidError(
          ErrorCodes.STORAGE,
          `cannot store the guest's code: ${(err as Error).message}`,
          { guest: id }
        )
      }
      const spends = request.claims.map((c) => toHex(c.claim))
      g = this.adopt(id, toHex(request.owner), source, request.resources, spends, {
        cpu: 0n,
        disk: 0n,
        net: 0n
      })
    } finally {
      this.pending--
    }
    await this.boot(g)
    return this.info(g)
  }

  /** Loads a guest's code in its sandbox and runs `start`; throws if the guest ended doing so. */
  private async boot(g: Guest): Promise<void> {
    await this.enqueue(g, async () => {
      let created: { result: CallResult; started?: CallResult }
      try {
        created = await this.create(g)
      } catch (err) {
        if (!(err instanceof SandboxCrashed)) throw err
        await this.pool.recovering
        // Another guest crashed the sandbox: recovery has started this one in a fresh sandbox.
        if (err.guest !== g.id && !g.ended) return
        throw new QuidError(
          ErrorCodes.GUEST_EVICTED,
          'the guest crashed its sandbox while starting',
          { guest: g.id, reason: 'crashed' }
        )
      }
      const { result, started } = created
      if (result.ended === 'misbehaved' && result.detail) {
        // It is evicted there (misbehaved); what its owner hears is why, below.
        await this.account(g, result).catch((err: unknown) => {
          if (!(err instanceof QuidError && err.code === ErrorCodes.GUEST_EVICTED)) throw err
        })
        throw new QuidError(
          ErrorCodes.BAD_CODE,
          `the guest's code did not load: ${result.detail}`,
          { guest: g.id }
        )
      }
      await this.account(g, result)
      if (started) await this.account(g, started)
    })
  }

  /** Loads a guest in its sandbox and runs its `start` handler, in one request. */
  private async create(g: Guest): Promise<{ result: CallResult; started?: CallResult }> {
    const reply = await g.sandbox.run(g.id, {
      op: 'create',
      guest: {
        id: g.id,
        self: g.address,
        owner: g.owner,
        storeDir: g.storeDir,
        code: g.code,
        diskQuota: Number(g.reserved.disk),
        memoryLimitMb: this.opts.memoryLimitMb,
        strictAddresses: this.opts.strictAddresses
      },
      budget: this.billing.budget(g),
      start: true
    })
    const result = reply.result as CallResult
    return reply.started ? { result, started: reply.started } : { result }
  }

  /**
   * Takes a guest on: the record of what it may use and has used (`used`: what the log says, for a
   * guest resumed after a restart), placed in the sandbox with the fewest guests.
   */
  private adopt(
    id: string,
    owner: string,
    code: string,
    reserved: ResourceVector,
    claims: string[],
    used: ResourceVector
  ): Guest {
    const dir = join(this.dir, 'guests', id)
    const g: Guest = {
      id,
      address: formatAddress(guestAddress(this.ledger.id, fromHex(id, 32))),
      owner,
      dir,
      storeDir: join(dir, 'store'),
      code,
      reserved: { ...reserved },
      // The guest is paid only while every claim paying for it is live.
      expires: Math.min(...claims.map((c) => this.ledger.claim(c)?.expires ?? 0)),
      baseCpu: used.cpu,
      cpuNs: 0n,
      net: used.net,
      disk: used.disk,
      logged: { ...used },
      sandbox: this.pool.place(id),
      chain: Promise.resolve(),
      queued: 0,
      lastActive: performance.now(),
      asleep: false,
      timers: new Set(),
      pending: 0,
      notices: 0,
      outgoing: 0,
      sendRate: new TokenBucket(this.opts.guestPacketsPerSec, this.opts.guestPacketBurst),
      dropped: { deliveries: 0, notices: 0, timers: 0, sends: 0, rate: 0 },
      revives: 0,
      doomed: false,
      ended: false
    }
    this.guests.set(g.id, g)
    this.byAddress.set(g.address, g)
    return g
  }

  /** Runs `fn` after the guest's previous calls: handlers run one at a time per guest. */
  private enqueue<T>(g: Guest, fn: () => Promise<T>): Promise<T> {
    g.queued++
    const done = (): void => {
      g.queued--
      g.lastActive = performance.now()
    }
    const run = g.chain.then(fn, fn).finally(done)
    g.chain = settled(run)
    return run
  }

  /** Hibernates a guest that is still idle once its queued calls are done (hibernation.ts). */
  private sleep(g: Guest): Promise<void> {
    return this.enqueue(g, async () => {
      // Itself is the one queued call; anything that came in meanwhile keeps the guest awake.
      if (g.ended || g.asleep || g.queued > 1) return
      g.asleep = true
      await g.sandbox.request({ op: 'dispose', guest: g.id })
    })
  }

  /** Loads a hibernating guest again (top level, then `start`), before the call that woke it. */
  private async wake(g: Guest): Promise<void> {
    g.asleep = false
    const { result, started } = await this.create(g)
    await this.account(g, result)
    if (started) await this.account(g, started)
  }

  /** Calls a handler; a sandbox crash caused by another guest is waited out and the call retried. */
  private call(g: Guest, kind: CallKind, data?: Uint8Array, from?: string): Promise<CallResult> {
    return this.enqueue(g, async () => {
      for (let attempt = 0; ; attempt++) {
        if (g.ended || g.doomed)
          throw new QuidError(ErrorCodes.GUEST_EVICTED, 'the guest has ended', { guest: g.id })
        // A closing host runs none of the calls still queued: close never waits for a queue.
        if (this.closing) throw new QuidError(ErrorCodes.CLOSED, 'the host is closing')
        try {
          if (g.asleep) {
            await this.wake(g)
            if (g.ended)
              throw new QuidError(ErrorCodes.GUEST_EVICTED, 'the guest ended as it woke', {
                guest: g.id
              })
          }
          const body = {
            op: 'call' as const,
            guest: g.id,
            kind,
            budget: this.billing.budget(g),
            ...(data ? { data } : {}),
            ...(from !== undefined ? { from } : {})
          }
          const r = (await g.sandbox.run(g.id, body)).result as CallResult
          await this.account(g, r)
          return r
        } catch (err) {
          if (err instanceof SandboxCrashed && err.guest !== g.id && attempt < 3) {
            await this.pool.recovering
            continue
          }
          if (err instanceof SandboxCrashed) {
            await this.pool.recovering
            throw new QuidError(ErrorCodes.GUEST_EVICTED, 'the guest crashed its sandbox', {
              guest: g.id,
              reason: 'crashed'
            })
          }
          throw err
        }
      }
    })
  }

  /** Books what a call cost; ends the guest if the sandbox did, or if a paid resource ran out. */
  private async account(g: Guest, r: CallResult): Promise<void> {
    const reason = this.billing.charge(g, r)
    if (r.error) this.emit('log', { guest: g.id, line: `handler threw: ${r.error}` })
    if (reason) {
      await this.evict(g, reason, r.detail)
      throw new QuidError(
        ErrorCodes.GUEST_EVICTED,
        `the guest was evicted: ${reason}${r.detail ? ` (${r.detail})` : ''}`,
        { guest: g.id, reason }
      )
    }
  }

  /**
   * Delivers a packet to a guest (by id or address). Resolves true once its `message` handler has
   * run, false if there is no such guest or its net credit cannot cover the bytes (it is evicted).
   */
  deliverTo(to: string, from: string, data: Uint8Array): Promise<boolean> {
    return this.traffic.deliverTo(to, from, data)
  }

  /**
   * Tells a guest that a packet it sent could not be delivered (its `unreachable` handlers get the
   * address and the reason). Resolves false if the guest is gone; the call is metered like any.
   */
  notify(guest: string, to: string, reason: string): Promise<boolean> {
    return this.traffic.notify(guest, to, reason)
  }

  /** The owner stops its guest early: `stop` handler, then eviction; unused credit returns. */
  async stop(guest: string, signature: Uint8Array): Promise<EvictEvent> {
    const g = this.guests.get(guest)
    if (!g) throw new QuidError(ErrorCodes.UNKNOWN_GUEST, 'no such guest on this host')
    if (!verifyStop(guest, g.owner, signature)) {
      throw new QuidError(ErrorCodes.BAD_SIGNATURE, "the owner's stop signature does not verify")
    }
    try {
      await this.call(g, 'stop')
    } catch (err) {
      if (!(err instanceof QuidError && err.code === ErrorCodes.GUEST_EVICTED)) throw err
    }
    if (!g.ended) await this.enqueue(g, () => this.evict(g, 'stopped'))
    return g.final as EvictEvent
  }

  /** Ends a guest: dispose, delete every file, append `evict` with final usage (which releases the rest). */
  private async evict(g: Guest, reason: EvictReason, detail?: string): Promise<void> {
    if (g.ended) return
    g.ended = true
    this.traffic.clearTimers(g)
    this.guests.delete(g.id)
    this.byAddress.delete(g.address)
    await this.pool.release(g)
    // rm does not follow symbolic links: a link inside the directory is removed, not its target.
    // One that cannot be removed is reported; the reservation is released all the same.
    await rm(g.dir, { recursive: true, force: true }).catch((err: unknown) => this.report(err))
    const used = this.billing.final(g)
    await this.billing.evict(g.id, used, reason)
    const measuredCpu = this.billing.measuredCpu(g)
    const ev: EvictEvent = { guest: g.id, reason, used, measuredCpu, ...(detail ? { detail } : {}) }
    g.final = ev
    this.emit('evict', ev)
  }

  /** Starts a guest again from its code and store (after a sandbox crash or a host restart). */
  private async revive(g: Guest): Promise<void> {
    // A hibernating guest has no isolate to restore: it is loaded when it is next called.
    if (g.asleep) return
    try {
      const { result, started } = await this.create(g)
      await this.account(g, result)
      if (started) await this.account(g, started)
    } catch (err) {
      if (!g.ended) await this.evict(g, 'crashed')
      if (!(err instanceof QuidError)) this.report(err)
    }
  }

  /** The periodic work: evict guests whose paying claims expired, then log usage. */
  async tick(): Promise<void> {
    const now = this.clock()
    for (const g of [...this.guests.values()]) {
      if (now >= g.expires) await this.enqueue(g, () => this.evict(g, 'expired'))
    }
    await this.flushUsage()
  }

  /** Appends one batch of `usage` records for every guest whose figures moved since the last. */
  flushUsage(): Promise<void> {
    return this.billing.flush(this.guests.values())
  }
}

function sameLimits(a: ResourceVector, b: ResourceVector): boolean {
  return a.cpu === b.cpu && a.disk === b.disk && a.net === b.net
}

/** Whether a new calibration says the same as the published rating (within RECALIBRATE_SPREAD). */
function sameRating(published: number, measured: number): boolean {
  return Math.abs(measured - published) <= published * RECALIBRATE_SPREAD
}
