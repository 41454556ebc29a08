/**
 * Replay: the state and the violations that a set of logs implies, from their entries alone.
 *
 * Pure: no storage, no network, no clock but the one passed in. The ledger builds its state with
 * the same LedgerState, and the auditor calls this, so there is one implementation of the rules.
 */
import { LedgerState } from './state.js'
import { toHex } from './bytes.js'
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
}

export interface ReplayOptions {
  /** The verifier's clock (ms). */
  now: number
  /** Also report agreements accepted in one party's log only, when both logs were given. */
  unsettled?: boolean
}

export interface ReplayResult {
  state: LedgerState
  violations: Violation[]
  ok: boolean
}

export function replay(logs: LogEntries[], opts: ReplayOptions): ReplayResult {
  const state = new LedgerState()
  // A fixed order of logs makes the list of violations the same for the same input in any order.
  const sorted = logs
    .map((l) => ({ key: typeof l.id === 'string' ? l.id.toLowerCase() : toHex(l.id), entries: l.entries, verified: l.verified }))
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
  const plain = { now: opts.now }
  const trusted = { now: opts.now, trusted: true }
  for (const { key, entries, verified } of sorted) {
    // Entries already applied at a position are compared, not reapplied: a second, different
    // version of a log shows up as a fork at the first position where the two differ.
    entries.forEach((bytes, index) => {
      if (index > (state.logs.get(key)?.length ?? 0)) return
      state.applyEntry(key, index, bytes, verified?.[index] === 1 ? trusted : plain)
    })
  }
  const violations = state.violations()
  if (opts.unsettled) violations.push(...state.unsettledAgreements(new Set(sorted.map((l) => l.key))))
  return { state, violations, ok: violations.length === 0 }
}
