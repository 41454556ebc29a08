/**
 * One guest: its isolate, its context with the `quid` global, its store, and the metering of every
 * call into it. Runs wherever the host keeps its guests: in the agent's own process (the default)
 * or in a sandbox process (docs/HOST.md, "Where guests run").
 *
 * Metering a call: every call into the guest (its code's first run included) runs on the calling
 * thread (`applySync`, `runSync`), so that thread's own CPU clock over the call is exactly the
 * guest's CPU time, the host functions it called on the way included (they run on that thread, on
 * its behalf; thread-clock.ts). While the guest runs, no timer of ours can fire, so isolated-vm's
 * timeout stops it: after the call's wall-clock cap, or, for a guest with less CPU credit than
 * that, after its credit and one slice (`callTimeoutMs`): a thread cannot use more CPU time than
 * wall time, so the credit bounds it.
 * A guest that runs out of net or disk credit mid-call finishes the call, but every host function
 * refuses it from then on. A handler whose promise is still pending when the call returns waits
 * on no CPU of ours, up to the wall-clock cap.
 */
import ivm from 'isolated-vm'
import './v8-flags.js'
import { randomBytes } from 'node:crypto'
import { BOOTSTRAP } from './bootstrap.js'
import { MAX_TIMER_MS, MAX_TIMERS } from './constants.js'
import { packetBytes } from './prices.js'
import { GuestStore, StoreError, type Stored } from './store.js'
import * as gcrypto from './crypto.js'
import { fromLatin1, latin1 } from './protocol.js'
import type { Budget, CallKind, CallResult, Event, GuestSpec } from './protocol.js'
import type { EvictReason } from '../ledger/records.js'
import { parseAddress } from '../vnet/address.js'
import { cpuNowNs } from './thread-clock.js'

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
  context: ivm.Context
}

/**
 * Makes the isolate and its context on this thread (about 1 ms), never on isolated-vm's pool: an
 * isolate disposed while the pool still builds its context (a host closing just after a deploy)
 * can abort the process that holds it, which in-process is the agent.
 */
export function makeSpare(memoryLimitMb: number): Spare {
  const isolate = new ivm.Isolate({ memoryLimit: memoryLimitMb })
  return { isolate, context: isolate.createContextSync() }
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
  sends: number
  logs: number
  /** The call's number; the bootstrap reports a promise's outcome with it. */
  seq: number
  /** What the handlers' promises settled to ('' or what was thrown), once reported. */
  outcome?: string
  /** Wakes a call waiting for that outcome (it came, or the guest was ended). */
  wake?: () => void
  /** CPU ns of this thread over the guest's code in this call. */
  cpuNs: number
}

/**
 * Whether the call's CPU budget covers its whole wall-clock cap: then the cap alone bounds it
 * (a thread cannot use more CPU time than wall time), and reaching it means the guest ran too long
 * (`misbehaved`); otherwise the budget is the bound and reaching it means `cpu-exhausted`.
 */
export function syncable(budget: Budget): boolean {
  return budget.cpuNs >= BigInt(budget.wallMs) * 1_000_000n
}

/**
 * How long isolated-vm lets a call run, on the wall clock: the wall-clock cap, or, when the CPU
 * credit is less, the credit plus half a metering slice, so that a thread descheduled for a
 * moment is not stopped short of its credit, while the overdraft, with the time isolated-vm takes
 * to stop the code, stays within one slice. A guest stopped this way is ended `cpu-exhausted` and
 * billed what its thread used, at most its credit (billing.ts): on a busy machine, where its
 * thread did not run the whole time, that is less than its credit.
 */
export function callTimeoutMs(budget: Budget): number {
  if (syncable(budget)) return budget.wallMs
  const creditMs = Number(budget.cpuNs) / 1e6
  return Math.max(1, Math.min(budget.wallMs, Math.round(creditMs + budget.sliceMs / 2)))
}

/** When the host reads a guest's memory after a call (GuestRuntime.memoryNow). */
const MEMORY_READ_CPU_NS = 50_000n
const MEMORY_READ_EVERY = 16

/** isolated-vm's error for a call stopped by its `timeout`. */
const isTimeout = (err: unknown): boolean => /timed out/i.test((err as Error).message)

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
  /** Heap plus external memory in bytes, as last read (memoryNow). */
  private memory = 0
  /** Why the sandbox ended this guest; set before its isolate is disposed. */
  private ending: EvictReason | null = null
  private detail = ''

  private readonly prepared: ivm.Context

  /** `spare`: an isolate and context made ahead of time with the same memory limit (child.ts). */
  constructor(spec: GuestSpec, emit: (e: Event) => void, spare?: Spare) {
    this.spec = spec
    this.emit = emit
    this.store = new GuestStore(spec.storeDir, spec.diskQuota)
    this.isolate = spare?.isolate ?? new ivm.Isolate({ memoryLimit: spec.memoryLimitMb })
    this.prepared = spare?.context ?? this.isolate.createContextSync()
  }

  get disposed(): boolean {
    return this.isolate.isDisposed
  }

  dispose(): void {
    if (!this.isolate.isDisposed) this.isolate.dispose()
  }

  /** Builds the realm and runs the guest's code once (its top level), metered like a call. */
  async load(budget: Budget): Promise<CallResult> {
    // The context first: making it is the host's work, done ahead (a spare), not the guest's.
    const context = this.prepared
    return this.metered(budget, (st) => {
      this.context = context
      const host = new ivm.Callback((op: unknown, a: unknown, b: unknown, c: unknown) =>
        this.hostCall(op, a, b, c)
      )
      this.onThread(st, () => {
        const boot = bootstrapScript(this.isolate).runSync(context, {
          reference: true
        }) as ivm.Reference
        this.dispatch = boot.applySync(undefined, [host, this.spec.self, this.spec.owner], {
          result: { reference: true }
        }) as ivm.Reference
        boot.release()
      })
      let script: ivm.Script
      try {
        script = this.onThread(st, () =>
          this.isolate.compileScriptSync(this.spec.code, { filename: 'guest.js' })
        )
      } catch (err) {
        this.detail = (err as Error).message
        throw new End('misbehaved')
      }
      // What the realm and the compile took is spent: the code's run gets what is left.
      const left = { ...budget, cpuNs: budget.cpuNs - BigInt(Math.round(st.cpuNs)) }
      try {
        // The completion value stays in the isolate: a Reference, released at once, never a copy.
        const completion = this.onThread(st, () =>
          script.runSync(context, { timeout: callTimeoutMs(left), reference: true })
        ) as ivm.Reference
        completion.release()
      } catch (err) {
        if (this.ending || this.isolate.isDisposed) throw err
        if (isTimeout(err) && !syncable(left)) throw new End('cpu-exhausted')
        this.detail = (err as Error).message
        throw new End('misbehaved')
      }
      return ''
    })
  }

  /** Calls the guest's handlers for `kind`; `data` is the payload as latin1 text ('' for none). */
  call(kind: CallKind, data: string, from: string, budget: Budget): Promise<CallResult> {
    if (kind === 'timer' && this.timers > 0) this.timers--
    return this.metered(budget, async (st, watch) => {
      const dispatch = this.dispatch
      if (!dispatch) throw new End('crashed')
      const args = [kind, data, from, st.seq]
      const opts = { timeout: callTimeoutMs(budget), result: { copy: true } } as const
      let out: unknown
      try {
        out = this.onThread(st, () => dispatch.applySync(undefined, args, opts))
      } catch (err) {
        if (isTimeout(err) && !syncable(budget) && !this.ending) throw new End('cpu-exhausted')
        throw err
      }
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
   * Runs guest code on this thread and adds this thread's CPU time over it to the call's charge,
   * whether it returns or throws (a timeout, the heap limit).
   */
  private onThread<T>(st: CallState, fn: () => T): T {
    const t0 = cpuNowNs()
    try {
      return fn()
    } finally {
      st.cpuNs += cpuNowNs() - t0
    }
  }

  /**
   * Runs a call and measures it. Guest code runs only inside `onThread`, which meters it; `watch`
   * starts the one timer a call may need, for a handler's promise still pending when its code has
   * returned: it ends the guest at the wall-clock cap.
   */
  private async metered(
    budget: Budget,
    run: (st: CallState, watch: () => void) => string | Promise<string>
  ): Promise<CallResult> {
    const st: CallState = { budget, netOut: 0, sends: 0, logs: 0, seq: ++this.calls, cpuNs: 0 }
    this.current = st
    const t0 = process.hrtime.bigint()
    let timer: NodeJS.Timeout | null = null
    const watch = (): void => {
      if (timer || this.ending) return
      const wall = Number(process.hrtime.bigint() - t0) / 1e6
      timer = setTimeout(
        () => this.end('misbehaved', `a call ran longer than ${budget.wallMs} ms`),
        Math.max(1, budget.wallMs - wall)
      )
    }
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
        else if (isTimeout(err)) this.end('misbehaved', (err as Error).message)
        else error = (err as Error).message
      }
    } finally {
      if (timer) clearTimeout(timer)
    }
    this.current = null
    const wallNs = process.hrtime.bigint() - t0
    const cpuNs = BigInt(Math.max(0, Math.round(st.cpuNs)))
    if (!this.isolate.isDisposed) {
      if (cpuNs >= budget.cpuNs) this.end('cpu-exhausted')
      else if (this.memoryNow(st.seq, cpuNs) > this.spec.memoryLimitMb * 1024 * 1024)
        this.end('memory-exceeded')
    }
    const memory = this.memory
    const result: CallResult = { cpuNs, wallNs, netOut: st.netOut, disk: this.store.bytes, memory }
    if (error !== undefined) result.error = error
    if (this.ending) {
      result.ended = this.ending
      if (this.detail) result.detail = this.detail
      this.dispose()
    }
    return result
  }

  /**
   * The guest's heap plus external memory, as last read. Reading it costs about 2 µs, as much as
   * a short call itself, so it is read after a call that ran `MEMORY_READ_CPU_NS` or more (what
   * fills memory takes time), after every `MEMORY_READ_EVERY`th call, and after the first. Between
   * reads isolated-vm's own limit still holds: past it an allocation fails (docs/HOST.md, "Memory").
   */
  private memoryNow(seq: number, cpuNs: bigint): number {
    if (seq === 1 || cpuNs >= MEMORY_READ_CPU_NS || seq % MEMORY_READ_EVERY === 0) {
      const heap = this.isolate.getHeapStatisticsSync()
      this.memory = heap.used_heap_size + heap.externally_allocated_size
    }
    return this.memory
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
   * The one host function in the guest's realm: primitives in, primitives out. It runs on the
   * thread of the guest's call, so its CPU time is in the call's charge (thread-clock.ts).
   */
  private hostCall(op: unknown, a: unknown, b: unknown, c: unknown): unknown {
    const st = this.current
    if (!st || this.ending) throw new Error('the guest is not running')
    return this.work(st, op, a, b, c)
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
