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
}

export interface ReplayResult {
  state: LedgerState
  violations: Violation[]
  ok: boolean
}

export function replay(logs: LogEntries[], opts: { now: number }): ReplayResult {
  const state = new LedgerState()
  // A fixed order of logs makes the list of violations the same for the same input in any order.
  const sorted = logs
    .map((l) => ({ key: typeof l.id === 'string' ? l.id.toLowerCase() : toHex(l.id), entries: l.entries }))
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
  for (const { key, entries } of sorted) {
    // Entries already applied at a position are compared, not reapplied: a second, different
    // version of a log shows up as a fork at the first position where the two differ.
    entries.forEach((bytes, index) => {
      if (index > (state.logs.get(key)?.length ?? 0)) return
      state.applyEntry(key, index, bytes, opts)
    })
  }
  const violations = state.violations()
  return { state, violations, ok: violations.length === 0 }
}
