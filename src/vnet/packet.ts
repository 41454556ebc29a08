/**
 * The one wire format of a virtual-network packet (docs/VNET.md, "Packets"; hex vectors in
 * test/fixtures/packet-vectors.json).
 *
 *   packet = version:u8 · kind:u8 · id:16 · from:address · to:address · kind-specific
 *   address = agent:32 · hasGuest:u8 (0|1) · guest:32 (only when hasGuest = 1)
 *   data        (kind 1): payload:buffer (compact-encoding length prefix, ≤ MAX_PAYLOAD bytes)
 *   unreachable (kind 2): reason:u8, about the packet `id` that could not be delivered
 *
 * Decoding is strict like the ledger's: unknown versions, kinds or reasons, a flag other than
 * 0 or 1, an oversize payload, a non-minimal length prefix and trailing bytes are all refused,
 * each with its `decode-*` code.
 */
import { randomFillSync } from 'node:crypto'
import { QuidError, ErrorCodes } from '../core/errors.js'
import {
  bytes,
  decodeError,
  decodeExactly,
  encode,
  encodeError,
  fixed,
  u8,
  versioned,
  type Encoder
} from '../core/codec.js'
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

const key = fixed(32, 'address')
const flag = u8('address')
const packetId = fixed(PACKET_ID_BYTES, 'id')
const kind = u8('kind')
const payload = bytes(MAX_PAYLOAD, 'payload')
const reasonByte = u8('reason')

const address: Encoder<Address> = {
  preencode(state, a) {
    key.preencode(state, a.agent)
    state.end += 1
    if (a.guest) key.preencode(state, a.guest)
  },
  encode(state, a) {
    key.encode(state, a.agent)
    flag.encode(state, a.guest ? 1 : 0)
    if (a.guest) key.encode(state, a.guest)
  },
  decode(state) {
    const agent = key.decode(state)
    const f = flag.decode(state)
    if (f > 1)
      throw decodeError(ErrorCodes.DECODE_INVALID, 'address', `guest flag ${f} is not 0 or 1`)
    return { agent, guest: f === 0 ? null : key.decode(state) }
  }
}

const reason: Encoder<UnreachableReason> = {
  preencode(state, r) {
    if (!UNREACHABLE_REASONS.includes(r)) throw encodeError('reason', `${String(r)} is unknown`)
    state.end += 1
  },
  encode(state, r) {
    reasonByte.encode(state, UNREACHABLE_REASONS.indexOf(r) + 1)
  },
  decode(state) {
    const n = reasonByte.decode(state)
    const r = UNREACHABLE_REASONS[n - 1]
    if (r === undefined) throw decodeError(ErrorCodes.DECODE_INVALID, 'reason', `${n} is unknown`)
    return r
  }
}

const packet: Encoder<Packet> = versioned(PACKET_VERSION, 'packet', {
  preencode(state, p) {
    if (KIND_TAGS[p.kind] === undefined) throw encodeError('kind', `${String(p.kind)} is unknown`)
    state.end += 1
    packetId.preencode(state, p.id)
    address.preencode(state, p.from)
    address.preencode(state, p.to)
    if (p.kind === 'data') payload.preencode(state, p.payload)
    else reason.preencode(state, p.reason)
  },
  encode(state, p) {
    kind.encode(state, KIND_TAGS[p.kind])
    packetId.encode(state, p.id)
    address.encode(state, p.from)
    address.encode(state, p.to)
    if (p.kind === 'data') payload.encode(state, p.payload)
    else reason.encode(state, p.reason)
  },
  decode(state) {
    const tag = kind.decode(state)
    if (tag !== KIND_TAGS.data && tag !== KIND_TAGS.unreachable)
      throw new QuidError(ErrorCodes.DECODE_TYPE, `packet kind ${tag} is unknown`, { kind: tag })
    const id = packetId.decode(state)
    const from = address.decode(state)
    const to = address.decode(state)
    return tag === KIND_TAGS.data
      ? { kind: 'data', id, from, to, payload: payload.decode(state) }
      : { kind: 'unreachable', id, from, to, reason: reason.decode(state) }
  }
})

export function encodePacket(p: Packet): Uint8Array {
  return encode(packet, p)
}

export function decodePacket(input: Uint8Array): Packet {
  // The payload's length prefix is the only field with more than one form, and its codec refuses
  // every form but the shortest: that proves the bytes canonical without encoding the packet
  // again, which cost more than decoding it.
  return decodeExactly(packet, input, 'packet', { reencode: false })
}
