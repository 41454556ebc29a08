/**
 * Replay: the state and the violations that a set of logs implies, from their entries alone.
 *
 * Pure: no storage, no network, no clock but the one passed in. The ledger builds its state with
 * the same LedgerState, and the auditor calls this, so there is one implementation of the rules.
 */
import { LedgerState, type StateOptions } from './state.js'
import { toHex } from '../core/bytes.js'
import type { Violation } from './violations.js'

export interface LogEntries {
  /** The participant whose log this is (its public key, raw or hex). */
  id: Uint8Array | string
  /** Its entries in log order, from position 0. Two lists for one id are two versions of it. */
  entries: Uint8Array[]
  /**
   * Per entry, 1 where the caller already verified every signature of these exact bytes (the
   * auditor does so on all cores): replay then skips them. Entries marked 0 are verified here.
   */
  verified?: Uint8Array
  /**
   * False when these entries are only the start of the log as its owner signed it (the auditor's
   * copy was damaged past them). Absences are then not judged against this log: an agreement
   * missing from it is not `unsettled`, and a claim missing everywhere is not `unknown-claim`,
   * since the record may be in the part that is lost. Default true.
   */
  complete?: boolean
}

export interface ReplayOptions {
  /** The verifier's clock (ms). */
  now: number
  /**
   * Also report agreements accepted in one party's log only, when both logs were given:
   * `unsettled`, or `counterparty-no-capacity` when the other party's legs could never stand.
   */
  unsettled?: boolean
  /** Each usage or evict record that takes effect, in log order (LedgerState's `onUsage`). */
  onUsage?: StateOptions['onUsage']
}

export interface ReplayResult {
  state: LedgerState
  violations: Violation[]
  ok: boolean
}

export function replay(logs: LogEntries[], opts: ReplayOptions): ReplayResult {
  // A fixed order of logs makes the list of violations the same for the same input in any order.
  const sorted = logs
    .map((l) => ({ ...l, id: logId(l.id) }))
    .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
  const r = new Replay(opts)
  for (const log of sorted) r.add(log)
  return r.finish()
}

/**
 * The same replay, fed one log at a time, so that a caller can apply logs while it is still
 * fetching or verifying others (the auditor does). Applying logs in ascending id order, as
 * replay() does, gives the same result as replay(); any order gives the same state.
 */
export class Replay {
  readonly state: LedgerState
  private readonly given = new Set<string>()
  /** Logs of which some version was given whole. */
  private readonly whole = new Set<string>()
  /** Logs given only in part (no version given whole). */
  private readonly partial = new Set<string>()
  private readonly plain: { now: number }
  private readonly trusted: { now: number; trusted: boolean }

  constructor(private readonly opts: ReplayOptions) {
    this.state = new LedgerState({ onUsage: opts.onUsage })
    this.plain = { now: opts.now }
    this.trusted = { now: opts.now, trusted: true }
  }

  /** Applies one log, or one more version of a log already added. */
  add(log: LogEntries): void {
    const key = logId(log.id)
    const { entries, verified } = log
    if (log.complete !== false) this.whole.add(key)
    if (this.whole.has(key)) this.partial.delete(key)
    else this.partial.add(key)
    this.given.add(key)
    const state = this.state
    // Entries already applied at a position are compared, not reapplied: a second, different
    // version of a log shows up as a fork at the first position where the two differ.
    entries.forEach((bytes, index) => {
      if (index > (state.logs.get(key)?.length ?? 0)) return
      state.applyEntry(key, index, bytes, verified?.[index] === 1 ? this.trusted : this.plain)
    })
  }

  /** The violations of everything added so far. */
  finish(): ReplayResult {
    const violations = this.state.violations(this.partial)
    if (this.opts.unsettled)
      violations.push(...this.state.oneSidedAgreements(this.given, this.partial))
    return { state: this.state, violations, ok: violations.length === 0 }
  }
}

function logId(id: Uint8Array | string): string {
  return typeof id === 'string' ? id.toLowerCase() : toHex(id)
}
