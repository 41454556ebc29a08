/** The host's public types, and its record of one running guest. */
import type { Ledger } from '../ledger/ledger.js'
import type { EvictReason, ResourceVector } from '../ledger/records.js'
import type { Amounts } from '../ledger/amounts.js'
import type { Isolation, Place } from './place.js'
import type { TokenBucket } from '../exchange/limits.js'

/**
 * What the host dropped or refused for a guest because one of its bounded queues was full or it
 * sent too fast, by kind; the guest reads it with `quid.dropped()` (docs/GUESTS.md).
 */
export interface Dropped {
  /** Packets to it refused: its queue of calls was full (the sender heard `busy`). */
  deliveries: number
  /** `unreachable` notices for its own sends not delivered to it. */
  notices: number
  /** `quid.after` timers that fired while its queue was full. */
  timers: number
  /** Packets it sent that were dropped: too many waiting to be routed. */
  sends: number
  /** Packets it sent that were dropped: over its packets-per-second rate. */
  rate: number
}
export type DropKind = keyof Dropped

/** A packet a guest sent, handed to the router. `from` is the guest's address. */
export interface Packet {
  from: string
  to: string
  data: Uint8Array
}

/** Where guests' outgoing packets go (the agent wires this to the virtual network). */
export interface GuestRouter {
  send(packet: Packet): void
}

export interface HostOptions {
  ledger: Ledger
  /** Directory for guests' code and stores (one subdirectory per guest). */
  dir: string
  /** Most the host is willing to owe at once, per resource, published in its `capacity` record. */
  limits: Amounts
  /** Default: packets to this host's own guests are delivered, others dropped. */
  router?: GuestRouter
  memoryLimitMb?: number
  callWallMs?: number
  meteringSliceMs?: number
  usageIntervalMs?: number
  /** A guest with no call for this long hibernates (hibernation.ts); 0: never. */
  hibernateAfterMs?: number
  maxGuests?: number
  /**
   * Where guests run: `isolate` (default), each in its own isolate in the host's process;
   * `process`, isolates spread over `sandboxes` sandbox processes, so that a V8 abort or escape
   * takes down a sandbox, not the host (docs/HOST.md, "Where guests run").
   */
  isolation?: Isolation
  /** Sandbox processes, with isolation `process`. */
  sandboxes?: number
  maxCodeBytes?: number
  maxSendsPerCall?: number
  /**
   * Refuse in `quid.send`, with an error the guest can catch, any `to` that is not a
   * virtual-network address (docs/VNET.md): a guest can name no hostname, IP or anything else
   * outside the network. The agent sets it; default false, for embedders with their own names.
   */
  strictAddresses?: boolean
  /** Calls waiting per guest (HOST_DEFAULTS.maxPendingCalls). */
  maxPendingCalls?: number
  maxPendingNotices?: number
  maxOutgoing?: number
  guestPacketsPerSec?: number
  guestPacketBurst?: number
  /** Revivals after host crashes before a guest is evicted `crash-loop`. */
  maxRevives?: number
  /** Share of V8's heap limit past which the host sheds its heaviest guest. */
  heapCeiling?: number
  heapCheckMs?: number
  /** Skip calibration and use this rating (tests that need exact figures). */
  mips?: number
  now?: () => number
}

export interface GuestInfo {
  id: string
  address: string
  owner: string
  reserved: ResourceVector
  used: ResourceVector
  /** Hibernating: its isolate is disposed until its next call (hibernation.ts). */
  asleep: boolean
}

/** What the host knows of a running guest (internal). */
export interface Guest {
  id: string
  address: string
  owner: string
  storeDir: string
  dir: string
  code: string
  reserved: ResourceVector
  expires: number
  /** cpu MI already in the log when this process took the guest over (restart). */
  baseCpu: bigint
  cpuNs: bigint
  net: bigint
  disk: bigint
  /** What the log says was used (the last usage record). */
  logged: ResourceVector
  /** Where it runs (the host's process, or a sandbox process). */
  sandbox: Place
  chain: Promise<unknown>
  /** Calls queued on `chain` or running. */
  queued: number
  /** When its last call ended (performance.now()). */
  lastActive: number
  /** Hibernating: its isolate is disposed; it is loaded again before its next call. */
  asleep: boolean
  /** Pending `quid.after` timers, cleared when the guest ends or the host closes. */
  timers: Set<NodeJS.Timeout>
  /** Calls queued on `chain` and not yet run (deliveries, notices, timers). */
  pending: number
  /** Of those, `unreachable` notices. */
  notices: number
  /** Packets it sent that wait to be routed. */
  outgoing: number
  /** Its packets-per-second allowance. */
  sendRate: TokenBucket
  dropped: Dropped
  /** Times it has been started again after host crashes (restore; kept in its directory). */
  revives: number
  /** Being evicted: its queued calls are skipped. */
  doomed: boolean
  ended: boolean
  /** How it ended, once it has. */
  final?: EvictEvent
}

export interface EvictEvent {
  guest: string
  reason: EvictReason
  used: ResourceVector
  /** cpu MI measured, before capping at the reservation (what a guest overdrew is its overshoot). */
  measuredCpu: bigint
  detail?: string
}
