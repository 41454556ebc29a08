// The refused barter of issue 18: a host appended an agreement whose proposer had published no
// capacity; the proposer's ledger refused its own legs and never appended. Real signed Hypercore
// logs, exported and audited: the host that appended it is flagged, once, instead of `unsettled`.
import { test } from 'tap'
import { toHex } from '../../src/core/bytes.js'
import {
  agreement,
  auditWriters,
  capacity,
  codes,
  issue,
  leg,
  T0,
  transfer,
  writer,
  type Writer
} from './fixtures.js'

/** H, a host with capacity; P, who holds and passes on C's IOU but publishes no capacity. */
async function world(t: Parameters<typeof writer>[0]): Promise<Record<'H' | 'P' | 'C', Writer>> {
  const [H, P, C] = await Promise.all([writer(t, 'H'), writer(t, 'P'), writer(t, 'C')])
  const sale = issue(C, P, { cpu: 100n })
  await C.put(capacity(C), sale)
  await P.put(transfer(P, C, leg(sale), 10n, T0 + 1200))
  await H.put(capacity(H))
  return { H, P, C }
}

test('an agreement appended by the host alone, its proposer without capacity: the host is flagged', async (t) => {
  const { H, P, C } = await world(t)
  // P proposes (a) disk for H's cpu; H accepts (b) and appends; P's own ledger refuses its legs.
  const ag = agreement(P, H, { disk: 10n }, { cpu: 10n })
  await H.put(ag)
  const r = await auditWriters([H, P, C])
  t.same(codes(r), ['counterparty-no-capacity'], 'not also unsettled')
  const v = r.violations[0]
  t.equal(v?.culprit, H.key, 'the party that appended it')
  t.same(v?.records, [toHex(ag.id)])
  t.same(v?.positions, [{ log: H.key, index: 1 }])
  t.equal(v?.claim, toHex(leg(ag, 0)), "P's leg, which could never stand")
  t.same(r.byCode, { 'counterparty-no-capacity': 1 })
  t.equal(r.ok, false)
  const h = r.participants.find((p) => p.id === H.key)
  t.same(h?.owes, { cpu: '10', disk: '0', net: '0' }, 'balances are as the logs say')
  t.notOk(
    r.debts.some((d) => d.issuer === H.key || d.holder === H.key),
    'no claim of either side is good'
  )
  // Capacity P publishes after the agreement's time does not make its legs stand then.
  await P.put(capacity(P, undefined, T0 + 2000))
  t.same(codes(await auditWriters([H, P, C])), ['counterparty-no-capacity'])
})

test("without P's signed log nothing is said: an empty export proves nothing", async (t) => {
  const [H, P] = await Promise.all([writer(t, 'H'), writer(t, 'P')])
  const ag = agreement(P, H, { disk: 10n }, { cpu: 10n })
  await H.put(capacity(H), ag)
  t.same(codes(await auditWriters([H, P])), [], 'P may have a log with capacity not given')
  t.same(codes(await auditWriters([H])), [])
})

test('honest agreements are not flagged; a party with capacity that did not append is unsettled', async (t) => {
  const { H, P, C } = await world(t)
  await P.put(capacity(P, undefined, T0 + 1300))
  const settled = agreement(P, H, { disk: 10n }, { cpu: 10n })
  await H.put(settled)
  await P.put(settled)
  const clean = await auditWriters([H, P, C])
  t.same(clean.violations, [], 'both sides have capacity, both logs hold it')
  t.ok(clean.debts.some((d) => d.issuer === P.key && d.holder === H.key && d.amount === '10'))
  const oneSided = agreement(P, H, { disk: 5n }, { cpu: 5n }, T0 + 1600)
  await H.put(oneSided)
  const r = await auditWriters([H, P, C])
  t.same(codes(r), ['unsettled'])
  t.equal(r.violations[0]?.culprit, P.key, 'P could have appended it and did not')
})
