/**
 * The eight record types of a quid log, as TypeScript values.
 *
 * Byte layout lives in codecs.ts; rules live in state.ts. Keys are 32-byte Ed25519 public keys,
 * ids are 32-byte BLAKE2b-256 hashes, times are milliseconds since the Unix epoch, and amounts
 * are bigint base units (see amounts.ts).
 */
import type { Resource } from './amounts.js'

export type Key = Uint8Array
export type Id = Uint8Array

export const RECORD_TYPES = [
  'capacity',
  'agreement',
  'issue',
  'transfer',
  'admit',
  'usage',
  'evict',
  'checkpoint'
] as const
export type RecordType = (typeof RECORD_TYPES)[number]

/** Wire tags, fixed forever: a new type gets a new number, an old number is never reused. */
export const RECORD_TAGS: Readonly<Record<RecordType, number>> = {
  capacity: 1,
  agreement: 2,
  issue: 3,
  transfer: 4,
  admit: 5,
  usage: 6,
  evict: 7,
  checkpoint: 8
}

/** Per-resource figures: capacity limits, asked resources, or cumulative usage. */
export interface ResourceVector {
  cpu: bigint
  disk: bigint
  net: bigint
}

export interface CapacityRecord {
  type: 'capacity'
  host: Key
  time: number
  /** Host's measured rating in MI per second (millions of instructions per second). */
  mips: number
  /** The most the host is willing to owe at once, per resource. */
  limits: ResourceVector
}

export interface AgreementLeg {
  /** Which party issues this leg: 'a' owes `b`, 'b' owes `a`. */
  issuer: 'a' | 'b'
  resource: Resource
  amount: bigint
}

export interface AgreementRecord {
  type: 'agreement'
  /** The proposer. */
  a: Key
  b: Key
  time: number
  expires: number
  nonce: Uint8Array
  legs: AgreementLeg[]
}

export interface IssueLeg {
  resource: Resource
  amount: bigint
}

export interface IssueRecord {
  type: 'issue'
  issuer: Key
  holder: Key
  time: number
  expires: number
  nonce: Uint8Array
  legs: IssueLeg[]
}

export interface TransferRecord {
  type: 'transfer'
  sender: Key
  receiver: Key
  time: number
  /** The claim the amount is drawn from; the sender must hold it. */
  claim: Id
  amount: bigint
  nonce: Uint8Array
}

export interface ClaimSpend {
  claim: Id
  /**
   * The root leg the claim descends from. Stated so the host's own log tells what each guest
   * consumes of each IOU it issued; an auditor checks it against the transfer path.
   */
  root: Id
  resource: Resource
  amount: bigint
}

/** What a guest's owner signs to ask a host to run it; embedded in `admit` as evidence. */
export interface DeployRequest {
  host: Key
  owner: Key
  time: number
  codeHash: Id
  codeSize: number
  resources: ResourceVector
  claims: ClaimSpend[]
  nonce: Uint8Array
}

export interface AdmitRecord {
  type: 'admit'
  host: Key
  time: number
  request: DeployRequest
  /** The owner's signature over the request (namespace 'deploy'). */
  ownerSignature: Uint8Array
}

export interface UsageRecord {
  type: 'usage'
  host: Key
  time: number
  guest: Id
  /** Cumulative totals since admission: cpu MI and net bytes consumed, disk bytes stored now. */
  used: ResourceVector
}

export const EVICT_REASONS = [
  'stopped',
  'cpu-exhausted',
  'net-exhausted',
  'disk-exceeded',
  'memory-exceeded',
  'crashed',
  'expired',
  'misbehaved',
  'restart',
  'crash-loop',
  'shed'
] as const
export type EvictReason = (typeof EVICT_REASONS)[number]

export interface EvictRecord {
  type: 'evict'
  host: Key
  time: number
  guest: Id
  used: ResourceVector
  reason: EvictReason
}

export interface CheckpointRecord {
  type: 'checkpoint'
  author: Key
  time: number
  /** Number of entries of the author's log before this checkpoint. */
  length: number
  /** BLAKE2b-256 of the state snapshot the checkpoint vouches for. */
  state: Id
}

export type LedgerRecord =
  | CapacityRecord
  | AgreementRecord
  | IssueRecord
  | TransferRecord
  | AdmitRecord
  | UsageRecord
  | EvictRecord
  | CheckpointRecord

export type RecordOf<T extends RecordType> = Extract<LedgerRecord, { type: T }>

/** A decoded, id-bearing record with its signatures, in signer order (see `signers`). */
export interface SignedRecord<R extends LedgerRecord = LedgerRecord> {
  record: R
  id: Id
  signatures: Uint8Array[]
  /** The canonical encoding of the whole entry (body + signatures). */
  bytes: Uint8Array
}

/** Who must sign a record, in signature order. */
export function signers(record: LedgerRecord): Key[] {
  switch (record.type) {
    case 'agreement':
      return [record.a, record.b]
    case 'issue':
      return [record.issuer, record.holder]
    case 'transfer':
      return [record.sender, record.receiver]
    case 'checkpoint':
      return [record.author]
    default:
      return [record.host]
  }
}

/** The log a record takes effect in first: the giver's (DESIGN.md, "Records"). */
export function authors(record: LedgerRecord): Key[] {
  switch (record.type) {
    case 'agreement':
      return [record.a, record.b]
    case 'issue':
      return [record.issuer]
    case 'transfer':
      return [record.sender]
    case 'checkpoint':
      return [record.author]
    default:
      return [record.host]
  }
}
