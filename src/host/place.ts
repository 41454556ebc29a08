/**
 * Where a host keeps guests: what it asks of the place, whether that is its own process
 * (in-process.ts, the default) or a sandbox process (sandbox.ts). Both answer the same requests
 * (protocol.ts) through the same guest set (guest-set.ts), so a guest behaves and is billed the
 * same in either; they differ in what a V8 abort or escape costs (docs/HOST.md, "Where guests run").
 */
import type { EventEmitter } from 'node:events'
import type { Reply, Request } from './protocol.js'

type Body<R> = R extends unknown ? Omit<R, 'id'> : never
export type RequestBody = Body<Request>
export type OkReply = Extract<Reply, { ok: true }>

/** How guests are kept apart from the host and from each other (HostOptions.isolation). */
export const ISOLATIONS = ['isolate', 'process'] as const
export type Isolation = (typeof ISOLATIONS)[number]

/**
 * Emits `event` (protocol.ts Event: a guest's send, log line or timer, after the call that made
 * it and before its reply) and, for a place that can die on its own, `crash` (SandboxCrashed).
 */
export interface Place extends EventEmitter {
  /** Guests placed here (maintained by the pool). */
  readonly guests: Set<string>
  /** Whether the place has died (a sandbox process that exited). */
  readonly exited: boolean
  /** The process the guests run in. */
  readonly pid: number | undefined
  start(): Promise<void>
  /** A request that runs no guest code. */
  request(body: RequestBody): Promise<OkReply>
  /** A request that runs guest code (`create`, `call`). */
  run(guest: string, body: RequestBody): Promise<OkReply>
  /** Ends the process abruptly (tests stand it in for a V8 abort); refused in-process. */
  kill(signal?: NodeJS.Signals): void
  close(): Promise<void>
}
