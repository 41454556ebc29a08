/**
 * The auditor: takes copies of participants' logs (export files, replicated logs), checks that
 * each is bound to its participant's signed Hypercore head, verifies every entry's signatures on
 * all cores, replays every ledger rule over all the logs together with the ledger's own replay,
 * and reports balances, debts, guests and every violation with its evidence.
 *
 * Verification runs on worker threads while this thread replays: copies are taken in id order,
 * and each is proven and replayed as soon as its entries are verified, so replay overlaps the
 * verification of the copies after it.
 *
 * With a cache file, an audit whose inputs have the key of the last one (reuse.ts) returns that
 * report with fresh stats, and does nothing else: nothing is hashed, verified or replayed.
 */
import { availableParallelism } from 'node:os'
import { ErrorCodes } from '../core/errors.js'
import { toHex } from '../core/bytes.js'
import { Replay } from '../ledger/replay.js'
import type { SignedHead } from '../ledger/logs.js'
import { AuditCache } from './cache.js'
import type { StoredReport } from './stored-report.js'
import { copyDigest, inputKey } from './reuse.js'
import { VerifyPool } from './pool.js'
import { prove, type Proven } from './proof.js'
import { rootsFromLeaves, treeHash } from './tree.js'
import {
  buildReport,
  type AuditReport,
  type AuditStats,
  type GuestSummary,
  type LogSummary
} from './report.js'
import type { LogCopy } from './copies.js'
import type { AuditViolation } from './violation.js'
import type { ResourceVector } from '../ledger/records.js'
import { settled } from '../core/settle.js'

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
  /** Settles when every entry is hashed (and verified where needed). */
  done: Promise<void>
  /** Entries below a cached head: hashed only, until the cache is shown to apply. */
  skip: number
  /** JSON of the violations the cache's head of this log gave (rewrite()). */
  rewrites: string
}

/** Record type tag of an agreement (docs/FORMAT.md section 4). */
const AGREEMENT_TAG = 2

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
  // Digests only for a cache that is kept: they serve nothing else.
  const digests = cache.path ? copies.map(copyDigest) : null
  const key = digests ? inputKey({ copies, digests, problems, now, cache }) : null
  const stored = key ? cache.report(key) : null
  if (stored) {
    const entries = copies.reduce((n, c) => n + c.entries.length, 0)
    const stats = { copies: copies.length + problems.length, entries, verified: 0, cached: entries }
    const report = withStats(stored, { ...stats, workers: 0, reused: true, ms: 0 })
    report.stats.ms = Math.round(performance.now() - started)
    progress({ phase: 'report', done: 1, total: 1 })
    return report
  }
  const pool = opts.pool ?? new VerifyPool(opts.workers ?? availableParallelism())
  const ordered = [...copies].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const violations: AuditViolation[] = [...problems]
  // The usage history: only records that took effect (a refused one is a violation instead).
  const timeline = new Map<string, GuestSummary['usage']>()
  const onUsage = (guest: string, time: number, used: ResourceVector): void => {
    let list = timeline.get(guest)
    if (!list) timeline.set(guest, (list = []))
    list.push({
      time,
      cpu: used.cpu.toString(),
      disk: used.disk.toString(),
      net: used.net.toString()
    })
  }
  const replay = new Replay({ now, unsettled: true, onUsage })
  const replayed = new Set<string>()
  let checked: Checked[]
  try {
    checked = dispatch(ordered, cache, pool, opts.batch ?? 2048, progress)
    for (const c of checked) {
      await c.done
      await settleCache(c, cache, pool)
      const rewrites = rewrite(c, cache)
      c.rewrites = JSON.stringify(rewrites)
      violations.push(...c.proven.problems.map((p) => narrow(p, c)), ...rewrites)
      // Each distinct version of a log is replayed once, and only as far as it is bound to its head.
      const n = c.proven.authentic
      const key = `${c.copy.id}:${n}:${c.proven.head?.treeHash}`
      if (n === 0 && c.copy.entries.length > 0) {
        // Damaged from its first root on: nothing to replay, but its absences prove nothing either.
        replay.add({ id: c.copy.id, entries: [], complete: false })
      }
      if (n === 0 || replayed.has(key)) continue
      replayed.add(key)
      replay.add({
        id: c.copy.id,
        entries: c.copy.entries.slice(0, n),
        verified: c.ok.subarray(0, n),
        // A copy cut short of its signed length by damage: its lost part is not held against anyone.
        complete: n === c.copy.entries.length
      })
    }
  } finally {
    if (!opts.pool) await pool.close()
  }
  progress({ phase: 'replay', done: 1, total: 1 })
  const result = replay.finish()
  violations.push(...withHeads(result.violations, checked))

  progress({ phase: 'report', done: 0, total: 1 })
  updateCache(checked, cache, violations)
  const stats = {
    copies: copies.length + problems.length,
    entries: checked.reduce((n, c) => n + c.copy.entries.length, 0),
    verified: checked.reduce((n, c) => n + c.copy.entries.length - c.cached, 0),
    cached: checked.reduce((n, c) => n + c.cached, 0),
    workers: pool.size,
    reused: false,
    ms: 0
  }
  const report = buildReport(result.state, violations, summarize(checked), timeline, stats, now)
  if (digests && key) keep(report, checked, cache, { copies, digests, problems, now, cache })
  await cache.save()
  report.stats.ms = Math.round(performance.now() - started)
  progress({ phase: 'report', done: 1, total: 1 })
  return report
}

/**
 * Queues every entry for hashing, and for verification unless an earlier audit verified it (a
 * cached prefix) or it is a second copy of an agreement (the same bytes, verified once).
 */
function dispatch(
  copies: LogCopy[],
  cache: AuditCache,
  pool: VerifyPool,
  batch: number,
  progress: (p: AuditProgress) => void
): Checked[] {
  const total = copies.reduce((n, c) => n + c.entries.length, 0)
  let done = 0
  const firstCopy = new Map<string, { c: Checked; i: number }>()
  return copies.map((copy) => {
    const n = copy.entries.length
    const known = cache.get(copy.id)
    const skip = known && known.head.length <= n ? known.head.length : 0
    const c: Checked = {
      copy,
      hashes: new Uint8Array(32 * n),
      ok: new Uint8Array(n),
      proven: null as unknown as Proven,
      cached: 0,
      done: Promise.resolve(),
      skip,
      rewrites: '[]'
    }
    const dup = new Uint8Array(n)
    const sameAs: Array<{ i: number; of: { c: Checked; i: number } }> = []
    for (let i = skip; i < n; i++) {
      const e = copy.entries[i] as Uint8Array
      if (e[1] !== AGREEMENT_TAG) continue
      const key = Buffer.from(e.buffer, e.byteOffset, e.byteLength).toString('latin1')
      const of = firstCopy.get(key)
      if (!of) firstCopy.set(key, { c, i })
      else {
        dup[i] = 1
        sameAs.push({ i, of })
      }
    }
    const jobs: Array<Promise<void>> = []
    for (let start = 0; start < n; ) {
      const from = start
      const end = Math.min(from + batch, from < skip ? skip : n)
      const verify = from >= skip
      jobs.push(
        pool
          .run(copy.entries.slice(from, end), verify, verify ? dup.slice(from, end) : undefined)
          .then((r) => {
            c.hashes.set(r.hashes, 32 * from)
            if (verify) c.ok.set(r.ok, from)
            done += end - from
            progress({ phase: 'verify', done, total })
          })
      )
      start = end
    }
    // The first copy of an agreement is earlier in the order, so its verdict is known by then.
    c.done = Promise.all(jobs).then(async () => {
      await Promise.all(sameAs.map((d) => d.of.c.done))
      for (const d of sameAs) c.ok[d.i] = d.of.c.ok[d.of.i] as number
      c.proven = prove(c.copy, c.hashes)
    })
    // Awaited in order by audit(); a failure of a later copy must not go unhandled meanwhile.
    void settled(c.done)
    return c
  })
}

/** Applies the cache to a copy's prefix, or verifies the prefix if it is not what was verified. */
async function settleCache(c: Checked, cache: AuditCache, pool: VerifyPool): Promise<void> {
  if (c.skip === 0) return
  const known = cache.get(c.copy.id)
  if (known && prefixHash(c, c.skip) === known.head.treeHash) {
    c.ok.fill(1, 0, c.skip)
    for (const i of known.bad) c.ok[i] = 0
    c.cached = c.skip
    return
  }
  // Not what was verified before: verify it now (rewrite() reports the conflict).
  const r = await pool.run(c.copy.entries.slice(0, c.skip), true)
  c.ok.set(r.ok, 0)
}

/** Tree hash of a copy's first `length` entries (the whole copy's tree is already built). */
function prefixHash(c: Checked, length: number): string {
  if (length === c.copy.entries.length) return toHex(treeHash(c.proven.roots))
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
function rewrite(c: Checked, cache: AuditCache): AuditViolation[] {
  const known = cache.get(c.copy.id)
  const head = c.proven.head
  if (!known || !head || c.proven.authentic !== c.copy.entries.length) return []
  const n = c.copy.entries.length
  const conflict =
    n >= known.head.length
      ? prefixHash(c, known.head.length) !== known.head.treeHash
      : head.fork !== known.head.fork
  if (!conflict) return []
  return [
    {
      code: ErrorCodes.FORK,
      message: `${c.copy.source}: ${c.copy.id.slice(0, 8)} signed a history that conflicts with the head verified by an earlier audit (length ${known.head.length}, fork ${known.head.fork})`,
      records: [],
      positions: [{ log: c.copy.id, index: Math.min(n, known.head.length) }],
      culprit: c.copy.id,
      heads: [known.head, head],
      where: { source: c.copy.source }
    }
  ]
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

/**
 * Stores the report under the key of its inputs as the cache now stands (updated by this audit),
 * which is the key the next audit of the same inputs computes. That is sound only if the updated
 * cache would have given this same report: the cache changes a report only through rewrite()
 * (its other use, skipping signatures, changes no verdict), so every copy's rewrite() verdicts
 * are compared under the new heads. When they differ the report is not stored.
 */
function keep(
  report: AuditReport,
  checked: Checked[],
  cache: AuditCache,
  inputs: Parameters<typeof inputKey>[0]
): void {
  if (checked.some((c) => JSON.stringify(rewrite(c, cache)) !== c.rewrites)) return
  const key = inputKey(inputs)
  if (!key) return
  const { stats: _, ...rest } = report
  // Not copied (a million entries make a report of about 155 MB of JSON): audit() writes the file before
  // it returns, and an AuditCache reused in memory is the caller's to keep unmodified.
  cache.setReport(key, rest)
}

/** A stored report with this run's stats, its fields in buildReport()'s order. */
function withStats(stored: StoredReport, stats: AuditStats): AuditReport {
  const { version, now, ok, ...rest } = stored
  return { version, now, ok, stats, ...rest }
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
