/**
 * One guest inside a sandbox process: its isolate, its context with the `quid` global, its store,
 * and the metering of every call into it. Runs in the sandbox child only.
 *
 * Metering a call: a timer on the sandbox's main thread wakes every `sliceMs` (or when the CPU
 * budget would run out, if sooner) and reads the sandbox process's CPU time. The host runs one call
 * per sandbox at a time, so that time is this guest's (plus the sandbox's own small overhead). When
 * it reaches the budget, or the call outlives its wall-clock cap, the isolate is disposed, which
 * stops the running code at once. A call that returns is charged the isolate's own CPU time
 * (`isolate.cpuTime`, thread CPU time once scripts/patch-isolated-vm.mjs has run). A guest whose
 * CPU budget covers the whole wall-clock cap runs on the sandbox's main thread instead, stopped by
 * isolated-vm's timeout (see `syncable`); there a guest that has run out of net or disk credit
 * mid-call finishes the call, but every host function refuses it from then on.
 */
import ivm from 'isolated-vm'
import { randomBytes } from 'node:crypto'
import { BOOTSTRAP } from './bootstrap.js'
import { MAX_TIMER_MS, MAX_TIMERS } from './constants.js'
import { COPY_NS_PER_BYTE, hostOpNs, packetBytes } from './prices.js'
import { GuestStore, StoreError, type Stored } from './store.js'
import * as gcrypto from './crypto.js'
import { fromLatin1, latin1 } from './protocol.js'
import type { Budget, CallKind, CallResult, Event, GuestSpec } from './protocol.js'
import type { EvictReason } from '../ledger/records.js'
import { parseAddress } from '../vnet/address.js'

function isAddress(to: string): boolean {
  try {
    parseAddress(to)
    return true
  } catch {
    return false
  }
}

const tagged = (b: Uint8Array): string => 'b' + latin1(b)

/** An isolate with a fresh context, made before a guest needs it. */
export interface Spare {
  isolate: ivm.Isolate
  context: Promise<ivm.Context>
}

export function makeSpare(memoryLimitMb: number): Spare {
  const isolate = new ivm.Isolate({ memoryLimit: memoryLimitMb })
  const context = isolate.createContext()
  // A spare disposed unused must not leave an unhandled rejection behind.
  context.catch(() => {})
  return { isolate, context }
}

// The bootstrap is compiled once per sandbox process; later isolates start from V8's code cache.
const BOOT_SOURCE = `(function ($0, $1, $2) {${BOOTSTRAP}})`
let bootCache: ivm.ExternalCopy<ArrayBuffer> | undefined

function bootstrapScript(isolate: ivm.Isolate): ivm.Script {
  if (bootCache)
    return isolate.compileScriptSync(BOOT_SOURCE, {
      filename: 'quid:bootstrap',
      cachedData: bootCache
    })
  const script = isolate.compileScriptSync(BOOT_SOURCE, {
    filename: 'quid:bootstrap',
    produceCachedData: true
  })
  bootCache = (script as ivm.Script & { cachedData?: ivm.ExternalCopy<ArrayBuffer> }).cachedData
  return script
}

/** A guest-caused stop of the current call: the guest is ended for `reason`. */
class End extends Error {
  constructor(readonly reason: EvictReason) {
    super(reason)
  }
}

interface CallState {
  budget: Budget
  netOut: number
  /** Host-side work the guest's host calls cost (prices.ts), billed with the isolate's time. */
  hostNs: bigint
  sends: number
  logs: number
  /** The call's number; the bootstrap reports a promise's outcome with it. */
  seq: number
  /** What the handlers' promises settled to ('' or what was thrown), once reported. */
  outcome?: string
  /** Wakes a call waiting for that outcome (it came, or the guest was ended). */
  wake?: () => void
}

/**
 * Whether a handler call may run on the sandbox's main thread (`applySync`) rather than on
 * isolated-vm's thread pool (`apply`). The pool costs four thread hand-offs per call (there, the
 * result back, and the same again for every host function the guest calls, such as `quid.send`),
 * about 0.2 ms of a 0.25 ms call; on the main thread the call itself takes a few µs.
 *
 * While the main thread runs the guest, the metering timer cannot fire, so only isolated-vm's
 * wall-clock `timeout` can stop it. That covers the call's microtasks too (the isolate's microtask
 * policy is V8's automatic one: they run before the outermost call returns), and a thread cannot
 * use more CPU time than wall time, so the call is bounded by the CPU budget exactly when the
 * budget covers the whole wall-clock cap. A guest with less CPU left than that runs on the pool,
 * where the timer reads the process's CPU time every slice and stops it at its budget.
 */
export function syncable(budget: Budget): boolean {
  return budget.cpuNs >= BigInt(budget.wallMs) * 1_000_000n
}

export { MAX_TIMER_MS, MAX_TIMERS } from './constants.js'

export class GuestRuntime {
  /** Timers set with `quid.after` that have not fired yet. */
  private timers = 0
  readonly spec: GuestSpec
  readonly isolate: ivm.Isolate
  private context: ivm.Context | null = null
  private dispatch: ivm.Reference | null = null
  private readonly store: GuestStore
  private readonly emit: (e: Event) => void
  private current: CallState | null = null
  private calls = 0
  /** Why the sandbox ended this guest; set before its isolate is disposed. */
  private ending: EvictReason | null = null
  private detail = ''

  private readonly prepared: Promise<ivm.Context>

  /** `spare`: an isolate and context made ahead of time with the same memory limit (child.ts). */
  constructor(spec: GuestSpec, emit: (e: Event) => void, spare?: Spare) {
    this.spec = spec
    this.emit = emit
    this.store = new GuestStore(spec.storeDir, spec.diskQuota)
    this.isolate = spare?.isolate ?? new ivm.Isolate({ memoryLimit: spec.memoryLimitMb })
    this.prepared = spare?.context ?? this.isolate.createContext()
  }

  get disposed(): boolean {
    return this.isolate.isDisposed
  }

  dispose(): void {
    if (!this.isolate.isDisposed) this.isolate.dispose()
  }

  /** Builds the realm and runs the guest's code once (its top level), metered like a call. */
  async load(budget: Budget): Promise<CallResult> {
    // The context first: while V8 is still making it, cpuTime reads wall time (see metered()).
    const context = await this.prepared
    return this.metered(budget, false, async () => {
      this.context = context
      const host = new ivm.Callback((op: unknown, a: unknown, b: unknown, c: unknown) =>
        this.hostCall(op, a, b, c)
      )
      const boot = (await bootstrapScript(this.isolate).run(context, {
        reference: true
      })) as ivm.Reference
      this.dispatch = (await boot.apply(undefined, [host, this.spec.self, this.spec.owner], {
        result: { reference: true }
      })) as ivm.Reference
      boot.release()
      let script: ivm.Script
      try {
        script = await this.isolate.compileScript(this.spec.code, { filename: 'guest.js' })
      } catch (err) {
        this.detail = (err as Error).message
        throw new End('misbehaved')
      }
      try {
        // The completion value stays in the isolate: a Reference, released at once, never a copy.
        const completion = (await script.run(context, {
          timeout: budget.wallMs,
          reference: true
        })) as ivm.Reference
        completion.release()
      } catch (err) {
        if (this.ending || this.isolate.isDisposed) throw err
        this.detail = (err as Error).message
        throw new End('misbehaved')
      }
      return ''
    })
  }

  /** Calls the guest's handlers for `kind`; `data` is the payload as latin1 text ('' for none). */
  call(kind: CallKind, data: string, from: string, budget: Budget): Promise<CallResult> {
    if (kind === 'timer' && this.timers > 0) this.timers--
    const sync = syncable(budget)
    return this.metered(budget, sync, async (st, watch) => {
      const dispatch = this.dispatch
      if (!dispatch) throw new End('crashed')
      const args = [kind, data, from, st.seq]
      const opts = { timeout: budget.wallMs, result: { copy: true } } as const
      const out = sync
        ? dispatch.applySync(undefined, args, opts)
        : await dispatch.apply(undefined, args, opts)
      if (typeof out === 'string') return out
      // A handler returned a promise. Its outcome is reported through hostCall('done'), in the
      // microtasks that ran before the call returned unless the guest awaits something that
      // cannot settle while none of its code runs: then the timer ends it at the wall-clock cap.
      if (st.outcome === undefined && !this.ending) {
        watch()
        await new Promise<void>((resolve) => (st.wake = resolve))
      }
      if (this.ending) throw new End(this.ending)
      return st.outcome ?? ''
    })
  }

  /**
   * Runs a call and measures it. The timer that enforces the CPU budget and the wall-clock cap is
   * set at the start, or, with `deferWatch` (a call on the main thread, see `syncable`), only when
   * `run` asks for it by calling `watch`: until then the main thread is busy with the guest and
   * the timer could not fire anyway.
   */
  private async metered(
    budget: Budget,
    deferWatch: boolean,
    run: (st: CallState, watch: () => void) => Promise<string>
  ): Promise<CallResult> {
    const st: CallState = {
      budget,
      netOut: 0,
      hostNs: 0n,
      sends: 0,
      logs: 0,
      seq: ++this.calls
    }
    this.current = st
    const cpu0 = this.isolate.cpuTime
    const proc0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    const procNs = (): bigint => {
      const u = process.cpuUsage(proc0)
      return BigInt(u.user + u.system) * 1000n
    }
    let timer: NodeJS.Timeout | null = null
    const check = (): void => {
      const used = procNs()
      const wall = Number(process.hrtime.bigint() - t0) / 1e6
      if (used >= budget.cpuNs) return this.end('cpu-exhausted')
      if (wall >= budget.wallMs)
        return this.end('misbehaved', `a call ran longer than ${budget.wallMs} ms`)
      const leftMs = Number(budget.cpuNs - used) / 1e6
      timer = setTimeout(check, Math.max(1, Math.min(budget.sliceMs, leftMs, budget.wallMs - wall)))
    }
    const watch = (): void => {
      if (timer || this.ending) return
      const wall = Number(process.hrtime.bigint() - t0) / 1e6
      const leftMs = Math.min(Number(budget.cpuNs) / 1e6, budget.wallMs - wall)
      timer = setTimeout(check, Math.max(1, Math.min(budget.sliceMs, leftMs)))
    }
    if (!deferWatch) watch()
    let error: string | undefined
    try {
      const out = await run(st, watch)
      if (out) error = out
    } catch (err) {
      if (err instanceof End) this.end(err.reason)
      else if (!this.ending) {
        // isolated-vm disposes an isolate that passes its heap limit; anything else thrown out of a
        // call (a timeout, a copy failure) is the guest's doing too.
        if (this.isolate.isDisposed) this.ending = 'memory-exceeded'
        else if (/timed out/i.test((err as Error).message))
          this.end('misbehaved', (err as Error).message)
        else error = (err as Error).message
      }
    } finally {
      if (timer) clearTimeout(timer)
    }
    const state = st
    this.current = null
    const wallNs = process.hrtime.bigint() - t0
    // The process's CPU time is the charge only when the isolate is gone (its own clock with it);
    // reading it costs as much as the rest of the bookkeeping, so it is read only then.
    let cpuNs = 0n
    let memory = 0
    if (this.isolate.isDisposed) cpuNs = procNs()
    else {
      // While an isolate runs, cpuTime adds the wall time of the running slice (another thread's
      // CPU clock cannot be read); once it stops, that slice counts its thread CPU time instead,
      // so a reading taken mid-run can exceed a later one. Never charge less than nothing.
      const delta = this.isolate.cpuTime - cpu0
      cpuNs = delta > 0n ? delta : 0n
      const heap = this.isolate.getHeapStatisticsSync()
      memory = heap.used_heap_size + heap.externally_allocated_size
      if (cpuNs >= budget.cpuNs) this.end('cpu-exhausted')
      else if (memory > this.spec.memoryLimitMb * 1024 * 1024) this.end('memory-exceeded')
    }
    const result: CallResult = {
      cpuNs,
      wallNs,
      netOut: state.netOut,
      hostNs: state.hostNs,
      disk: this.store.bytes,
      memory
    }
    if (error !== undefined) result.error = error
    if (this.ending) {
      result.ended = this.ending
      if (this.detail) result.detail = this.detail
      this.dispose()
    }
    return result
  }

  /** Ends the guest: remembers why, and disposes its isolate (stopping any running code now). */
  private end(reason: EvictReason, detail = ''): void {
    if (!this.ending) {
      this.ending = reason
      if (detail) this.detail = detail
      this.dispose()
    }
    // A call waiting for its handlers' promises waits no more: they can never settle now.
    this.current?.wake?.()
  }

  /** Ends the guest once the callback has returned into the isolate (dispose from inside a callback is unsafe). */
  private endSoon(reason: EvictReason, message: string): never {
    if (!this.ending) {
      this.ending = reason
      this.detail = message
      setImmediate(() => this.dispose())
    }
    throw new Error(message)
  }

  /**
   * The one host function in the guest's realm: primitives in, primitives out. Each call is
   * billed at its price (prices.ts) for the bytes it carries in and out; a guest whose host work
   * outruns its CPU credit is ended like one whose own code does.
   */
  private hostCall(op: unknown, a: unknown, b: unknown, c: unknown): unknown {
    const st = this.current
    if (!st || this.ending) throw new Error('the guest is not running')
    if (op === 'done') return this.work(st, op, a, b, c)
    const size = (v: unknown): number => (typeof v === 'string' ? v.length : 0)
    st.hostNs += hostOpNs(String(op), size(a) + size(b) + size(c))
    if (st.hostNs >= st.budget.cpuNs) this.endSoon('cpu-exhausted', 'CPU credit exhausted')
    const out = this.work(st, op, a, b, c)
    // The result is copied into the isolate too.
    if (typeof out === 'string') st.hostNs += BigInt(COPY_NS_PER_BYTE * out.length)
    return out
  }

  private work(st: CallState, op: unknown, a: unknown, b: unknown, c: unknown): unknown {
    const str = (v: unknown): string => {
      if (typeof v !== 'string') throw new TypeError('bad argument')
      return v
    }
    const value = (kind: unknown, v: unknown): Uint8Array =>
      kind === 's' ? new Uint8Array(Buffer.from(str(v), 'utf8')) : fromLatin1(str(v))
    switch (op) {
      case 'done':
        // The bootstrap's report of the handlers' outcome (bootstrap.ts, `settle`).
        if (a === st.seq && st.outcome === undefined) {
          st.outcome = str(b)
          st.wake?.()
        }
        return undefined
      case 'send': {
        const to = str(a)
        if (to.length > 128) throw new RangeError('an address is at most 128 characters')
        if (this.spec.strictAddresses && !isAddress(to))
          throw new TypeError(
            `${JSON.stringify(to.slice(0, 60))} is not an address on the virtual network`
          )
        const data = value(b, c)
        if (data.byteLength > st.budget.maxPacket)
          throw new RangeError(`a packet is at most ${st.budget.maxPacket} bytes`)
        if (st.sends >= st.budget.maxSends)
          throw new RangeError(`at most ${st.budget.maxSends} sends per call`)
        // A packet pays its wire size: an empty one is not free.
        const wire = packetBytes(data.byteLength)
        if (st.netOut + wire > st.budget.net) this.endSoon('net-exhausted', 'net credit exhausted')
        st.sends++
        st.netOut += wire
        this.emit({ event: 'send', guest: this.spec.id, to, data })
        return undefined
      }
      case 'get': {
        const v = this.storeOp(() => this.store.get(str(a)))
        if (v === undefined) return undefined
        return v.kind === 's' ? 's' + v.value : tagged(v.value)
      }
      case 'put': {
        const v: Stored =
          b === 's' ? { kind: 's', value: str(c) } : { kind: 'b', value: fromLatin1(str(c)) }
        this.storeOp(() => this.store.put(str(a), v))
        return undefined
      }
      case 'del':
        return this.storeOp(() => this.store.del(str(a))) ? 'y' : 'n'
      case 'keys':
        return JSON.stringify(this.store.keys())
      case 'utf8.encode':
        return tagged(new Uint8Array(Buffer.from(str(a), 'utf8')))
      case 'utf8.decode':
        return 's' + Buffer.from(str(a), 'latin1').toString('utf8')
      case 'now':
        return Date.now()
      case 'log':
        if (st.logs++ < st.budget.maxLogs)
          this.emit({ event: 'log', guest: this.spec.id, line: str(a).slice(0, 1000) })
        return undefined
      case 'after': {
        if (typeof a !== 'number' || !Number.isInteger(a) || a < 0 || a > MAX_TIMER_MS)
          throw new RangeError(`ms must be an integer from 0 to ${MAX_TIMER_MS}`)
        const note = b === undefined ? '' : str(b)
        if (note.length > 256) throw new RangeError('a timer note is at most 256 characters')
        if (this.timers >= MAX_TIMERS)
          throw new RangeError(`at most ${MAX_TIMERS} timers may be pending`)
        this.timers++
        this.emit({ event: 'timer', guest: this.spec.id, ms: a, note })
        return undefined
      }
      case 'dropped':
        return JSON.stringify(st.budget.dropped ?? {})
      case 'random':
        return tagged(new Uint8Array(randomBytes(a as number)))
      case 'crypto.keyPair': {
        const kp = gcrypto.keyPair()
        return latin1(kp.publicKey) + latin1(kp.secretKey)
      }
      case 'crypto.sharedKey':
        return tagged(gcrypto.sharedKey(fromLatin1(str(a)), fromLatin1(str(b))))
      case 'crypto.seal':
        return tagged(gcrypto.seal(fromLatin1(str(a)), value(b, c)))
      case 'crypto.open': {
        const r = gcrypto.open(fromLatin1(str(a)), fromLatin1(str(b)))
        return r ? tagged(r) : undefined
      }
      case 'crypto.box':
        return tagged(gcrypto.box(fromLatin1(str(a)), value(b, c)))
      case 'crypto.unbox': {
        const r = gcrypto.unbox(fromLatin1(str(a)), fromLatin1(str(b)))
        return r ? tagged(r) : undefined
      }
      case 'crypto.hash':
        return tagged(gcrypto.hash(value(a, b)))
      default:
        throw new TypeError('unknown operation')
    }
  }

  private storeOp<T>(fn: () => T): T {
    try {
      return fn()
    } catch (err) {
      if (err instanceof StoreError && err.reason === 'quota')
        this.endSoon('disk-exceeded', err.message)
      throw err
    }
  }
}
