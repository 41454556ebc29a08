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

test('an empty export proves nothing: its unsigned header changes no result', async (t) => {
  const [A, B, C] = await Promise.all([writer(t, 'A'), writer(t, 'B'), writer(t, 'C')])
  await A.put(capacity(A), issue(A, B, { cpu: 10n }))
  const empty = await C.exported()
  const { layout } = decodeExport(empty)
  t.equal(layout.entries.length, 0)
  const a = fromExport(await A.exported(), 'a.qlog')
  if ('code' in a) return t.fail('A decodes')
  const c = fromExport(empty, 'c.qlog')
  if ('code' in c) return t.fail('the empty export decodes')
  const base = await audit([a, c], [], { now: NOW, workers: 0 })
  // Everything a report says but its list of inputs (`logs`) and its timing.
  const result = (r: typeof base): unknown => ({ ...r, logs: undefined, stats: undefined })
  let unnoticed = 0
  for (let at = 0; at < empty.byteLength; at++) {
    const bad = new Uint8Array(empty)
    bad[at] = (bad[at] as number) ^ 0xff
    const copy = fromExport(bad, 'c.qlog')
    if ('code' in copy) continue // the structure breaks: export-invalid, as for any file
    unnoticed++
    const r = await audit([a, copy], [], { now: NOW, workers: 0 })
    t.same(result(r), result(base), `byte ${at}: the result is A's alone`)
    const listed = r.logs.find((l) => l.sources.includes('c.qlog'))
    t.same(
      [listed?.length, listed?.authentic, listed?.head],
      [0, 0, null],
      `byte ${at}: listed as empty`
    )
  }
  // The id (32 bytes) and the fork's low six bytes are what no signature covers; a flip in the
  // fork's top two bytes takes it past 2^53 - 1, and every other byte is structure.
  t.equal(unnoticed, 38, 'only the id and fork bytes decode after a flip')
})
