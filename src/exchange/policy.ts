/**
 * What an agent signs unattended. The exchange asks its policy about every proposal that passed
 * the protocol's own checks (addressed to us, from the authenticated proposer, its signature
 * good); the ledger's rules are checked afterwards all the same when the record is appended.
 *
 * The default signs only barters it asked for, within its capacity: an agreement must fit one of
 * this agent's own open offers (its price and what is left of it), and what we would owe after it
 * must stay within our published capacity. Receiving a transfer costs nothing, so it is signed.
 */
import { RESOURCES } from '../ledger/amounts.js'
import type { Ledger } from '../ledger/ledger.js'
import type {
  AgreementRecord,
  IssueRecord,
  ResourceVector,
  TransferRecord
} from '../ledger/records.js'

export interface ProposalContext {
  /** Hex id of the proposer (the authenticated peer). */
  peer: string
  ledger: Ledger
  /** What we would give and get by signing an agreement or a sale (for a sale, its payment). */
  gives: ResourceVector
  gets: ResourceVector
  /** The id of one of our open offers the agreement fits, or null. */
  offer: string | null
}

export interface AcceptancePolicy {
  /** An agreement, or a sale (an issue by us, paid for: exchange/purchase.ts). */
  agreement(record: AgreementRecord | IssueRecord, ctx: ProposalContext): boolean | Promise<boolean>
  transfer(
    record: TransferRecord,
    ctx: Omit<ProposalContext, 'gives' | 'gets' | 'offer'>
  ): boolean | Promise<boolean>
}

/**
 * Would owing `gives` more keep `issuer` (default: us) within the capacity it published, as far
 * as our copy of its log shows?
 */
export function withinCapacity(
  ledger: Ledger,
  gives: ResourceVector,
  issuer: string = ledger.key
): boolean {
  const cap = ledger.capacity(issuer)
  if (!cap) return RESOURCES.every((r) => gives[r] === 0n)
  const owed = ledger.obligations(issuer)
  return RESOURCES.every((r) => owed[r] + gives[r] <= cap.limits[r])
}

export const defaultPolicy: AcceptancePolicy = {
  agreement: (_record, ctx) => ctx.offer !== null && withinCapacity(ctx.ledger, ctx.gives),
  transfer: () => true
}
