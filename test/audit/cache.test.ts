// Checkpoints: a re-audit verifies only what is new, and a rewrite against a cached head is a fork.
// Also runs the real worker threads (the other tests verify on the calling thread).
import { test } from 'tap'
import { join } from 'node:path'
import { readFile, writeFile } from 'node:fs/promises'
import { tmp } from '../helpers.js'
import { encodeEntry } from '../../src/ledger/codecs.js'
import { audit } from '../../src/audit/audit.js'
import { AuditCache } from '../../src/audit/cache.js'
import { VerifyPool } from '../../src/audit/pool.js'
import { capacity, issue, NOW, T0, writer, auditWriters, codes } from './fixtures.js'

test('a re-audit verifies only the entries appended since', async (t) => {
  const path = join(await tmp(t), 'audit-cache.json')
  const [A, B] = await Promise.all([writer(t, 'A'), writer(t, 'B')])
  const sale = issue(A, B, { cpu: 10n })
  const forged = encodeEntry(sale.record, [
    sale.signatures[0] as Uint8Array,
    new Uint8Array(64).fill(1)
  ])
  await A.put(capacity(A), forged, issue(A, B, { cpu: 20n }))
  await B.put(capacity(B))
  const first = await auditWriters([A, B], { cache: await AuditCache.open(path) })
  t.same(first.stats, { ...first.stats, entries: 4, verified: 4, cached: 0 })
  t.same(codes(first), ['bad-signature'])
  const saved = JSON.parse(await readFile(path, 'utf8')) as {
    logs: Record<string, { head: { length: number }; bad: number[] }>
  }
  t.same(saved.logs[A.key]?.bad, [1], 'the failed position is remembered')
  const second = await auditWriters([A, B], { cache: await AuditCache.open(path) })
  t.same(second.stats, { ...second.stats, entries: 4, verified: 0, cached: 4 })
  t.same(codes(second), ['bad-signature'], 'a cached failure is still reported')
  await A.put(issue(A, B, { net: 1n }, T0 + 1200))
  const third = await auditWriters([A, B], { cache: await AuditCache.open(path) })
  t.same(third.stats, { ...third.stats, entries: 5, verified: 1, cached: 4 })
  await writeFile(path, JSON.stringify({ version: 1, logs: saved.logs }))
  const afresh = await auditWriters([A, B], { cache: await AuditCache.open(path) })
  t.equal(afresh.stats.verified, 5, "an older quid's cache is discarded: everything is verified")
  t.equal(JSON.parse(await readFile(path, 'utf8')).version, 2, 'and rewritten in this version')
})

test('a history that conflicts with a cached head is reported as a fork with both heads', async (t) => {
  const path = join(await tmp(t), 'audit-cache.json')
  const A1 = await writer(t, 'A1')
  const A2 = await writer(t, 'A2', A1.kp)
  const B = await writer(t, 'B')
  await A1.put(capacity(A1), issue(A1, B, { cpu: 10n }))
  await A2.put(capacity(A1), issue(A1, B, { cpu: 99n }), issue(A1, B, { net: 1n }))
  t.equal((await auditWriters([A1, B], { cache: await AuditCache.open(path) })).ok, true)
  const r = await auditWriters([A2, B], { cache: await AuditCache.open(path) })
  t.same(codes(r), ['fork'])
  t.equal(r.violations[0]?.heads?.length, 2)
  t.equal(r.violations[0]?.culprit, A1.key)
  t.same(
    r.stats,
    { ...r.stats, verified: 3, cached: 0 },
    'the conflicting prefix is verified again, not trusted'
  )
})

test('worker threads give the same verdicts as the calling thread', async (t) => {
  const [A, B] = await Promise.all([writer(t, 'A'), writer(t, 'B')])
  const sale = issue(A, B, { cpu: 10n })
  const forged = encodeEntry(sale.record, [
    sale.signatures[0] as Uint8Array,
    new Uint8Array(64).fill(1)
  ])
  const entries = [capacity(A), forged]
  for (let i = 0; i < 40; i++) entries.push(issue(A, B, { cpu: 1n }, T0 + 2000 + i))
  await A.put(...entries)
  const pool = new VerifyPool(2)
  t.teardown(() => pool.close())
  const copies = [await A.copy(), await B.copy()]
  const threaded = await audit(copies, [], { now: NOW, pool, batch: 7 })
  const inline = await audit(copies, [], { now: NOW, workers: 0 })
  t.same(threaded.violations, inline.violations)
  t.same(codes(threaded), ['bad-signature'])
  t.equal(threaded.stats.verified, 42)
})
