/**
 * Claims: IOU legs and the parts split off them by transfers, as a tree.
 *
 * What a claim's holder may still use is `amount - committed`, where committed counts, in this
 * order of precedence, what the issuer's own log has committed (active reservations plus what
 * ended guests used) and then the transfers out of it in the order of the sender's log. A transfer
 * that does not fit is void, with its whole subtree: the issuer's log is the authority on work it
 * delivered, and the holder signed both the deploy request and the transfer, so the evidence names
 * the holder. See docs/FORMAT.md, "Conservation".
 */
import type { Resource } from './amounts.js'
import type { ErrorCode } from '../core/errors.js'
import type { Position } from './violations.js'

export type ClaimOrigin = 'agreement' | 'issue' | 'transfer'

export interface ClaimInfo {
  id: string
  issuer: string
  holder: string
  resource: Resource
  amount: bigint
  expires: number
  /** Parent claim id, or null for a root leg. */
  parent: string | null
  root: string
  origin: ClaimOrigin
  /** The record that created it and where that record takes effect (the giver's log). */
  record: string
  position: Position
  /** Transfers out of this claim, in the sender's log order. */
  children: string[]
  /** Set when the creating record broke a rule of its own log. */
  void: ErrorCode | null
}

export interface ClaimStatus {
  ok: boolean
  code: ErrorCode | null
  /** The claim on the path that failed (may be an ancestor). */
  at: string | null
  message: string
}

/**
 * What the issuer's own log has committed of one claim. Kept apart from ClaimInfo, keyed by claim
 * id, because a host's log may name a claim whose transfer path lives in logs not seen yet.
 */
export interface Commitment {
  /** Reserved by guests that are still running. */
  reservedActive: bigint
  /** Used by guests that still run, for reporting; covered by reservedActive. */
  usedActive: bigint
  /** Used by guests that have ended. */
  usedEnded: bigint
  /** The most ever committed at once, in the issuer's log order. */
  peak: bigint
}

export const OK: ClaimStatus = { ok: true, code: null, at: null, message: 'ok' }

export function fail(code: ErrorCode, at: string, message: string): ClaimStatus {
  return { ok: false, code, at, message }
}
