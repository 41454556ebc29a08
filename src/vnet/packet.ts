/**
 * The one wire format of a virtual-network packet (docs/PROTOCOL.md, "Virtual network").
 *
 *   packet = version:u8 · kind:u8 · id:16 · from:address · to:address · kind-specific
 *   address = agent:32 · hasGuest:u8 (0|1) · guest:32 (only when hasGuest = 1)
 *   data        (kind 1): payload:buffer (compact-encoding length prefix, ≤ MAX_PAYLOAD bytes)
 *   unreachable (kind 2): reason:u8, about the packet `id` that could not be delivered
 *
 * Decoding is strict like the ledger's: unknown versions, kinds or reasons, a flag other than
 * 0 or 1, an oversize payload, a non-minimal length prefix and trailing bytes are all refused.
 */
import c from 'compact-encoding'
import type { State } from 'compact-encoding'
import { randomFillSync } from 'node:crypto'
import { QuidError, ErrorCodes } from '../core/errors.js'
import type { Address } from './address.js'

export const PACKET_VERSION = 1
export const PACKET_ID_BYTES = 16
/** Largest payload a packet carries; remailers pad every message to one size below this. */
export const MAX_PAYLOAD = 64 * 1024

// Ids are cut from a pool of random bytes refilled 256 ids at a time: one randomBytes call per
// packet took about 8 µs here, more than encoding the packet.
const ID_POOL_BYTES = 256 * PACKET_ID_BYTES
const idPool = new Uint8Array(ID_POOL_BYTES)
let idPoolUsed = ID_POOL_BYTES

/** A fresh random packet id, in its own buffer (a copy, never a view of the pool). */
export function newPacketId(): Uint8Array {
  if (idPoolUsed === ID_POOL_BYTES) {
    randomFillSync(idPool)
    idPoolUsed = 0
  }
  const id = idPool.slice(idPoolUsed, idPoolUsed + PACKET_ID_BYTES)
  idPoolUsed += PACKET_ID_BYTES
  return id
}

export const UNREACHABLE_REASONS = ['unknown', 'gone', 'busy', 'too-large', 'no-route'] as const
export type UnreachableReason = (typeof UNREACHABLE_REASONS)[number]

interface Common {
  id: Uint8Array
  from: Address
  to: Address
}
export interface DataPacket extends Common {
  kind: 'data'
  payload: Uint8Array
}
export interface UnreachablePacket extends Common {
  kind: 'unreachable'
  reason: UnreachableReason
}
export type Packet = DataPacket | UnreachablePacket

const KIND_TAGS = { data: 1, unreachable: 2 } as const

function invalid(field: string, why: string): QuidError {
  return new QuidError(ErrorCodes.DECODE_INVALID, `packet ${field}: ${why}`, { field })
}

/** Bytes of compact-encoding's shortest `uint` for `n`. */
function uintBytes(n: number): number {
  const s = c.state()
  c.uint.preencode(s, n)
  return s.end
}

function checkBytes(state: State, n: number): void {
  if (state.end - state.start < n)
    throw new QuidError(ErrorCodes.DECODE_TRUNCATED, 'packet is truncated')
}

const address = {
  preencode(state: State, a: Address): void {
    state.end += 33 + (a.guest ? 32 : 0)
  },
  encode(state: State, a: Address): void {
    c.fixed32.encode(state, a.agent)
    c.uint8.encode(state, a.guest ? 1 : 0)
    if (a.guest) c.fixed32.encode(state, a.guest)
  },
  decode(state: State): Address {
    checkBytes(state, 33)
    const agent = new Uint8Array(c.fixed32.decode(state))
    const flag = c.uint8.decode(state)
    if (flag > 1) throw invalid('address', `guest flag ${flag} is not 0 or 1`)
    if (flag === 0) return { agent, guest: null }
    checkBytes(state, 32)
    return { agent, guest: new Uint8Array(c.fixed32.decode(state)) }
  }
}

export function encodePacket(p: Packet): Uint8Array {
  if (p.id.byteLength !== PACKET_ID_BYTES)
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, `packet id must be ${PACKET_ID_BYTES} bytes`)
  for (const a of [p.from, p.to]) {
    if (a.agent.byteLength !== 32 || (a.guest && a.guest.byteLength !== 32)) {
      throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'address parts must be 32 bytes')
    }
  }
  if (p.kind === 'data' && p.payload.byteLength > MAX_PAYLOAD) {
    throw new QuidError(
      ErrorCodes.BAD_ARGUMENT,
      `a payload of ${p.payload.byteLength} bytes is over the ${MAX_PAYLOAD}-byte limit`
    )
  }
  const state = c.state()
  state.end += 2 + PACKET_ID_BYTES
  address.preencode(state, p.from)
  address.preencode(state, p.to)
  if (p.kind === 'data') c.buffer.preencode(state, p.payload)
  else state.end += 1
  state.buffer = new Uint8Array(state.end)
  c.uint8.encode(state, PACKET_VERSION)
  c.uint8.encode(state, KIND_TAGS[p.kind])
  c.fixed(PACKET_ID_BYTES).encode(state, p.id)
  address.encode(state, p.from)
  address.encode(state, p.to)
  if (p.kind === 'data') c.buffer.encode(state, p.payload)
  else c.uint8.encode(state, UNREACHABLE_REASONS.indexOf(p.reason) + 1)
  return state.buffer
}

export function decodePacket(bytes: Uint8Array): Packet {
  const state = { start: 0, end: bytes.byteLength, buffer: bytes }
  try {
    checkBytes(state, 2 + PACKET_ID_BYTES)
    const version = c.uint8.decode(state)
    if (version !== PACKET_VERSION)
      throw new QuidError(ErrorCodes.DECODE_VERSION, `packet version ${version} is unknown`)
    const tag = c.uint8.decode(state)
    const id = new Uint8Array(c.fixed(PACKET_ID_BYTES).decode(state))
    const from = address.decode(state)
    const to = address.decode(state)
    let p: Packet
    if (tag === KIND_TAGS.data) {
      const at = state.start
      const len = c.uint.decode(state)
      if (len > MAX_PAYLOAD)
        throw new QuidError(
          ErrorCodes.DECODE_OVERSIZE,
          `packet payload of ${len} bytes is over the limit`
        )
      // One packet, one encoding: the length prefix is the only field with more than one form, so
      // a prefix written longer than needed is refused (checked here rather than by encoding the
      // packet again, which cost more than decoding it).
      if (state.start - at !== uintBytes(len))
        throw new QuidError(
          ErrorCodes.DECODE_NONCANONICAL,
          'packet bytes are not the canonical encoding'
        )
      checkBytes(state, len)
      const payload = bytes.slice(state.start, state.start + len)
      state.start += len
      p = { kind: 'data', id, from, to, payload }
    } else if (tag === KIND_TAGS.unreachable) {
      checkBytes(state, 1)
      const r = c.uint8.decode(state)
      const reason = UNREACHABLE_REASONS[r - 1]
      if (reason === undefined) throw invalid('reason', `${r} is unknown`)
      p = { kind: 'unreachable', id, from, to, reason }
    } else {
      throw new QuidError(ErrorCodes.DECODE_TYPE, `packet kind ${tag} is unknown`)
    }
    if (state.start !== state.end)
      throw new QuidError(ErrorCodes.DECODE_TRAILING, 'packet has trailing bytes')
    return p
  } catch (err) {
    if (err instanceof QuidError) throw err
    throw new QuidError(ErrorCodes.DECODE_TRUNCATED, 'packet is truncated')
  }
}
