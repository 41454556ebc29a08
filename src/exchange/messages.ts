/**
 * The exchange protocol's messages, byte by byte (docs/PROTOCOL.md, "Messages").
 *
 * Each message travels as one Protomux message of the `quid/exchange` channel; its Protomux
 * message type is its index in MESSAGE_TYPES. Every layout is fixed-width except `propose` (one
 * ledger entry) and `reject` (short strings), and every decoder refuses a message that is too
 * large, truncated, followed by trailing bytes, or has a field out of range, with PROTOCOL.
 */
import c from 'compact-encoding'
import type { Encoder, State } from 'compact-encoding'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { blake2b256, signable } from '../crypto/hash.js'
import { signFast, verifySignature } from '../crypto/verify.js'
import { decodeEntry, vector } from '../ledger/codecs.js'
import type { KeyPair } from '../crypto/identity.js'
import type { ResourceVector, SignedRecord } from '../ledger/records.js'
import {
  MAX_CODE_CHARS,
  MAX_MESSAGE_BYTES,
  MAX_REASON_BYTES,
  PROTOCOL_VERSION
} from './constants.js'

export const MESSAGE_TYPES = ['hello', 'offer', 'propose', 'accept', 'reject', 'done'] as const
export type MessageType = (typeof MESSAGE_TYPES)[number]

/** First message on a connection: binds the Noise key to a participant id. */
export interface Hello {
  version: number
  id: Uint8Array
  /** Over namespace('hello') · BLAKE2b-256(handshakeHash · sender's Noise public key). */
  signature: Uint8Array
}

/** What a participant gives and wants, signed by it, gossiped on the market. */
export interface Offer {
  maker: Uint8Array
  time: number
  expires: number
  nonce: Uint8Array
  give: ResourceVector
  want: ResourceVector
  signature: Uint8Array
}

/** A co-signed record (agreement or transfer) with the proposer's signature, the other slot zero. */
export interface Propose {
  entry: Uint8Array
}

export interface Accept {
  record: Uint8Array
  signature: Uint8Array
}

export interface Reject {
  record: Uint8Array
  code: string
  message: string
}

/** The proposer has appended the record to its own log. */
export interface Done {
  record: Uint8Array
}

export interface MessageOf {
  hello: Hello
  offer: Offer
  propose: Propose
  accept: Accept
  reject: Reject
  done: Done
}

export type AnyMessage = { [K in MessageType]: { type: K; body: MessageOf[K] } }[MessageType]

const protocolError = (type: string, why: string): QuidError =>
  new QuidError(ErrorCodes.PROTOCOL, `bad ${type} message: ${why}`, { message: type, why })

// Field codecs: fixed width, little-endian (the ledger's conventions, FORMAT.md section 1).

const time: Encoder<number> = {
  preencode(state, n) {
    if (!Number.isSafeInteger(n) || n < 0)
      throw new TypeError(`time ${n} is not an integer in 0..2^53-1`)
    state.end += 8
  },
  encode: c.uint64.encode,
  decode(state) {
    const n = c.uint64.decode(state)
    if (!Number.isSafeInteger(n)) throw new RangeError('time beyond 2^53 - 1')
    return n
  }
}

/** A short printable ASCII / UTF-8 string with a u8 length prefix. */
function shortString(max: number, pattern: RegExp | null): Encoder<string> {
  return {
    preencode(state, s) {
      const n = Buffer.byteLength(s)
      if (n > max) throw new TypeError(`string longer than ${max} bytes`)
      state.end += 1 + n
    },
    encode(state, s) {
      const b = Buffer.from(s)
      c.uint8.encode(state, b.byteLength)
      const out = state.buffer as Uint8Array
      out.set(b, state.start)
      state.start += b.byteLength
    },
    decode(state) {
      const n = c.uint8.decode(state)
      if (n > max) throw new RangeError(`string longer than ${max} bytes`)
      if (state.end - state.start < n) throw new RangeError('Out of bounds')
      const s = Buffer.from(
        (state.buffer as Uint8Array).subarray(state.start, state.start + n)
      ).toString()
      state.start += n
      if (pattern && !pattern.test(s))
        throw new RangeError(`string ${JSON.stringify(s)} is not allowed`)
      return s
    }
  }
}

const hello: Encoder<Hello> = {
  preencode(state) {
    state.end += 1 + 32 + 64
  },
  encode(state, m) {
    c.uint8.encode(state, m.version)
    c.fixed32.encode(state, m.id)
    c.fixed64.encode(state, m.signature)
  },
  decode(state) {
    const version = c.uint8.decode(state)
    if (version !== PROTOCOL_VERSION) throw new RangeError(`unknown protocol version ${version}`)
    return { version, id: c.fixed32.decode(state), signature: c.fixed64.decode(state) }
  }
}

/** The offer's body: everything but its signature (113 bytes); its id is the hash of these. */
const offerBody: Encoder<Omit<Offer, 'signature'>> = {
  preencode(state, o) {
    state.end += 1 + 32
    time.preencode(state, o.time)
    time.preencode(state, o.expires)
    state.end += 16
    vector.preencode(state, o.give)
    vector.preencode(state, o.want)
  },
  encode(state, o) {
    c.uint8.encode(state, PROTOCOL_VERSION)
    c.fixed32.encode(state, o.maker)
    time.encode(state, o.time)
    time.encode(state, o.expires)
    c.fixed(16).encode(state, o.nonce)
    vector.encode(state, o.give)
    vector.encode(state, o.want)
  },
  decode(state) {
    const version = c.uint8.decode(state)
    if (version !== PROTOCOL_VERSION) throw new RangeError(`unknown offer version ${version}`)
    const o = {
      maker: c.fixed32.decode(state),
      time: time.decode(state),
      expires: time.decode(state),
      nonce: c.fixed(16).decode(state),
      give: vector.decode(state),
      want: vector.decode(state)
    }
    const problem = offerShapeProblem(o)
    if (problem) throw new RangeError(problem)
    return o
  }
}

const offer: Encoder<Offer> = {
  preencode(state, o) {
    offerBody.preencode(state, o)
    state.end += 64
  },
  encode(state, o) {
    offerBody.encode(state, o)
    c.fixed64.encode(state, o.signature)
  },
  decode(state) {
    return { ...offerBody.decode(state), signature: c.fixed64.decode(state) }
  }
}

const propose: Encoder<Propose> = {
  preencode(state, m) {
    state.end += m.entry.byteLength
  },
  encode(state, m) {
    const out = state.buffer as Uint8Array
    out.set(m.entry, state.start)
    state.start += m.entry.byteLength
  },
  decode(state) {
    const entry = (state.buffer as Uint8Array).subarray(state.start, state.end)
    state.start = state.end
    return { entry: new Uint8Array(entry) }
  }
}

const accept: Encoder<Accept> = {
  preencode(state) {
    state.end += 32 + 64
  },
  encode(state, m) {
    c.fixed32.encode(state, m.record)
    c.fixed64.encode(state, m.signature)
  },
  decode(state) {
    return { record: c.fixed32.decode(state), signature: c.fixed64.decode(state) }
  }
}

const code = shortString(MAX_CODE_CHARS, /^[a-z][a-z0-9-]*$/)
const reason = shortString(MAX_REASON_BYTES, null)

const reject: Encoder<Reject> = {
  preencode(state, m) {
    state.end += 32
    code.preencode(state, m.code)
    reason.preencode(state, m.message)
  },
  encode(state, m) {
    c.fixed32.encode(state, m.record)
    code.encode(state, m.code)
    reason.encode(state, m.message)
  },
  decode(state) {
    return {
      record: c.fixed32.decode(state),
      code: code.decode(state),
      message: reason.decode(state)
    }
  }
}

const done: Encoder<Done> = {
  preencode(state) {
    state.end += 32
  },
  encode(state, m) {
    c.fixed32.encode(state, m.record)
  },
  decode(state) {
    return { record: c.fixed32.decode(state) }
  }
}

const ENCODERS: { [K in MessageType]: Encoder<MessageOf[K]> } = {
  hello,
  offer,
  propose,
  accept,
  reject,
  done
}

export function encodeMessage<K extends MessageType>(type: K, body: MessageOf[K]): Uint8Array {
  return c.encode(ENCODERS[type] as Encoder<MessageOf[K]>, body)
}

/**
 * Decodes one message of a known type. Refuses (PROTOCOL) anything larger than the limit, short,
 * with trailing bytes or with a field out of range; never returns a partly checked value.
 */
export function decodeMessage<K extends MessageType>(type: K, bytes: Uint8Array): MessageOf[K] {
  if (bytes.byteLength > MAX_MESSAGE_BYTES)
    throw protocolError(type, `${bytes.byteLength} bytes, over ${MAX_MESSAGE_BYTES}`)
  const state: State = { start: 0, end: bytes.byteLength, buffer: bytes }
  let body: MessageOf[K]
  try {
    body = (ENCODERS[type] as Encoder<MessageOf[K]>).decode(state)
  } catch (err) {
    throw protocolError(type, (err as Error).message)
  }
  if (state.start !== state.end)
    throw protocolError(type, `${state.end - state.start} trailing bytes`)
  return body
}

/** The ledger entry inside a proposal, decoded and limited to the records an exchange co-signs. */
export function decodeProposal(m: Propose): SignedRecord {
  let signed: SignedRecord
  try {
    signed = decodeEntry(m.entry)
  } catch (err) {
    throw protocolError('propose', `entry: ${(err as Error).message}`)
  }
  if (signed.record.type !== 'agreement' && signed.record.type !== 'transfer') {
    throw protocolError('propose', `a ${signed.record.type} is not co-signed over the exchange`)
  }
  return signed
}

// Authentication

/** What `hello` signs: BLAKE2b-256(handshakeHash · the signer's own Noise public key). */
export function helloDigest(handshakeHash: Uint8Array, noiseKey: Uint8Array): Uint8Array {
  return blake2b256(Buffer.concat([handshakeHash, noiseKey]))
}

export function signHello(
  keyPair: KeyPair,
  handshakeHash: Uint8Array,
  noiseKey: Uint8Array
): Hello {
  const signature = signFast(
    signable('hello', helloDigest(handshakeHash, noiseKey)),
    keyPair.secretKey
  )
  return { version: PROTOCOL_VERSION, id: keyPair.publicKey, signature }
}

export function verifyHello(
  m: Hello,
  handshakeHash: Uint8Array,
  remoteNoiseKey: Uint8Array
): boolean {
  return verifySignature(
    m.signature,
    signable('hello', helloDigest(handshakeHash, remoteNoiseKey)),
    m.id
  )
}

// Offers

function offerShapeProblem(o: Omit<Offer, 'signature'>): string | null {
  if (o.expires <= o.time) return 'expires must be after time'
  const any = (v: ResourceVector): boolean => v.cpu > 0n || v.disk > 0n || v.net > 0n
  if (!any(o.give)) return 'an offer gives something'
  if (!any(o.want)) return 'an offer wants something'
  return null
}

export function offerId(o: Omit<Offer, 'signature'>): Uint8Array {
  return blake2b256(c.encode(offerBody, o))
}

export function signOffer(o: Omit<Offer, 'signature'>, keyPair: KeyPair): Offer {
  const problem = offerShapeProblem(o)
  if (problem) throw new QuidError(ErrorCodes.BAD_ARGUMENT, `cannot sign this offer: ${problem}`)
  return { ...o, signature: signFast(signable('offer', offerId(o)), keyPair.secretKey) }
}

export function verifyOffer(o: Offer): boolean {
  return verifySignature(o.signature, signable('offer', offerId(o)), o.maker)
}
