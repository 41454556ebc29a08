/**
 * What the auditor reports: the ledger's violations (state.ts, with the same codes and evidence)
 * plus, for problems with a copy of a log rather than with the records in it, where in that copy
 * the problem sits.
 */
import type { Violation } from '../ledger/violations.js'

export interface Where {
  /** The export file (or `log:<id>`) the problem was found in. */
  source: string
  /** Byte offset in the file, when the problem is at one place. */
  offset?: number
  field?: string
  /** Entries concerned, as [first, end) positions of the log. */
  entries?: [number, number]
}

export interface AuditViolation extends Violation {
  where?: Where
}
