// A copy damaged in transit or on disk is the file's fault: the audit reports where it is broken
// (tree-mismatch, no culprit) and blames nobody for what the lost part may have held.
import { test, type Test } from 'tap'
import { audit } from '../../src/audit/audit.js'
import { decodeExport } from '../../src/audit/export-format.js'
import { fromExport, type LogCopy } from '../../src/audit/copies.js'
import type { AuditReport } from '../../src/audit/report.js'
import {
  admit,
  agreement,
  capacity,
  issue,
  leg,
  NOW,
  T0,
  transfer,
  usage,
  writer,
  type Writer
} from './fixtures.js'
import type { SignedRecord } from '../../src/ledger/records.js'

/**
 * H's log holds records the others depend on, spread over its three roots (entries 0–3, 4–5, 6):
 * B sold H cpu, and H passes parts of it to C (entries 1 and 6); H and B agreed a barter (entry 4,
 * in B's log too) and H passes its cpu leg to C (entry 5); C runs a guest on B with each part. Any
 * of them lost from H's copy leaves B's admissions with a claim to explain.
 */
async function world(t: Test): Promise<{
  H: Writer
  B: Writer
  C: Writer
  records: Record<string, SignedRecord>
}> {
  const [H, B, C] = await Promise.all([writer(t, 'H'), writer(t, 'B'), writer(t, 'C')])
  const sale = issue(B, H, { cpu: 1000n }, T0 + 1000)
  const ag = agreement(B, H, { cpu: 300n }, { disk: 100n }, T0 + 2300)
  const t1 = transfer(H, C, leg(sale), 200n, T0 + 2000)
  const t2 = transfer(H, C, leg(ag, 0), 100n, T0 + 2400)
  const t3 = transfer(H, C, leg(sale), 300n, T0 + 2500)
  const g1 = admit(B, C, leg(t1), leg(sale), 150n, T0 + 3000)
  const g2 = admit(B, C, leg(t2), leg(ag, 0), 50n, T0 + 3100)
  const g3 = admit(B, C, leg(t3), leg(sale), 250n, T0 + 3200)
  await H.put(
    capacity(H),
    t1,
    issue(H, C, { net: 1n }, T0 + 2100),
    issue(H, C, { net: 2n }, T0 + 2200),
    ag,
    t2,
    t3
  )
  await B.put(capacity(B), sale, ag, g1.admit, g2.admit, g3.admit, usage(B, g1.guest, 50n))
  await C.put(capacity(C))
  return { H, B, C, records: { sale, ag, t1 } }
}

const blamed = (r: AuditReport): string[] =>
  r.violations.filter((v) => v.culprit !== undefined).map((v) => `${v.code} ${v.message}`)

test('a flipped byte in the first, a middle or the last entry of a log blames nobody', async (t) => {
  const { H, B, C } = await world(t)
  const good = await H.exported()
  const { layout } = decodeExport(good)
  t.equal(layout.entries.length, 7)
  const others = [await B.copy(), await C.copy()]
  const clean = await audit([await H.copy(), ...others], [], { now: NOW, workers: 0 })
  t.same(clean.violations, [], 'the whole set is clean')

  for (const [i, authentic] of [
    [0, 0],
    [4, 4],
    [6, 6]
  ] as const) {
    const bad = new Uint8Array(good)
    const at = (layout.entries[i] as number) + 10
    bad[at] = (bad[at] as number) ^ 0xff
    const copy = fromExport(bad, 'h.qlog') as LogCopy
    const r = await audit([copy, ...others], [], { now: NOW, workers: 0 })
    t.same(
      r.violations.map((v) => v.code),
      ['tree-mismatch'],
      `entry ${i}: only the damage is reported`
    )
    t.equal(r.violations[0]?.culprit, undefined, `entry ${i}: the damage has no culprit`)
    t.same(r.violations[0]?.positions, [{ log: H.key, index: i }], `entry ${i}: it is placed`)
    t.same(blamed(r), [], `entry ${i}: nobody is blamed`)
    t.equal(r.logs.find((l) => l.id === H.key)?.authentic, authentic, `entry ${i}: H is cut there`)
  }
})

test('the same absences are judged when the log is given whole', async (t) => {
  const { H, B, C, records } = await world(t)
  // H's log as H signed it at length 4: whole, and without the agreement and the later transfers.
  const H4 = await writer(t, 'H4', H.kp)
  await H4.put(
    capacity(H),
    records.t1 as SignedRecord,
    issue(H, C, { net: 1n }, T0 + 2100),
    issue(H, C, { net: 2n }, T0 + 2200)
  )
  const r = await audit([await H4.copy(), await B.copy(), await C.copy()], [], {
    now: NOW,
    workers: 0
  })
  const found = r.violations.map((v) => `${v.code} ${v.culprit?.slice(0, 8)}`).sort()
  t.same(
    found,
    [
      `unknown-claim ${B.key.slice(0, 8)}`,
      `unknown-claim ${B.key.slice(0, 8)}`,
      `unsettled ${H.key.slice(0, 8)}`
    ],
    'the agreement missing from a whole log is unsettled; guests paid with claims in no log are unknown-claim'
  )
})
