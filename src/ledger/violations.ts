/**
 * A violation is a broken rule found in signed logs, with the evidence an auditor needs to show it
 * to someone else: the ids of the records involved and where each sits (log key and index).
 */
import type { ErrorCode } from '../core/errors.js'
import type { SignedHead } from './logs.js'

export interface Position {
  /** Hex public key of the log's owner. */
  log: string
  index: number
}

export interface Violation {
  code: ErrorCode
  message: string
  /** Hex ids of the records involved, the offending one first. */
  records: string[]
  positions: Position[]
  /** Hex id of the participant at fault, when one can be named. */
  culprit?: string
  /** Hex id of the claim concerned, when there is one. */
  claim?: string
  /** For a rewritten log: the author's signed heads before and after (Hypercore tree signatures). */
  heads?: SignedHead[]
}
