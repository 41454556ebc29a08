/**
 * The acceptor's side of the exchange: checks a proposal, asks the policy, counter-signs, and for
 * an agreement or a sale appends it to our log before answering (docs/PROTOCOL.md, "State
 * machines").
 *
 * Answers are keyed by record id: a repeated proposal (after a dropped connection or the
 * proposer's restart) gets the same signature back, from our log for an agreement and from the
 * journal for a transfer, and concurrent repeats wait for the first answer instead of racing it.
 */
import type { EventEmitter } from 'node:events'
import { QuidError, ErrorCodes, isQuidError } from '../core/errors.js'
import { equal, toHex } from '../core/bytes.js'
import { signable } from '../crypto/hash.js'
import { signRecordAs, assemble } from '../ledger/sign.js'
import { verifySignature } from '../crypto/verify.js'
import { MAX_COSIGN_LAG_MS, MAX_FUTURE_SKEW_MS } from '../ledger/constants.js'
import type { Ledger } from '../ledger/ledger.js'
import type { IssueRecord, SignedRecord } from '../ledger/records.js'
import type { Journal } from './journal.js'
import { decodeProposal } from './messages.js'
import { agreementSides, issued, zero, type OwnOffers } from './offers.js'
import { withinCapacity, type AcceptancePolicy } from './policy.js'
import { findPayment, provePayment, type Payment } from './purchase.js'
import { inOrder, roles, type CoSigned } from './cosigned.js'
import type { Peer } from './peer.js'
import { settled } from '../core/settle.js'
import { reportError } from '../core/report.js'

/** The acceptor's slot of a proposal is zero until it signs. */
export const ZERO_SIGNATURE = new Uint8Array(64)

export interface ResponderOptions {
  ledger: Ledger
  journal: Journal
  policy: AcceptancePolicy
  offers: OwnOffers
  /** Proposals being answered at once per peer; more are refused with RATE_LIMITED. */
  maxInflight: number
  /** Where 'accepted' and 'done' are emitted (the Exchange). */
  events: EventEmitter
  /** How long to wait for each log on a payment's path (ms). */
  syncMs: number
}

export class Responder {
  /** Transfers to us we counter-signed: record id → our signature (repeated on a retry). */
  private readonly signed = new Map<string, Uint8Array>()
  /** Proposals being answered, by record id. */
  private readonly answering = new Map<string, Promise<Uint8Array>>()
  private readonly inflight = new Map<string, number>()
  private readonly ledger: Ledger
  private readonly journal: Journal
  private readonly policy: AcceptancePolicy
  private readonly offers: OwnOffers
  private readonly maxInflight: number
  private readonly events: EventEmitter
  private readonly syncMs: number

  constructor(opts: ResponderOptions) {
    this.ledger = opts.ledger
    this.journal = opts.journal
    this.policy = opts.policy
    this.offers = opts.offers
    this.syncMs = opts.syncMs
    this.maxInflight = opts.maxInflight
    this.events = opts.events
  }

  /** A transfer signature found in the journal on open. */
  restoreSigned(id: string, signature: Uint8Array): void {
    this.signed.set(id, signature)
  }

  /** Waits for the answers being prepared. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.answering.values()])
  }

  /** A `propose` from an authenticated peer; throws (the peer is banned) if it is malformed or forged. */
  onpropose(peer: Peer, entry: Uint8Array): void {
    const signed = decodeProposal({ entry })
    const r = signed.record as CoSigned
    const { proposer, acceptor, slot } = roles(r)
    if (!equal(proposer, peer.id as Uint8Array))
      throw new QuidError(ErrorCodes.PROTOCOL, 'a proposal signed for someone else')
    if (!equal(acceptor, this.ledger.id))
      throw new QuidError(ErrorCodes.PROTOCOL, 'a proposal addressed to someone else')
    if (
      !verifySignature(signed.signatures[slot] as Uint8Array, signable(r.type, signed.id), proposer)
    ) {
      throw new QuidError(ErrorCodes.AUTH_FAILED, "the proposer's signature does not verify")
    }
    if (!equal(signed.signatures[1 - slot] as Uint8Array, ZERO_SIGNATURE))
      throw new QuidError(ErrorCodes.PROTOCOL, "the acceptor's signature slot is not zero")
    const id = toHex(signed.id)
    let answer = this.answering.get(id)
    if (!answer) {
      const key = peer.key as string
      const n = this.inflight.get(key) ?? 0
      if (n >= this.maxInflight) {
        peer.send('reject', {
          record: signed.id,
          code: ErrorCodes.RATE_LIMITED,
          message: 'too many proposals at once'
        })
        return
      }
      this.inflight.set(key, n + 1)
      answer = this.answer(peer, r, signed).finally(() => {
        this.answering.delete(id)
        const left = (this.inflight.get(key) ?? 1) - 1
        if (left > 0) this.inflight.set(key, left)
        else this.inflight.delete(key)
      })
      this.answering.set(id, answer)
    }
    answer.then(
      (signature) => peer.send('accept', { record: signed.id, signature }),
      (err: unknown) => {
        const e = isQuidError(err) ? err : new QuidError(ErrorCodes.REFUSED, 'refused')
        peer.send('reject', { record: signed.id, code: e.code, message: e.message.slice(0, 200) })
      }
    )
  }

  /** Our signature on a proposal, after every check; for an agreement, once it is in our log. */
  private async answer(peer: Peer, r: CoSigned, proposal: SignedRecord): Promise<Uint8Array> {
    const id = toHex(proposal.id)
    const mine = signRecordAs(r, this.ledger.keyPair, proposal.id)
    if (r.type === 'transfer' ? this.signed.has(id) : this.ledger.has(id)) {
      return this.signed.get(id) ?? mine
    }
    const now = Date.now()
    if (r.time < now - MAX_COSIGN_LAG_MS)
      throw new QuidError(ErrorCodes.CLOCK_REGRESS, 'the proposal is too old')
    if (r.time > now + MAX_FUTURE_SKEW_MS)
      throw new QuidError(ErrorCodes.CLOCK_FUTURE, 'the proposal is stamped in the future')
    const ctx = { peer: peer.key as string, ledger: this.ledger }
    if (r.type === 'transfer') {
      if (!(await this.policy.transfer(r, ctx)))
        throw new QuidError(ErrorCodes.REFUSED, 'transfer not accepted')
      await this.journal.append({
        op: 'signed',
        id,
        peer: ctx.peer,
        signature: toHex(mine),
        at: now
      })
      this.signed.set(id, mine)
      this.events.emit('accepted', proposal)
      return mine
    }
    // We are b, or the issuer of a sale: what we give, and what the proposer would issue to us.
    const sides = r.type === 'issue' ? { a: zero(), b: issued(r) } : agreementSides(r)
    // The proposer's legs must stand under the ledger's rules, checked before we sign or append:
    // legs of an issuer without capacity are void, and we would owe for nothing (docs/PROTOCOL.md,
    // section 5). Its capacity is in its log, which we bring up to date first.
    // One that cannot be brought up to date is checked as it is: a capacity not seen refuses.
    if (r.type === 'agreement') await settled(this.ledger.follow(peer.id as Uint8Array))
    if (!withinCapacity(this.ledger, sides.a, ctx.peer)) {
      throw this.ledger.capacity(ctx.peer)
        ? new QuidError(ErrorCodes.OVER_CAPACITY, 'what you would issue is beyond your capacity')
        : new QuidError(
            ErrorCodes.NO_CAPACITY,
            'publish a capacity record before you issue: your legs would be void'
          )
    }
    // A sale is paid by the payment it names instead of legs of the proposer's (purchase.ts).
    const payment = r.type === 'issue' ? await this.payment(peer, r) : null
    const gets = payment ? payment.value : sides.a
    const offer = payment
      ? this.offers.findNamed(payment.offer, sides.b, gets)
      : this.offers.find(sides.b, sides.a)
    if (payment && !offer)
      throw new QuidError(
        ErrorCodes.REFUSED,
        'the payment names no live offer of ours that gives what you want for what it paid',
        { payment: payment.transfer }
      )
    if (payment && offer && this.offers.spent(offer, payment.transfer))
      throw new QuidError(ErrorCodes.PAYMENT_USED, 'that payment has already bought from us', {
        payment: payment.transfer
      })
    if (!(await this.policy.agreement(r, { ...ctx, gives: sides.b, gets, offer }))) {
      throw new QuidError(ErrorCodes.REFUSED, 'agreement not accepted')
    }
    const full = assemble(r, inOrder(r, proposal.signatures[roles(r).slot] as Uint8Array, mine))
    if (payment && offer) {
      // Checked again after the policy's await: another purchase may have used it meanwhile.
      if (this.offers.spent(offer, payment.transfer))
        throw new QuidError(ErrorCodes.PAYMENT_USED, 'that payment has already bought from us', {
          payment: payment.transfer
        })
      this.offers.reserve(offer, payment.transfer)
    }
    try {
      await this.ledger.append(full)
    } catch (err) {
      if (payment && offer) this.offers.release(offer, payment.transfer)
      throw err
    }
    if (offer) {
      this.offers.fill(offer, sides.b, payment?.transfer)
      await this.journal.append({
        op: 'filled',
        id: offer,
        record: id,
        cpu: String(sides.b.cpu),
        disk: String(sides.b.disk),
        net: String(sides.b.net),
        ...(payment ? { payment: payment.transfer } : {})
      })
    }
    this.events.emit('accepted', full)
    return mine
  }

  /**
   * The payment a purchase names, once the logs on its path are up to date and its claim is good;
   * refused with UNPAID otherwise (nothing is signed).
   */
  private async payment(peer: Peer, r: IssueRecord): Promise<Payment> {
    const buyer = peer.key as string
    // A log on the path that does not come in time is why the payment is not found: said so.
    let late = ''
    await provePayment(this.ledger, peer.id as Uint8Array, toHex(r.nonce), this.syncMs).catch(
      (err: unknown) => {
        late = ` (${err instanceof Error ? err.message : String(err)})`
      }
    )
    const payment = await findPayment(this.ledger, buyer, r)
    if (!payment)
      throw new QuidError(
        ErrorCodes.UNPAID,
        `the purchase names no payment of yours to us that is in your log and good${late}: transfer it first, with the offer's id as its nonce`,
        { nonce: toHex(r.nonce) }
      )
    return payment
  }

  ondone(peer: Peer, record: Uint8Array): void {
    // The proposer appended: bring its log up to date now rather than at the next replication.
    const id = toHex(record)
    if (!this.ledger.has(id) && !this.signed.has(id)) return
    this.ledger
      .follow(peer.id as Uint8Array)
      .then(() => this.events.emit('done', id, peer.key))
      .catch((err: unknown) => reportError(this.events, 'exchange: follow', err))
  }
}
