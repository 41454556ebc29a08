/**
 * The host's side of one sandbox process (HostOptions.isolation `process`): spawns it, sends requests, and runs guest code there one
 * call at a time, so that if the process dies the guest that was running is known for certain.
 *
 * The child's entry sits next to this file: child.js when running from dist, child.ts under tsx
 * (tests, benchmarks), in which case the child gets the same `--import tsx` loader.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { fileURLToPath } from 'node:url'
import { dirname, extname, join } from 'node:path'
import { decodeCallReply, encodeCall, isPacked } from './protocol.js'
import type { ChildMessage, Event, Request } from './protocol.js'
import type { OkReply, Place, RequestBody } from './place.js'
import { settled } from '../core/settle.js'

/** The sandbox process died while requests were outstanding. */
export class SandboxCrashed extends Error {
  constructor(
    /** The guest whose call was running when it died, if any. */
    readonly guest: string | null,
    /** How long that call had run. */
    readonly wallNs: bigint,
    readonly exit: string
  ) {
    super(
      `the sandbox process died (${exit})` +
        (guest ? ` while guest ${guest.slice(0, 12)} was running` : '')
    )
  }
}

interface Pending {
  resolve(r: OkReply): void
  reject(e: Error): void
}

const here = fileURLToPath(import.meta.url)
const ext = extname(here)
const ENTRY = join(dirname(here), 'child' + ext)
// --no-node-snapshot: isolated-vm asks for it on Node 20 and later (its README).
const EXEC_ARGV = ext === '.ts' ? ['--import', 'tsx', '--no-node-snapshot'] : ['--no-node-snapshot']

export class Sandbox extends EventEmitter implements Place {
  private child: ChildProcess | null = null
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private tail: Promise<unknown> = Promise.resolve()
  private running: { guest: string; t0: bigint } | null = null
  private closing = false
  /** Guests placed in this sandbox (maintained by the host). */
  readonly guests = new Set<string>()
  exited = false

  get pid(): number | undefined {
    return this.child?.pid
  }

  async start(): Promise<void> {
    const child = fork(ENTRY, [], {
      execArgv: EXEC_ARGV,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })
    this.child = child
    const ready = new Promise<void>((resolve, reject) => {
      child.once('error', reject)
      const onMessage = (m: ChildMessage): void => {
        if ('event' in m && m.event === 'ready') {
          child.off('message', onMessage)
          resolve()
        }
      }
      child.on('message', onMessage)
      child.once('exit', (code, signal) =>
        reject(new SandboxCrashed(null, 0n, signal ?? `exit ${code}`))
      )
    })
    child.on('message', (m: ChildMessage | ChildMessage[] | string) =>
      this.onMessage(isPacked(m) ? decodeCallReply(m) : m)
    )
    // A send to a process that has just died reports here; its exit is handled by onExit.
    child.on('error', onExitInstead)
    child.on('exit', (code, signal) => this.onExit(signal ?? `exit ${code}`))
    await ready
  }

  private onMessage(m: ChildMessage | ChildMessage[]): void {
    if (Array.isArray(m)) {
      // A call's events and its reply, in the order the child emitted them (child.ts).
      for (const one of m) this.onMessage(one)
      return
    }
    if ('event' in m) {
      if (m.event !== 'ready') this.emit('event', m as Event)
      return
    }
    const p = this.pending.get(m.re)
    if (!p) return
    this.pending.delete(m.re)
    if (m.ok) p.resolve(m)
    else p.reject(new Error(m.error))
  }

  private onExit(exit: string): void {
    this.exited = true
    const running = this.running
    const wallNs = running ? process.hrtime.bigint() - running.t0 : 0n
    const err = new SandboxCrashed(running?.guest ?? null, wallNs, exit)
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
    if (!this.closing) this.emit('crash', err)
  }

  /** Sends a request and waits for its reply (not serialised: for requests that run no guest code). */
  request(body: RequestBody): Promise<OkReply> {
    if (this.exited || !this.child)
      return Promise.reject(new SandboxCrashed(null, 0n, 'not running'))
    const id = this.nextId++
    const req = { ...body, id } as Request
    return new Promise<OkReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.child?.send(req.op === 'call' ? encodeCall(req) : req)
    })
  }

  /** Runs guest code: one such request at a time per sandbox. */
  run(guest: string, body: RequestBody): Promise<OkReply> {
    const go = async (): Promise<OkReply> => {
      if (this.exited) throw new SandboxCrashed(null, 0n, 'not running')
      this.running = { guest, t0: process.hrtime.bigint() }
      try {
        return await this.request(body)
      } finally {
        this.running = null
      }
    }
    const run = this.tail.then(go, go)
    this.tail = settled(run)
    return run
  }

  /** Kills the process (tests use it to stand in for a V8 abort). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal)
  }

  async close(): Promise<void> {
    this.closing = true
    const child = this.child
    if (!child || this.exited) return
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.disconnect()
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
    await gone
    clearTimeout(timer)
  }
}

/**
 * The child's `error` handler: a send to a process that has just died reports there, and its exit
 * is what the sandbox acts on (onExit), so the error adds nothing to it.
 */
function onExitInstead(_err: unknown): void {}
