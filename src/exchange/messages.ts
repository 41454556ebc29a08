/**
 * The exchange protocol's messages, byte by byte (docs/PROTOCOL.md, "Messages"; hex vectors in
 * test/fixtures/exchange-vectors.json).
 *
 * Each message travels as one Protomux message of the `quid/exchange` channel; its Protomux
 * message type is its index in MESSAGE_TYPES. `hello` carries the version of the whole channel,
 * an `offer` (gossiped and journaled, so it outlives a connection) its own, and `propose` a ledger
 * entry with the record's version; `accept`, `reject` and `done` are of the version their
 * connection's `hello` named. Every layout is fixed-width except `propose` (one ledger entry) and
 * `reject` (short strings). A message that is too large, truncated, followed by trailing bytes,
 * not in its one encoding or with a field out of range is a protocol violation whose `why` is the
 * `decode-*` code of the refusal (core/codec.ts).
 */
import { QuidError, ErrorCodes } from '../core/errors.js'
import {
  decodeExactly,
  encode,
  encodeError,
  fixed,
  struct,
  text,
  time,
  version,
  versioned,
  type Encoder
} from '../core/codec.js'
import { blake2b256, signable } from '../crypto/hash.js'
import { signFast, verifySignature } from '../crypto/verify.js'
import { decodeEntry, vector } from '../ledger/codecs.js'
import type { KeyPair } from '../crypto/identity.js'
import type { ResourceVector, SignedRecord } from '../ledger/records.js'
import { COSIGNED_TYPES } from './cosigned.js'
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

/** A refusal of bytes a peer sent: a protocol violation, `why` naming the decode code. */
function violation(type: string, err: QuidError): QuidError {
  return new QuidError(ErrorCodes.PROTOCOL, `bad ${type} message: ${err.message}`, {
    ...err.details,
    message: type,
    why: err.code
  })
}

// Fields: fixed width, little-endian (the ledger's conventions, FORMAT.md section 1).
const signature = fixed(64, 'signature')
const record = fixed(32, 'record')

const hello: Encoder<Hello> = struct<Hello>([
  ['version', version(PROTOCOL_VERSION, 'protocol')],
  ['id', fixed(32, 'id')],
  ['signature', signature]
])

type OfferBody = Omit<Offer, 'signature'>

const offerFields = struct<OfferBody>([
  ['maker', fixed(32, 'maker')],
  ['time', time('time')],
  ['expires', time('expires')],
  ['nonce', fixed(16, 'nonce')],
  ['give', vector],
  ['want', vector]
])

/** The offer's body: everything but its signature (113 bytes); its id is the hash of these. */
const offerBody: Encoder<OfferBody> = versioned(PROTOCOL_VERSION, 'offer', {
  preencode: offerFields.preencode,
  encode: offerFields.encode,
  decode(state) {
    const o = offerFields.decode(state)
    const problem = offerShapeProblem(o)
    if (problem) {
      throw new QuidError(ErrorCodes.DECODE_INVALID, problem.why, {
        field: problem.field
      })
    }
    return o
  }
})

const offer: Encoder<Offer> = {
  preencode(state, o) {
    offerBody.preencode(state, o)
    signature.preencode(state, o.signature)
  },
  encode(state, o) {
    offerBody.encode(state, o)
    signature.encode(state, o.signature)
  },
  decode(state) {
    return { ...offerBody.decode(state), signature: signature.decode(state) }
  }
}

/** The whole message is the entry; decodeProposal decodes it. */
const propose: Encoder<Propose> = {
  preencode(state, m) {
    if (!(m.entry instanceof Uint8Array)) throw encodeError('entry', 'must be bytes')
    state.end += m.entry.byteLength
  },
  encode(state, m) {
    ;(state.buffer as Uint8Array).set(m.entry, state.start)
    state.start += m.entry.byteLength
  },
  decode(state) {
    const entry = new Uint8Array((state.buffer as Uint8Array).subarray(state.start, state.end))
    state.start = state.end
    return { entry }
  }
}

const accept = struct<Accept>([
  ['record', record],
  ['signature', signature]
])

const reject = struct<Reject>([
  ['record', record],
  ['code', text(MAX_CODE_CHARS, 'code', { prefix: 'u8', pattern: /^[a-z][a-z0-9-]*$/ })],
  ['message', text(MAX_REASON_BYTES, 'message', { prefix: 'u8' })]
])

const done = struct<Done>([['record', record]])

const ENCODERS: { [K in MessageType]: Encoder<MessageOf[K]> } = {
  hello,
  offer,
  propose,
  accept,
  reject,
  done
}

export function encodeMessage<K extends MessageType>(type: K, body: MessageOf[K]): Uint8Array {
  return encode(ENCODERS[type] as Encoder<MessageOf[K]>, body)
}

/**
 * Decodes one message of a known type. Refuses (PROTOCOL) anything larger than the limit, short,
 * with trailing bytes, not canonical or with a field out of range; never returns a partly
 * checked value.
 */
export function decodeMessage<K extends MessageType>(type: K, bytes: Uint8Array): MessageOf[K] {
  try {
    if (bytes.byteLength > MAX_MESSAGE_BYTES) {
      throw new QuidError(
        ErrorCodes.DECODE_OVERSIZE,
        `${bytes.byteLength} bytes, over ${MAX_MESSAGE_BYTES}`
      )
    }
    return decodeExactly(ENCODERS[type] as Encoder<MessageOf[K]>, bytes, type)
  } catch (err) {
    throw err instanceof QuidError ? violation(type, err) : err
  }
}

/** The ledger entry inside a proposal, decoded and limited to the records an exchange co-signs. */
export function decodeProposal(m: Propose): SignedRecord {
  let signed: SignedRecord
  try {
    signed = decodeEntry(m.entry)
  } catch (err) {
    throw err instanceof QuidError ? violation('propose', err) : err
  }
  if (!COSIGNED_TYPES.has(signed.record.type)) {
    throw violation(
      'propose',
      new QuidError(
        ErrorCodes.DECODE_TYPE,
        `a ${signed.record.type} is not co-signed over the exchange`
      )
    )
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

function offerShapeProblem(o: OfferBody): { field: string; why: string } | null {
  if (o.expires <= o.time) return { field: 'expires', why: 'expires must be after time' }
  const any = (v: ResourceVector): boolean => v.cpu > 0n || v.disk > 0n || v.net > 0n
  if (!any(o.give)) return { field: 'give', why: 'an offer gives something' }
  if (!any(o.want)) return { field: 'want', why: 'an offer wants something' }
  return null
}

export function offerId(o: OfferBody): Uint8Array {
  return blake2b256(encode(offerBody, o))
}

export function signOffer(o: OfferBody, keyPair: KeyPair): Offer {
  const problem = offerShapeProblem(o)
  if (problem) {
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, `cannot sign this offer: ${problem.why}`)
  }
  return { ...o, signature: signFast(signable('offer', offerId(o)), keyPair.secretKey) }
}

export function verifyOffer(o: Offer): boolean {
  return verifySignature(o.signature, signable('offer', offerId(o)), o.maker)
}
