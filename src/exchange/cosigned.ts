/**
 * The records two parties sign over the exchange, and who plays which part in each: the proposer
 * signs first and sends the entry with the other slot zero; the acceptor checks, signs and, where
 * the record takes effect in its log, appends. A sale (an `issue`, exchange/purchase.ts) is asked
 * for by its holder and signed and appended by its issuer, so there the proposer's slot is the
 * second (docs/PROTOCOL.md, section 5.3).
 */
import type { AgreementRecord, IssueRecord, Key, TransferRecord } from '../ledger/records.js'

export type CoSigned = AgreementRecord | TransferRecord | IssueRecord

export const COSIGNED_TYPES: ReadonlySet<string> = new Set(['agreement', 'transfer', 'issue'])

export interface Roles {
  proposer: Key
  acceptor: Key
  /** The proposer's signature slot; the acceptor's is the other one. */
  slot: 0 | 1
}

export function roles(r: CoSigned): Roles {
  switch (r.type) {
    case 'agreement':
      return { proposer: r.a, acceptor: r.b, slot: 0 }
    case 'transfer':
      return { proposer: r.sender, acceptor: r.receiver, slot: 0 }
    case 'issue':
      return { proposer: r.holder, acceptor: r.issuer, slot: 1 }
  }
}

/** The two signatures in signer order, from the proposer's and the acceptor's. */
export function inOrder(r: CoSigned, proposer: Uint8Array, acceptor: Uint8Array): Uint8Array[] {
  return roles(r).slot === 0 ? [proposer, acceptor] : [acceptor, proposer]
}

/** Whether the proposer appends the record to its own log once it is signed (not for a sale). */
export const proposerAppends = (r: CoSigned): boolean => r.type !== 'issue'
