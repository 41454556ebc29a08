/**
 * Buying from an offer with credit already held (docs/PROTOCOL.md, section 7.3).
 *
 * A barter pays with new IOUs of the taker. A purchase pays with part of a claim the buyer holds:
 * a transfer to the offer's maker (the payment), then a sale, an `issue` by the maker to the buyer
 * of what is bought. Two nonces bind the steps, so no new record type is needed: the payment's
 * nonce is the first 16 bytes of the offer's id (it pays for that offer and no other), and the
 * sale's the first 16 bytes of the payment's record id. The buyer pays first; the maker signs and
 * appends the sale once the payment is in the buyer's log and its claim is good, and for each
 * payment once.
 */
import { QuidError, ErrorCodes } from '../core/errors.js'
import { equal, fromHex, toHex } from '../core/bytes.js'
import { RESOURCES, type Resource } from '../ledger/amounts.js'
import { NONCE_BYTES } from '../ledger/codecs.js'
import type { Ledger } from '../ledger/ledger.js'
import type { ClaimInfo } from '../ledger/claims.js'
import type { IssueRecord, ResourceVector, TransferRecord } from '../ledger/records.js'
import { zero } from './offers.js'
import { withTimeout } from './wait.js'

/** The nonce of a payment for the offer `offer` (its id). */
export const paymentNonce = (offer: Uint8Array): Uint8Array => offer.slice(0, NONCE_BYTES)

/** The nonce of the sale a payment (its record id) buys. */
export const purchaseNonce = (payment: Uint8Array): Uint8Array => payment.slice(0, NONCE_BYTES)

/** Links on a claim's path a maker follows to check a payment; deeper paths are refused. */
export const MAX_PAYMENT_PATH = 16

/**
 * The one resource a price is in. A payment is one transfer, of one claim: an offer that wants
 * several resources is paid by barter.
 */
export function priceResource(price: ResourceVector): Resource {
  const named = RESOURCES.filter((r) => price[r] > 0n)
  if (named.length !== 1) {
    throw new QuidError(
      ErrorCodes.BAD_ARGUMENT,
      `the offer wants ${named.join(' and ')}: a purchase pays one resource with one claim; take it by barter`
    )
  }
  return named[0] as Resource
}

export interface Payment {
  /** Hex id of the transfer. */
  transfer: string
  /** The claim the payment created, held by the maker. */
  claim: ClaimInfo
  /** What it paid, per resource (one resource). */
  value: ResourceVector
  /** The offer it names: the first 16 bytes of the offer's id, hex. */
  offer: string
}

/**
 * The payment a sale names, as the maker's ledger shows it: a transfer in the buyer's log to
 * us whose record id begins with the agreement's nonce, and whose claim we still hold, good. Null
 * if there is none. The maker brings the logs on the claim's path up to date first (`prove`).
 */
export async function findPayment(
  ledger: Ledger,
  buyer: string,
  sale: IssueRecord
): Promise<Payment | null> {
  const prefix = toHex(sale.nonce)
  const held = ledger
    .holdings()
    .find(
      (h) =>
        h.claim.origin === 'transfer' &&
        h.claim.position.log === buyer &&
        h.claim.record.startsWith(prefix)
    )
  if (!held) return null
  const signed = await ledger.record(held.claim.position)
  const t = signed.record as TransferRecord
  if (t.type !== 'transfer' || !equal(t.sender, fromHex(buyer, 32))) return null
  const value = zero()
  value[held.claim.resource] = held.claim.amount
  return { transfer: held.claim.record, claim: held.claim, value, offer: toHex(t.nonce) }
}

/**
 * Brings up to date the logs on the path of a payment in `buyer`'s log whose record id begins
 * with `prefix`: the buyer's log, then, link by link, the logs of each claim's issuer and holder
 * as they become known (the buyer's hint, sent with the transfer, names the ones above it). Each
 * log within `ms`; at most MAX_PAYMENT_PATH links.
 */
export async function provePayment(
  ledger: Ledger,
  buyer: Uint8Array,
  prefix: string,
  ms: number
): Promise<void> {
  const followed = new Set([ledger.key])
  const follow = async (key: string): Promise<void> => {
    if (followed.has(key)) return
    followed.add(key)
    await withTimeout(ledger.follow(fromHex(key, 32)), ms, `log of ${key.slice(0, 12)}`)
  }
  await follow(toHex(buyer))
  let c: ClaimInfo | undefined = ledger
    .claimsOf()
    .find((x) => x.position.log === toHex(buyer) && x.record.startsWith(prefix))
  for (let link = 0; c && link < MAX_PAYMENT_PATH; link++) {
    for (const k of [c.position.log, c.issuer, c.holder]) await follow(k)
    c = c.parent ? ledger.claim(c.parent) : undefined
  }
}
