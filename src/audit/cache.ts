/**
 * Checkpoints of earlier audits, so that a re-audit verifies only what is new.
 *
 * For each log the cache keeps the signed head the auditor last verified in full (length, fork,
 * tree hash, signature) and the positions whose signatures failed then. A copy whose first
 * `length` entries rebuild that tree hash is, up to there, byte for byte what was verified: its
 * signatures need no second look. A copy that does not, under a head the same key signed, is a
 * rewrite of the log, and the cached head is the portable evidence of it.
 *
 * The cache is the auditor's own local file and is trusted like its own memory: anyone who can
 * write it can make an audit skip signatures. It is JSON, written to a temporary file and renamed.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import type { SignedHead } from '../ledger/logs.js'

export const CACHE_VERSION = 1

export interface CachedLog {
  head: SignedHead
  /** Positions below head.length whose entries did not verify. */
  bad: number[]
}

export class AuditCache {
  private constructor(
    readonly path: string | null,
    private readonly logs: Map<string, CachedLog>
  ) {}

  /** An empty cache that is never written (no --cache). */
  static none(): AuditCache {
    return new AuditCache(null, new Map())
  }

  /** Loads `path`; a missing or unreadable file is an empty cache (everything is verified). */
  static async open(path: string): Promise<AuditCache> {
    const logs = new Map<string, CachedLog>()
    try {
      const json = JSON.parse(await readFile(path, 'utf8')) as {
        version?: number
        logs?: Record<string, CachedLog>
      }
      if (json.version === CACHE_VERSION && json.logs && typeof json.logs === 'object') {
        for (const [id, entry] of Object.entries(json.logs)) {
          if (valid(entry)) logs.set(id, entry)
        }
      }
    } catch {
      // No cache yet, or not one we wrote: start afresh.
    }
    return new AuditCache(path, logs)
  }

  get(id: string): CachedLog | undefined {
    return this.logs.get(id)
  }

  set(id: string, entry: CachedLog): void {
    this.logs.set(id, entry)
  }

  get size(): number {
    return this.logs.size
  }

  async save(): Promise<void> {
    if (!this.path) return
    const tmp = `${this.path}.${process.pid}.tmp`
    const logs = Object.fromEntries([...this.logs].sort(([a], [b]) => (a < b ? -1 : 1)))
    await writeFile(tmp, JSON.stringify({ version: CACHE_VERSION, logs }) + '\n')
    await rename(tmp, this.path)
  }
}

function valid(e: CachedLog): boolean {
  const h = e?.head
  return (
    !!h &&
    Number.isSafeInteger(h.length) &&
    h.length > 0 &&
    Number.isSafeInteger(h.fork) &&
    typeof h.treeHash === 'string' &&
    typeof h.signature === 'string' &&
    Array.isArray(e.bad) &&
    e.bad.every((i) => Number.isSafeInteger(i) && i >= 0 && i < h.length)
  )
}
