/**
 * Checkpoints of earlier audits, so that a re-audit verifies only what is new, and does nothing
 * at all when nothing is new.
 *
 * For each log the cache keeps the signed head the auditor last verified in full (length, fork,
 * tree hash, signature) and the positions whose signatures failed then. A copy whose first
 * `length` entries rebuild that tree hash is, up to there, byte for byte what was verified: its
 * signatures need no second look. A copy that does not, under a head the same key signed, is a
 * rewrite of the log, and the cached head is the portable evidence of it.
 *
 * It also keeps the report of the last audit under a key that digests everything the report is a
 * function of (reuse.ts): an audit whose key is the same returns that report without hashing,
 * verifying or replaying anything.
 *
 * The cache is the auditor's own local file and is trusted like its own memory: anyone who can
 * write it can make an audit skip signatures, or return any report. It is JSON, written to a
 * temporary file and renamed. A file that is not a quid audit cache is refused, never
 * overwritten: `--cache` pointed at the wrong file must not destroy it.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { QuidError, ErrorCodes } from '../core/errors.js'
import type { SignedHead } from '../ledger/logs.js'
import { REPORT_VERSION } from './report.js'
import { pack, unpack, type PackedReport, type StoredReport } from './stored-report.js'

/** 2: the `format` marker and the stored report. Version 1 files are discarded and rewritten. */
export const CACHE_VERSION = 2
/** What marks a file as a quid audit cache (from version 2 on). */
export const CACHE_FORMAT = 'quid-audit-cache'

export interface CachedLog {
  head: SignedHead
  /** Positions below head.length whose entries did not verify. */
  bad: number[]
}

export interface CachedReport {
  /** Hex BLAKE2b-256 of the inputs the report was computed from (reuse.ts). */
  key: string
  /** Packed (stored-report.ts): the same values in a form that reads back faster. */
  report: PackedReport
}

export class AuditCache {
  private constructor(
    readonly path: string | null,
    private readonly logs: Map<string, CachedLog>,
    private stored: CachedReport | null,
    /** Whether something changed since the file was read (nothing to write otherwise). */
    private dirty: boolean
  ) {}

  /** An empty cache that is never written (no --cache). */
  static none(): AuditCache {
    return new AuditCache(null, new Map(), null, false)
  }

  /**
   * Loads `path`. A missing file is an empty cache; so is a cache an older quid wrote (it is
   * rewritten). Anything else that is not a cache of this version is refused with
   * `cache-invalid` naming the file and what is wrong, and the file is left alone.
   */
  static async open(path: string): Promise<AuditCache> {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return new AuditCache(path, new Map(), null, true)
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `cannot read the audit cache ${path}: ${(err as Error).message}`,
        { path }
      )
    }
    const bad = (reason: string): QuidError =>
      new QuidError(
        ErrorCodes.CACHE_INVALID,
        `${path} is not a quid audit cache (${reason}); it was left untouched: remove it or name another file`,
        { path, reason }
      )
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (err) {
      throw bad(`not JSON: ${(err as Error).message}`)
    }
    if (!isObject(json)) throw bad('not a JSON object')
    const version = json.version
    if (!Number.isSafeInteger(version)) throw bad('no "version" number')
    if ((version as number) < CACHE_VERSION) {
      // Only what an older quid wrote may be thrown away: version 1 had exactly these two fields.
      if ((version as number) >= 1 && isObject(json.logs) && Object.keys(json).length === 2)
        return new AuditCache(path, new Map(), null, true)
      throw bad(`version ${version as number} is not one quid wrote`)
    }
    if (json.format !== CACHE_FORMAT) throw bad(`no "format": "${CACHE_FORMAT}" marker`)
    if (version !== CACHE_VERSION)
      throw bad(`version ${version as number} is newer than this quid's ${CACHE_VERSION}`)
    if (!isObject(json.logs)) throw bad('"logs" is not an object')
    const logs = new Map<string, CachedLog>()
    for (const [id, entry] of Object.entries(json.logs)) {
      const why = invalidLog(id, entry)
      if (why) throw bad(`logs.${id}: ${why}`)
      logs.set(id, entry as CachedLog)
    }
    let stored: CachedReport | null = null
    if (json.report !== undefined) {
      const why = invalidReport(json.report)
      if (why) throw bad(`report: ${why}`)
      stored = json.report as CachedReport
    }
    return new AuditCache(path, logs, stored, false)
  }

  get(id: string): CachedLog | undefined {
    return this.logs.get(id)
  }

  set(id: string, entry: CachedLog): void {
    this.logs.set(id, entry)
    this.dirty = true
  }

  get size(): number {
    return this.logs.size
  }

  /** The stored report, if it was computed from inputs with this key. */
  report(key: string): StoredReport | null {
    return this.stored?.key === key ? unpack(this.stored.report) : null
  }

  /** Keeps `report` as the one for inputs with `key` (one report: the last audit's). */
  setReport(key: string, report: StoredReport): void {
    this.stored = { key, report: pack(report) }
    this.dirty = true
  }

  /** Forgets the stored report (its inputs can no longer be told apart safely). */
  clearReport(): void {
    if (this.stored) this.dirty = true
    this.stored = null
  }

  /** Writes the file, if there is one and anything changed since it was read. */
  async save(): Promise<void> {
    if (!this.path || !this.dirty) return
    const tmp = `${this.path}.${process.pid}.tmp`
    const logs = Object.fromEntries([...this.logs].sort(([a], [b]) => (a < b ? -1 : 1)))
    const body: Record<string, unknown> = { format: CACHE_FORMAT, version: CACHE_VERSION, logs }
    if (this.stored) body.report = this.stored
    await writeFile(tmp, JSON.stringify(body) + '\n')
    await rename(tmp, this.path)
    this.dirty = false
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

const HEX64 = /^[0-9a-f]{64}$/

/** Why a cached log entry is not one this module wrote, or null when it is. */
function invalidLog(id: string, e: unknown): string | null {
  if (!HEX64.test(id)) return 'the id is not 64 lowercase hex digits'
  if (!isObject(e) || !isObject(e.head)) return 'no "head" object'
  const h = e.head
  if (!Number.isSafeInteger(h.length) || (h.length as number) <= 0)
    return 'head.length is not a positive integer'
  if (!Number.isSafeInteger(h.fork) || (h.fork as number) < 0)
    return 'head.fork is not a non-negative integer'
  if (typeof h.treeHash !== 'string' || !HEX64.test(h.treeHash))
    return 'head.treeHash is not 64 hex digits'
  if (typeof h.signature !== 'string' || !/^[0-9a-f]+$/.test(h.signature))
    return 'head.signature is not hex'
  const length = h.length as number
  if (!Array.isArray(e.bad) || !e.bad.every((i) => Number.isSafeInteger(i) && i >= 0 && i < length))
    return '"bad" is not a list of positions below head.length'
  return null
}

/** Why a stored report is not one this module wrote, or null when it is. */
function invalidReport(r: unknown): string | null {
  if (!isObject(r)) return 'not an object'
  if (typeof r.key !== 'string' || !HEX64.test(r.key)) return 'key is not 64 hex digits'
  const rep = r.report
  if (!isObject(rep)) return 'no "report" object'
  if (rep.version !== REPORT_VERSION) return `report version ${String(rep.version)}`
  if (typeof rep.ok !== 'boolean' || typeof rep.now !== 'number' || !isObject(rep.byCode))
    return 'ok, now or byCode missing'
  for (const k of ['logs', 'participants', 'violations'])
    if (!Array.isArray(rep[k])) return `"${k}" is not a list`
  const d = rep.debts
  if (!Array.isArray(d) && !(isObject(d) && columns(d.ids, d.rows, 4)))
    return '"debts" is neither a list nor packed'
  const g = rep.guests
  if (
    !Array.isArray(g) &&
    !(
      isObject(g) &&
      columns(g.ids, g.rows, 12) &&
      Array.isArray(g.usage) &&
      g.usage.length === (g.rows as unknown[]).length / 12
    )
  )
    return '"guests" is neither a list nor packed'
  return null
}

function columns(ids: unknown, rows: unknown, width: number): boolean {
  return Array.isArray(ids) && Array.isArray(rows) && rows.length % width === 0
}
