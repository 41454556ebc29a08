/**
 * A copy of a participant's log as the auditor receives it: the entries, the head the participant
 * signed over them and, from an export file, the tree roots the file states. Copies come from
 * export files or from logs replicated into a Corestore (any LogSource).
 */
import { readFile } from 'node:fs/promises'
import { QuidError, ErrorCodes, isQuidError } from '../core/errors.js'
import { fromHex, toHex } from '../core/bytes.js'
import { updateFromPeers, type LogSource } from '../ledger/logs.js'
import { decodeExport, type ExportLayout } from './export-format.js'
import { bareSignature, type Head, type TreeNode } from './tree.js'
import type { AuditViolation } from './violation.js'
import { settled } from '../core/settle.js'

export interface LogCopy {
  /** Hex participant id. */
  id: string
  /** Where it came from: a file path, or `log:<id>` for a replicated log. */
  source: string
  entries: Uint8Array[]
  /** The signed head (null for an empty log, or where the source had no signature). */
  head: Head | null
  /** The roots an export file states (null for a replicated log: computed, not stated). */
  roots: TreeNode[] | null
  /** Byte layout of the file, to name where a problem sits. */
  layout: ExportLayout | null
}

export interface Loaded {
  copies: LogCopy[]
  /** Files that could not be taken as copies at all, with the place that is wrong. */
  problems: AuditViolation[]
}

/** Files read ahead while earlier ones are decoded: I/O waits were a fifth of a re-audit. */
const READ_AHEAD = 8

/** Reads export files; a malformed one is reported (export-invalid, offset, field), not thrown. */
export async function loadFiles(paths: string[]): Promise<Loaded> {
  const out: Loaded = { copies: [], problems: [] }
  const read = (path: string): Promise<Uint8Array> => {
    const p = readFile(path).then(
      (b) => new Uint8Array(b),
      (err: Error) => {
        throw new QuidError(ErrorCodes.BAD_ARGUMENT, `cannot read ${path}: ${err.message}`)
      }
    )
    // Awaited in order below; one that fails while an earlier one is awaited is not unhandled.
    void settled(p)
    return p
  }
  const ahead = paths.slice(0, READ_AHEAD).map(read)
  for (const [i, path] of paths.entries()) {
    const bytes = await (ahead[i] as Promise<Uint8Array>)
    const next = paths[i + READ_AHEAD]
    if (next !== undefined) ahead.push(read(next))
    const copy = fromExport(bytes, path)
    if ('code' in copy) out.problems.push(copy)
    else out.copies.push(copy)
  }
  return out
}

export function fromExport(bytes: Uint8Array, source: string): LogCopy | AuditViolation {
  try {
    const { log, layout } = decodeExport(bytes)
    const head =
      log.length === 0 ? null : { length: log.length, fork: log.fork, signature: log.signature }
    return { id: toHex(log.id), source, entries: log.entries, head, roots: log.roots, layout }
  } catch (err) {
    if (!isQuidError(err, ErrorCodes.EXPORT_INVALID)) throw err
    const d = err.details as { offset: number; field: string }
    return {
      code: ErrorCodes.EXPORT_INVALID,
      message: `${source}: ${err.message}`,
      records: [],
      positions: [],
      where: { source, offset: d.offset, field: d.field }
    }
  }
}

export interface FetchProgress {
  id: string
  done: number
  total: number
}

/**
 * Reads participants' logs from a LogSource (a Corestore that replicates with theirs): updates
 * each to what connected peers have, then takes every entry up to its signed head.
 */
export async function loadLogs(
  source: LogSource,
  ids: Uint8Array[],
  onProgress?: (p: FetchProgress) => void
): Promise<LogCopy[]> {
  const copies: LogCopy[] = []
  for (const id of ids) {
    const log = source.open(id)
    try {
      await log.ready()
      await updateFromPeers(log)
      const signed = await log.head()
      const length = signed ? signed.length : 0
      const entries: Uint8Array[] = []
      for (let i = 0; i < length; i++) {
        entries.push(await log.get(i))
        if (onProgress && (i % 256 === 255 || i === length - 1))
          onProgress({ id: log.id, done: i + 1, total: length })
      }
      const sig = signed
        ? bareSignature(fromHex(signed.signature, signed.signature.length / 2, 'signature'))
        : null
      copies.push({
        id: log.id,
        source: `log:${log.id}`,
        entries,
        head: signed && sig ? { length, fork: signed.fork, signature: sig } : null,
        roots: null,
        layout: null
      })
    } finally {
      await log.close()
    }
  }
  return copies
}
