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
import { MAX_ADMIT_CLAIMS, MAX_LEGS, MAX_RECORD_BYTES, RECORD_VERSION } from './constants.js'
import { QuidError, ErrorCodes } from './errors.js'
import { blake2b256 } from './hash.js'
import { equal } from './bytes.js'
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

const fixed32 = c.fixed32
const nonce = c.fixed(NONCE_BYTES)

/** Milliseconds since the epoch as a fixed uint64, limited to what a JS number holds exactly. */
const time: Encoder<number> = {
  preencode(state) {
    state.end += 8
  },
  encode(state, n) {
    c.biguint64.encode(state, BigInt(n))
  },
  decode(state) {
    const n = c.biguint64.decode(state)
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid('time', 'beyond 2^53 - 1')
    return Number(n)
  }
}

const amount = c.biguint64

const resource: Encoder<Resource> = {
  preencode(state) {
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

const vector: Encoder<ResourceVector> = {
  preencode(state) {
    state.end += 24
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
  preencode(state) {
    state.end += 10
  },
  encode(state, leg) {
    c.uint8.encode(state, leg.issuer === 'a' ? 0 : 1)
    resource.encode(state, leg.resource)
    amount.encode(state, leg.amount)
  },
  decode(state) {
    const side = c.uint8.decode(state)
    if (side > 1) throw invalid('legs.issuer', `side ${side} is neither 0 (a) nor 1 (b)`)
    return { issuer: side === 0 ? 'a' : 'b', resource: resource.decode(state), amount: amount.decode(state) }
  }
}

const issueLeg: Encoder<IssueLeg> = {
  preencode(state) {
    state.end += 9
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
  preencode(state) {
    state.end += 73
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
    state.end += 1 + 32 + 32 + 8 + 32 + 4 + 24 + NONCE_BYTES
    list(claimSpend, MAX_ADMIT_CLAIMS, 'claims').preencode(state, r.claims)
  },
  encode(state, r) {
    c.uint8.encode(state, DEPLOY_VERSION)
    fixed32.encode(state, r.host)
    fixed32.encode(state, r.owner)
    time.encode(state, r.time)
    fixed32.encode(state, r.codeHash)
    c.uint32.encode(state, r.codeSize)
    vector.encode(state, r.resources)
    list(claimSpend, MAX_ADMIT_CLAIMS, 'claims').encode(state, r.claims)
    nonce.encode(state, r.nonce)
  },
  decode(state) {
    const v = c.uint8.decode(state)
    if (v !== DEPLOY_VERSION) {
      throw new QuidError(ErrorCodes.DECODE_VERSION, `deploy request version ${v} is not ${DEPLOY_VERSION}`)
    }
    return {
      host: fixed32.decode(state),
      owner: fixed32.decode(state),
      time: time.decode(state),
      codeHash: fixed32.decode(state),
      codeSize: c.uint32.decode(state),
      resources: vector.decode(state),
      claims: list(claimSpend, MAX_ADMIT_CLAIMS, 'claims').decode(state),
      nonce: nonce.decode(state)
    }
  }
}

type Bodies = { [T in RecordType]: Encoder<Omit<Extract<LedgerRecord, { type: T }>, 'type'>> }

/** Field order of each body; a field never moves once released. */
const bodies: Bodies = {
  capacity: struct(['host', fixed32], ['time', time], ['mips', c.uint32], ['limits', vector]),
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
    ['ownerSignature', c.fixed64]
  ),
  usage: struct(['host', fixed32], ['time', time], ['guest', fixed32], ['used', vector]),
  evict: struct(
    ['host', fixed32],
    ['time', time],
    ['guest', fixed32],
    ['used', vector],
    ['reason', evictReason()]
  ),
  checkpoint: struct(['author', fixed32], ['time', time], ['length', c.uint32], ['state', fixed32])
}

function evictReason(): Encoder<EvictReason> {
  return {
    preencode(state) {
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
function struct(...fields: Field[]): Encoder<any> {
  return {
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
  const { type, ...rest } = record
  const enc = bodies[type] as Encoder<unknown>
  const state: State = { start: 0, end: 2, buffer: null }
  enc.preencode(state, rest)
  state.buffer = new Uint8Array(state.end)
  state.buffer[0] = RECORD_VERSION
  state.buffer[1] = RECORD_TAGS[type]
  state.start = 2
  enc.encode(state, rest)
  return state.buffer
}

export function recordId(record: LedgerRecord): Uint8Array {
  return blake2b256(encodeBody(record))
}

export function encodeDeployRequest(r: DeployRequest): Uint8Array {
  checkDeployRequest(r, 'request')
  return c.encode(deployRequestEncoding, r)
}

export function deployRequestId(r: DeployRequest): Uint8Array {
  return blake2b256(encodeDeployRequest(r))
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
    throw new QuidError(ErrorCodes.DECODE_VERSION, `record version ${version} is not ${RECORD_VERSION}`, {
      version
    })
  }
  const type = TYPE_BY_TAG.get(bytes[1] as number)
  if (type === undefined) {
    throw new QuidError(ErrorCodes.DECODE_TYPE, `unknown record type tag ${bytes[1]}`, { tag: bytes[1] })
  }
  // Decode from a private copy: the record's keys and ids are views into it, and the caller may
  // reuse or mutate its own buffer afterwards.
  bytes = new Uint8Array(bytes)
  const state: State = { start: 2, end: bytes.byteLength, buffer: bytes }
  let record: LedgerRecord
  try {
    record = { type, ...(bodies[type] as Encoder<object>).decode(state) } as LedgerRecord
  } catch (err) {
    throw asDecodeError(err)
  }
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
  if (!equal(encodeBody(record), body)) throw nonCanonical()
  const signatures: Uint8Array[] = []
  for (let i = 0; i < n; i++) {
    signatures.push(bytes.subarray(bodyEnd + i * SIGNATURE_BYTES, bodyEnd + (i + 1) * SIGNATURE_BYTES))
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
  const seen = new Set<string>()
  for (const s of r.claims) {
    positive(s.amount, `${field}.claims.amount`)
    const k = Buffer.from(s.claim).toString('hex')
    if (seen.has(k)) throw invalid(`${field}.claims`, 'a claim is named twice')
    seen.add(k)
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
      if (!equal(r.request.host, r.host)) throw invalid('request.host', 'must be the admitting host')
      return
    default:
      return
  }
}
