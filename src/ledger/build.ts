/**
 * Builders for unsigned records: they fill in the clock and a fresh nonce and shape the legs, so
 * callers state intent ("a gives b 10 my of cpu") rather than wire fields.
 */
import { randomBytes } from 'node:crypto'
import { RESOURCES, type Amounts } from './amounts.js'
import { NONCE_BYTES } from './codecs.js'
import type {
  AgreementRecord,
  CapacityRecord,
  CheckpointRecord,
  DeployRequest,
  EvictReason,
  EvictRecord,
  Id,
  IssueRecord,
  Key,
  ResourceVector,
  TransferRecord,
  UsageRecord,
  AdmitRecord,
  ClaimSpend
} from './records.js'

const nonce = (): Uint8Array => new Uint8Array(randomBytes(NONCE_BYTES))

export const DAY_MS = 24 * 60 * 60 * 1000

export function vector(a: Amounts = {}): ResourceVector {
  return { cpu: a.cpu ?? 0n, disk: a.disk ?? 0n, net: a.net ?? 0n }
}

export function capacity(
  host: Key,
  mips: number,
  limits: Amounts,
  time = Date.now()
): CapacityRecord {
  return { type: 'capacity', host, time, mips, limits: vector(limits) }
}

/** A barter: `a` gives `give` (legs a issues to b), `b` gives `want` (legs b issues to a). */
export function agreement(opts: {
  a: Key
  b: Key
  give: Amounts
  want: Amounts
  time?: number
  expires?: number
}): AgreementRecord {
  const time = opts.time ?? Date.now()
  const legs: AgreementRecord['legs'] = []
  for (const r of RESOURCES)
    if (opts.give[r]) legs.push({ issuer: 'a', resource: r, amount: opts.give[r] as bigint })
  for (const r of RESOURCES)
    if (opts.want[r]) legs.push({ issuer: 'b', resource: r, amount: opts.want[r] as bigint })
  return {
    type: 'agreement',
    a: opts.a,
    b: opts.b,
    time,
    expires: opts.expires ?? time + 30 * DAY_MS,
    nonce: nonce(),
    legs
  }
}

export function issue(opts: {
  issuer: Key
  holder: Key
  amounts: Amounts
  time?: number
  expires?: number
  /** Fresh random bytes unless given (a sale names its payment: exchange/purchase.ts). */
  nonce?: Uint8Array
}): IssueRecord {
  const time = opts.time ?? Date.now()
  const legs = RESOURCES.filter((r) => opts.amounts[r]).map((r) => ({
    resource: r,
    amount: opts.amounts[r] as bigint
  }))
  return {
    type: 'issue',
    issuer: opts.issuer,
    holder: opts.holder,
    time,
    expires: opts.expires ?? time + 30 * DAY_MS,
    nonce: opts.nonce ?? nonce(),
    legs
  }
}

export function transfer(opts: {
  sender: Key
  receiver: Key
  claim: Id
  amount: bigint
  time?: number
  /** Fresh random bytes unless given (a payment names its offer: exchange/purchase.ts). */
  nonce?: Uint8Array
}): TransferRecord {
  return {
    type: 'transfer',
    sender: opts.sender,
    receiver: opts.receiver,
    time: opts.time ?? Date.now(),
    claim: opts.claim,
    amount: opts.amount,
    nonce: opts.nonce ?? nonce()
  }
}

export function deployRequest(opts: {
  host: Key
  owner: Key
  codeHash: Id
  codeSize: number
  claims: ClaimSpend[]
  time?: number
}): DeployRequest {
  const resources = vector()
  for (const c of opts.claims) resources[c.resource] += c.amount
  return {
    host: opts.host,
    owner: opts.owner,
    time: opts.time ?? Date.now(),
    codeHash: opts.codeHash,
    codeSize: opts.codeSize,
    resources,
    claims: opts.claims,
    nonce: nonce()
  }
}

export function admit(
  request: DeployRequest,
  ownerSignature: Uint8Array,
  time = Date.now()
): AdmitRecord {
  return { type: 'admit', host: request.host, time, request, ownerSignature }
}

export function usage(host: Key, guest: Id, used: ResourceVector, time = Date.now()): UsageRecord {
  return { type: 'usage', host, time, guest, used }
}

export function evict(
  host: Key,
  guest: Id,
  used: ResourceVector,
  reason: EvictReason,
  time = Date.now()
): EvictRecord {
  return { type: 'evict', host, time, guest, used, reason }
}

export function checkpoint(
  author: Key,
  length: number,
  state: Id,
  time = Date.now()
): CheckpointRecord {
  return { type: 'checkpoint', author, time, length, state }
}
