/**
 * A participant's ledger: its own append-only Hypercore log of signed records, the logs of the
 * others it follows, and the state built from all of them (state.ts).
 *
 * The ledger only ever appends to its own log; it never truncates it (a rewritten log is what
 * fraud looks like to everyone else). Appends are checked against every rule before they are
 * written, and are serialised so that checks and writes never interleave.
 */
import ReadyResource from 'ready-resource'
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { LedgerState, type AgreementInfo, type CapacityInfo, type GuestInfo } from './state.js'
import {
  CorestoreLogs,
  updateFromPeers,
  type LogSource,
  type ParticipantLog,
  type SignedHead
} from './logs.js'
import { decodeEntry } from './codecs.js'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { equal, toHex } from '../core/bytes.js'
import { signRecord } from './sign.js'
import { checkpoint as buildCheckpoint } from './build.js'
import { decodeSnapshot, encodeSnapshot, snapshotHash } from './snapshot.js'
import type { KeyPair } from '../crypto/identity.js'
import type { LedgerRecord, ResourceVector, SignedRecord } from './records.js'
import type { Position, Violation } from './violations.js'
import type { ClaimInfo, ClaimStatus } from './claims.js'
import { settled } from '../core/settle.js'
import { reportError } from '../core/report.js'

export interface LedgerOptions {
  /** Where other participants' logs come from; default: this ledger's own Corestore. */
  logs?: LogSource
  /** The verifier's clock in ms; injectable for tests. */
  now?: () => number
  /** Write a checkpoint after this many own entries since the last one (0: only on request). */
  checkpointEvery?: number
}

export const SNAPSHOT_CORE = 'quid-snapshots'
const SNAPSHOT_CHUNK = 1 << 20

interface Followed {
  log: ParticipantLog
  syncing: Promise<void>
}

export class Ledger extends ReadyResource {
  readonly store: Corestore
  readonly keyPair: KeyPair
  readonly id: Uint8Array
  /** Hex of `id`: the key every map in the state uses. */
  readonly key: string
  state = new LedgerState()
  core!: Hypercore
  private snapshots!: Hypercore
  private readonly logs: LogSource
  private readonly now: () => number
  private readonly checkpointEvery: number
  private readonly followed = new Map<string, Followed>()
  private lock: Promise<unknown> = Promise.resolve()
  private sinceCheckpoint = 0
  /** Rewrites of followed logs seen by this process, kept to re-record them after a rebuild. */
  private readonly rewrites: Array<{
    key: string
    from: number
    before: SignedHead | null
    after: SignedHead | null
  }> = []

  constructor(store: Corestore, keyPair: KeyPair, opts: LedgerOptions = {}) {
    super()
    this.store = store
    this.keyPair = keyPair
    this.id = keyPair.publicKey
    this.key = toHex(keyPair.publicKey)
    this.logs = opts.logs ?? new CorestoreLogs(store)
    this.now = opts.now ?? Date.now
    this.checkpointEvery = opts.checkpointEvery ?? 0
  }

  protected override async _open(): Promise<void> {
    try {
      await this.store.ready()
    } catch (err) {
      const msg = (err as Error).message
      if (/lock/i.test(msg)) {
        throw new QuidError(
          ErrorCodes.LOCKED,
          'this participant directory is in use by another process',
          { cause: msg }
        )
      }
      throw new QuidError(ErrorCodes.STORAGE, `cannot open the store: ${msg}`)
    }
    const kp = {
      publicKey: Buffer.from(this.keyPair.publicKey),
      secretKey: Buffer.from(this.keyPair.secretKey)
    }
    this.core = this.store.get({ keyPair: kp })
    this.snapshots = this.store.get({ name: SNAPSHOT_CORE })
    await Promise.all([this.core.ready(), this.snapshots.ready()])
    await this.restore()
  }

  protected override async _close(): Promise<void> {
    // Close followed logs first: that aborts reads still waiting on peers that may be gone, which
    // would otherwise hold the lock forever.
    for (const f of this.followed.values()) await f.log.close()
    await settled(this.lock)
    for (const f of this.followed.values()) await settled(f.syncing)
    this.followed.clear()
    await this.snapshots.close()
    await this.core.close()
  }

  /** Own log length. */
  get length(): number {
    return this.core.length
  }

  /** Loads the latest verified snapshot, then replays the own entries after it. */
  private async restore(): Promise<void> {
    const start = await this.loadSnapshot()
    const now = this.now()
    for (let i = start; i < this.core.length; i++) {
      const bytes = (await this.core.get(i)) as Uint8Array
      this.state.applyEntry(this.key, i, bytes, { now })
    }
  }

  /** Returns the own-log position the loaded snapshot covers (0 if none could be trusted). */
  private async loadSnapshot(): Promise<number> {
    if (this.snapshots.length === 0) return 0
    try {
      const header = JSON.parse(
        (await this.snapshots.get(this.snapshots.length - 1))!.toString()
      ) as {
        at: number
        chunks: number
      }
      const parts: Uint8Array[] = []
      for (let i = this.snapshots.length - 1 - header.chunks; i < this.snapshots.length - 1; i++) {
        parts.push((await this.snapshots.get(i)) as Uint8Array)
      }
      const bytes = new Uint8Array(Buffer.concat(parts))
      // The snapshot is trusted only through the signed checkpoint at `at` in our own log.
      const signed = decodeEntry((await this.core.get(header.at)) as Uint8Array)
      const r = signed.record
      if (r.type !== 'checkpoint' || r.length !== header.at || !equal(r.author, this.id)) return 0
      if (!equal(r.state, snapshotHash(bytes))) return 0
      const state = decodeSnapshot(bytes)
      const info = state.logs.get(this.key)
      if ((info?.length ?? 0) !== header.at) return 0
      this.state = state
      return header.at
    } catch {
      return 0
    }
  }

  /** Serialises `fn` with every other state change of this ledger. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn)
    this.lock = settled(run)
    return run
  }

  /**
   * Checks and appends records to the own log, in one Hypercore batch. Either all are appended or,
   * if a rule refuses one, none is and the error names the rule.
   */
  async append(records: SignedRecord | SignedRecord[]): Promise<SignedRecord[]> {
    const list = Array.isArray(records) ? records : [records]
    if (this.closing) throw new QuidError(ErrorCodes.CLOSED, 'the ledger is closed')
    await this.ready()
    const done = await this.exclusive(async () => {
      const now = this.now()
      const start = this.core.length
      // Check each against the state as it will be once the ones before it are applied; undo by
      // rebuilding from the log if anything fails (checks are pure, so this only happens on I/O).
      const applied: SignedRecord[] = []
      try {
        for (const signed of list) {
          const err = this.state.check(this.key, signed, { now })
          if (err) throw err
          // check() has just verified the signatures; applying need not verify them again.
          this.state.applySigned(this.key, start + applied.length, signed, { now, trusted: true })
          applied.push(signed)
        }
        await this.core.append(list.map((s) => s.bytes))
      } catch (err) {
        if (applied.length > 0) await this.rebuild()
        throw err
      }
      this.sinceCheckpoint += list.length
      return list
    })
    if (this.checkpointEvery > 0 && this.sinceCheckpoint >= this.checkpointEvery)
      await this.checkpoint()
    return done
  }

  /** Signs (with this ledger's key only) and appends a record that only this participant signs. */
  async appendOwn(record: LedgerRecord): Promise<SignedRecord> {
    const [signed] = await this.append(signRecord(record, [this.keyPair]))
    return signed as SignedRecord
  }

  /**
   * Rebuilds the state from the own log (and its latest checkpoint), then brings every followed log
   * up to date again and re-records the rewrites seen, so that no evidence of fraud is lost.
   */
  private async rebuild(): Promise<void> {
    this.state = new LedgerState()
    await this.restore()
    for (const [key, f] of this.followed) await this.pullLocked(key, f.log)
    for (const r of this.rewrites) this.state.recordRewrite(r.key, r.from, r.before, r.after)
  }

  /**
   * Writes a checkpoint: a snapshot of the state kept locally, and a signed record in the own log
   * carrying its hash, so that reopening verifies the snapshot instead of replaying history.
   */
  async checkpoint(): Promise<SignedRecord> {
    return this.exclusive(async () => {
      const at = this.core.length
      const bytes = encodeSnapshot(this.state)
      const record = buildCheckpoint(
        this.id,
        at,
        snapshotHash(bytes),
        Math.max(this.now(), this.state.logs.get(this.key)?.clock ?? 0)
      )
      const signed = signRecord(record, [this.keyPair])
      const err = this.state.check(this.key, signed, { now: this.now() })
      if (err) throw err
      const chunks: Uint8Array[] = []
      for (let i = 0; i < bytes.byteLength; i += SNAPSHOT_CHUNK)
        chunks.push(bytes.subarray(i, i + SNAPSHOT_CHUNK))
      // Snapshot first: a crash between the two leaves a snapshot no checkpoint vouches for, which
      // restore ignores.
      await this.snapshots.append([
        ...chunks,
        Buffer.from(JSON.stringify({ at, chunks: chunks.length }))
      ])
      await this.core.append(signed.bytes)
      this.state.applySigned(this.key, at, signed, { now: this.now() })
      this.sinceCheckpoint = 0
      return signed
    })
  }

  /**
   * Follows another participant's log: applies what is there and, from then on, every append.
   * A truncation or conflict of that log is recorded as fraud (see LedgerState.recordRewrite).
   * Emits `followed` (the participant's hex id) the first time. With `localFirst` (an agent
   * resuming what it followed before a restart) it applies what is already on disk at once and
   * brings the log up to date from the network in the background.
   */
  async follow(id: Uint8Array, opts: { localFirst?: boolean } = {}): Promise<void> {
    await this.ready()
    const key = toHex(id)
    // Our own log is already the state's source; following it would only recurse (sync → follow).
    if (key === this.key) return
    if (this.followed.has(key)) return this.sync(id)
    const log = this.logs.open(id)
    await log.ready()
    const f: Followed = { log, syncing: Promise.resolve() }
    this.followed.set(key, f)
    this.emit('followed', key)
    log.on('append', () => {
      // A pull that fails here has no caller: it goes to whoever runs the ledger.
      f.syncing = f.syncing
        .then(() => this.pull(key, log))
        .catch((err: unknown) => reportError(this, 'ledger: follow', err))
    })
    // A truncation says where the log was rewritten. A conflict (two signed histories seen) does
    // not: the other history cannot be read, so nothing the participant signed can be relied on.
    const onRewrite = (from: number, conflicting: SignedHead | null): void => {
      this.exclusive(async () => {
        const before = this.state.logs.get(key)?.head ?? null
        const after = conflicting ?? (await log.head())
        this.rewrites.push({ key, from, before, after })
        for (const v of this.state.recordRewrite(key, from, before, after)) this.emit('fraud', v)
      }).catch((err: unknown) => reportError(this, 'ledger: rewrite', err))
    }
    log.on('truncate', (length) => onRewrite(length, null))
    log.on('conflict', (_length, _fork, head) => onRewrite(0, head))
    const head = await log.head()
    const info = this.state.logs.get(key)
    if (info && head && !info.head) info.head = head
    if (!opts.localFirst) return this.sync(id)
    f.syncing = f.syncing.then(() => this.pull(key, log))
    await f.syncing
    this.sync(id).catch((err: unknown) => reportError(this, 'ledger: follow', err))
  }

  /** Waits for the followed log to catch up with connected peers and applies what is new. */
  async sync(id: Uint8Array): Promise<void> {
    const key = toHex(id)
    if (key === this.key) return
    const f = this.followed.get(key)
    if (!f) return this.follow(id)
    await updateFromPeers(f.log)
    f.syncing = f.syncing.then(() => this.pull(key, f.log))
    await f.syncing
  }

  private pull(key: string, log: ParticipantLog): Promise<void> {
    return this.exclusive(() => this.pullLocked(key, log))
  }

  private async pullLocked(key: string, log: ParticipantLog): Promise<void> {
    const info = this.state.logs.get(key)
    if (info?.frozenFrom !== null && info?.frozenFrom !== undefined) return
    const from = info?.length ?? 0
    const to = log.length
    if (to <= from) return
    const blocks = await Promise.all(Array.from({ length: to - from }, (_, i) => log.get(from + i)))
    const now = this.now()
    blocks.forEach((bytes, i) => this.state.applyEntry(key, from + i, bytes, { now }))
    const head = await log.head()
    const li = this.state.logs.get(key)
    if (li && head) li.head = head
  }

  /**
   * The signed record at a position the state reported (a claim's `position`), read back from the
   * own log or a followed one: for the fields the state does not keep, such as a nonce.
   */
  async record(at: Position): Promise<SignedRecord> {
    await this.ready()
    const log = at.log === this.key ? this.core : this.followed.get(at.log)?.log
    if (!log || at.index < 0 || at.index >= this.state.logLength(at.log))
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `no entry ${at.index} of log ${at.log.slice(0, 12)}`
      )
    return decodeEntry((await log.get(at.index)) as Uint8Array)
  }

  // Queries: answered from the state, never by rescanning logs.

  /** Whether the record `id` (hex) is in `log` (default: the own log). */
  has(id: string, log = this.key): boolean {
    return this.state.has(log, id)
  }

  /** Entries of `log` applied so far (the own log by default). */
  logLength(log = this.key): number {
    return this.state.logLength(log)
  }

  /** The highest time stamped in `log` so far (the own log by default). */
  clock(log = this.key): number {
    return this.state.logClock(log)
  }

  claim(id: string): ClaimInfo | undefined {
    return this.state.claim(id)
  }

  /** What the holder can still transfer or spend of a claim (0 if unknown or overspent). */
  free(id: string): bigint {
    return this.state.free(id)
  }

  /** What the issuer's log has committed of a claim: active reservations and ended guests' use. */
  hostCommitted(claim: string): bigint {
    return this.state.hostCommitted(claim)
  }

  agreement(id: string): AgreementInfo | undefined {
    return this.state.agreement(id)
  }

  /** Whether an agreement is in both parties' logs, as far as this ledger has seen. */
  isSettled(id: string): boolean {
    return this.state.isSettled(id)
  }

  guest(id: string): GuestInfo | undefined {
    return this.state.guest(id)
  }

  /** Every guest admitted in a log this ledger has seen. */
  guests(): IterableIterator<GuestInfo> {
    return this.state.allGuests()
  }

  claimStatus(id: string): ClaimStatus {
    return this.state.claimStatus(id, this.now())
  }

  /** What this participant (or `holder`) can use now, per resource. */
  balance(holder = this.key): ResourceVector {
    return this.state.balance(holder, this.now())
  }

  holdings(holder = this.key): Array<{ claim: ClaimInfo; free: bigint }> {
    return this.state.holdings(holder, this.now())
  }

  /** Every claim held by this participant (or `holder`), good or not: to walk a path being proved. */
  claimsOf(holder = this.key): ClaimInfo[] {
    return this.state.claimsOf(holder)
  }

  /** What this participant (or `issuer`) owes now, per resource. */
  obligations(issuer = this.key): ResourceVector {
    return this.state.obligations(issuer, this.now())
  }

  capacity(host = this.key): CapacityInfo | undefined {
    return this.state.capacityOf(host)
  }

  violations(): Violation[] {
    return this.state.violations()
  }
}
