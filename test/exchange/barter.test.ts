import t from 'tap'
import { toHex } from '../../src/core/bytes.js'
import { network, until, type Agent } from './helpers.js'

async function entries(a: Agent): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < a.ledger.core.length; i++)
    out.push(toHex((await a.ledger.core.get(i)) as Uint8Array))
  return out
}

t.test('four participants meet on the market; A and B barter, settled in both logs', async (t) => {
  const net = await network(t)
  const all: Agent[] = []
  for (const name of ['a', 'b', 'c', 'd']) all.push(await net.agent(name))
  const [a, b] = all
  await until(
    () => all.every((x) => x.node.connected().length === 3),
    'everyone connected to everyone'
  )
  for (const x of all) {
    const others = all
      .filter((y) => y !== x)
      .map((y) => y.key)
      .sort()
    t.same(
      x.node
        .connected()
        .map((p) => p.key)
        .sort(),
      others,
      `${x.name} authenticated the other three`
    )
  }

  // B offers disk for cpu; the offer reaches A through the market.
  const offer = await b!.exchange.offer({ give: { disk: 10_000_000n }, want: { cpu: 1000n } })
  await until(() => a!.exchange.book.size > 0, 'the offer reaches A')
  const [match] = a!.exchange.book.match({ disk: 5_000_000n }, { cpu: 10_000n })
  t.ok(match, 'A finds the offer in its book')
  t.same(match!.offer.maker, offer.maker, "it is B's offer")
  t.equal(match!.price.cpu, 500n, 'half the disk costs half the cpu')

  const signed = await a!.exchange.take(match!.offer, { disk: 5_000_000n })
  const id = toHex(signed.id)
  t.ok(a!.ledger.has(id, a!.key), "the agreement is in A's log")
  t.ok(b!.ledger.has(id, b!.key), "and in B's log (B appends before it accepts)")

  t.ok(await a!.exchange.waitSettled(id), 'settled, seen from A (B log replicated to A)')
  t.ok(await b!.exchange.waitSettled(id), 'settled, seen from B (A log replicated to B)')
  const ea = await entries(a!)
  const eb = await entries(b!)
  t.ok(
    ea.includes(toHex(signed.bytes)) && eb.includes(toHex(signed.bytes)),
    'both logs hold the same entry bytes'
  )
  t.equal(ea.filter((e) => e === toHex(signed.bytes)).length, 1, 'once in A')
  t.equal(eb.filter((e) => e === toHex(signed.bytes)).length, 1, 'once in B')
  t.equal(b!.exchange.myOffers()[0]!.remaining.disk, 5_000_000n, "what is left of B's offer")

  // A proposal B did not ask for is refused with a typed error, and nothing is recorded.
  const before = [a!.ledger.length, b!.ledger.length]
  await t.rejects(
    a!.exchange.barter(b!.kp.publicKey, { give: { cpu: 1n }, want: { net: 10n ** 9n } }),
    { code: 'refused' }
  )
  t.same(
    [a!.ledger.length, b!.ledger.length],
    before,
    'a refused barter leaves both logs as they were'
  )
  t.same(a!.exchange.pending(), [], 'and nothing pending')
})

t.test(
  'a barter from a participant without capacity is refused before the host signs',
  async (t) => {
    const net = await network(t)
    const host = await net.agent('host')
    const stranger = await net.agent('stranger', { capacity: false })
    const offer = await host.exchange.offer({ give: { cpu: 1000n }, want: { net: 1000n } })
    await until(() => stranger.exchange.book.size > 0, 'the offer reaches the stranger')
    const [match] = stranger.exchange.book.match({ cpu: 100n }, { net: 1000n })
    t.ok(match, 'the stranger finds the offer')
    const before = await entries(host)
    const err = await stranger.exchange.take(match!.offer, { cpu: 100n }).catch((e: unknown) => e)
    t.equal((err as { code?: string }).code, 'no-capacity', 'refused: no-capacity')
    t.same(await entries(host), before, "the host's log is as it was: nothing signed or appended")
    t.equal(host.exchange.myOffers()[0]?.remaining.cpu, 1000n, 'and its offer is untouched')
    t.equal(host.ledger.obligations().cpu, 0n, 'the host owes nothing')
    t.ok(offer)
  }
)
