// An export file with any single byte flipped fails the audit, and the report names where.
import { test } from 'tap'
import { audit } from '../../src/audit/audit.js'
import { decodeExport } from '../../src/audit/export-format.js'
import { fromExport } from '../../src/audit/copies.js'
import { capacity, issue, NOW, writer } from './fixtures.js'

test('flipping any byte of an export file fails the audit, naming the place', async (t) => {
  const [A, B] = await Promise.all([writer(t, 'A'), writer(t, 'B')])
  await A.put(capacity(A), issue(A, B, { cpu: 10n }), issue(A, B, { net: 5n }))
  const good = await A.exported()
  const clean = fromExport(good, 'a.qlog')
  t.notOk('code' in clean, 'the untouched file decodes')
  if ('code' in clean) return
  t.equal((await audit([clean], [], { now: NOW, workers: 0 })).ok, true, 'and passes')
  const { layout } = decodeExport(good)
  const entryOf = (offset: number): number => {
    let i = -1
    for (let k = 0; k < layout.entries.length; k++)
      if (offset >= (layout.entries[k] as number)) i = k
    return i
  }
  let named = 0
  for (let at = 0; at < good.byteLength; at++) {
    const bad = new Uint8Array(good)
    bad[at] = (bad[at] as number) ^ 0xff
    const copy = fromExport(bad, 'a.qlog')
    const report =
      'code' in copy
        ? await audit([], [copy], { now: NOW, workers: 0 })
        : await audit([copy], [], { now: NOW, workers: 0 })
    if (report.ok) {
      t.fail(`flipping byte ${at} went unnoticed`)
      continue
    }
    const places = report.violations.filter(
      (v) => v.where?.source === 'a.qlog' && (v.where.offset !== undefined || v.where.entries)
    )
    if (places.length === 0) {
      t.fail(
        `flipping byte ${at}: no violation names a place in the file: ${JSON.stringify(report.violations)}`
      )
      continue
    }
    // A flip inside an entry (past its size field) is pinned to that entry.
    const i = entryOf(at)
    if (i >= 0 && at >= (layout.entries[i] as number) + 4) {
      const pinned = places.some(
        (v) => v.where?.field === `entry ${i}` || v.positions.some((p) => p.index === i)
      )
      if (!pinned)
        t.fail(
          `flipping byte ${at} (entry ${i}) is not pinned to entry ${i}: ${JSON.stringify(places)}`
        )
    }
    named++
  }
  t.equal(named, good.byteLength, `all ${good.byteLength} single-byte flips are caught and placed`)
})
