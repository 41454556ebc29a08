/**
 * The auditor: takes copies of participants' logs (export files, replicated logs), checks that
 * each is bound to its participant's signed Hypercore head, verifies every entry's signatures on
 * all cores, replays every ledger rule over all the logs together with the ledger's own replay(),
 * and reports balances, debts, guests and every violation with its evidence.
 */
import { availableParallelism } from 'node:os'
import { ErrorCodes } from '../ledger/errors.js'
import { toHex } from '../ledger/bytes.js'
import { replay, type LogEntries } from '../ledger/replay.js'
import type { SignedHead } from '../ledger/logs.js'
import { AuditCache } from './cache.js'
import { VerifyPool } from './pool.js'
import { prove, type Proven } from './proof.js'
import { rootsFromLeaves, treeHash } from './tree.js'
import { buildReport, usageTimeline, type AuditReport, type LogSummary } from './report.js'
import type { LogCopy } from './copies.js'
import type { AuditViolation } from './violation.js'

export interface AuditProgress {
  phase: 'verify' | 'replay' | 'report'
  done: number
  total: number
}

export interface AuditOptions {
  /** The verifier's clock (ms); default now. Expiry and future-stamped records are judged by it. */
  now?: number
  /** Checkpoints of earlier audits (cache.ts); default none. */
  cache?: AuditCache
  /** Worker threads that verify signatures; default one per core; 0 verifies on this thread. */
  workers?: number
  /** A pool to use (and leave open) instead of starting one. */
  pool?: VerifyPool
  /** Entries per worker job. */
  batch?: number
  onProgress?: (p: AuditProgress) => void
}

interface Checked {
  copy: LogCopy
  hashes: Uint8Array
  ok: Uint8Array
  proven: Proven
  /** Entries whose signatures an earlier audit verified. */
  cached: number
}

/** Audits copies of logs; `problems` are copies already refused (malformed files). */
export async function audit(
  copies: LogCopy[],
  problems: AuditViolation[] = [],
  opts: AuditOptions = {}
): Promise<AuditReport> {
  const started = performance.now()
  const now = opts.now ?? Date.now()
  const cache = opts.cache ?? AuditCache.none()
  const progress = opts.onProgress ?? (() => {})
  const pool = opts.pool ?? new VerifyPool(opts.workers ?? availableParallelism())
  let checked: Checked[]
  try {
    checked = await verifyAll(copies, cache, pool, opts.batch ?? 2048, progress)
  } finally {
    if (!opts.pool) await pool.close()
  }
  const violations: AuditViolation[] = [...problems]
  for (const c of checked) violations.push(...c.proven.problems.map((p) => narrow(p, c)))
  violations.push(...rewrites(checked, cache))

  progress({ phase: 'replay', done: 0, total: 1 })
  const logs = replayable(checked)
  const result = replay(logs, { now, unsettled: true })
  progress({ phase: 'replay', done: 1, total: 1 })
  violations.push(...withHeads(result.violations, checked))

  progress({ phase: 'report', done: 0, total: 1 })
  updateCache(checked, cache, violations)
  await cache.save()
  const summaries = summarize(checked)
  const stats = {
    copies: copies.length + problems.length,
    entries: checked.reduce((n, c) => n + c.copy.entries.length, 0),
    verified: checked.reduce((n, c) => n + c.copy.entries.length - c.cached, 0),
    cached: checked.reduce((n, c) => n + c.cached, 0),
    workers: pool.size,
    ms: 0
  }
  const report = buildReport(result.state, violations, summaries, usageTimeline(logs), stats, now)
  report.stats.ms = Math.round(performance.now() - started)
  progress({ phase: 'report', done: 1, total: 1 })
  return report
}

/** Record type tag of an agreement (docs/FORMAT.md section 4). */
const AGREEMENT_TAG = 2

/** Hashes every entry and verifies the signatures of those no earlier audit verified. */
async function verifyAll(
  copies: LogCopy[],
  cache: AuditCache,
  pool: VerifyPool,
  batch: number,
  progress: (p: AuditProgress) => void
): Promise<Checked[]> {
  const total = copies.reduce((n, c) => n + c.entries.length, 0)
  let done = 0
  const jobs: Array<Promise<void>> = []
  // An agreement is the same entry in both parties' logs: its bytes are verified once, and the
  // other copy takes the verdict (replay does the same). Keyed by the bytes themselves.
  const firstCopy = new Map<string, { c: Checked; i: number }>()
  const sameAs: Array<{ c: Checked; i: number; of: { c: Checked; i: number } }> = []
  const out = copies.map((copy) => {
    const n = copy.entries.length
    const c: Checked = {
      copy,
      hashes: new Uint8Array(32 * n),
      ok: new Uint8Array(n),
      proven: null as unknown as Proven,
      cached: 0
    }
    const known = cache.get(copy.id)
    // Entries below a cached head need only their hashes, to show they are the ones verified.
    const skip = known && known.head.length <= n ? known.head.length : 0
    const dup = new Uint8Array(n)
    for (let i = skip; i < n; i++) {
      const e = copy.entries[i] as Uint8Array
      if (e[1] !== AGREEMENT_TAG) continue
      const key = Buffer.from(e.buffer, e.byteOffset, e.byteLength).toString('latin1')
      const of = firstCopy.get(key)
      if (!of) firstCopy.set(key, { c, i })
      else {
        dup[i] = 1
        sameAs.push({ c, i, of })
      }
    }
    let from = 0
    while (from < n) {
      const start = from
      const end = Math.min(start + batch, start < skip ? skip : n)
      const verify = start >= skip
      jobs.push(
        pool
          .run(copy.entries.slice(start, end), verify, verify ? dup.slice(start, end) : undefined)
          .then((r) => {
            c.hashes.set(r.hashes, 32 * start)
            if (verify) c.ok.set(r.ok, start)
            done += end - start
            progress({ phase: 'verify', done, total })
          })
      )
      from = end
    }
    return { c, skip }
  })
  await Promise.all(jobs)
  for (const d of sameAs) d.c.ok[d.i] = d.of.c.ok[d.of.i] as number
  const again: Array<Promise<void>> = []
  for (const { c, skip } of out) {
    c.proven = prove(c.copy, c.hashes)
    if (skip === 0) continue
    const known = cache.get(c.copy.id)
    if (known && prefixHash(c, skip) === known.head.treeHash) {
      c.ok.fill(1, 0, skip)
      for (const i of known.bad) c.ok[i] = 0
      c.cached = skip
      continue
    }
    // Not what was verified before: verify it now (rewrites() reports the conflict).
    again.push(
      pool.run(c.copy.entries.slice(0, skip), true).then((r) => {
        c.ok.set(r.ok, 0)
      })
    )
  }
  await Promise.all(again)
  return out.map((o) => o.c)
}

function prefixHash(c: Checked, length: number): string {
  const leaves = c.copy.entries
    .slice(0, length)
    .map((e, i) => ({ hash: c.hashes.subarray(32 * i, 32 * i + 32), size: e.byteLength }))
  return toHex(treeHash(rootsFromLeaves(leaves)))
}

/** Names the first entry of a mismatched range that is broken on its own, when there is one. */
function narrow(p: AuditViolation, c: Checked): AuditViolation {
  if (p.code !== ErrorCodes.TREE_MISMATCH || !p.where?.entries) return p
  const [first, end] = p.where.entries
  for (let i = first; i < end; i++) {
    if (c.ok[i] === 1) continue
    const offset = c.copy.layout?.entries[i]
    return {
      ...p,
      message: `${p.message}; entry ${i} is itself broken (it does not decode or a signature fails)`,
      positions: [{ log: c.copy.id, index: i }],
      where: { ...p.where, offset, field: `entry ${i}` }
    }
  }
  return p
}

/** A copy whose history conflicts with a head verified by an earlier audit: the log was rewritten. */
function rewrites(checked: Checked[], cache: AuditCache): AuditViolation[] {
  const out: AuditViolation[] = []
  for (const c of checked) {
    const known = cache.get(c.copy.id)
    const head = c.proven.head
    if (!known || !head || c.proven.authentic !== c.copy.entries.length) continue
    const n = c.copy.entries.length
    const conflict =
      n >= known.head.length
        ? prefixHash(c, known.head.length) !== known.head.treeHash
        : head.fork !== known.head.fork
    if (!conflict) continue
    out.push({
      code: ErrorCodes.FORK,
      message: `${c.copy.source}: ${c.copy.id.slice(0, 8)} signed a history that conflicts with the head verified by an earlier audit (length ${known.head.length}, fork ${known.head.fork})`,
      records: [],
      positions: [{ log: c.copy.id, index: Math.min(n, known.head.length) }],
      culprit: c.copy.id,
      heads: [known.head, head],
      where: { source: c.copy.source }
    })
  }
  return out
}

/** The authentic part of every copy, each distinct version of a log once. */
function replayable(checked: Checked[]): LogEntries[] {
  const seen = new Set<string>()
  const logs: LogEntries[] = []
  for (const c of checked) {
    const n = c.proven.authentic
    if (n === 0) continue
    const key = `${c.copy.id}:${n}:${c.proven.head?.treeHash}`
    if (c.proven.head && n === c.copy.entries.length && seen.has(key)) continue
    seen.add(key)
    logs.push({ id: c.copy.id, entries: c.copy.entries.slice(0, n), verified: c.ok.subarray(0, n) })
  }
  return logs
}

/** Two signed versions of one log: both heads are the portable proof of the fork. */
function withHeads(violations: AuditViolation[], checked: Checked[]): AuditViolation[] {
  return violations.map((v) => {
    if (v.code !== ErrorCodes.FORK || !v.culprit || v.heads) return v
    const heads = new Map<string, SignedHead>()
    for (const c of checked) {
      if (c.copy.id === v.culprit && c.proven.head)
        heads.set(c.proven.head.treeHash ?? '', c.proven.head)
    }
    return heads.size > 1 ? { ...v, heads: [...heads.values()] } : v
  })
}

function updateCache(checked: Checked[], cache: AuditCache, violations: AuditViolation[]): void {
  const rewritten = new Set(
    violations
      .filter((v) => v.code === ErrorCodes.FORK && v.culprit)
      .map((v) => v.culprit as string)
  )
  for (const c of checked) {
    const head = c.proven.head
    if (!head || rewritten.has(c.copy.id) || c.proven.authentic !== c.copy.entries.length) continue
    const had = cache.get(c.copy.id)
    if (had && had.head.length >= head.length) continue
    const bad: number[] = []
    c.ok.forEach((v, i) => {
      if (v !== 1) bad.push(i)
    })
    cache.set(c.copy.id, { head, bad })
  }
}

function summarize(checked: Checked[]): LogSummary[] {
  const byId = new Map<string, LogSummary>()
  for (const c of checked) {
    let s = byId.get(c.copy.id)
    if (!s)
      byId.set(c.copy.id, (s = { id: c.copy.id, sources: [], length: 0, authentic: 0, head: null }))
    s.sources.push(c.copy.source)
    if (c.copy.entries.length >= s.length) {
      s.length = c.copy.entries.length
      s.authentic = c.proven.authentic
      s.head = c.proven.head
    }
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1))
}
