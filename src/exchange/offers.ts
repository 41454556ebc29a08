/**
 * Offers and the offer book.
 *
 * An offer says "I give `give` for `want`", both per resource; the ratio between them is the
 * price, and any part of an offer can be taken at that price: taking a fraction s of its `give`
 * costs at least s of its `want`, resource by resource (rounded up, in the maker's favour). The
 * book holds the offers gossiped on the market, drops expired ones, and finds the ones that give
 * what a taker wants for what it can give.
 */
import { RESOURCES, type Amounts } from '../ledger/amounts.js'
import { toHex } from '../core/bytes.js'
import type { AgreementRecord, IssueRecord, ResourceVector } from '../ledger/records.js'
import { MAX_OFFERS } from './constants.js'
import { offerId, type Offer } from './messages.js'

export const zero = (): ResourceVector => ({ cpu: 0n, disk: 0n, net: 0n })

export function toVector(a: Amounts): ResourceVector {
  return { cpu: a.cpu ?? 0n, disk: a.disk ?? 0n, net: a.net ?? 0n }
}

/** What each side of an agreement issues: `a` gives (legs it issues), `b` gives. */
export function agreementSides(r: AgreementRecord): { a: ResourceVector; b: ResourceVector } {
  const a = zero()
  const b = zero()
  for (const leg of r.legs) (leg.issuer === 'a' ? a : b)[leg.resource] += leg.amount
  return { a, b }
}

/** What a sale (an issue) gives its holder, per resource. */
export function issued(r: IssueRecord): ResourceVector {
  const v = zero()
  for (const leg of r.legs) v[leg.resource] += leg.amount
  return v
}

const ceilDiv = (x: bigint, y: bigint): bigint => (x + y - 1n) / y

/**
 * The price of taking `take` (≤ offer.give per resource) from an offer: the largest fraction
 * taken of any resource, applied to every resource wanted, rounded up. Null if `take` asks for
 * something the offer does not give, or more than it gives.
 */
export function priceOf(
  offer: Pick<Offer, 'give' | 'want'>,
  take: ResourceVector
): ResourceVector | null {
  let num = 0n
  let den = 1n
  for (const r of RESOURCES) {
    if (take[r] === 0n) continue
    if (take[r] > offer.give[r]) return null
    // take[r] / give[r] > num / den ?
    if (take[r] * den > num * offer.give[r]) {
      num = take[r]
      den = offer.give[r]
    }
  }
  if (num === 0n) return null
  const price = zero()
  for (const r of RESOURCES) price[r] = ceilDiv(offer.want[r] * num, den)
  return price
}

/**
 * Does a proposal in which the maker gives `gives` and gets `gets` respect the offer's price and
 * what is left of it (`remaining`)? The maker's side of the check priceOf makes for the taker.
 */
export function fitsOffer(
  offer: Pick<Offer, 'give' | 'want'>,
  remaining: ResourceVector,
  gives: ResourceVector,
  gets: ResourceVector
): boolean {
  const price = priceOf(offer, gives)
  if (!price) return false
  return RESOURCES.every((r) => gives[r] <= remaining[r] && gets[r] >= price[r])
}

export interface BookEntry {
  id: string
  offer: Offer
}

/** Offers seen on the market, by id; bounded, the soonest to expire dropped first when full. */
export class OfferBook {
  private readonly offers = new Map<string, BookEntry>()

  constructor(
    private readonly max = MAX_OFFERS,
    private readonly now: () => number = Date.now
  ) {}

  get size(): number {
    return this.offers.size
  }

  has(id: string): boolean {
    return this.offers.has(id)
  }

  get(id: string): Offer | undefined {
    return this.offers.get(id)?.offer
  }

  /** Adds a verified offer; false if it is known, expired, or the book is full of better ones. */
  add(offer: Offer): boolean {
    const id = toHex(offerId(offer))
    if (this.offers.has(id) || offer.expires <= this.now()) return false
    this.prune()
    if (this.offers.size >= this.max) {
      let soonest: BookEntry | null = null
      for (const e of this.offers.values())
        if (!soonest || e.offer.expires < soonest.offer.expires) soonest = e
      if (!soonest || soonest.offer.expires >= offer.expires) return false
      this.offers.delete(soonest.id)
    }
    this.offers.set(id, { id, offer })
    return true
  }

  remove(id: string): void {
    this.offers.delete(id)
  }

  /** Live offers, newest first. */
  list(): BookEntry[] {
    this.prune()
    return [...this.offers.values()].sort((x, y) => y.offer.time - x.offer.time)
  }

  /**
   * Offers of others that give all of `want` for at most `canGive`, cheapest first (by the sum of
   * their price, all resources counted in base units alike: a tie-break, not a valuation).
   */
  match(
    want: Amounts,
    canGive: Amounts,
    exclude?: Uint8Array
  ): Array<BookEntry & { price: ResourceVector }> {
    const take = toVector(want)
    const limit = toVector(canGive)
    const found: Array<BookEntry & { price: ResourceVector }> = []
    const skip = exclude ? toHex(exclude) : null
    for (const e of this.list()) {
      if (skip && toHex(e.offer.maker) === skip) continue
      const price = priceOf(e.offer, take)
      if (price && RESOURCES.every((r) => price[r] <= limit[r])) found.push({ ...e, price })
    }
    const total = (v: ResourceVector): bigint => v.cpu + v.disk + v.net
    return found.sort((x, y) =>
      total(x.price) < total(y.price) ? -1 : total(x.price) > total(y.price) ? 1 : 0
    )
  }

  private prune(): void {
    const now = this.now()
    for (const [id, e] of this.offers) if (e.offer.expires <= now) this.offers.delete(id)
  }
}

interface OwnOffer {
  offer: Offer
  remaining: ResourceVector
  /** Payments (transfer ids, hex) that bought from it, or are being used to (purchase.ts). */
  payments: Set<string>
}

/** Our own offers and what is left of each; fed from the journal on open. */
export class OwnOffers {
  private readonly offers = new Map<string, OwnOffer>()

  constructor(private readonly now: () => number = Date.now) {}

  add(id: string, offer: Offer): void {
    this.offers.set(id, { offer, remaining: { ...offer.give }, payments: new Set() })
  }

  /** Part of an offer was taken by an agreement we appended (bought with `payment`, if any). */
  fill(id: string, given: ResourceVector, payment?: string): void {
    const own = this.offers.get(id)
    if (!own) return
    for (const r of RESOURCES) own.remaining[r] -= given[r]
    if (payment) own.payments.add(payment)
  }

  /** One of our live offers that an agreement giving `gives` for `gets` fits, or null. */
  find(gives: ResourceVector, gets: ResourceVector): string | null {
    const now = this.now()
    for (const [id, o] of this.offers) {
      if (o.offer.expires > now && fitsOffer(o.offer, o.remaining, gives, gets)) return id
    }
    return null
  }

  /**
   * The live offer a payment names (by the first bytes of its id, hex `prefix`) if giving `gives`
   * for `gets` fits it, or null.
   */
  findNamed(prefix: string, gives: ResourceVector, gets: ResourceVector): string | null {
    const now = this.now()
    for (const [id, o] of this.offers) {
      if (id.startsWith(prefix) && o.offer.expires > now)
        return fitsOffer(o.offer, o.remaining, gives, gets) ? id : null
    }
    return null
  }

  /** Has this payment bought from the offer, or is it being used to? */
  spent(id: string, payment: string): boolean {
    return this.offers.get(id)?.payments.has(payment) ?? false
  }

  /**
   * Marks a payment as being used, before the agreement is appended, so that two purchases naming
   * it at once cannot both pass; `release` undoes it if the append fails.
   */
  reserve(id: string, payment: string): void {
    this.offers.get(id)?.payments.add(payment)
  }

  release(id: string, payment: string): void {
    this.offers.get(id)?.payments.delete(payment)
  }

  /** Live offers, with what is left of each. */
  list(): Array<{ id: string; offer: Offer; remaining: ResourceVector }> {
    const now = this.now()
    return [...this.offers]
      .filter(([, o]) => o.offer.expires > now)
      .map(([id, o]) => ({ id, offer: o.offer, remaining: o.remaining }))
  }
}
