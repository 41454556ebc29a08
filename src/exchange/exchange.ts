/**
 * The exchange protocol between agents: offers gossiped on the market, and the two co-signed
 * steps, agreement (a barter) and transfer, each a proposal answered by an acceptance or a typed
 * refusal (docs/PROTOCOL.md, "State machines"). The proposer's side is here, the acceptor's in
 * responder.ts.
 *
 * Agreement, a proposes to b: a signs and sends `propose`; b checks it, asks its policy, signs,
 * appends the agreement to its own log and answers `accept` with its signature; a verifies it,
 * appends the same entry to its log and sends `done`. The agreement is settled once both logs
 * hold it, which each side sees by replicating the other's log.
 * Transfer, sender proposes to receiver: the receiver signs and answers; the sender appends (a
 * transfer takes effect in the sender's log only) and sends `done`.
 *
 * Every step is keyed by the record id and idempotent: a proposal is re-sent whenever its
 * counterparty reconnects, including after a restart (the journal keeps it); the acceptor answers
 * a proposal it already signed with the same signature and never appends twice.
 */
import ReadyResource from 'ready-resource'
import { randomBytes } from 'node:crypto'
import { QuidError, ErrorCodes, isQuidError, type ErrorCode } from '../core/errors.js'
import { equal, fromHex, toHex } from '../core/bytes.js'
import { encodeEntry, recordId } from '../ledger/codecs.js'
import { signRecordAs, assemble } from '../ledger/sign.js'
import { MAX_COSIGN_LAG_MS, MAX_FUTURE_SKEW_MS } from '../ledger/constants.js'
import * as build from '../ledger/build.js'
import { formatAmount, type Amounts } from '../ledger/amounts.js'
import type { Ledger } from '../ledger/ledger.js'
import type { ClaimStatus } from '../ledger/claims.js'
import type { ResourceVector, SignedRecord } from '../ledger/records.js'
import { DEFAULT_TIMEOUTS, OFFERS_ON_CONNECT, type ExchangeTimeouts } from './constants.js'
import { Journal, type JournalEvent } from './journal.js'
import {
  decodeMessage,
  decodeProposal,
  encodeMessage,
  offerId,
  signOffer,
  verifyOffer,
  type AnyMessage,
  type Offer
} from './messages.js'
import { OfferBook, OwnOffers, priceOf, toVector } from './offers.js'
import { inLog, isSettled, verifyClaim, waitSettled } from './settlement.js'
import { inOrder, proposerAppends, roles, type CoSigned } from './cosigned.js'
import { defaultPolicy, type AcceptancePolicy } from './policy.js'
import { withTimeout } from './wait.js'
import { paymentNonce, priceResource, purchaseNonce } from './purchase.js'
import { Responder, ZERO_SIGNATURE } from './responder.js'
import type { Node } from './node.js'
import type { Peer } from './peer.js'
import { settled } from '../core/settle.js'
import { reportError } from '../core/report.js'

export interface ExchangeOptions {
  node: Node
  /** The participant's ledger; build it with `{ logs: node.logs }` so followed logs use the swarm. */
  ledger: Ledger
  policy?: Partial<AcceptancePolicy>
  timeouts?: Partial<ExchangeTimeouts>
  /** Proposals being answered at once per peer; more are refused with RATE_LIMITED. */
  maxInflightPerPeer?: number
}

interface Outgoing {
  id: string
  peer: string
  record: CoSigned
  /** Ours, in the slot `roles(record).slot`. */
  signature: Uint8Array
  entry: Uint8Array
  at: number
  completing: boolean
  /** Withdrawn by its proposer (`quid cancel`): no longer sent; a late answer still completes it. */
  withdrawn: boolean
  waiters: Array<{ resolve(s: SignedRecord): void; reject(e: Error): void }>
}

const BUSY_RETRY_MS = 1000

/**
 * Told the id of a proposal as soon as it is journaled, so that its caller can withdraw that one
 * proposal, and no other made meanwhile to the same peer, when it stops waiting.
 */
export type OnProposed = (id: string) => void

export class Exchange extends ReadyResource {
  readonly node: Node
  readonly ledger: Ledger
  /** Offers of others seen on the market. */
  readonly book = new OfferBook()
  readonly timeouts: ExchangeTimeouts
  private readonly policy: AcceptancePolicy
  private readonly journal: Journal
  private readonly outgoing = new Map<string, Outgoing>()
  private readonly ownOffers = new OwnOffers()
  private readonly responder: Responder
  private readonly onpeer = (peer: Peer): void => this.greet(peer)
  private readonly handler = (peer: Peer, m: AnyMessage): void => this.onmessage(peer, m)
  /** Proposals refused as RATE_LIMITED (the acceptor was busy), re-sent after a pause. */
  private readonly retries = new Map<string, NodeJS.Timeout>()

  constructor(opts: ExchangeOptions) {
    super()
    this.node = opts.node
    this.ledger = opts.ledger
    this.policy = { ...defaultPolicy, ...opts.policy }
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts }
    this.journal = new Journal(opts.node.store)
    this.responder = new Responder({
      ledger: this.ledger,
      journal: this.journal,
      policy: this.policy,
      offers: this.ownOffers,
      maxInflight: opts.maxInflightPerPeer ?? 32,
      events: this,
      syncMs: this.timeouts.syncMs
    })
  }

  protected override async _open(): Promise<void> {
    await Promise.all([this.node.ready(), this.ledger.ready()])
    this.restore(await this.journal.open())
    this.node.onmessage(this.handler)
    this.node.on('peer', this.onpeer)
    for (const peer of this.node.connected()) this.greet(peer)
    for (const out of this.outgoing.values()) this.resend(out)
  }

  protected override async _close(): Promise<void> {
    this.node.offmessage(this.handler)
    this.node.off('peer', this.onpeer)
    for (const timer of this.retries.values()) clearTimeout(timer)
    this.retries.clear()
    const closed = new QuidError(ErrorCodes.CLOSED, 'the exchange is closed')
    for (const out of this.outgoing.values())
      for (const w of out.waiters.splice(0)) w.reject(closed)
    await this.responder.settle()
    await this.journal.close()
  }

  private restore(events: JournalEvent[]): void {
    const proposed = new Map<string, Extract<JournalEvent, { op: 'proposed' }>>()
    const withdrawn = new Set<string>()
    for (const e of events) {
      if (e.op === 'proposed') proposed.set(e.id, e)
      else if (e.op === 'ended') proposed.delete(e.id)
      else if (e.op === 'withdrawn') withdrawn.add(e.id)
      else if (e.op === 'signed')
        this.responder.restoreSigned(e.id, fromHex(e.signature, 64, 'signature'))
      else if (e.op === 'offer') {
        this.ownOffers.add(
          e.id,
          decodeMessage('offer', fromHex(e.offer, e.offer.length / 2, 'offer'))
        )
      } else if (e.op === 'filled') {
        this.ownOffers.fill(
          e.id,
          { cpu: BigInt(e.cpu), disk: BigInt(e.disk), net: BigInt(e.net) },
          e.payment
        )
      } else if (e.op === 'fills') {
        // A rewritten journal's sum of an offer's fills (journal-fold.ts).
        this.ownOffers.fill(e.id, { cpu: BigInt(e.cpu), disk: BigInt(e.disk), net: BigInt(e.net) })
        for (const p of e.payments) this.ownOffers.reserve(e.id, p)
      }
    }
    for (const e of proposed.values()) {
      const signed = decodeProposal({ entry: fromHex(e.entry, e.entry.length / 2, 'entry') })
      this.outgoing.set(e.id, {
        id: e.id,
        peer: e.peer,
        record: signed.record as CoSigned,
        signature: signed.signatures[roles(signed.record as CoSigned).slot] as Uint8Array,
        entry: signed.bytes,
        at: e.at,
        completing: false,
        withdrawn: withdrawn.has(e.id),
        waiters: []
      })
    }
  }

  // Offers

  /** Publishes an offer on the market: we give `give` for `want`, at that ratio, until `expires`. */
  async offer(opts: { give: Amounts; want: Amounts; expires?: number }): Promise<Offer> {
    await this.ready()
    const time = Date.now()
    const offer = signOffer(
      {
        maker: this.ledger.id,
        time,
        expires: opts.expires ?? time + build.DAY_MS,
        nonce: new Uint8Array(randomBytes(16)),
        give: toVector(opts.give),
        want: toVector(opts.want)
      },
      this.ledger.keyPair
    )
    const id = toHex(offerId(offer))
    await this.journal.append({ op: 'offer', id, offer: toHex(encodeMessage('offer', offer)) })
    this.ownOffers.add(id, offer)
    for (const peer of this.node.connected()) peer.send('offer', offer)
    return offer
  }

  /** Our offers still open, with what is left of each. */
  myOffers(): Array<{ id: string; offer: Offer; remaining: ResourceVector }> {
    return this.ownOffers.list()
  }

  /** Takes `want` (default: all it gives) of an offer from the book: proposes the agreement. */
  async take(offer: Offer, want?: Amounts): Promise<SignedRecord> {
    const take = want ? toVector(want) : offer.give
    const price = priceOf(offer, take)
    if (!price) throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'the offer does not give that much')
    return this.barter(offer.maker, { give: price, want: take })
  }

  // Proposals (our side)

  /** Proposes a barter to a participant: we give `give`, it gives `want`. Resolves once appended. */
  async barter(
    counterparty: Uint8Array,
    opts: { give: Amounts; want: Amounts; expires?: number; onProposed?: OnProposed }
  ): Promise<SignedRecord> {
    const record = build.agreement({
      a: this.ledger.id,
      b: counterparty,
      give: opts.give,
      want: opts.want,
      ...(opts.expires ? { expires: opts.expires } : {})
    })
    return this.propose(record, counterparty, opts.onProposed)
  }

  /** Proposes to move `amount` of a claim we hold to `receiver`. Resolves once in our log. */
  async transfer(
    receiver: Uint8Array,
    claim: Uint8Array | string,
    amount: bigint,
    opts: { nonce?: Uint8Array } = {}
  ): Promise<SignedRecord> {
    const claimBytes = typeof claim === 'string' ? fromHex(claim, 32, 'claim') : claim
    // Refused here rather than after the receiver signed: our ledger would refuse the append.
    await this.ready()
    const held = this.ledger.holdings().find((h) => h.claim.id === toHex(claimBytes))
    if (!held)
      throw new QuidError(ErrorCodes.NOT_HOLDER, 'we hold no such live claim', {
        claim: toHex(claimBytes)
      })
    if (held.free < amount) {
      // In the amount syntax, as `quid claims` shows the claim, never in base units.
      const r = held.claim.resource
      throw new QuidError(
        ErrorCodes.OVERSPENT,
        `claim ${held.claim.id.slice(0, 12)} has ${formatAmount(r, held.free)} of ${r} free, and the transfer moves ${formatAmount(r, amount)}`,
        { claim: held.claim.id }
      )
    }
    const record = build.transfer({
      sender: this.ledger.id,
      receiver,
      claim: claimBytes,
      amount,
      ...(opts.nonce ? { nonce: opts.nonce } : {})
    })
    return this.propose(record, receiver)
  }

  /**
   * Pays the maker of an offer for `take` of it (default: all it gives) with part of a claim we
   * hold: the transfer, its nonce naming the offer (purchase.ts). Resolves once in our log; then
   * `purchase` buys with it.
   */
  async pay(offer: Offer, claim: string, take?: Amounts): Promise<SignedRecord> {
    const price = this.priceOfTake(offer, take)
    const resource = priceResource(price)
    const held = this.ledger.claim(claim)
    if (held && held.resource !== resource)
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `the offer wants ${resource}, and claim ${claim.slice(0, 12)} is ${held.resource}`
      )
    return this.transfer(offer.maker, claim, price[resource], {
      nonce: paymentNonce(offerId(offer))
    })
  }

  /**
   * Buys `take` of an offer (default: all it gives) with a payment already in our log (`pay`): asks
   * the maker for a sale, an `issue` of what is bought to us, its nonce naming the payment.
   * Resolves once the maker has signed and appended it, and our copy of its log shows it.
   */
  async purchase(
    offer: Offer,
    payment: Uint8Array,
    take?: Amounts,
    onProposed?: OnProposed
  ): Promise<SignedRecord> {
    this.priceOfTake(offer, take)
    const record = build.issue({
      issuer: offer.maker,
      holder: this.ledger.id,
      amounts: take ?? offer.give,
      nonce: purchaseNonce(payment)
    })
    return this.propose(record, offer.maker, onProposed)
  }

  private priceOfTake(offer: Offer, take?: Amounts): ResourceVector {
    const price = priceOf(offer, take ? toVector(take) : offer.give)
    if (!price) throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'the offer does not give that much')
    return price
  }

  private async propose(
    record: CoSigned,
    counterparty: Uint8Array,
    onProposed?: OnProposed
  ): Promise<SignedRecord> {
    await this.ready()
    if (equal(counterparty, this.ledger.id))
      throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'cannot trade with oneself')
    const rid = recordId(record)
    const signature = signRecordAs(record, this.ledger.keyPair, rid)
    const entry = encodeEntry(record, inOrder(record, signature, ZERO_SIGNATURE))
    const out: Outgoing = {
      id: toHex(rid),
      peer: toHex(counterparty),
      record,
      signature,
      entry,
      at: Date.now(),
      completing: false,
      withdrawn: false,
      waiters: []
    }
    await this.journal.append({
      op: 'proposed',
      id: out.id,
      peer: out.peer,
      entry: toHex(entry),
      at: out.at
    })
    this.outgoing.set(out.id, out)
    onProposed?.(out.id)
    const done = this.completion(out.id)
    this.resend(out)
    return done
  }

  /** Waits for one of our proposals to complete (TIMEOUT leaves it pending; it still resumes). */
  completion(id: string, ms = this.timeouts.completeMs): Promise<SignedRecord> {
    const out = this.outgoing.get(id)
    if (!out)
      return Promise.reject(
        new QuidError(ErrorCodes.BAD_ARGUMENT, `no pending proposal ${id.slice(0, 12)}`)
      )
    const p = new Promise<SignedRecord>((resolve, reject) => out.waiters.push({ resolve, reject }))
    return withTimeout(p, ms, `proposal ${id.slice(0, 12)}`)
  }

  /** Record ids of our proposals not yet completed. */
  pending(): string[] {
    return [...this.outgoing.keys()]
  }

  /** Our proposals not yet completed, oldest first, with whether their peer is connected. */
  proposals(): Array<{
    id: string
    kind: CoSigned['type']
    peer: string
    at: number
    withdrawn: boolean
    connected: boolean
  }> {
    for (const out of [...this.outgoing.values()])
      if (out.withdrawn && Date.now() - out.at > MAX_COSIGN_LAG_MS) this.resend(out)
    return [...this.outgoing.values()]
      .map((o) => ({
        id: o.id,
        kind: o.record.type,
        peer: o.peer,
        at: o.at,
        withdrawn: o.withdrawn,
        connected: this.node.peer(o.peer) !== null
      }))
      .sort((x, y) => x.at - y.at)
  }

  /**
   * Withdraws one of our proposals: it is no longer sent, and whoever waits for it gets
   * `cancelled`. The peer may have signed it already (for an agreement, appended it to its own
   * log), so an answer that still arrives completes it; once the co-signing window has passed no
   * peer can sign it, and it ends.
   */
  async withdraw(id: string): Promise<void> {
    const out = this.outgoing.get(id)
    if (!out) throw new QuidError(ErrorCodes.BAD_ARGUMENT, `no pending proposal ${id.slice(0, 12)}`)
    if (out.completing)
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `proposal ${id.slice(0, 12)} is already signed by the peer and being appended`
      )
    if (out.withdrawn) return
    await this.journal.append({ op: 'withdrawn', id })
    out.withdrawn = true
    const err = new QuidError(ErrorCodes.CANCELLED, `proposal ${id.slice(0, 12)} was withdrawn`)
    for (const w of out.waiters.splice(0)) w.reject(err)
  }

  private resend(out: Outgoing): void {
    if (Date.now() - out.at > MAX_COSIGN_LAG_MS) {
      // The acceptor would refuse it now (FORMAT.md, clock rules): give it up.
      void this.end(out, new QuidError(ErrorCodes.TIMEOUT, 'the proposal is too old to be signed'))
      return
    }
    if (out.withdrawn) return
    const peer = this.node.peer(out.peer)
    if (peer) peer.send('propose', { entry: out.entry })
    // Not connected: find it; the 'peer' event re-sends (greet).
    // A reach that fails leaves the proposal to its own timeout, which its caller hears.
    else void settled(this.node.reach(fromHex(out.peer, 32), this.timeouts.reachMs))
  }

  private async end(out: Outgoing, err: QuidError | null, signed?: SignedRecord): Promise<void> {
    if (!this.outgoing.has(out.id)) return
    this.outgoing.delete(out.id)
    await this.journal
      .append({ op: 'ended', id: out.id, ok: err === null, ...(err ? { code: err.code } : {}) })
      .catch((e: unknown) => reportError(this, 'exchange: journal', e))
    const waiters = out.waiters.splice(0)
    if (err) {
      for (const w of waiters) w.reject(err)
      this.emit('failed', out.id, err)
    } else {
      for (const w of waiters) w.resolve(signed as SignedRecord)
      this.emit('completed', signed)
    }
  }

  private onaccept(peer: Peer, record: Uint8Array, signature: Uint8Array): void {
    const out = this.outgoing.get(toHex(record))
    // A late or repeated answer to something already done is harmless; it is not the peer's fault.
    if (!out || out.peer !== peer.key || out.completing) return
    let signed: SignedRecord
    try {
      signed = assemble(out.record, inOrder(out.record, out.signature, signature))
    } catch {
      throw new QuidError(ErrorCodes.AUTH_FAILED, 'the counter-signature does not verify', {
        record: out.id
      })
    }
    out.completing = true
    void this.complete(out, signed, peer)
  }

  private async complete(out: Outgoing, signed: SignedRecord, peer: Peer): Promise<void> {
    if (!proposerAppends(out.record)) {
      // A sale is in the maker's log only, appended before it answered: we see it there.
      await inLog(this.ledger, out.id, fromHex(out.peer, 32), this.timeouts.syncMs)
      return this.end(out, null, signed)
    }
    try {
      if (!this.ledger.has(out.id)) await this.ledger.append(signed)
    } catch (err) {
      if (!isQuidError(err, ErrorCodes.DUPLICATE)) {
        out.completing = false
        return this.end(
          out,
          isQuidError(err) ? err : new QuidError(ErrorCodes.STORAGE, (err as Error).message)
        )
      }
    }
    peer.send('done', { record: signed.id })
    await this.end(out, null, signed)
  }

  private onreject(peer: Peer, record: Uint8Array, code: string, message: string): void {
    const out = this.outgoing.get(toHex(record))
    if (!out || out.peer !== peer.key || out.completing) return
    if (code === ErrorCodes.RATE_LIMITED) {
      // Busy, not a no: ask again later (the proposal is given up only when too old).
      this.emit('busy', out.id)
      if (!this.retries.has(out.id)) {
        const timer = setTimeout(() => {
          this.retries.delete(out.id)
          if (this.outgoing.has(out.id)) this.resend(out)
        }, BUSY_RETRY_MS)
        this.retries.set(out.id, timer)
      }
      return
    }
    const known = (Object.values(ErrorCodes) as string[]).includes(code)
    const err = new QuidError(
      known ? (code as ErrorCode) : ErrorCodes.REFUSED,
      `${peer.key?.slice(0, 12)} refused: ${message}`,
      { remoteCode: code, record: out.id }
    )
    void this.end(out, err)
  }

  // Gossip

  private onoffer(peer: Peer, offer: Offer): void {
    if (!verifyOffer(offer))
      throw new QuidError(ErrorCodes.AUTH_FAILED, 'offer signature does not verify')
    if (offer.time > Date.now() + MAX_FUTURE_SKEW_MS || equal(offer.maker, this.ledger.id)) return
    if (!this.book.add(offer)) return
    this.emit('offer', offer)
    const maker = toHex(offer.maker)
    for (const p of this.node.connected()) if (p !== peer && p.key !== maker) p.send('offer', offer)
  }

  /** A peer (re)connected: tell it our offers and what we know, and re-send what it owes us. */
  private greet(peer: Peer): void {
    const offers = [...this.myOffers().map((o) => o.offer), ...this.book.list().map((e) => e.offer)]
    for (const offer of offers.slice(0, OFFERS_ON_CONNECT)) peer.send('offer', offer)
    for (const out of this.outgoing.values())
      if (out.peer === peer.key && !out.completing) this.resend(out)
  }

  private onmessage(peer: Peer, m: AnyMessage): void {
    switch (m.type) {
      case 'offer':
        return this.onoffer(peer, m.body)
      case 'propose':
        return this.responder.onpropose(peer, m.body.entry)
      case 'accept':
        return this.onaccept(peer, m.body.record, m.body.signature)
      case 'reject':
        return this.onreject(peer, m.body.record, m.body.code, m.body.message)
      case 'done':
        return this.responder.ondone(peer, m.body.record)
      case 'hello':
        return
    }
  }

  // Settlement and verification, through replication (settlement.ts)

  /** Is this agreement in both parties' logs, as far as our ledger has seen? */
  settled(id: string): boolean {
    return isSettled(this.ledger, id)
  }

  /** Waits until an agreement in our log is settled, replicating the counterparty's log. */
  waitSettled(id: string, ms = this.timeouts.syncMs): Promise<boolean> {
    return waitSettled(this.ledger, id, ms)
  }

  /**
   * Checks a claim presented to us: replicates the logs of the participants on its path (`via`:
   * the senders of its transfers, and the other party of its root) and asks the ledger.
   */
  verifyClaim(claim: string, via: Uint8Array[]): Promise<ClaimStatus> {
    return verifyClaim(this.ledger, claim, via, this.timeouts.syncMs)
  }
}
