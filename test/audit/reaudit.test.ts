// A re-audit that reuses the cached report gives exactly what a cold audit gives (JSON equal but
// for `stats`), after new entries, new logs and forks; and it reuses nothing it cannot prove.
import { test } from 'tap'
import { join } from 'node:path'
import { tmp } from '../helpers.js'
import { audit } from '../../src/audit/audit.js'
import { AuditCache } from '../../src/audit/cache.js'
import { fromExport, type LogCopy } from '../../src/audit/copies.js'
import { decodeExport } from '../../src/audit/export-format.js'
import type { AuditReport } from '../../src/audit/report.js'
import { pack, unpack } from '../../src/audit/stored-report.js'
import { copyDigest } from '../../src/audit/reuse.js'
import { toHex } from '../../src/core/bytes.js'
import {
  capacity,
  cleanWorld,
  issue,
  NOW,
  T0,
  usage,
  admit,
  leg,
  writer,
  codes,
  type Writer
} from './fixtures.js'

/** The report as `quid audit --json` prints it, without the facts of the run. */
const result = (r: AuditReport): string => JSON.stringify({ ...r, stats: undefined })

async function copiesOf(writers: Writer[]): Promise<LogCopy[]> {
  return Promise.all(writers.map((w) => w.copy()))
}

async function both(
  path: string,
  copies: LogCopy[],
  now = NOW
): Promise<{ cold: AuditReport; cached: AuditReport }> {
  const cold = await audit(copies, [], { now, workers: 0 })
  const cached = await audit(copies, [], { now, workers: 0, cache: await AuditCache.open(path) })
  return { cold, cached }
}

test('a cached re-audit equals a cold audit: unchanged, new entries, new logs, a fork', async (t) => {
  const path = join(await tmp(t), 'audit-cache.json')
  const { A, B, C, writers } = await cleanWorld(t)

  const first = await both(path, await copiesOf(writers))
  t.equal(first.cached.stats.reused, false)
  t.equal(result(first.cached), result(first.cold), 'first audit with a cache = cold')

  const again = await both(path, await copiesOf(writers))
  t.same(again.cached.stats, { ...again.cached.stats, reused: true, verified: 0, cached: 9 })
  t.equal(result(again.cached), result(first.cold), 'nothing new: the stored report, = cold')

  // New entries in A and C, a new log D, and a log E given in two versions that differ (a fork).
  const D = await writer(t, 'D')
  const E1 = await writer(t, 'E1')
  const E2 = await writer(t, 'E2', E1.kp)
  const sale = issue(A, D, { cpu: 50n }, T0 + 6000)
  await A.put(
    sale,
    usage(A, admit(A, D, leg(sale), leg(sale), 10n, T0 + 7000).guest, 1n, T0 + 8000)
  )
  await C.put(issue(C, B, { cpu: 3n }, T0 + 6500))
  await D.put(capacity(D), sale)
  await E1.put(capacity(E1), issue(E1, B, { cpu: 5n }, T0 + 6000))
  await E2.put(capacity(E1), issue(E1, B, { cpu: 6n }, T0 + 6000))
  const mixed = [...writers, D, E1, E2]
  const grown = await both(path, await copiesOf(mixed))
  t.equal(grown.cached.stats.reused, false)
  t.ok(codes(grown.cold).includes('fork'), 'the two versions of E are a fork')
  t.ok(grown.cold.violations.length > 1, 'and the new entries break rules too')
  t.equal(result(grown.cached), result(grown.cold), 'changed inputs: replayed again, = cold')
  t.ok(grown.cached.stats.cached > 0, 'with the unchanged prefixes not verified again')

  const same = await both(path, await copiesOf(mixed))
  t.equal(same.cached.stats.reused, true)
  t.equal(result(same.cached), result(grown.cold), 'the same again: stored report, = cold')

  // Another verifier clock is another audit (expiry and future stamps are judged by it).
  const later = await both(path, await copiesOf(mixed), T0 + 86_400_000)
  t.equal(later.cached.stats.reused, false)
  t.equal(result(later.cached), result(later.cold))
  t.not(result(later.cold), result(grown.cold), 'and its report differs')

  // Another order of the same files, or another name for one: the sources differ, so no reuse.
  const renamed = await copiesOf(mixed)
  renamed[0] = { ...(renamed[0] as LogCopy), source: 'elsewhere.qlog' }
  const moved = await both(path, renamed)
  t.equal(moved.cached.stats.reused, false)
  t.equal(result(moved.cached), result(moved.cold))
})

test('a fork against a head the cache verified is the one thing a cached audit adds', async (t) => {
  const path = join(await tmp(t), 'audit-cache.json')
  const A1 = await writer(t, 'A1')
  const A2 = await writer(t, 'A2', A1.kp)
  const B = await writer(t, 'B')
  await A1.put(capacity(A1), issue(A1, B, { cpu: 10n }))
  await A2.put(capacity(A1), issue(A1, B, { cpu: 99n }))
  await B.put(capacity(B))
  await both(path, await copiesOf([A1, B]))
  for (let round = 0; round < 2; round++) {
    const { cold, cached } = await both(path, await copiesOf([A2, B]))
    t.same(codes(cold), [], 'alone, the rewritten log looks clean')
    t.same(codes(cached), ['fork'], 'against the cached head it is a fork')
    t.equal(cached.stats.reused, round === 1, 'and that report too is reused when nothing changed')
    t.equal(result({ ...cached, ok: true, byCode: {}, violations: [] }), result(cold))
  }
})

test('an export with the cached head but other entries is not taken for the audited one', async (t) => {
  const path = join(await tmp(t), 'audit-cache.json')
  const { A, writers } = await cleanWorld(t)
  const files = await Promise.all(writers.map((w) => w.exported()))
  const copies = (): LogCopy[] =>
    files.map((f, i) => fromExport(new Uint8Array(f), `${writers[i]?.name}.qlog`) as LogCopy)
  await both(path, copies())
  t.equal((await both(path, copies())).cached.stats.reused, true)
  // Same id, length, fork, signature and stated roots: one byte of the last entry flipped.
  const a = files[writers.indexOf(A)] as Uint8Array
  const { layout } = decodeExport(a)
  const at = (layout.entries.at(-1) as number) + 10
  a[at] = (a[at] as number) ^ 1
  const { cold, cached } = await both(path, copies())
  t.equal(cached.stats.reused, false, 'the file differs: nothing is reused')
  t.ok(codes(cold).includes('tree-mismatch'))
  t.equal(result(cached), result(cold))
})

test('the packed report reads back as the report, field order included', async (t) => {
  const { writers } = await cleanWorld(t)
  const r = await audit(await copiesOf(writers), [], { now: NOW, workers: 0 })
  const { stats: _, ...rest } = r
  t.ok(r.debts.length > 0 && r.guests.length > 0 && r.guests.some((g) => g.usage.length > 0))
  const back = unpack(JSON.parse(JSON.stringify(pack(rest))))
  t.equal(JSON.stringify(back), JSON.stringify(rest))
  // Amounts too long to be exact as JSON numbers stay strings.
  const big = {
    ...rest,
    debts: rest.debts.map((d, i) => ({ ...d, amount: i ? '18446744073709551615' : '0' })),
    guests: rest.guests.map((g) => ({
      ...g,
      usage: g.usage.map((u) => ({ ...u, cpu: '9007199254740993', net: '999999999999999' }))
    }))
  }
  t.equal(JSON.stringify(unpack(JSON.parse(JSON.stringify(pack(big))))), JSON.stringify(big))
  // A shape it does not know is stored as it is.
  const odd = { ...rest, debts: rest.debts.map((d) => ({ ...d, extra: 1 })) }
  t.same(pack(odd).debts, odd.debts)
  t.equal(JSON.stringify(unpack(JSON.parse(JSON.stringify(pack(odd))))), JSON.stringify(odd))
})

test('copies whose entries are not one file (replicated logs) are digested and reused alike', async (t) => {
  const path = join(await tmp(t), 'audit-cache.json')
  const { writers } = await cleanWorld(t)
  const files = await copiesOf(writers)
  const loose = (c: LogCopy): LogCopy => ({
    ...c,
    entries: c.entries.map((e) => new Uint8Array(e))
  })
  for (const c of files) t.same(copyDigest(loose(c)), copyDigest(c), 'the same framing hashed')
  // As loadLogs gives them: no stated roots, no layout, entries one by one.
  const replicated = (): LogCopy[] =>
    files.map((c) => ({ ...loose(c), roots: null, layout: null, source: `log:${c.id}` }))
  t.not(toHex(copyDigest(replicated()[0] as LogCopy)), toHex(copyDigest(files[0] as LogCopy)))
  const first = await both(path, replicated())
  t.equal(result(first.cached), result(first.cold))
  const again = await both(path, replicated())
  t.equal(again.cached.stats.reused, true)
  t.equal(result(again.cached), result(first.cold))
})
