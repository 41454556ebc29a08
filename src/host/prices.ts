/**
 * The price list: what host-side work done for a guest costs it, in nanoseconds of CPU time
 * (billed as cpu MI at the host's MIPS rating, like the guest's own isolate time), and what a
 * packet costs in net bytes. Every figure is written here once; docs/GUESTS.md and docs/HOST.md
 * give the same table.
 *
 * How they were measured (Node 22, one core of this project's 2-core dev machine, load 0.0,
 * `process.cpuUsage` around a loop of the operation after one warm-up, 2026-12-07): BLAKE2b-256
 * of 1 MiB 21.6 ms (21.6 ns/B) and of 32 bytes 12 µs; X25519 shared secret 1.22 ms;
 * XChaCha20-Poly1305 of 1 MiB 13.4 ms (12.8 ns/B) and of 32 bytes 48 µs; GuestStore.put of a small
 * value 102 µs and of 1 MiB 4.2 ms; get 42 µs and 5.4 ms; del 2 µs (absent key) to ~30 µs; keys of
 * 50 keys 5 µs; a latin1 copy 3.4 ns/B. Each price is the measurement rounded up, plus the
 * callback's own crossing (`CALL_NS`). Packet and timer prices are the host-side share of the
 * per-message cost measured by `npm run bench -- host` (sandbox IPC, the host's queueing and
 * billing, the router and the agent's channel), rounded up: a guest's message costs the machine
 * about 60 µs outside its isolate; a timer, a scheduled host timer and a call, about 40 µs.
 * Prices are deliberately high rather than low: a guest overpaying a little is fine, a host
 * burning unbilled CPU for a stranger is not (`billedCostRatio` in scripts/bench/host.ts checks).
 */

/** Every host function call: crossing out of the isolate and back, and its argument checks. */
export const CALL_NS = 2_000

/** Per byte of argument copied out of or result copied into the isolate (latin1 both ways). */
export const COPY_NS_PER_BYTE = 4

/** Host functions with a fixed part and a part per byte of data (beyond the copy). */
export const HOST_OP_PRICES: Readonly<Record<string, { base: number; perByte: number }>> = {
  'crypto.hash': { base: 13_000, perByte: 22 },
  'crypto.seal': { base: 50_000, perByte: 13 },
  'crypto.open': { base: 50_000, perByte: 13 },
  'crypto.keyPair': { base: 1_300_000, perByte: 0 },
  'crypto.sharedKey': { base: 1_300_000, perByte: 0 },
  // An ephemeral key pair, a shared secret and a seal.
  'crypto.box': { base: 2_700_000, perByte: 13 },
  'crypto.unbox': { base: 1_350_000, perByte: 13 },
  get: { base: 45_000, perByte: 6 },
  put: { base: 110_000, perByte: 5 },
  del: { base: 30_000, perByte: 0 },
  keys: { base: 10_000, perByte: 2 },
  random: { base: 2_000, perByte: 5 },
  'utf8.encode': { base: 0, perByte: 2 },
  'utf8.decode': { base: 0, perByte: 2 }
}

/** What a host call costs: the crossing, the copies, and the operation's own price. */
export function hostOpNs(op: string, bytes: number): bigint {
  const p = HOST_OP_PRICES[op]
  const ns = CALL_NS + COPY_NS_PER_BYTE * bytes + (p ? p.base + p.perByte * bytes : 0)
  return BigInt(Math.ceil(ns))
}

/** Bytes a packet takes on the wire beyond its payload (framing, two addresses, id, Noise tag). */
export const PACKET_OVERHEAD_BYTES = 120

/** A packet's net price: its wire size, so an empty packet is never free. */
export function packetBytes(payload: number): number {
  return payload + PACKET_OVERHEAD_BYTES
}

/** Host-side CPU per packet a guest sends: IPC out of the sandbox, routing, encoding, the channel. */
export const SEND_NS = 60_000n

/** Host-side CPU per packet delivered to a guest: decoding, routing, queueing, the call's IPC. */
export const DELIVER_NS = 60_000n

/** Host-side CPU per `unreachable` notice a guest's sends cause (the notice call). */
export const NOTICE_NS = 60_000n

/** Host-side CPU per `quid.after` timer: the host timer and the `timer` call's IPC and billing. */
export const TIMER_NS = 40_000n
