import t from 'tap'
import { randomBytes } from 'node:crypto'
import { toHex } from '../../src/core/bytes.js'
import { claimId } from '../../src/ledger/state.js'
import { offerId, type Offer } from '../../src/exchange/messages.js'
import { paymentNonce } from '../../src/exchange/purchase.js'
import { network, until, type Agent } from './helpers.js'

/** What a refused purchase must leave as it was: the maker's log and what is left of its offers. */
function snapshot(s: Agent): { length: number; remaining: string } {
  const remaining = s.exchange
    .myOffers()
    .map((o) => `${o.id}:${o.remaining.cpu}/${o.remaining.disk}/${o.remaining.net}`)
    .join(' ')
  return { length: s.ledger.length, remaining }
}

t.test(
  'B buys from S with credit it holds (an IOU of I): paid first, then bought; every bad payment is refused with nothing signed',
  async (t) => {
    const net = await network(t)
    const i = await net.agent('i')
    const b = await net.agent('b')
    const s = await net.agent('s')

    // B earns credit: I's IOU for 1000 net, from a barter.
    await i.exchange.offer({ give: { net: 1000n }, want: { cpu: 10n } })
    const earned = await b.exchange.barter(i.kp.publicKey, {
      give: { cpu: 10n },
      want: { net: 1000n }
    })
    t.ok(await b.exchange.waitSettled(toHex(earned.id)), 'B earned the credit')
    const credit = toHex(claimId(earned.id, 1))
    t.equal(b.ledger.claim(credit)?.issuer, i.key, 'an IOU of I')

    // S sells disk for net; B finds the offer on the market.
    const sold = await s.exchange.offer({ give: { disk: 500n }, want: { net: 100n } })
    const other = await s.exchange.offer({ give: { cpu: 5n }, want: { net: 50n } })
    const soldId = toHex(offerId(sold))
    await until(
      () => b.exchange.book.has(soldId) && b.exchange.book.has(toHex(offerId(other))),
      "S's offers reach B"
    )
    const offer = b.exchange.book.get(soldId) as Offer

    // Half of it: 250 disk for 50 net.
    const half = { disk: 250n }
    const paid = await b.exchange.pay(offer, credit, half)
    const payment = toHex(claimId(paid.id, 0))
    t.equal(b.ledger.claim(payment)?.holder, s.key, 'the payment goes to the maker')
    t.equal(b.ledger.claim(payment)?.amount, 50n, 'of the price of what is taken')
    const bought = await b.exchange.purchase(offer, paid.id, half)
    t.equal(bought.record.type, 'issue', 'what B bought is a sale: an issue by S to B')
    t.ok(b.ledger.has(toHex(bought.id), s.key), "in S's log, as B's copy of it shows")
    t.notOk(b.ledger.has(toHex(bought.id)), "and in S's log only")
    const disk = toHex(claimId(bought.id, 0))
    t.same(
      [b.ledger.claim(disk)?.issuer, b.ledger.claim(disk)?.holder, b.ledger.claim(disk)?.amount],
      [s.key, b.key, 250n],
      'B holds an IOU of S for 250 disk'
    )
    t.equal(s.ledger.claimStatus(payment).ok, true, 'S holds a good claim on I: the payment')
    t.equal(s.ledger.claim(payment)?.issuer, i.key, 'an IOU of I, not of B')
    t.equal(b.ledger.obligations().disk, 0n, 'B owes nothing for it')
    t.equal(s.ledger.obligations().disk, 250n, 'S owes the disk it sold')
    t.equal(
      s.exchange.myOffers().find((o) => o.id === soldId)?.remaining.disk,
      250n,
      'half of the offer is left'
    )

    const before = snapshot(s)
    const refused = async (p: Promise<unknown>, code: string, what: string): Promise<void> => {
      await t.rejects(p, { code }, what)
      t.same(snapshot(s), before, `${what}: the maker's log and offers are as they were`)
    }
    await refused(b.exchange.purchase(offer, paid.id, half), 'payment-used', 'a payment buys once')
    await refused(
      b.exchange.purchase(offer, randomBytes(32), half),
      'unpaid',
      'a purchase that names no payment'
    )
    // A payment for S's other offer does not buy from this one.
    const otherPaid = await b.exchange.pay(
      b.exchange.book.get(toHex(offerId(other))) as Offer,
      credit
    )
    await refused(
      b.exchange.purchase(offer, otherPaid.id, { disk: 250n }),
      'refused',
      'a payment for another offer'
    )
    // Too little: 10 net, named for this offer, for what costs 50.
    const small = await b.exchange.transfer(s.kp.publicKey, credit, 10n, {
      nonce: paymentNonce(offerId(offer))
    })
    await refused(b.exchange.purchase(offer, small.id, half), 'refused', 'a payment too small')
    // A payment to someone else (I) is no payment to S.
    const elsewhere = await b.exchange.transfer(i.kp.publicKey, credit, 50n, {
      nonce: paymentNonce(offerId(offer))
    })
    await refused(b.exchange.purchase(offer, elsewhere.id, half), 'unpaid', 'a payment to another')

    // S restarts: the used payment is still used (the journal keeps it).
    const { dir, kp } = s
    await s.close()
    const s2 = await net.agent('s2', { dir, kp })
    t.same(snapshot(s2), before, 'S restarts with the same log and offers')
    await until(() => b.node.peer(s2.key) !== null, 'B reconnects to S')
    await t.rejects(
      b.exchange.purchase(offer, paid.id, half),
      { code: 'payment-used' },
      'after a restart too'
    )
    // The payment for the other offer buys from that one.
    const otherBought = await b.exchange.purchase(
      b.exchange.book.get(toHex(offerId(other))) as Offer,
      otherPaid.id
    )
    t.ok(b.ledger.has(toHex(otherBought.id), s2.key), 'and the other offer is bought')
  }
)
