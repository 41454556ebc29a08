/**
 * The price list: what a guest pays for the host's work that is not in its calls' CPU time, and
 * what a packet costs in net bytes. Every figure is written here once; docs/GUESTS.md and
 * docs/HOST.md give the same table.
 *
 * What a guest's call does on the host's behalf inside the call — `quid.crypto`, the store,
 * `quid.send`'s checks — runs on the call's thread and is in its measured CPU time
 * (thread-clock.ts), so it has no price here. What the host does for the guest around its calls —
 * routing its packets, queueing and billing deliveries, its timers and notices, and, with guests
 * in sandbox processes, the IPC — is billed per event at the prices below, as CPU time turned
 * into MI at the host's rating like the guest's own. Prices are deliberately high rather than
 * low: a guest overpaying a little is fine, a host burning unbilled CPU for a stranger is not.
 */
import type { Isolation } from './place.js'

/** Bytes a packet takes on the wire beyond its payload (framing, two addresses, id, Noise tag). */
export const PACKET_OVERHEAD_BYTES = 120

/** A packet's net price: its wire size, so an empty packet is never free. */
export function packetBytes(payload: number): number {
  return payload + PACKET_OVERHEAD_BYTES
}

/** The host-side CPU time (ns) of the work a guest causes outside its calls, per event. */
export interface EventPrices {
  /** A packet it sends: routing, encoding, the channel (and the IPC out of a sandbox). */
  send: bigint
  /** A packet delivered to it: decoding, routing, queueing, billing (and the call's IPC). */
  deliver: bigint
  /** An `unreachable` notice its sends cause: the notice call's host side. */
  notice: bigint
  /** A `quid.after` timer: the host timer and the `timer` call's host side. */
  timer: bigint
}

/**
 * Per place guests run, measured on the 2-core development machine and rounded up. In the host's
 * process the work is the host's own bookkeeping and routing: a delivery's wall time less its
 * call's thread CPU time is 10–20 µs, a send through the agent's router and channel 15–25 µs. A
 * sandbox process adds two IPC messages and their wake-ups to each, about 60 µs in all.
 */
export const EVENT_PRICES: Readonly<Record<Isolation, EventPrices>> = {
  isolate: { send: 25_000n, deliver: 20_000n, notice: 20_000n, timer: 15_000n },
  process: { send: 60_000n, deliver: 60_000n, notice: 60_000n, timer: 40_000n }
}
