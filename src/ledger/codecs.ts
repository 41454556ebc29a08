/**
 * The one canonical byte format of every quid record (docs/FORMAT.md describes it byte by byte).
 *
 *   entry = version:u8 · type:u8 · body · signature[n]:64 bytes each
 *
 * The id of a record is BLAKE2b-256 of `version · type · body`; each signer signs
 * `namespace(type) · id` (hash.ts). Decoding is strict: unknown versions and types, oversize
 * fields, trailing bytes and non-canonical encodings are all refused with a typed error, so that
 * one logical record has exactly one encoding and therefore one id.
 */
import c from 'compact-encoding'
import type { State, Encoder } from 'compact-encoding'
import { RESOURCE_CODES, resourceFromCode, type Resource } from './amounts.js'
import {
  MAX_ADMIT_CLAIMS,
  MAX_AMOUNT,
  MAX_LEGS,
  MAX_RECORD_BYTES,
  RECORD_VERSION
} from './constants.js'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { blake2b256 } from '../crypto/hash.js'
import { copyOf } from '../core/slab.js'
import { equal } from '../core/bytes.js'
import {
  EVICT_REASONS,
  RECORD_TAGS,
  RECORD_TYPES,
  signers,
  type AgreementLeg,
  type ClaimSpend,
  type DeployRequest,
  type EvictReason,
  type IssueLeg,
  type LedgerRecord,
  type RecordType,
  type ResourceVector,
  type SignedRecord
} from './records.js'

export const NONCE_BYTES = 16
export const SIGNATURE_BYTES = 64

function invalid(field: string, why: string): QuidError {
  return new QuidError(ErrorCodes.DECODE_INVALID, `${field}: ${why}`, { field })
}

function badField(field: string, why: string): QuidError {
  return new QuidError(ErrorCodes.BAD_ARGUMENT, `cannot encode ${field}: ${why}`, { field })
}

/**
 * Wraps an encoder so that a value it cannot represent exactly is refused when encoding, instead
 * of being wrapped or truncated into bytes that say something else (which the signer would sign).
 */
function checked<T>(enc: Encoder<T>, field: string, ok: (v: T) => string | null): Encoder<T> {
  return {
    preencode(state, v) {
      const why = ok(v)
      if (why) throw badField(field, why)
      enc.preencode(state, v)
    },
    encode: enc.encode,
    decode: enc.decode
  }
}

const bytesOf = (n: number) => (v: Uint8Array) =>
  v instanceof Uint8Array && v.byteLength === n ? null : `must be ${n} bytes`
const fixed32 = checked(c.fixed32, 'key or id', bytesOf(32))
const nonce = checked(c.fixed(NONCE_BYTES), 'nonce', bytesOf(NONCE_BYTES))
const signature64 = checked(c.fixed64, 'signature', bytesOf(64))
const u32 = checked(c.uint32, 'u32 field', (v: number) =>
  Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? null : `${v} is not an integer in 0..2^32-1`
)

// Decoding reads uint64s from bytes directly: compact-encoding's biguint64 builds a DataView per
// buffer, and decodeEntry decodes each entry from a buffer of its own. Same values, same errors
// (compact-encoding's is "Out of bounds", which decodeEntry reports as truncation).
function u32At(b: Uint8Array, i: number): number {
  return (
    ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16)) +
    (b[i + 3] as number) * 0x1000000
  )
}

function checkU64(state: State): Uint8Array {
  if (state.end - state.start < 8) throw new Error('Out of bounds')
  return state.buffer as Uint8Array
}

/** Milliseconds since the epoch as a fixed uint64, limited to what a JS number holds exactly. */
const time: Encoder<number> = {
  preencode(state, n) {
    if (!Number.isSafeInteger(n) || n < 0)
      throw badField('time', `${n} is not an integer in 0..2^53-1`)
    state.end += 8
  },
  encode(state, n) {
    c.biguint64.encode(state, BigInt(n))
  },
  decode(state) {
    const b = checkU64(state)
    const lo = u32At(b, state.start)
    const hi = u32At(b, state.start + 4)
    state.start += 8
    // 2^53 - 1 is hi = 2^21 - 1 with every low bit set: anything with hi >= 2^21 is beyond it.
    if (hi >= 0x200000) throw invalid('time', 'beyond 2^53 - 1')
    return hi * 0x100000000 + lo
  }
}

const amount: Encoder<bigint> = {
  preencode(state, x) {
    if (typeof x !== 'bigint' || x < 0n || x > MAX_AMOUNT)
      throw badField('amount', `${x} is not in 0..2^64-1`)
    state.end += 8
  },
  encode: c.biguint64.encode,
  decode(state) {
    const b = checkU64(state)
    const lo = u32At(b, state.start)
    const hi = u32At(b, state.start + 4)
    state.start += 8
    // Below 2^53 the number is exact, and one BigInt conversion is cheaper than a shift and or.
    return hi < 0x200000 ? BigInt(hi * 0x100000000 + lo) : (BigInt(hi) << 32n) | BigInt(lo)
  }
}

const resource: Encoder<Resource> = {
  preencode(state, r) {
    if (RESOURCE_CODES[r] === undefined)
      throw badField('resource', `${String(r)} is not cpu, disk or net`)
    state.end += 1
  },
  encode(state, r) {
    c.uint8.encode(state, RESOURCE_CODES[r])
  },
  decode(state) {
    const code = c.uint8.decode(state)
    try {
      return resourceFromCode(code)
    } catch {
      throw invalid('resource', `unknown resource tag ${code}`)
    }
  }
}

/** Three amounts, cpu · disk · net, 8 bytes each; shared by the exchange's offers. */
export const vector: Encoder<ResourceVector> = {
  preencode(state, v) {
    amount.preencode(state, v.cpu)
    amount.preencode(state, v.disk)
    amount.preencode(state, v.net)
  },
  encode(state, v) {
    amount.encode(state, v.cpu)
    amount.encode(state, v.disk)
    amount.encode(state, v.net)
  },
  decode(state) {
    return { cpu: amount.decode(state), disk: amount.decode(state), net: amount.decode(state) }
  }
}

/** A list with a one-byte length, refused past `max` before any element is read. */
function list<T>(enc: Encoder<T>, max: number, field: string): Encoder<T[]> {
  return {
    preencode(state, items) {
      if (items.length > max) throw badField(field, `${items.length} items, at most ${max}`)
      state.end += 1
      for (const item of items) enc.preencode(state, item)
    },
    encode(state, items) {
      c.uint8.encode(state, items.length)
      for (const item of items) enc.encode(state, item)
    },
    decode(state) {
      const n = c.uint8.decode(state)
      if (n > max) {
        throw new QuidError(ErrorCodes.DECODE_OVERSIZE, `${field}: ${n} items, at most ${max}`, {
          field
        })
      }
      const out: T[] = []
      for (let i = 0; i < n; i++) out.push(enc.decode(state))
      return out
    }
  }
}

const agreementLeg: Encoder<AgreementLeg> = {
  preencode(state, leg) {
    if (leg.issuer !== 'a' && leg.issuer !== 'b') throw badField('legs.issuer', 'must be a or b')
    state.end += 1
    resource.preencode(state, leg.resource)
    amount.preencode(state, leg.amount)
  },
  encode(state, leg) {
    c.uint8.encode(state, leg.issuer === 'a' ? 0 : 1)
    resource.encode(state, leg.resource)
    amount.encode(state, leg.amount)
  },
  decode(state) {
    const side = c.uint8.decode(state)
    if (side > 1) throw invalid('legs.issuer', `side ${side} is neither 0 (a) nor 1 (b)`)
    return {
      issuer: side === 0 ? 'a' : 'b',
      resource: resource.decode(state),
      amount: amount.decode(state)
    }
  }
}

const issueLeg: Encoder<IssueLeg> = {
  preencode(state, leg) {
    resource.preencode(state, leg.resource)
    amount.preencode(state, leg.amount)
  },
  encode(state, leg) {
    resource.encode(state, leg.resource)
    amount.encode(state, leg.amount)
  },
  decode(state) {
    return { resource: resource.decode(state), amount: amount.decode(state) }
  }
}

const claimSpend: Encoder<ClaimSpend> = {
  preencode(state, s) {
    fixed32.preencode(state, s.claim)
    fixed32.preencode(state, s.root)
    resource.preencode(state, s.resource)
    amount.preencode(state, s.amount)
  },
  encode(state, s) {
    fixed32.encode(state, s.claim)
    fixed32.encode(state, s.root)
    resource.encode(state, s.resource)
    amount.encode(state, s.amount)
  },
  decode(state) {
    return {
      claim: fixed32.decode(state),
      root: fixed32.decode(state),
      resource: resource.decode(state),
      amount: amount.decode(state)
    }
  }
}

const DEPLOY_VERSION = 1

/** The deploy request, encoded on its own (for its id and the owner's signature) and inside `admit`. */
export const deployRequestEncoding: Encoder<DeployRequest> = {
  preencode(state, r) {
    state.end += 1
    fixed32.preencode(state, r.host)
    fixed32.preencode(state, r.owner)
    time.preencode(state, r.time)
    fixed32.preencode(state, r.codeHash)
    u32.preencode(state, r.codeSize)
    vector.preencode(state, r.resources)
    list(claimSpend, MAX_ADMIT_CLAIMS, 'claims').preencode(state, r.claims)
    nonce.preencode(state, r.nonce)
  },
  encode(state, r) {
    c.uint8.encode(state, DEPLOY_VERSION)
    fixed32.encode(state, r.host)
    fixed32.encode(state, r.owner)
    time.encode(state, r.time)
    fixed32.encode(state, r.codeHash)
    u32.encode(state, r.codeSize)
    vector.encode(state, r.resources)
    list(claimSpend, MAX_ADMIT_CLAIMS, 'claims').encode(state, r.claims)
    nonce.encode(state, r.nonce)
  },
  decode(state) {
    const v = c.uint8.decode(state)
    if (v !== DEPLOY_VERSION) {
      throw new QuidError(
        ErrorCodes.DECODE_VERSION,
        `deploy request version ${v} is not ${DEPLOY_VERSION}`
      )
    }
    return {
      host: fixed32.decode(state),
      owner: fixed32.decode(state),
      time: time.decode(state),
      codeHash: fixed32.decode(state),
      codeSize: u32.decode(state),
      resources: vector.decode(state),
      claims: list(claimSpend, MAX_ADMIT_CLAIMS, 'claims').decode(state),
      nonce: nonce.decode(state)
    }
  }
}

type Bodies = {
  [T in RecordType]: Encoder<Omit<Extract<LedgerRecord, { type: T }>, 'type'>> & {
    fields: readonly Field[]
  }
}

/** Field order of each body; a field never moves once released. */
const bodies: Bodies = {
  capacity: struct(['host', fixed32], ['time', time], ['mips', u32], ['limits', vector]),
  agreement: struct(
    ['a', fixed32],
    ['b', fixed32],
    ['time', time],
    ['expires', time],
    ['nonce', nonce],
    ['legs', list(agreementLeg, MAX_LEGS, 'legs')]
  ),
  issue: struct(
    ['issuer', fixed32],
    ['holder', fixed32],
    ['time', time],
    ['expires', time],
    ['nonce', nonce],
    ['legs', list(issueLeg, 3, 'legs')]
  ),
  transfer: struct(
    ['sender', fixed32],
    ['receiver', fixed32],
    ['time', time],
    ['claim', fixed32],
    ['amount', amount],
    ['nonce', nonce]
  ),
  admit: struct(
    ['host', fixed32],
    ['time', time],
    ['request', deployRequestEncoding],
    ['ownerSignature', signature64]
  ),
  usage: struct(['host', fixed32], ['time', time], ['guest', fixed32], ['used', vector]),
  evict: struct(
    ['host', fixed32],
    ['time', time],
    ['guest', fixed32],
    ['used', vector],
    ['reason', evictReason()]
  ),
  checkpoint: struct(['author', fixed32], ['time', time], ['length', u32], ['state', fixed32])
}

function evictReason(): Encoder<EvictReason> {
  return {
    preencode(state, r) {
      if (!EVICT_REASONS.includes(r))
        throw badField('reason', `${String(r)} is not an evict reason`)
      state.end += 1
    },
    encode(state, r) {
      c.uint8.encode(state, EVICT_REASONS.indexOf(r))
    },
    decode(state) {
      const n = c.uint8.decode(state)
      const r = EVICT_REASONS[n]
      if (r === undefined) throw invalid('reason', `unknown evict reason ${n}`)
      return r
    }
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Field = [string, Encoder<any>]

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Struct = Encoder<any> & { fields: readonly Field[] }

function struct(...fields: Field[]): Struct {
  return {
    fields,
    preencode(state, v) {
      for (const [name, enc] of fields) enc.preencode(state, v[name])
    },
    encode(state, v) {
      for (const [name, enc] of fields) enc.encode(state, v[name])
    },
    decode(state) {
      const out: Record<string, unknown> = {}
      for (const [name, enc] of fields) out[name] = enc.decode(state)
      return out
    }
  }
}

const TYPE_BY_TAG = new Map<number, RecordType>(RECORD_TYPES.map((t) => [RECORD_TAGS[t], t]))

/** `version · type · body`: the bytes whose hash is the record id. */
export function encodeBody(record: LedgerRecord): Uint8Array {
  checkShape(record)
  const enc = bodies[record.type] as Encoder<unknown>
  const state: State = { start: 0, end: 2, buffer: null }
  enc.preencode(state, record)
  return writeBody(record, state, new Uint8Array(state.end))
}

/** Writes `version · type · body` into `buffer` (sized by a preencode into `state`). */
function writeBody(record: LedgerRecord, state: State, buffer: Uint8Array): Uint8Array {
  // The body encoders read only their own fields, so the record is passed whole: no copy without
  // `type` is needed.
  buffer[0] = RECORD_VERSION
  buffer[1] = RECORD_TAGS[record.type]
  state.buffer = buffer
  state.start = 2
  ;(bodies[record.type] as Encoder<unknown>).encode(state, record)
  return buffer
}

// Scratch space for the canonical check of decodeEntry: every entry is re-encoded, so reusing one
// buffer saves an allocation per entry. Encoding is synchronous, so nothing else writes meanwhile.
const scratch = new Uint8Array(MAX_RECORD_BYTES)

/** Whether `record` encodes to exactly `body` (which is at most MAX_RECORD_BYTES long). */
function encodesTo(record: LedgerRecord, body: Uint8Array): boolean {
  const state: State = { start: 0, end: 2, buffer: null }
  ;(bodies[record.type] as Encoder<unknown>).preencode(state, record)
  if (state.end !== body.byteLength) return false
  writeBody(record, state, scratch)
  return Buffer.compare(scratch.subarray(0, state.end), body) === 0
}

/** Encodes a deploy request into scratch space, for hashing without an allocation. */
function encodeDeployRequestScratch(r: DeployRequest): Uint8Array {
  const state: State = { start: 0, end: 0, buffer: null }
  deployRequestEncoding.preencode(state, r)
  if (state.end > scratch.byteLength) return c.encode(deployRequestEncoding, r)
  state.buffer = scratch
  deployRequestEncoding.encode(state, r)
  return scratch.subarray(0, state.end)
}

export function recordId(record: LedgerRecord): Uint8Array {
  return blake2b256(encodeBody(record))
}

export function encodeDeployRequest(r: DeployRequest): Uint8Array {
  checkDeployRequest(r, 'request')
  return c.encode(deployRequestEncoding, r)
}

export function deployRequestId(r: DeployRequest): Uint8Array {
  // Replay hashes the request of every admit twice (owner's signature, guest id): no allocation.
  checkDeployRequest(r, 'request')
  return blake2b256(encodeDeployRequestScratch(r))
}

export function decodeDeployRequest(bytes: Uint8Array): DeployRequest {
  bytes = new Uint8Array(bytes)
  const r = strictDecode(bytes, (state) => deployRequestEncoding.decode(state))
  checkDeployRequest(r, 'request')
  if (!equal(c.encode(deployRequestEncoding, r), bytes)) throw nonCanonical()
  return r
}

/** The full entry: body followed by the signatures in signer order. */
export function encodeEntry(record: LedgerRecord, signatures: Uint8Array[]): Uint8Array {
  const body = encodeBody(record)
  const n = signers(record).length
  if (signatures.length !== n || signatures.some((s) => s.byteLength !== SIGNATURE_BYTES)) {
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, `${record.type} needs ${n} signatures of 64 bytes`)
  }
  const out = new Uint8Array(body.byteLength + n * SIGNATURE_BYTES)
  out.set(body, 0)
  signatures.forEach((s, i) => out.set(s, body.byteLength + i * SIGNATURE_BYTES))
  return out
}

/**
 * Decodes one entry. Signatures are split off but not verified here (see sign.ts): decoding is
 * about shape, verification about keys, and replay wants to batch the latter.
 */
export function decodeEntry(bytes: Uint8Array): SignedRecord {
  if (bytes.byteLength > MAX_RECORD_BYTES) {
    throw new QuidError(
      ErrorCodes.DECODE_OVERSIZE,
      `entry is ${bytes.byteLength} bytes, at most ${MAX_RECORD_BYTES}`
    )
  }
  if (bytes.byteLength < 2) throw truncated()
  const version = bytes[0]
  if (version !== RECORD_VERSION) {
    throw new QuidError(
      ErrorCodes.DECODE_VERSION,
      `record version ${version} is not ${RECORD_VERSION}`,
      {
        version
      }
    )
  }
  const type = TYPE_BY_TAG.get(bytes[1] as number)
  if (type === undefined) {
    throw new QuidError(ErrorCodes.DECODE_TYPE, `unknown record type tag ${bytes[1]}`, {
      tag: bytes[1]
    })
  }
  // Decode from a private copy: the record's keys and ids are views into it, and the caller may
  // reuse or mutate its own buffer afterwards.
  bytes = copyOf(bytes)
  const state: State = { start: 2, end: bytes.byteLength, buffer: bytes }
  const out: Record<string, unknown> = { type }
  try {
    for (const [name, enc] of bodies[type].fields) out[name] = enc.decode(state)
  } catch (err) {
    throw asDecodeError(err)
  }
  const record = out as unknown as LedgerRecord
  const bodyEnd = state.start
  const n = signers(record).length
  const rest = bytes.byteLength - bodyEnd
  if (rest < n * SIGNATURE_BYTES) throw truncated()
  if (rest > n * SIGNATURE_BYTES) {
    throw new QuidError(ErrorCodes.DECODE_TRAILING, `${rest - n * SIGNATURE_BYTES} trailing bytes`)
  }
  checkShape(record)
  const body = bytes.subarray(0, bodyEnd)
  // Every field is fixed-width except list lengths, which are one byte: re-encoding is the cheap,
  // complete proof that these bytes are the only encoding of this record.
  if (!encodesTo(record, body)) throw nonCanonical()
  const signatures: Uint8Array[] = []
  for (let i = 0; i < n; i++) {
    signatures.push(
      bytes.subarray(bodyEnd + i * SIGNATURE_BYTES, bodyEnd + (i + 1) * SIGNATURE_BYTES)
    )
  }
  return { record, id: blake2b256(body), signatures, bytes }
}

function strictDecode<T>(bytes: Uint8Array, fn: (state: State) => T): T {
  const state: State = { start: 0, end: bytes.byteLength, buffer: bytes }
  let out: T
  try {
    out = fn(state)
  } catch (err) {
    throw asDecodeError(err)
  }
  if (state.start !== state.end) {
    throw new QuidError(ErrorCodes.DECODE_TRAILING, `${state.end - state.start} trailing bytes`)
  }
  return out
}

function asDecodeError(err: unknown): QuidError {
  if (err instanceof QuidError) return err
  return truncated()
}

function truncated(): QuidError {
  return new QuidError(ErrorCodes.DECODE_TRUNCATED, 'entry ends before its last field')
}

function nonCanonical(): QuidError {
  return new QuidError(ErrorCodes.DECODE_NONCANONICAL, 'bytes are not the canonical encoding')
}

function positive(x: bigint, field: string): void {
  if (x <= 0n) throw invalid(field, 'must be at least 1')
}

function distinct(a: Uint8Array, b: Uint8Array, field: string): void {
  if (equal(a, b)) throw invalid(field, 'the two parties must differ')
}

function checkDeployRequest(r: DeployRequest, field: string): void {
  if (r.claims.length === 0) throw invalid(`${field}.claims`, 'at least one claim must pay')
  const sums: ResourceVector = { cpu: 0n, disk: 0n, net: 0n }
  const claims = r.claims
  // A request has a handful of claims (decoding refuses more than MAX_ADMIT_CLAIMS): comparing
  // pairs is then cheaper than hashing each into a set, which stays for longer lists.
  const seen = claims.length > MAX_ADMIT_CLAIMS ? new Set<string>() : null
  for (let i = 0; i < claims.length; i++) {
    const s = claims[i] as ClaimSpend
    positive(s.amount, `${field}.claims.amount`)
    if (seen) {
      const k = Buffer.from(s.claim).toString('hex')
      if (seen.has(k)) throw invalid(`${field}.claims`, 'a claim is named twice')
      seen.add(k)
    } else {
      for (let j = 0; j < i; j++) {
        if (equal((claims[j] as ClaimSpend).claim, s.claim))
          throw invalid(`${field}.claims`, 'a claim is named twice')
      }
    }
    sums[s.resource] += s.amount
  }
  for (const res of ['cpu', 'disk', 'net'] as const) {
    if (sums[res] !== r.resources[res]) {
      throw invalid(`${field}.resources.${res}`, 'must equal the sum of the claims paying for it')
    }
  }
  if (r.codeSize <= 0) throw invalid(`${field}.codeSize`, 'must be at least 1')
  if (r.nonce.byteLength !== NONCE_BYTES) throw invalid(`${field}.nonce`, 'must be 16 bytes')
}

/** Shape rules that hold for a record on its own, whatever the state; enforced both ways. */
export function checkShape(r: LedgerRecord): void {
  switch (r.type) {
    case 'capacity':
      if (r.mips <= 0) throw invalid('mips', 'must be at least 1')
      return
    case 'agreement': {
      distinct(r.a, r.b, 'b')
      if (r.expires <= r.time) throw invalid('expires', 'must be after time')
      if (r.legs.length === 0) throw invalid('legs', 'an agreement needs legs')
      const seen = new Set<string>()
      for (const leg of r.legs) {
        positive(leg.amount, 'legs.amount')
        const k = leg.issuer + leg.resource
        if (seen.has(k)) throw invalid('legs', `${leg.issuer} issues ${leg.resource} twice`)
        seen.add(k)
      }
      if (!r.legs.some((l) => l.issuer === 'a') || !r.legs.some((l) => l.issuer === 'b')) {
        throw invalid('legs', 'a barter gives something each way (use issue for one-way IOUs)')
      }
      return
    }
    case 'issue': {
      distinct(r.issuer, r.holder, 'holder')
      if (r.expires <= r.time) throw invalid('expires', 'must be after time')
      if (r.legs.length === 0) throw invalid('legs', 'an issue needs legs')
      const seen = new Set<string>()
      for (const leg of r.legs) {
        positive(leg.amount, 'legs.amount')
        if (seen.has(leg.resource)) throw invalid('legs', `${leg.resource} issued twice`)
        seen.add(leg.resource)
      }
      return
    }
    case 'transfer':
      distinct(r.sender, r.receiver, 'receiver')
      positive(r.amount, 'amount')
      return
    case 'admit':
      checkDeployRequest(r.request, 'request')
      if (!equal(r.request.host, r.host))
        throw invalid('request.host', 'must be the admitting host')
      return
    default:
      return
  }
}
