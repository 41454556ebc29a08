/**
 * Messages between the host and a sandbox process (Node IPC with the structured-clone
 * serialization, so bigints and Uint8Arrays cross as themselves). The host sends one request at a
 * time that runs guest code, so when a sandbox dies the guest that was running is known.
 */
import type { EvictReason } from '../ledger/records.js'

export interface GuestSpec {
  id: string
  /** The guest's address on the virtual network (`quid.self`). */
  self: string
  /** Its owner's id, hex (`quid.owner`). */
  owner: string
  /** Directory of its store (created if missing). */
  storeDir: string
  code: string
  diskQuota: number
  memoryLimitMb: number
  /** `quid.send` refuses anything but a virtual-network address (HostOptions.strictAddresses). */
  strictAddresses?: boolean
}

/** What one call may still consume; the sandbox ends the guest when a figure runs out. */
export interface Budget {
  cpuNs: bigint
  net: number
  wallMs: number
  sliceMs: number
  maxSends: number
  maxLogs: number
  maxPacket: number
}

export type Request =
  /** Loads the guest and, with `start`, runs its start handler in the same request. */
  | { op: 'create'; id: number; guest: GuestSpec; budget: Budget; start?: boolean }
  | {
      op: 'call'
      id: number
      guest: string
      kind: 'start' | 'message' | 'stop' | 'timer' | 'unreachable'
      data?: Uint8Array
      from?: string
      budget: Budget
    }
  | { op: 'dispose'; id: number; guest: string }
  | { op: 'calibrate'; id: number; runs: number }
  /** A bare isolate (benchmark yardstick); with `calls`, `code` is a function called that many times. */
  | { op: 'bare'; id: number; code: string; memoryLimitMb: number; calls?: number }
  | { op: 'stats'; id: number }

/** What a call cost and how it ended. */
export interface CallResult {
  /** CPU time of the call: the isolate's thread CPU time, or the sandbox process's if it was disposed. */
  cpuNs: bigint
  wallNs: bigint
  netOut: number
  disk: number
  memory: number
  /** What the guest's code threw, described by the bootstrap (the guest keeps running). */
  error?: string
  /** Set when the sandbox ended the guest; its isolate is gone. */
  ended?: EvictReason
  /** Why, for people (e.g. the syntax error). */
  detail?: string
}

export type Reply =
  | {
      re: number
      ok: true
      result?: CallResult
      /** The start handler's call, for a `create` with `start`. */
      started?: CallResult
      mips?: number
      samples?: number[]
      bareNs?: number
      rss?: number
      guests?: number
    }
  | { re: number; ok: false; error: string }

export type Event =
  | { event: 'send'; guest: string; to: string; data: Uint8Array }
  | { event: 'log'; guest: string; line: string }
  /** `quid.after(ms, note)`: call the guest's `timer` handlers with `note` in `ms`. */
  | { event: 'timer'; guest: string; ms: number; note: string }
  | { event: 'ready' }

/**
 * What the child posts: one message, or a batch (an array) holding the events of a guest call
 * followed by its reply, handled in order (child.ts).
 */
export type ChildMessage = Reply | Event
