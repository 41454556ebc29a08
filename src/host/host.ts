/**
 * A host: admits guests against good IOUs on itself, runs them in metered isolates inside sandbox
 * processes, bills them in its log, and evicts and deletes them when their credit runs out
 * (docs/HOST.md; the guest's side is docs/GUESTS.md).
 *
 * The host owns the guests' directories under `dir`, the sandbox processes, and the `capacity`,
 * `admit`, `usage` and `evict` records of its ledger. The ledger itself is passed in (the agent
 * owns it) and must be ready; the host never closes it.
 */
import ReadyResource from 'ready-resource'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { deployRequestId } from '../ledger/codecs.js'
import { fromHex, toHex } from '../core/bytes.js'
import * as build from '../ledger/build.js'
import { formatAddress, guestAddress } from '../vnet/address.js'
import { checkDeploy, type DeployInput } from './admission.js'
import { HOST_DEFAULTS } from './constants.js'
import { miToNs, nsToMi } from './meter.js'
import { Sandbox, SandboxCrashed } from './sandbox.js'
import type { Budget, CallResult, Event } from './protocol.js'
import { Book } from './book.js'
import { verifyStop } from './requests.js'
import type { EvictEvent, GuestInfo, GuestRouter, Guest, HostOptions, Packet } from './types.js'
import type { Ledger } from '../ledger/ledger.js'
import type { EvictReason, ResourceVector } from '../ledger/records.js'
import type { Amounts } from '../ledger/amounts.js'

export type { Packet, GuestRouter, HostOptions, GuestInfo, EvictEvent } from './types.js'
export { signStop } from './requests.js'

export class Host extends ReadyResource {
  readonly ledger: Ledger
  readonly dir: string
  mips = 0
  calibration: number[] = []
  private readonly opts: Required<
    Omit<HostOptions, 'router' | 'mips' | 'ledger' | 'dir' | 'limits'>
  >
  private readonly limits: Amounts
  private readonly fixedMips: number | undefined
  private readonly router: GuestRouter
  private sandboxes: Sandbox[] = []
  private readonly guests = new Map<string, Guest>()
  private readonly byAddress = new Map<string, Guest>()
  private pending = 0
  private timer: NodeJS.Timeout | null = null
  private recovering: Promise<void> = Promise.resolve()
  private readonly book: Book

  constructor(opts: HostOptions) {
    super()
    this.ledger = opts.ledger
    this.book = new Book(opts.ledger, () => this.clock())
    this.dir = opts.dir
    this.limits = opts.limits
    this.fixedMips = opts.mips
    this.router = opts.router ?? {
      send: (p) => void this.deliverTo(p.to, p.from, p.data).catch(() => {})
    }
    this.opts = {
      memoryLimitMb: opts.memoryLimitMb ?? HOST_DEFAULTS.memoryLimitMb,
      callWallMs: opts.callWallMs ?? HOST_DEFAULTS.callWallMs,
      meteringSliceMs: opts.meteringSliceMs ?? HOST_DEFAULTS.meteringSliceMs,
      usageIntervalMs: opts.usageIntervalMs ?? HOST_DEFAULTS.usageIntervalMs,
      maxGuests: opts.maxGuests ?? HOST_DEFAULTS.maxGuests,
      sandboxes: opts.sandboxes ?? HOST_DEFAULTS.sandboxes,
      maxCodeBytes: opts.maxCodeBytes ?? HOST_DEFAULTS.maxCodeBytes,
      maxSendsPerCall: opts.maxSendsPerCall ?? HOST_DEFAULTS.maxSendsPerCall,
      strictAddresses: opts.strictAddresses ?? false,
      now: opts.now ?? Date.now
    }
  }

  protected override async _open(): Promise<void> {
    await this.ledger.ready()
    await mkdir(join(this.dir, 'guests'), { recursive: true })
    for (let i = 0; i < this.opts.sandboxes; i++) this.sandboxes.push(await this.spawn())
    if (this.fixedMips) {
      this.mips = this.fixedMips
    } else {
      const r = await (this.sandboxes[0] as Sandbox).request({
        op: 'calibrate',
        runs: HOST_DEFAULTS.calibrationRuns
      })
      this.mips = r.mips as number
      this.calibration = r.samples ?? []
    }
    await this.ledger.appendOwn(
      build.capacity(this.ledger.id, this.mips, this.limits, this.clock())
    )
    await this.restore()
    this.timer = setInterval(
      () => void this.tick().catch((e) => this.report(e)),
      this.opts.usageIntervalMs
    )
    this.timer.unref()
  }

  protected override async _close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    for (const g of this.guests.values()) {
      for (const timer of g.timers) clearTimeout(timer)
      g.timers.clear()
    }
    await Promise.all([...this.guests.values()].map((g) => g.chain.catch(() => {})))
    await this.recovering.catch(() => {})
    // Usage so far goes to the log; the guests themselves resume when the host starts again.
    await this.flushUsage().catch(() => {})
    await Promise.all(this.sandboxes.map((s) => s.close()))
  }

  /** The ledger's time never goes backwards; a record stamped before the log's clock is refused. */
  private clock(): number {
    return Math.max(this.opts.now(), this.ledger.clock())
  }

  private async spawn(): Promise<Sandbox> {
    const s = new Sandbox()
    s.on('event', (e: Event) => this.onEvent(e))
    s.on('crash', (err: SandboxCrashed) => {
      this.recovering = this.recovering
        .then(() => this.recover(s, err))
        .catch((e) => this.report(e))
    })
    await s.start()
    return s
  }

  /** A background failure: an 'error' event when someone listens, else a line on stderr (never a throw). */
  private report(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
    else process.stderr.write(`quid host: ${err instanceof Error ? err.message : String(err)}\n`)
  }

  /** Process ids of the sandbox processes (operators, and tests that kill one). */
  sandboxPids(): number[] {
    return this.sandboxes.map((s) => s.pid as number)
  }

  /** The sandbox holding a guest (tests kill it to stand in for a V8 abort). */
  sandboxOf(guest: string): { pid: number | undefined; kill(): void } | null {
    const g = this.guests.get(guest)
    return g ? { pid: g.sandbox.pid, kill: () => g.sandbox.kill() } : null
  }

  /** Per sandbox process: its resident memory (bytes) and how many guests it holds. */
  async stats(): Promise<Array<{ pid: number | undefined; rss: number; guests: number }>> {
    return Promise.all(
      this.sandboxes.map(async (s) => {
        const r = await s.request({ op: 'stats' })
        return { pid: s.pid, rss: r.rss as number, guests: r.guests as number }
      })
    )
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
    const g = this.guests.get(idOrAddress) ?? this.byAddress.get(idOrAddress)
    return g && this.info(g)
  }

  private info(g: Guest): GuestInfo {
    return {
      id: g.id,
      address: g.address,
      owner: g.owner,
      reserved: { ...g.reserved },
      used: this.used(g)
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
        await rm(dir, { recursive: true, force: true }).catch(() => {})
        await this.book.evict(id, { cpu: 0n, disk: 0n, net: 0n }, 'crashed')
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
        await this.recovering
        // Another guest crashed the sandbox: recover() has started this one in a fresh sandbox.
        if (err.guest !== g.id && !g.ended) return
        throw new QuidError(
          ErrorCodes.GUEST_EVICTED,
          'the guest crashed its sandbox while starting',
          { guest: g.id, reason: 'crashed' }
        )
      }
      const { result, started } = created
      if (result.ended === 'misbehaved' && result.detail) {
        await this.account(g, result).catch(() => {})
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
      budget: this.budget(g),
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
      sandbox: this.pickSandbox(),
      chain: Promise.resolve(),
      timers: new Set(),
      ended: false
    }
    this.guests.set(g.id, g)
    this.byAddress.set(g.address, g)
    g.sandbox.guests.add(g.id)
    return g
  }

  private pickSandbox(): Sandbox {
    let best = this.sandboxes[0] as Sandbox
    for (const s of this.sandboxes) if (s.guests.size < best.guests.size) best = s
    return best
  }

  private used(g: Guest): ResourceVector {
    const cpu = g.baseCpu + nsToMi(g.cpuNs, this.mips)
    const cap = (v: bigint, r: bigint): bigint => (v < r ? v : r)
    return {
      cpu: cap(cpu, g.reserved.cpu),
      disk: cap(g.disk, g.reserved.disk),
      net: cap(g.net, g.reserved.net)
    }
  }

  private budget(g: Guest): Budget {
    const u = this.used(g)
    return {
      cpuNs: miToNs(g.reserved.cpu - u.cpu, this.mips),
      net: Number(g.reserved.net - u.net),
      wallMs: this.opts.callWallMs,
      sliceMs: this.opts.meteringSliceMs,
      maxSends: this.opts.maxSendsPerCall,
      maxLogs: HOST_DEFAULTS.maxLogsPerCall,
      maxPacket: HOST_DEFAULTS.maxPacketBytes
    }
  }

  /** Runs `fn` after the guest's previous calls: handlers run one at a time per guest. */
  private enqueue<T>(g: Guest, fn: () => Promise<T>): Promise<T> {
    const run = g.chain.then(fn, fn)
    g.chain = run.catch(() => {})
    return run
  }

  /** Calls a handler; a sandbox crash caused by another guest is waited out and the call retried. */
  private call(
    g: Guest,
    kind: 'start' | 'message' | 'stop' | 'timer' | 'unreachable',
    data?: Uint8Array,
    from?: string
  ): Promise<CallResult> {
    return this.enqueue(g, async () => {
      for (let attempt = 0; ; attempt++) {
        if (g.ended)
          throw new QuidError(ErrorCodes.GUEST_EVICTED, 'the guest has ended', { guest: g.id })
        try {
          const body = {
            op: 'call' as const,
            guest: g.id,
            kind,
            budget: this.budget(g),
            ...(data ? { data } : {}),
            ...(from !== undefined ? { from } : {})
          }
          const r = (await g.sandbox.run(g.id, body)).result as CallResult
          await this.account(g, r)
          return r
        } catch (err) {
          if (err instanceof SandboxCrashed && err.guest !== g.id && attempt < 3) {
            await this.recovering
            continue
          }
          if (err instanceof SandboxCrashed) {
            await this.recovering
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
    g.cpuNs += r.cpuNs
    g.net += BigInt(r.netOut)
    g.disk = BigInt(r.disk)
    if (r.error) this.emit('log', { guest: g.id, line: `handler threw: ${r.error}` })
    let reason = r.ended
    const used = this.used(g)
    if (!reason && used.cpu >= g.reserved.cpu) reason = 'cpu-exhausted'
    if (reason) {
      await this.evict(g, reason, r.detail)
      throw new QuidError(
        ErrorCodes.GUEST_EVICTED,
        `the guest was evicted: ${reason}${r.detail ? ` (${r.detail})` : ''}`,
        { guest: g.id, reason }
      )
    }
  }

  private onEvent(e: Event): void {
    if (e.event === 'log') {
      this.emit('log', { guest: e.guest, line: e.line })
      return
    }
    if (e.event === 'timer') {
      const g = this.guests.get(e.guest)
      if (!g || g.ended) return
      const timer = setTimeout(() => {
        g.timers.delete(timer)
        if (!g.ended) void this.call(g, 'timer', undefined, e.note).catch(() => {})
      }, e.ms)
      g.timers.add(timer)
      return
    }
    if (e.event !== 'send') return
    const g = this.guests.get(e.guest)
    if (!g) return
    const packet: Packet = { from: g.address, to: e.to, data: e.data }
    // Routed after the current call, never inside it: a guest sending to itself queues a message.
    setImmediate(() => {
      try {
        this.router.send(packet)
      } catch (err) {
        this.report(err)
      }
    })
  }

  /**
   * Delivers a packet to a guest (by id or address). Resolves true once its `message` handler has
   * run, false if there is no such guest or its net credit cannot cover the bytes (it is evicted).
   */
  async deliverTo(to: string, from: string, data: Uint8Array): Promise<boolean> {
    const g = this.guests.get(to) ?? this.byAddress.get(to)
    if (!g || g.ended) return false
    if (data.byteLength > HOST_DEFAULTS.maxPacketBytes) return false
    if (g.net + BigInt(data.byteLength) > g.reserved.net) {
      await this.enqueue(g, () => this.evict(g, 'net-exhausted'))
      return false
    }
    g.net += BigInt(data.byteLength)
    try {
      await this.call(g, 'message', data, from)
      return true
    } catch (err) {
      if (err instanceof QuidError && err.code === ErrorCodes.GUEST_EVICTED) return false
      throw err
    }
  }

  /**
   * Tells a guest that a packet it sent could not be delivered (its `unreachable` handlers get the
   * address and the reason). Resolves false if the guest is gone; the call is metered like any.
   */
  async notify(guest: string, to: string, reason: string): Promise<boolean> {
    const g = this.guests.get(guest) ?? this.byAddress.get(guest)
    if (!g || g.ended) return false
    try {
      await this.call(g, 'unreachable', new TextEncoder().encode(reason.slice(0, 32)), to)
      return true
    } catch (err) {
      if (err instanceof QuidError && err.code === ErrorCodes.GUEST_EVICTED) return false
      throw err
    }
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
    for (const timer of g.timers) clearTimeout(timer)
    g.timers.clear()
    this.guests.delete(g.id)
    this.byAddress.delete(g.address)
    g.sandbox.guests.delete(g.id)
    if (!g.sandbox.exited) await g.sandbox.request({ op: 'dispose', guest: g.id }).catch(() => {})
    // rm does not follow symbolic links: a link inside the directory is removed, not its target.
    await rm(g.dir, { recursive: true, force: true })
    const used = this.used(g)
    if (reason === 'cpu-exhausted') used.cpu = g.reserved.cpu
    used.disk = 0n
    await this.book.evict(g.id, used, reason)
    const measuredCpu = g.baseCpu + nsToMi(g.cpuNs, this.mips)
    const ev: EvictEvent = { guest: g.id, reason, used, measuredCpu, ...(detail ? { detail } : {}) }
    g.final = ev
    this.emit('evict', ev)
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
  async flushUsage(): Promise<void> {
    await this.book.usage([...this.guests.values()].map((g) => ({ guest: g, used: this.used(g) })))
  }

  /** A sandbox died: bill and evict the guest that was running, move the others to a new sandbox. */
  private async recover(dead: Sandbox, err: SandboxCrashed): Promise<void> {
    this.emit('crash', { guest: err.guest, exit: err.exit })
    const fresh = await this.spawn()
    this.sandboxes = this.sandboxes.map((s) => (s === dead ? fresh : s))
    const culprit = err.guest ? this.guests.get(err.guest) : undefined
    if (culprit) {
      // Its CPU time died with the process: the call's wall time is the most it can have used.
      culprit.cpuNs += err.wallNs
      await this.evict(culprit, 'crashed')
    }
    for (const id of [...dead.guests]) {
      const g = this.guests.get(id)
      if (!g) continue
      dead.guests.delete(id)
      g.sandbox = fresh
      fresh.guests.add(id)
      await this.revive(g)
    }
  }

  /** Starts a guest again from its code and store (after a sandbox crash or a host restart). */
  private async revive(g: Guest): Promise<void> {
    try {
      const { result, started } = await this.create(g)
      await this.account(g, result)
      if (started) await this.account(g, started)
    } catch (err) {
      if (!g.ended) await this.evict(g, 'crashed')
      if (!(err instanceof QuidError)) this.report(err)
    }
  }

  /**
   * After a restart: guests the log says are running resume from their store if they still have
   * credit and their files; the others are evicted with the usage the log already holds, so
   * nothing is charged twice and the reservations match the log.
   */
  private async restore(): Promise<void> {
    const now = this.clock()
    for (const info of this.ledger.guests()) {
      if (info.host !== this.ledger.key || info.ended || info.void) continue
      const dir = join(this.dir, 'guests', info.id)
      const codePath = join(dir, 'code.js')
      const expires = Math.min(...info.spends.map((s) => this.ledger.claim(s.claim)?.expires ?? 0))
      let reason: EvictReason | null = null
      if (info.used.cpu >= info.reserved.cpu) reason = 'cpu-exhausted'
      else if (info.reserved.net > 0n && info.used.net >= info.reserved.net)
        reason = 'net-exhausted'
      else if (now >= expires) reason = 'expired'
      else if (!existsSync(codePath)) reason = 'restart'
      if (reason) {
        await rm(dir, { recursive: true, force: true })
        await this.book.evict(info.id, { ...info.used, disk: 0n }, reason)
        this.emit('evict', {
          guest: info.id,
          reason,
          used: { ...info.used, disk: 0n },
          measuredCpu: info.used.cpu
        })
        continue
      }
      const code = await readFile(codePath, 'utf8')
      const g = this.adopt(
        info.id,
        info.owner,
        code,
        info.reserved,
        info.spends.map((sp) => sp.claim),
        info.used
      )
      await this.revive(g)
    }
  }
}

/** The logs a deploy asks the host to fetch: others' only, each once, at most MAX_FOLLOW of them. */
function followable(self: Uint8Array, ids: Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>([toHex(self)])
  const out: Uint8Array[] = []
  for (const id of ids) {
    if (!(id instanceof Uint8Array) || id.byteLength !== 32) {
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        'a log to follow must be a 32-byte participant id'
      )
    }
    const key = toHex(id)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(id)
  }
  if (out.length > MAX_FOLLOW) {
    throw new QuidError(
      ErrorCodes.BAD_ARGUMENT,
      `a deploy may name at most ${MAX_FOLLOW} logs to follow`
    )
  }
  return out
}

const MAX_FOLLOW = 32
