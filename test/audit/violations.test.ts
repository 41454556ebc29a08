// Each violation class, written into real signed Hypercore logs and exported: the auditor finds it
// with its stable code and evidence; the clean world passes.
import { test } from 'tap'
import { toHex } from '../../src/core/bytes.js'
import { encodeEntry } from '../../src/ledger/codecs.js'
import { audit } from '../../src/audit/audit.js'
import { decodeExport, encodeExport } from '../../src/audit/export-format.js'
import { fromExport, type LogCopy } from '../../src/audit/copies.js'
import {
  admit,
  agreement,
  auditWriters,
  capacity,
  cleanWorld,
  codes,
  issue,
  leg,
  NOW,
  T0,
  transfer,
  usage,
  writer
} from './fixtures.js'

test('a clean world passes: balances, debts and guests are recomputed', async (t) => {
  const { A, B, C, writers } = await cleanWorld(t)
  const r = await auditWriters(writers)
  t.same(r.violations, [])
  t.equal(r.ok, true)
  t.equal(r.stats.entries, 9)
  t.equal(r.stats.verified, 9)
  const a = r.participants.find((p) => p.id === A.key)
  t.same(a?.capacity, { cpu: '10000', disk: '10000', net: '10000' })
  // A owes C's 1000 cpu less the 250 its guest used; and B 100 disk.
  t.same(a?.owes, { cpu: '750', disk: '100', net: '0' })
  const debt = (issuer: string, holder: string, resource: string): string | undefined =>
    r.debts.find((d) => d.issuer === issuer && d.holder === holder && d.resource === resource)
      ?.amount
  t.equal(debt(A.key, C.key, 'cpu'), '600', 'C keeps what it did not pass on')
  t.equal(debt(A.key, B.key, 'cpu'), '150', "B's 400 less the 250 its guest used")
  t.equal(debt(A.key, B.key, 'disk'), '100')
  t.equal(debt(B.key, A.key, 'net'), '100')
  t.equal(r.guests.length, 1)
  t.same(
    r.guests[0]?.usage.map((u) => u.cpu),
    ['100', '250']
  )
  t.equal(r.guests[0]?.ended, 'stopped')
})

test('over-spent claim: C passes on more than it holds', async (t) => {
  const [A, B, C] = await Promise.all([writer(t, 'A'), writer(t, 'B'), writer(t, 'C')])
  const sale = issue(A, C, { cpu: 1000n })
  const first = transfer(C, B, leg(sale), 700n)
  const second = transfer(C, A, leg(sale), 500n, T0 + 2500)
  await A.put(capacity(A), sale)
  await C.put(first, second)
  const r = await auditWriters([A, B, C])
  t.same(codes(r), ['overspent'])
  const v = r.violations[0]
  t.equal(v?.culprit, C.key)
  t.same(v?.records, [toHex(second.id), toHex(sale.id)])
  t.same(v?.positions, [{ log: C.key, index: 1 }])
})

test('over-issuance beyond capacity', async (t) => {
  const [A, B] = await Promise.all([writer(t, 'A'), writer(t, 'B')])
  const sale = issue(A, B, { cpu: 20_000n })
  await A.put(capacity(A), sale)
  const r = await auditWriters([A, B])
  t.same(codes(r), ['over-capacity'])
  t.same(r.violations[0]?.positions, [{ log: A.key, index: 1 }])
  t.equal(r.violations[0]?.culprit, A.key)
})

test('unsettled agreement: in one party log only', async (t) => {
  const [A, B] = await Promise.all([writer(t, 'A'), writer(t, 'B')])
  const ag = agreement(A, B, { cpu: 10n }, { disk: 10n })
  await A.put(capacity(A), ag)
  await B.put(capacity(B))
  const r = await auditWriters([A, B])
  t.same(codes(r), ['unsettled'])
  t.same(r.violations[0]?.records, [toHex(ag.id)])
  t.equal(r.violations[0]?.culprit, B.key, 'the party that signed but did not append it')
  const alone = await auditWriters([A])
  t.same(codes(alone), [], "without B's log nothing can be said")
})

test('usage beyond a claim, and an expired claim used', async (t) => {
  const [A, B] = await Promise.all([writer(t, 'A'), writer(t, 'B')])
  const sale = issue(A, B, { cpu: 1000n }, T0 + 1000, T0 + 2500)
  const g = admit(A, B, leg(sale), leg(sale), 100n, T0 + 2000)
  const late = admit(A, B, leg(sale), leg(sale), 100n, T0 + 3000)
  await A.put(capacity(A), sale, g.admit, usage(A, g.guest, 150n, T0 + 2100), late.admit)
  const r = await auditWriters([A, B])
  t.same(codes(r).sort(), ['expired', 'over-usage'])
  const over = r.violations.find((v) => v.code === 'over-usage')
  t.same(over?.positions, [{ log: A.key, index: 3 }])
  const expired = r.violations.find((v) => v.code === 'expired')
  t.same(expired?.positions, [{ log: A.key, index: 4 }])
})

test('bad signature inside a log its owner signed', async (t) => {
  const [A, B] = await Promise.all([writer(t, 'A'), writer(t, 'B')])
  const sale = issue(A, B, { cpu: 10n })
  const forged = encodeEntry(sale.record, [
    sale.signatures[0] as Uint8Array,
    new Uint8Array(64).fill(1)
  ])
  await A.put(capacity(A), forged)
  const r = await auditWriters([A, B])
  t.same(codes(r), ['bad-signature'])
  t.same(r.violations[0]?.positions, [{ log: A.key, index: 1 }])
})

test('a real fork: the same key signs two continuations of one log', async (t) => {
  const A1 = await writer(t, 'A1')
  const A2 = await writer(t, 'A2', A1.kp)
  const B = await writer(t, 'B')
  const cap = capacity(A1)
  const x = issue(A1, B, { cpu: 10n })
  const y = issue(A1, B, { cpu: 20n })
  await A1.put(cap, x)
  await A2.put(cap, y)
  const r = await auditWriters([A1, A2, B])
  t.same(codes(r), ['fork'])
  const v = r.violations[0]
  t.equal(v?.culprit, A1.key)
  t.same(v?.positions, [{ log: A1.key, index: 1 }])
  t.same(new Set(v?.records), new Set([toHex(x.id), toHex(y.id)]))
  t.equal(v?.heads?.length, 2, 'both signed heads are the portable proof')
  t.not(v?.heads?.[0]?.signature, v?.heads?.[1]?.signature)
})

test('a log truncated and rewritten by its owner, seen through an earlier export', async (t) => {
  const A = await writer(t, 'A')
  const B = await writer(t, 'B')
  await A.put(capacity(A), issue(A, B, { cpu: 10n }))
  const before = await A.copy()
  await A.core.truncate(1)
  await A.put(issue(A, B, { cpu: 30n }, T0 + 1100))
  const after = await A.copy()
  t.equal(after.head?.fork, 1, 'Hypercore counts the truncation')
  const r = await audit([before, after], [], { now: NOW, workers: 0 })
  t.same(codes(r), ['fork'])
  t.equal(r.violations[0]?.heads?.length, 2)
})

test('reordered or cut copies: not bound to the signed head, named where, not replayed', async (t) => {
  const { A, writers } = await cleanWorld(t)
  const good = await A.exported()
  const { log } = decodeExport(good)
  const swapped = encodeExport({
    ...log,
    entries: [log.entries[0]!, log.entries[2]!, log.entries[1]!, ...log.entries.slice(3)]
  })
  const reordered = fromExport(swapped, 'reordered.qlog') as LogCopy
  const others = await Promise.all(writers.slice(1).map((w) => w.copy()))
  const r = await audit([reordered, ...others], [], { now: NOW, workers: 0 })
  t.ok(codes(r).includes('tree-mismatch'))
  const mm = r.violations.find((v) => v.code === 'tree-mismatch')
  t.same(mm?.where?.entries, [0, 4], 'the entries under the first root that does not match')
  t.notOk(codes(r).includes('clock-regress'), 'a reordering by someone else is not blamed on A')
  const cut = good.subarray(0, good.byteLength - 10)
  const refused = fromExport(cut, 'cut.qlog')
  t.equal('code' in refused && refused.code, 'export-invalid')
  t.match('where' in refused ? refused.where : null, { source: 'cut.qlog', field: 'entry 5' })
})

test('both halves of an agreement must be the same record: differing copies settle nothing', async (t) => {
  const [A, B] = await Promise.all([writer(t, 'A'), writer(t, 'B')])
  const mine = agreement(A, B, { cpu: 10n }, { disk: 10n })
  const theirs = agreement(A, B, { cpu: 10n }, { disk: 99n })
  await A.put(capacity(A), mine)
  await B.put(capacity(B), theirs)
  const r = await auditWriters([A, B])
  t.same(codes(r), ['unsettled', 'unsettled'])
  t.same(
    new Set(r.violations.map((v) => v.records[0])),
    new Set([toHex(mine.id), toHex(theirs.id)])
  )
  t.same(r.debts, [], 'no claim of either is good')
})
