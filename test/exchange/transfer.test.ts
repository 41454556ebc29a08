import t from 'tap'
import { toHex } from '../../src/core/bytes.js'
import { claimId } from '../../src/ledger/state.js'
import { network } from './helpers.js'

t.test(
  "A transfers part of B's IOU to C; B verifies C's claim from A's log, never speaking to C",
  async (t) => {
    const net = await network(t)
    const a = await net.agent('a')
    const b = await net.agent('b')
    // C is on no market: A reaches it by its participant topic, and B has no reason to meet it.
    const c = await net.agent('c', { market: null })
    await b.exchange.offer({ give: { disk: 1000n }, want: { cpu: 10n } })
    const signed = await a.exchange.barter(b.kp.publicKey, {
      give: { cpu: 10n },
      want: { disk: 1000n }
    })
    t.ok(await a.exchange.waitSettled(toHex(signed.id)), 'the barter is settled')
    // Leg 1: B issues 1000 disk to A.
    const iou = toHex(claimId(signed.id, 1))
    t.equal(a.ledger.claim(iou)?.holder, a.key, 'A holds the IOU B issued')

    await t.rejects(
      a.exchange.transfer(c.kp.publicKey, iou, 1001n),
      { code: 'overspent' },
      'not more than A holds'
    )
    const sent = await a.exchange.transfer(c.kp.publicKey, iou, 400n)
    const child = toHex(claimId(sent.id, 0))
    t.ok(a.ledger.has(toHex(sent.id), a.key), "the transfer is in A's log (the sender's)")
    t.equal(a.ledger.claimStatus(child).ok, true, "A's ledger counts C's claim")

    // C presents the claim to B, the issuer: B replicates A's log and finds the transfer there (B
    // follows A's log since their barter, so it may have it already: logs are kept up to date).
    const atB = await b.exchange.verifyClaim(child, [a.kp.publicKey])
    t.same([atB.ok, atB.code], [true, null], 'B verifies it')
    t.equal(b.ledger.claim(child)?.holder, c.key, 'held by C')
    t.equal(b.ledger.claim(child)?.issuer, b.key, 'an IOU of B')
    t.equal(b.ledger.claim(child)?.position.log, a.key, "found in A's log")
    t.ok(b.node.peer(c.key) === null, 'B never connected to C')

    // C checks what it received: A's log for the transfer, B's for the root and the settlement
    // (C now reaches B by its participant topic to fetch B's log).
    const atC = await c.exchange.verifyClaim(child, [a.kp.publicKey, b.kp.publicKey])
    t.equal(atC.ok, true, 'C sees a good claim')
    t.equal(c.ledger.claim(child)?.amount, 400n, 'of 400')

    // A cannot give away more than is left of its claim (600 of 1000).
    await t.rejects(a.exchange.transfer(c.kp.publicKey, iou, 601n), { code: 'overspent' })
    const again = await a.exchange.transfer(c.kp.publicKey, iou, 600n)
    const atB2 = await b.exchange.verifyClaim(toHex(claimId(again.id, 0)), [a.kp.publicKey])
    t.equal(atB2.ok, true, 'the rest is transferred too, and B follows A as it appends')
  }
)
