/**
 * The ledger's state, built incrementally from log entries, and every rule of DESIGN.md.
 *
 * Each log is applied in its own order; rules that compare records of one log (clocks, capacity,
 * reservations, usage) are judged in that order. Rules that span logs (settlement, conservation
 * along transfer paths) depend only on the set of records seen, never on the order logs arrived
 * in, so the ledger's incremental state and a replay of the same logs agree when both judge with
 * the same verifier clock (`now` decides only which records are too far in the future).
 */
import { MAX_COSIGN_LAG_MS, MAX_FUTURE_SKEW_MS } from './constants.js'
import { QuidError, ErrorCodes, type ErrorCode } from '../core/errors.js'
import { decodeEntry, deployRequestId } from './codecs.js'
import { checkSignatures } from './sign.js'
import { blake2b256, namespace } from '../crypto/hash.js'
import { toHex } from '../core/bytes.js'
import { RESOURCES, type Resource } from './amounts.js'
import {
  authors,
  signers,
  type LedgerRecord,
  type ResourceVector,
  type SignedRecord
} from './records.js'
import { OwedIndex } from './owed.js'
import { OK, fail, type ClaimInfo, type ClaimStatus, type Commitment } from './claims.js'
import type { Position, Violation } from './violations.js'
import type { SignedHead } from './logs.js'

export interface LogInfo {
  key: string
  length: number
  /** Highest time stamped so far in this log (the log's clock). */
  clock: number
  /** Per index: the record id, or `raw:<hash>` for an entry that did not decode. */
  entries: string[]
  /** The record ids of `entries`, for duplicate checks without a scan. */
  seen: Set<string>
  /** Set when the log was rewritten (truncated or forked): entries from here on are frozen. */
  frozenFrom: number | null
  /** The author's latest signed head seen for this log (kept as evidence). */
  head: SignedHead | null
}

export interface AgreementInfo {
  id: string
  a: string
  b: string
  /** The agreement's own time stamp (its proposer's clock). */
  time: number
  expires: number
  /** Where the agreement sits in each party's log; settled when both are present. */
  positions: Position[]
  claims: string[]
}

export interface Spend {
  claim: string
  root: string
  resource: Resource
  amount: bigint
  /** Cumulative usage allocated to this spend (cpu/net only). */
  used: bigint
}

export interface GuestInfo {
  id: string
  host: string
  owner: string
  admit: string
  position: Position
  time: number
  codeHash: string
  reserved: ResourceVector
  used: ResourceVector
  spends: Spend[]
  ended: { reason: string; time: number; position: Position } | null
  /** Set when the admit broke a rule; such a guest reserves nothing. */
  void: ErrorCode | null
}

export interface CapacityInfo {
  host: string
  mips: number
  limits: ResourceVector
  time: number
  record: string
  position: Position
  /**
   * The time of the host's first adopted capacity record. Adopted capacity times never decrease
   * (a capacity record may not trail its log's clock), so the host had published some capacity
   * by time `t` exactly when `since ≤ t`.
   */
  since: number
}

interface PendingTransfer {
  child: string
  parent: string
  record: string
  sender: string
  receiver: string
  amount: bigint
  time: number
  position: Position
  /** Set when the transfer broke a rule of its own log; kept until it can be attached, void. */
  voided?: ErrorCode | null
}

export interface ApplyOptions {
  /** The verifier's clock (ms); judges records stamped too far in the future. */
  now: number
  /** Skip signature checks: only for entries this state already verified (snapshots). */
  trusted?: boolean
}

const CLAIM_NS = namespace('claim')

/** Claim id of leg `leg` of a record: BLAKE2b-256(namespace('claim') · record id · leg). */
export function claimId(recordId: Uint8Array, leg: number): Uint8Array {
  // One buffer for every call (the hash is a fresh array): replay derives a claim per leg.
  CLAIM_INPUT.set(recordId, 32)
  CLAIM_INPUT[64] = leg
  return blake2b256(CLAIM_INPUT)
}

const CLAIM_INPUT = new Uint8Array(65)
CLAIM_INPUT.set(CLAIM_NS, 0)

function emptyLog(key: string): LogInfo {
  return {
    key,
    length: 0,
    clock: 0,
    entries: [],
    seen: new Set<string>(),
    frozenFrom: null,
    head: null
  }
}

const zero = (): ResourceVector => ({ cpu: 0n, disk: 0n, net: 0n })

export interface StateOptions {
  /**
   * Called for each usage or evict record that takes effect (a guest's cumulative usage as its
   * host reported it), in log order: the auditor's usage history. Records refused by a rule never
   * reach it.
   */
  onUsage?: (guest: string, time: number, used: ResourceVector) => void
}

export class LedgerState {
  constructor(private readonly opts: StateOptions = {}) {}

  readonly logs = new Map<string, LogInfo>()
  readonly claims = new Map<string, ClaimInfo>()
  readonly agreements = new Map<string, AgreementInfo>()
  readonly guests = new Map<string, GuestInfo>()
  readonly capacity = new Map<string, CapacityInfo>()
  readonly rootsByIssuer = new Map<string, string[]>()
  readonly byHolder = new Map<string, Set<string>>()
  readonly pending = new Map<string, PendingTransfer[]>()
  readonly commitments = new Map<string, Commitment>()
  /** Per root leg: cpu/net consumed anywhere in its tree (obligations fall by this). */
  readonly consumed = new Map<string, bigint>()
  /** Entry bytes of agreements whose signatures verified (not snapshotted: a cache). */
  private readonly verifiedAgreements = new Map<string, Uint8Array>()
  /** Violations found while applying entries, in the order found. */
  readonly entryViolations: Violation[] = []
  /** `outstanding` without a scan of every leg (derived from the maps above; not snapshotted). */
  private readonly owed = new OwedIndex(this.rootsByIssuer, this.claims, this.consumed)

  // Queries: read-only answers for everyone outside src/ledger, who never reads the maps above.

  /** Whether the record `id` (hex) is in `log` as its author's word (a bad copy does not count). */
  has(log: string, id: string): boolean {
    return this.logs.get(log)?.seen.has(id) ?? false
  }

  /** Entries of `log` applied so far. */
  logLength(log: string): number {
    return this.logs.get(log)?.length ?? 0
  }

  /** The highest time stamped in `log` so far (0 before its first entry). */
  logClock(log: string): number {
    return this.logs.get(log)?.clock ?? 0
  }

  claim(id: string): ClaimInfo | undefined {
    return this.claims.get(id)
  }

  /** Every claim known, good or not. */
  allClaims(): IterableIterator<ClaimInfo> {
    return this.claims.values()
  }

  /** Every holder with its claims (ids), good or not. */
  claimsByHolder(): IterableIterator<[string, ReadonlySet<string>]> {
    return this.byHolder.entries()
  }

  agreement(id: string): AgreementInfo | undefined {
    return this.agreements.get(id)
  }

  /** Whether an agreement is in both parties' logs, as far as this state has seen. */
  isSettled(id: string): boolean {
    const info = this.agreements.get(id)
    return !!info && new Set(info.positions.map((p) => p.log)).size >= 2
  }

  guest(id: string): GuestInfo | undefined {
    return this.guests.get(id)
  }

  /** Every guest admitted in any log seen, void and ended ones included. */
  allGuests(): IterableIterator<GuestInfo> {
    return this.guests.values()
  }

  /** The host's latest capacity record. */
  capacityOf(host: string): CapacityInfo | undefined {
    return this.capacity.get(host)
  }

  /** Applies one entry of a log: decode, verify, judge, index. Returns what it found wrong. */
  applyEntry(log: string, index: number, bytes: Uint8Array, opts: ApplyOptions): Violation[] {
    const info = this.logInfo(log)
    if (index < info.length) return this.seenBefore(info, index, bytes)
    if (index > info.length) {
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `log ${log.slice(0, 8)}: entry ${index} before ${info.length}`
      )
    }
    let signed: SignedRecord
    try {
      signed = decodeEntry(bytes)
    } catch (err) {
      const e = err as QuidError
      info.entries.push('raw:' + toHex(blake2b256(bytes)))
      info.length++
      return this.report({
        code: e.code ?? ErrorCodes.DECODE_INVALID,
        message: `entry does not decode: ${e.message}`,
        records: [],
        positions: [{ log, index }],
        culprit: log
      })
    }
    return this.applySigned(log, index, signed, opts)
  }

  /** Applies an already decoded entry at the end of its log. */
  applySigned(log: string, index: number, signed: SignedRecord, opts: ApplyOptions): Violation[] {
    const info = this.logInfo(log)
    if (index !== info.length) {
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `log ${log.slice(0, 8)}: entry ${index} is not next (${info.length})`
      )
    }
    // The hex id is the key of every index; it is computed once per entry and passed along.
    const id = toHex(signed.id)
    const found = this.judge(info, index, signed, id, opts)
    info.entries.push(id)
    // A copy with a bad signature, or in the wrong log, is not the author's word: it must not keep
    // a good copy of the same record out as a duplicate.
    const ignored =
      found[0]?.code === ErrorCodes.BAD_SIGNATURE || found[0]?.code === ErrorCodes.WRONG_LOG
    if (!ignored) info.seen.add(id)
    info.length++
    return found
  }

  /**
   * The rules a new entry of `log` must pass before the ledger appends it, without changing the
   * state. Returns the first problem as an error, or null.
   */
  check(log: string, signed: SignedRecord, opts: ApplyOptions): QuidError | null {
    const info = this.logs.get(log) ?? emptyLog(log)
    const problem = this.perLogProblem(info, info.length, signed, opts)
    if (problem) return toError(problem)
    return this.strictProblem(log, signed, opts)
  }

  private seenBefore(info: LogInfo, index: number, bytes: Uint8Array): Violation[] {
    let key: string
    try {
      key = toHex(decodeEntry(bytes).id)
    } catch {
      key = 'raw:' + toHex(blake2b256(bytes))
    }
    const had = info.entries[index] as string
    if (had === key) return []
    // Two different signed entries at one position of one log: a fork. Keep the first as applied
    // and both as evidence; everything from here on in that log is frozen.
    this.freezeLog(info.key, index)
    return this.report({
      code: ErrorCodes.FORK,
      message: `two different entries at position ${index} of one log`,
      records: [had, key].filter((k) => !k.startsWith('raw:')),
      positions: [{ log: info.key, index }],
      culprit: info.key
    })
  }

  /** Marks a rewritten log: claims whose path runs through entries at or after `from` are frozen. */
  freezeLog(log: string, from: number): void {
    const info = this.logInfo(log)
    info.frozenFrom = info.frozenFrom === null ? from : Math.min(info.frozenFrom, from)
  }

  /**
   * A participant rewrote its log (Hypercore truncation or a conflicting signed version). quid
   * never truncates its own log, so this is fraud: what was seen stays as evidence, with the
   * signed heads before and after, and claims that depend on the rewritten range are frozen.
   */
  recordRewrite(
    log: string,
    from: number,
    before: SignedHead | null,
    after: SignedHead | null
  ): Violation[] {
    this.freezeLog(log, from)
    const info = this.logInfo(log)
    const positions: Position[] = []
    for (let i = from; i < info.length; i++) positions.push({ log, index: i })
    return this.report({
      code: ErrorCodes.FORK,
      message:
        `log rewritten from position ${from}` +
        (before && after ? ` (fork ${before.fork} -> ${after.fork})` : ''),
      records: info.entries.slice(from).filter((k) => !k.startsWith('raw:')),
      positions: positions.length ? positions : [{ log, index: from }],
      culprit: log,
      heads: [before, after].filter((h): h is SignedHead => h !== null)
    })
  }

  private logInfo(log: string): LogInfo {
    let info = this.logs.get(log)
    if (!info) {
      info = emptyLog(log)
      this.logs.set(log, info)
    }
    return info
  }

  private report(v: Violation): Violation[] {
    this.entryViolations.push(v)
    return [v]
  }

  /** Reports a rule broken by the record `id` at `here`, its author's log. */
  private reportAt(code: ErrorCode, message: string, id: string, here: Position): Violation[] {
    return this.report({ code, message, records: [id], positions: [here], culprit: here.log })
  }

  /**
   * Whether these exact entry bytes were verified before. An agreement is the same entry in both
   * parties' logs: the second copy needs no second verification if it is byte for byte the first.
   */
  private verifiedBefore(id: string, signed: SignedRecord): boolean {
    if (signed.record.type !== 'agreement') return false
    const had = this.verifiedAgreements.get(id)
    return had !== undefined && Buffer.compare(had, signed.bytes) === 0
  }

  /** Rules judged from one log alone, in its order; returns the violation or null. */
  private perLogProblem(
    info: LogInfo,
    index: number,
    signed: SignedRecord,
    opts: ApplyOptions,
    id = toHex(signed.id)
  ): Violation | null {
    const { record } = signed
    // Evidence is built only when a rule is broken: this runs for every entry replayed.
    const v = (code: ErrorCode, message: string): Violation =>
      entryViolation(code, message, id, info.key, index)
    if (!opts.trusted && !this.verifiedBefore(id, signed)) {
      const bad = checkSignatures(signed)
      if (bad) return v(ErrorCodes.BAD_SIGNATURE, bad.message)
      if (record.type === 'agreement') this.verifiedAgreements.set(id, signed.bytes)
    }
    if (!authors(record).some((k) => isKeyOf(k, info.key))) {
      return v(ErrorCodes.WRONG_LOG, `a ${record.type} does not take effect in this log`)
    }
    if (info.seen.has(id))
      return v(ErrorCodes.DUPLICATE, `${record.type} ${id.slice(0, 12)} is already in this log`)
    if (record.time > opts.now + MAX_FUTURE_SKEW_MS) {
      return v(
        ErrorCodes.CLOCK_FUTURE,
        `stamped ${record.time - opts.now} ms ahead of the verifier's clock`
      )
    }
    const lag = signers(record).length > 1 ? MAX_COSIGN_LAG_MS : 0
    if (record.time < info.clock - lag) {
      return v(
        ErrorCodes.CLOCK_REGRESS,
        `stamped ${info.clock - record.time} ms before an earlier entry`
      )
    }
    if (record.type === 'checkpoint' && record.length !== index) {
      return v(
        ErrorCodes.BAD_CHECKPOINT,
        `checkpoint says ${record.length} entries precede it, not ${index}`
      )
    }
    return null
  }

  private judge(
    info: LogInfo,
    index: number,
    signed: SignedRecord,
    id: string,
    opts: ApplyOptions
  ): Violation[] {
    const problem = this.perLogProblem(info, index, signed, opts, id)
    if (problem) {
      // A record with a bad signature or in the wrong log is not the author's word: ignore it.
      // Other broken rules still leave its claims behind, void, so that what depends on them is
      // refused for the right reason instead of as unknown.
      if (problem.code !== ErrorCodes.BAD_SIGNATURE && problem.code !== ErrorCodes.WRONG_LOG) {
        if (problem.code !== ErrorCodes.DUPLICATE) this.index(info, index, signed, id, problem.code)
      }
      return this.report(problem)
    }
    info.clock = Math.max(info.clock, signed.record.time)
    return this.index(info, index, signed, id, null)
  }

  /** Adds a record's effects; `voided` marks the claims it creates (a rule already failed). */
  private index(
    info: LogInfo,
    index: number,
    signed: SignedRecord,
    id: string,
    voided: ErrorCode | null
  ): Violation[] {
    const r = signed.record
    const here: Position = { log: info.key, index }
    switch (r.type) {
      case 'capacity':
        if (!voided) {
          const since = this.capacity.get(info.key)?.since ?? r.time
          this.capacity.set(info.key, {
            host: info.key,
            mips: r.mips,
            limits: r.limits,
            time: r.time,
            record: id,
            position: here,
            since
          })
        }
        return []
      case 'agreement':
      case 'issue':
        return this.indexLegs(info, here, signed, id, voided)
      case 'transfer':
        return this.indexTransfer(here, signed, id, voided)
      case 'admit':
        return this.indexAdmit(info, here, signed, id, voided)
      case 'usage':
      case 'evict':
        return voided ? [] : this.indexUsage(here, signed, id)
      case 'checkpoint':
        return []
    }
  }

  private indexLegs(
    info: LogInfo,
    here: Position,
    signed: SignedRecord,
    id: string,
    voided: ErrorCode | null
  ): Violation[] {
    const r = signed.record as Extract<LedgerRecord, { type: 'agreement' | 'issue' }>
    const found: Violation[] = []
    let legs: Array<{ issuer: string; holder: string; resource: Resource; amount: bigint }>
    if (r.type === 'agreement') {
      const a = toHex(r.a)
      const b = toHex(r.b)
      legs = r.legs.map((l) => ({
        issuer: l.issuer === 'a' ? a : b,
        holder: l.issuer === 'a' ? b : a,
        resource: l.resource,
        amount: l.amount
      }))
      let ag = this.agreements.get(id)
      if (!ag) {
        ag = { id, a, b, time: r.time, expires: r.expires, positions: [], claims: [] }
        this.agreements.set(id, ag)
      }
      if (!voided) ag.positions.push(here)
    } else {
      const issuer = toHex(r.issuer)
      const holder = toHex(r.holder)
      legs = r.legs.map((l) => ({ issuer, holder, resource: l.resource, amount: l.amount }))
    }
    legs.forEach((leg, i) => {
      const cid = toHex(claimId(signed.id, i))
      let claim = this.claims.get(cid)
      if (!claim) {
        claim = {
          id: cid,
          issuer: leg.issuer,
          holder: leg.holder,
          resource: leg.resource,
          amount: leg.amount,
          expires: r.expires,
          parent: null,
          root: cid,
          origin: r.type,
          record: id,
          position: { log: leg.issuer, index: -1 },
          children: [],
          void: null
        }
        this.addClaim(claim)
        if (r.type === 'agreement') this.agreements.get(id)?.claims.push(cid)
        // Transfers out of this leg may have come first, from a log applied before this one.
        found.push(...this.adoptPending(claim))
      }
      // A leg takes effect in its issuer's log: that is where its position and capacity are judged.
      if (leg.issuer !== info.key) return
      claim.position = here
      if (voided) {
        claim.void = voided
        return
      }
      const problem = this.capacityProblem(info, leg.resource, leg.amount)
      if (problem) {
        claim.void = problem.code
        found.push(
          ...this.report({
            ...problem,
            records: [id],
            positions: [here],
            culprit: info.key,
            claim: cid
          })
        )
        return
      }
      this.roots(info.key).push(cid)
    })
    return found
  }

  private capacityProblem(
    info: LogInfo,
    resource: Resource,
    amount: bigint
  ): { code: ErrorCode; message: string } | null {
    const cap = this.capacity.get(info.key)
    if (!cap)
      return {
        code: ErrorCodes.NO_CAPACITY,
        message: 'an issuer must publish capacity before it issues'
      }
    const owed = this.outstanding(info.key, resource, info.clock)
    if (owed + amount > cap.limits[resource]) {
      return {
        code: ErrorCodes.OVER_CAPACITY,
        message: `${resource}: owes ${owed} and would owe ${owed + amount}, capacity ${cap.limits[resource]}`
      }
    }
    return null
  }

  /**
   * Whether `other`'s legs of agreement `id` (stamped `time`) could never stand, judged from
   * `other`'s log as this state holds it: the log has not accepted the agreement (had it, its own
   * log would judge its legs, 10.3), and `other` had adopted no capacity stamped at or before the
   * agreement's time. Each party of an agreement issues at least one leg (a barter gives something
   * each way, section 5.2). The one rule behind the ledger's refusal (strictProblem) and the
   * auditor's violation (oneSidedAgreements), `counterparty-no-capacity` in docs/FORMAT.md 10.8 and
   * 10.10; each caller first settles that the log it holds is one to judge by.
   */
  private counterpartyLacksCapacity(other: string, id: string, time: number): boolean {
    if (this.agreements.get(id)?.positions.some((p) => p.log === other)) return false
    const cap = this.capacity.get(other)
    return !cap || cap.since > time
  }

  /** What `issuer` owes of `resource` at time `at`: unexpired root legs less what was consumed. */
  outstanding(issuer: string, resource: Resource, at: number): bigint {
    // The sum, over the issuer's root legs in `resource` that are not void and expire after `at`,
    // of amount less consumed (disk is a quota, given back when a guest ends: its full amount).
    // OwedIndex keeps it up to date; test/ledger/owed.test.ts holds it to this definition.
    return this.owed.outstanding(issuer, resource, at)
  }

  private roots(issuer: string): string[] {
    let list = this.rootsByIssuer.get(issuer)
    if (!list) {
      list = []
      this.rootsByIssuer.set(issuer, list)
    }
    return list
  }

  private addClaim(claim: ClaimInfo): void {
    this.claims.set(claim.id, claim)
    let set = this.byHolder.get(claim.holder)
    if (!set) {
      set = new Set()
      this.byHolder.set(claim.holder, set)
    }
    set.add(claim.id)
  }

  private indexTransfer(
    here: Position,
    signed: SignedRecord,
    id: string,
    voided: ErrorCode | null
  ): Violation[] {
    const r = signed.record as Extract<LedgerRecord, { type: 'transfer' }>
    const t: PendingTransfer = {
      child: toHex(claimId(signed.id, 0)),
      parent: toHex(r.claim),
      record: id,
      sender: toHex(r.sender),
      receiver: toHex(r.receiver),
      amount: r.amount,
      time: r.time,
      position: here
    }
    const parent = this.claims.get(t.parent)
    if (parent) return this.attach(parent, t, voided)
    if (voided) t.voided = voided
    const list = this.pending.get(t.parent) ?? []
    list.push(t)
    this.pending.set(t.parent, list)
    return []
  }

  /** Creates the claim a transfer makes, once its parent is known, and any waiting on it. */
  private attach(parent: ClaimInfo, t: PendingTransfer, voided: ErrorCode | null): Violation[] {
    const found: Violation[] = []
    let why: { code: ErrorCode; message: string } | null = voided
      ? { code: voided, message: '' }
      : null
    if (!why && parent.holder !== t.sender) {
      why = {
        code: ErrorCodes.NOT_HOLDER,
        message: 'the sender does not hold the claim it transfers from'
      }
    } else if (!why && t.time >= parent.expires) {
      why = { code: ErrorCodes.EXPIRED, message: 'the claim had expired when it was transferred' }
    }
    const child: ClaimInfo = {
      id: t.child,
      issuer: parent.issuer,
      holder: t.receiver,
      resource: parent.resource,
      amount: t.amount,
      expires: parent.expires,
      parent: parent.id,
      root: parent.root,
      origin: 'transfer',
      record: t.record,
      position: t.position,
      children: [],
      void: why ? why.code : null
    }
    if (why && !voided) {
      found.push(
        ...this.report({
          code: why.code,
          message: why.message,
          records: [t.record, parent.record],
          positions: [t.position],
          culprit: t.sender,
          claim: t.child
        })
      )
    }
    this.addClaim(child)
    parent.children.push(child.id)
    found.push(...this.adoptPending(child))
    return found
  }

  /** Attaches the transfers that named `claim` before it was known, in the order they came. */
  private adoptPending(claim: ClaimInfo): Violation[] {
    const waiting = this.pending.get(claim.id)
    if (!waiting) return []
    this.pending.delete(claim.id)
    const found: Violation[] = []
    for (const w of waiting) found.push(...this.attach(claim, w, w.voided ?? null))
    return found
  }

  private indexAdmit(
    info: LogInfo,
    here: Position,
    signed: SignedRecord,
    id: string,
    voided: ErrorCode | null
  ): Violation[] {
    const r = signed.record as Extract<LedgerRecord, { type: 'admit' }>
    const gid = toHex(deployRequestId(r.request))
    if (this.guests.has(gid)) {
      return this.report({
        code: ErrorCodes.DUPLICATE_GUEST,
        message: 'this deploy request was admitted before',
        records: [id],
        positions: [here],
        culprit: info.key
      })
    }
    const guest: GuestInfo = {
      id: gid,
      host: info.key,
      owner: toHex(r.request.owner),
      admit: id,
      position: here,
      time: r.time,
      codeHash: toHex(r.request.codeHash),
      reserved: { ...r.request.resources },
      used: zero(),
      spends: r.request.claims.map((s) => ({
        claim: toHex(s.claim),
        root: toHex(s.root),
        resource: s.resource,
        amount: s.amount,
        used: 0n
      })),
      ended: null,
      void: voided
    }
    this.guests.set(gid, guest)
    if (voided) return []
    const problem = this.admitProblem(guest, r.time)
    if (problem) {
      guest.void = problem.code
      return this.report({ ...problem, records: [id], positions: [here], culprit: info.key })
    }
    for (const s of guest.spends) {
      const c = this.commitment(s.claim)
      c.reservedActive += s.amount
      const now = c.reservedActive + c.usedEnded
      if (now > c.peak) c.peak = now
    }
    return []
  }

  commitment(claim: string): Commitment {
    let c = this.commitments.get(claim)
    if (!c) {
      c = { reservedActive: 0n, usedActive: 0n, usedEnded: 0n, peak: 0n }
      this.commitments.set(claim, c)
    }
    return c
  }

  /** What the issuer's log has committed of a claim: active reservations and ended guests' use. */
  hostCommitted(claim: string): bigint {
    const c = this.commitments.get(claim)
    return c ? c.reservedActive + c.usedEnded : 0n
  }

  /**
   * What the host's own log can tell about an admission, in its order: each paying claim descends
   * from a root leg this host issued earlier in its log, for that resource, not expired. Whether
   * the rest of the path holds is judged over all logs (violations()).
   */
  private admitProblem(
    g: GuestInfo,
    time: number
  ): { code: ErrorCode; message: string; claim?: string } | null {
    for (const s of g.spends) {
      const root = this.claims.get(s.root)
      if (
        !root ||
        root.parent !== null ||
        root.position.log !== g.host ||
        root.position.index < 0 ||
        root.position.index >= g.position.index
      ) {
        return {
          code: ErrorCodes.NOT_ISSUER,
          message: "the claim's root leg is not an earlier entry of this host's log",
          claim: s.claim
        }
      }
      if (root.resource !== s.resource)
        return {
          code: ErrorCodes.BAD_RESOURCE,
          message: `the claim is for ${root.resource}, not ${s.resource}`,
          claim: s.claim
        }
      if (time >= root.expires)
        return {
          code: ErrorCodes.EXPIRED,
          message: 'the claim had expired when admitted',
          claim: s.claim
        }
    }
    return null
  }

  private indexUsage(here: Position, signed: SignedRecord, id: string): Violation[] {
    const r = signed.record as Extract<LedgerRecord, { type: 'usage' | 'evict' }>
    const g = this.guests.get(toHex(r.guest))
    if (!g || g.host !== here.log)
      return this.reportAt(
        ErrorCodes.UNKNOWN_GUEST,
        `${r.type} for a guest this host never admitted`,
        id,
        here
      )
    if (g.void) return []
    if (g.ended)
      return this.reportAt(ErrorCodes.GUEST_ENDED, `${r.type} for a guest that has ended`, id, here)
    for (const res of RESOURCES) {
      if (res !== 'disk' && r.used[res] < g.used[res])
        return this.reportAt(ErrorCodes.USAGE_REGRESS, `${res} usage went down`, id, here)
      if (r.used[res] > g.reserved[res])
        return this.reportAt(
          ErrorCodes.OVER_USAGE,
          `${res}: used ${r.used[res]} of ${g.reserved[res]} admitted`,
          id,
          here
        )
    }
    this.allocate(g, r.used)
    this.opts.onUsage?.(g.id, r.time, r.used)
    if (r.type === 'evict') {
      g.ended = { reason: r.reason, time: r.time, position: here }
      for (const s of g.spends) {
        const c = this.commitment(s.claim)
        c.reservedActive -= s.amount
        c.usedActive -= s.used
        c.usedEnded += s.used
      }
    }
    return []
  }

  /** Spreads cumulative cpu/net usage over the guest's claims, first claim first. */
  private allocate(g: GuestInfo, used: ResourceVector): void {
    g.used = { ...used }
    const left: ResourceVector = { ...used }
    for (const s of g.spends) {
      if (s.resource === 'disk') continue
      const part = left[s.resource] < s.amount ? left[s.resource] : s.amount
      left[s.resource] -= part
      const delta = part - s.used
      if (delta === 0n) continue
      s.used = part
      this.commitment(s.claim).usedActive += delta
      this.consumed.set(s.root, (this.consumed.get(s.root) ?? 0n) + delta)
      this.owed.consume(s.root, delta)
    }
  }

  /** Rules the ledger applies to its own appends on top of the per-log ones. */
  private strictProblem(log: string, signed: SignedRecord, opts: ApplyOptions): QuidError | null {
    const r = signed.record
    if (r.type === 'agreement' || r.type === 'issue') {
      const info = this.logs.get(log) ?? emptyLog(log)
      const probe = { ...info, clock: Math.max(info.clock, r.time) }
      const legs =
        r.type === 'issue'
          ? r.legs
          : r.legs.filter((l) => toHex(l.issuer === 'a' ? r.a : r.b) === log)
      const totals = new Map<Resource, bigint>()
      for (const l of legs) totals.set(l.resource, (totals.get(l.resource) ?? 0n) + l.amount)
      for (const [res, amt] of totals) {
        const p = this.capacityProblem(probe, res, amt)
        if (p) return new QuidError(p.code, p.message)
      }
    }
    // Only b, the acceptor, checks a's capacity: in the exchange b appends first and a appends only
    // once b's countersignature shows b's log has it (docs/PROTOCOL.md), so b's legs were already
    // judged in b's own log, while a's copy of b's log may still lag behind and refuse an honest
    // barter. b's check needs a's log followed: a log of which this state holds no entry may just
    // not have been fetched, and refuses nothing here (the exchange refuses a proposer whose
    // capacity it cannot see before it signs, responder.ts).
    if (r.type === 'agreement' && toHex(r.b) === log) {
      const a = toHex(r.a)
      if (this.logLength(a) > 0 && this.counterpartyLacksCapacity(a, toHex(signed.id), r.time))
        return new QuidError(
          ErrorCodes.COUNTERPARTY_NO_CAPACITY,
          `${a.slice(0, 8)} had published no capacity by the agreement's time: its legs would be void`,
          { counterparty: a }
        )
    }
    if (r.type === 'transfer') {
      const parent = toHex(r.claim)
      const status = this.claimStatus(parent, r.time)
      if (!status.ok)
        return new QuidError(status.code as ErrorCode, status.message, { claim: status.at })
      const c = this.claims.get(parent) as ClaimInfo
      if (c.holder !== log)
        return new QuidError(ErrorCodes.NOT_HOLDER, 'you do not hold this claim', { claim: parent })
      const free = this.free(parent)
      if (r.amount > free) {
        return new QuidError(
          ErrorCodes.OVERSPENT,
          `transfers ${r.amount} of a claim with ${free} free`,
          { claim: parent, free: free.toString() }
        )
      }
    }
    if (r.type === 'admit') {
      for (const s of r.request.claims) {
        const cid = toHex(s.claim)
        const status = this.claimStatus(cid, opts.now)
        if (!status.ok)
          return new QuidError(status.code as ErrorCode, status.message, { claim: status.at })
        const c = this.claims.get(cid) as ClaimInfo
        if (c.issuer !== log)
          return new QuidError(ErrorCodes.NOT_ISSUER, 'a host honors only claims on itself', {
            claim: cid
          })
        if (c.root !== toHex(s.root))
          return new QuidError(
            ErrorCodes.UNKNOWN_CLAIM,
            'the request names the wrong root for this claim',
            { claim: cid }
          )
        if (c.holder !== toHex(r.request.owner))
          return new QuidError(ErrorCodes.NOT_HOLDER, 'the owner does not hold this claim', {
            claim: cid
          })
        if (c.resource !== s.resource)
          return new QuidError(ErrorCodes.BAD_RESOURCE, `the claim is for ${c.resource}`, {
            claim: cid
          })
        const free = this.free(cid)
        if (s.amount > free) {
          return new QuidError(
            ErrorCodes.INSUFFICIENT,
            `asks ${s.amount} of a claim with ${free} free`,
            { claim: cid, free: free.toString() }
          )
        }
      }
      if (this.guests.has(toHex(deployRequestId(r.request)))) {
        return new QuidError(ErrorCodes.DUPLICATE_GUEST, 'this deploy request was admitted before')
      }
    }
    if (r.type === 'usage' || r.type === 'evict') {
      const g = this.guests.get(toHex(r.guest))
      if (!g || g.host !== log || g.void)
        return new QuidError(ErrorCodes.UNKNOWN_GUEST, 'no such guest here')
      if (g.ended) return new QuidError(ErrorCodes.GUEST_ENDED, 'the guest has ended')
      for (const res of RESOURCES) {
        if (res !== 'disk' && r.used[res] < g.used[res])
          return new QuidError(ErrorCodes.USAGE_REGRESS, `${res} usage went down`)
        if (r.used[res] > g.reserved[res])
          return new QuidError(
            ErrorCodes.OVER_USAGE,
            `${res}: ${r.used[res]} exceeds ${g.reserved[res]} admitted`
          )
      }
    }
    return null
  }

  /**
   * Whether a claim is good: known, not void or frozen, its root settled, every step of its path
   * within what its parent had, and (given `now`) not expired. Answers from the state alone.
   */
  claimStatus(id: string, now?: number): ClaimStatus {
    let c = this.claims.get(id)
    if (!c) {
      return fail(ErrorCodes.UNKNOWN_CLAIM, id, `claim ${id.slice(0, 12)} is unknown here`)
    }
    if (now !== undefined && now >= c.expires)
      return fail(ErrorCodes.EXPIRED, id, 'the claim has expired')
    while (c) {
      if (c.void)
        return fail(c.void, c.id, `claim ${c.id.slice(0, 12)} on the path is void (${c.void})`)
      if (this.frozen(c.position))
        return fail(ErrorCodes.FROZEN, c.id, 'a log on the path was rewritten')
      if (c.parent === null) {
        if (c.position.index < 0)
          return fail(ErrorCodes.NOT_SETTLED, c.id, "the root leg is not in its issuer's log")
        if (c.origin === 'agreement') {
          const ag = this.agreements.get(c.record) as AgreementInfo
          const logs = new Set(ag.positions.map((p) => p.log))
          if (!logs.has(ag.a) || !logs.has(ag.b))
            return fail(ErrorCodes.NOT_SETTLED, c.id, 'the agreement is not in both logs')
          if (ag.positions.some((p) => this.frozen(p)))
            return fail(ErrorCodes.FROZEN, c.id, 'a log on the path was rewritten')
        }
        return OK
      }
      const parent = this.claims.get(c.parent) as ClaimInfo
      if (!this.fits(parent, c.id)) {
        return fail(
          ErrorCodes.OVERSPENT,
          c.id,
          `claim ${c.id.slice(0, 12)} takes more than its parent had left`
        )
      }
      c = parent
    }
    return OK
  }

  private frozen(p: Position): boolean {
    const from = this.logs.get(p.log)?.frozenFrom
    return from !== undefined && from !== null && p.index >= from
  }

  /** Whether `child` fits in `parent` after the issuer's commitments and earlier transfers. */
  private fits(parent: ClaimInfo, child: string): boolean {
    // The same walk as free(): a transfer that does not fit is void and takes nothing, so a later,
    // smaller one may still fit.
    let left = parent.amount - this.hostCommitted(parent.id)
    for (const cid of parent.children) {
      const ch = this.claims.get(cid) as ClaimInfo
      if (ch.void) continue
      const ok = ch.amount <= left
      if (cid === child) return ok
      if (ok) left -= ch.amount
    }
    return false
  }

  /** What the holder can still transfer or spend of a claim (0 if it is overspent). */
  free(id: string): bigint {
    const c = this.claims.get(id)
    if (!c) return 0n
    let left = c.amount - this.hostCommitted(c.id)
    for (const cid of c.children) {
      const ch = this.claims.get(cid) as ClaimInfo
      if (ch.void || ch.amount > left) continue
      left -= ch.amount
    }
    return left > 0n ? left : 0n
  }

  /** Claims held by `holder` that are good now, with what is free on each. */
  holdings(holder: string, now: number): Array<{ claim: ClaimInfo; free: bigint }> {
    const out: Array<{ claim: ClaimInfo; free: bigint }> = []
    for (const id of this.byHolder.get(holder) ?? []) {
      if (!this.claimStatus(id, now).ok) continue
      out.push({ claim: this.claims.get(id) as ClaimInfo, free: this.free(id) })
    }
    return out
  }

  /** Every claim `holder` holds, whatever its status. */
  claimsOf(holder: string): ClaimInfo[] {
    return [...(this.byHolder.get(holder) ?? [])].map((id) => this.claims.get(id) as ClaimInfo)
  }

  /** Per resource, what `holder` can use now, summed over its good claims. */
  balance(holder: string, now: number): ResourceVector {
    const sum = zero()
    for (const h of this.holdings(holder, now)) sum[h.claim.resource] += h.free
    return sum
  }

  /** Per resource, what `issuer` owes at `now`. */
  obligations(issuer: string, now: number): ResourceVector {
    return {
      cpu: this.outstanding(issuer, 'cpu', now),
      disk: this.outstanding(issuer, 'disk', now),
      net: this.outstanding(issuer, 'net', now)
    }
  }

  /**
   * Every violation: those found entry by entry, then those only the whole set shows. `cut` names
   * logs known only in part (the auditor's copy was damaged past some entry): a judgement that
   * rests on a record being absent cannot be made while the record may sit in the missing part.
   */
  violations(cut: ReadonlySet<string> = NONE): Violation[] {
    const out = [...this.entryViolations]
    for (const parent of this.claims.values()) {
      for (const cid of parent.children) {
        const ch = this.claims.get(cid) as ClaimInfo
        if (ch.void || this.fits(parent, cid)) continue
        out.push({
          code: ErrorCodes.OVERSPENT,
          message: `transfer of ${ch.amount} exceeds what was left of claim ${parent.id.slice(0, 12)}`,
          records: [ch.record, parent.record],
          positions: [ch.position],
          culprit: parent.holder,
          claim: ch.id
        })
      }
    }
    for (const [cid, commit] of this.commitments) {
      const c = this.claims.get(cid)
      if (!c || commit.peak <= c.amount) continue
      out.push({
        code: ErrorCodes.OVERSPENT,
        message: `the issuer committed ${commit.peak} of a claim of ${c.amount}`,
        records: [c.record],
        positions: [c.position],
        culprit: c.issuer,
        claim: cid
      })
    }
    for (const g of this.guests.values()) {
      if (g.void) continue
      for (const s of g.spends) {
        const problem = this.spendProblem(g, s)
        if (!problem || this.mayBeIn(cut, problem)) continue
        out.push({
          code: problem.code,
          message: `host admitted a guest against a claim that is not good: ${problem.message}`,
          records: [g.admit],
          positions: [g.position],
          culprit: g.host,
          claim: s.claim
        })
      }
    }
    return out
  }

  /**
   * Agreements accepted in one party's log but not in the other's, among the logs in `given`
   * (without the other party's log nothing can be said), each reported once. When the other party
   * had no capacity by the agreement's time, its legs could never stand and not
   * appending was right: the party that appended it is at fault (`counterparty-no-capacity`).
   * Otherwise the other party signed and did not append (`unsettled`; not a rule the ledger
   * enforces, since it may simply not have appended it yet). docs/AUDIT.md section 5.1.
   */
  oneSidedAgreements(given: ReadonlySet<string>, cut: ReadonlySet<string> = NONE): Violation[] {
    const out: Violation[] = []
    for (const ag of this.agreements.values()) {
      if (!given.has(ag.a) || !given.has(ag.b)) continue
      const logs = new Set(ag.positions.map((p) => p.log))
      if (logs.size !== 1) continue
      const missing = logs.has(ag.a) ? ag.b : ag.a
      if (cut.has(missing)) continue
      const holder = logs.has(ag.a) ? ag.a : ag.b
      // The other party's log was given whole (the caller's word), so its absences count.
      if (this.counterpartyLacksCapacity(missing, ag.id, ag.time)) {
        out.push({
          code: ErrorCodes.COUNTERPARTY_NO_CAPACITY,
          message: `agreement ${ag.id.slice(0, 12)} in ${holder.slice(0, 8)}'s log takes legs from ${missing.slice(0, 8)}, which had published no capacity by its time`,
          records: [ag.id],
          positions: [...ag.positions],
          culprit: holder,
          // The other party's first leg in leg order: one that could never stand.
          claim: ag.claims.find((c) => this.claims.get(c)?.issuer === missing)
        })
        continue
      }
      out.push({
        code: ErrorCodes.UNSETTLED,
        message: `agreement ${ag.id.slice(0, 12)} is in ${[...logs][0]?.slice(0, 8)}'s log but not in ${missing.slice(0, 8)}'s`,
        records: [ag.id],
        positions: [...ag.positions],
        culprit: missing
      })
    }
    return out
  }

  /**
   * Whether a spend's problem is an absence the cut part of a log may explain: an unknown claim
   * (claim ids do not say in which log they begin, so any cut log may hold it), a root leg missing
   * from its issuer's cut log, or an agreement missing from a cut party's log.
   */
  private mayBeIn(cut: ReadonlySet<string>, problem: SpendProblem): boolean {
    if (cut.size === 0) return false
    if (problem.absent) return true
    if (problem.code !== ErrorCodes.NOT_SETTLED || !problem.at) return false
    const c = this.claims.get(problem.at)
    if (!c) return true
    if (cut.has(c.issuer)) return true
    const ag = c.origin === 'agreement' ? this.agreements.get(c.record) : undefined
    return ag !== undefined && (cut.has(ag.a) || cut.has(ag.b))
  }

  /** Whether a guest's paying claim holds up over all logs seen (the part its host's log cannot show). */
  private spendProblem(g: GuestInfo, s: Spend): SpendProblem | null {
    const c = this.claims.get(s.claim)
    if (!c)
      return {
        code: ErrorCodes.UNKNOWN_CLAIM,
        message: `claim ${s.claim.slice(0, 12)} is in no log seen`,
        absent: true
      }
    if (c.root !== s.root)
      return {
        code: ErrorCodes.UNKNOWN_CLAIM,
        message: 'the request names the wrong root for this claim'
      }
    if (c.holder !== g.owner)
      return { code: ErrorCodes.NOT_HOLDER, message: 'the guest owner does not hold the claim' }
    const st = this.claimStatus(s.claim)
    return st.ok ? null : { code: st.code as ErrorCode, message: st.message, at: st.at }
  }
}

/** Why a guest's spend does not hold up; `at` is the claim on its path that failed. */
interface SpendProblem {
  code: ErrorCode
  message: string
  at?: string | null
  /** The claim is in no log seen (rather than seen and bad). */
  absent?: true
}

const NONE: ReadonlySet<string> = new Set()

/** Whether `key` is the public key whose lowercase hex is `log` (as `toHex(key) === log`). */
function isKeyOf(key: Uint8Array, log: string): boolean {
  if (key.byteLength * 2 !== log.length) return false
  // Compares byte by byte against the hex digits, without building a string per entry.
  for (let i = 0; i < key.byteLength; i++) {
    const b = key[i] as number
    if (
      log.charCodeAt(2 * i) !== HEX_CODES[b >> 4] ||
      log.charCodeAt(2 * i + 1) !== HEX_CODES[b & 15]
    )
      return false
  }
  return true
}

const HEX_CODES = Array.from('0123456789abcdef', (ch) => ch.charCodeAt(0))

/** A rule broken by the record `id` at position `index` of `log`. */
function entryViolation(
  code: ErrorCode,
  message: string,
  id: string,
  log: string,
  index: number
): Violation {
  return { code, message, records: [id], positions: [{ log, index }], culprit: log }
}

function toError(v: Violation): QuidError {
  return new QuidError(v.code, v.message, { records: v.records, positions: v.positions })
}
