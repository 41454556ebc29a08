/**
 * When an earlier audit's report may be returned as it is: the key of an audit's inputs.
 *
 * A report is a function of the copies in the order given (their ids, sources and every byte the
 * audit reads of them), the files refused as malformed, the verifier's clock, the cache entries
 * of those logs (a conflict with a cached head is a `fork`), and the code of the rules. The key
 * is BLAKE2b-256 of all of these, so two audits with one key have one report, byte for byte.
 * Nothing of the copies is trusted for this: an export file that differs from the one audited in
 * any byte (entries, stated roots, head) has another digest, short of a BLAKE2b collision.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { blake2b256, namespace } from '../crypto/hash.js'
import { fromHex, toHex } from '../core/bytes.js'
import type { AuditCache } from './cache.js'
import type { LogCopy } from './copies.js'
import type { AuditViolation } from './violation.js'

/**
 * BLAKE2b-512 of everything the audit reads of a copy: its id, head, stated roots and entries
 * framed as `size:u32 · bytes` each (an export file's own framing, hashed in place). OpenSSL's
 * BLAKE2b through node:crypto, because it hashes in one stream and about twice as fast as
 * libsodium's here (162 against 313 ms for the bench's 217 MB).
 */
export function copyDigest(copy: LogCopy): Uint8Array {
  const roots = copy.roots ?? []
  const sig = copy.head?.signature ?? new Uint8Array(0)
  const head = new Uint8Array(32 + 1 + 16 + 2 + sig.byteLength + 2 + 48 * roots.length + 8)
  const view = new DataView(head.buffer)
  head.set(fromHex(copy.id, 32, 'id'), 0)
  let at = 32
  head[at++] = copy.head ? 1 : 0
  view.setBigUint64(at, BigInt(copy.head?.length ?? 0), true)
  view.setBigUint64(at + 8, BigInt(copy.head?.fork ?? 0), true)
  at += 16
  view.setUint16(at, sig.byteLength, true)
  head.set(sig, (at += 2))
  at += sig.byteLength
  // Stated roots (an export file's) or none (a replicated log's roots are rebuilt, not stated).
  view.setUint16(at, copy.roots ? roots.length : 0xffff, true)
  at += 2
  for (const r of roots) {
    view.setBigUint64(at, BigInt(r.index), true)
    view.setBigUint64(at + 8, BigInt(r.size), true)
    head.set(r.hash, at + 16)
    at += 48
  }
  view.setBigUint64(at, BigInt(copy.entries.length), true)
  const h = createHash('blake2b512').update(namespace('audit/copy')).update(head)
  const inPlace = framedInPlace(copy.entries)
  if (inPlace) h.update(inPlace)
  else {
    const size = new Uint8Array(4)
    const sizeView = new DataView(size.buffer)
    for (const e of copy.entries) {
      sizeView.setUint32(0, e.byteLength, true)
      h.update(size).update(e)
    }
  }
  return new Uint8Array(h.digest())
}

/**
 * The entries' `size:u32 LE · bytes` framing as a view of the memory they sit in, when they are
 * laid out so (an export file read whole); null otherwise.
 */
function framedInPlace(entries: Uint8Array[]): Uint8Array | null {
  const first = entries[0]
  if (!first || first.byteOffset < 4) return null
  const buffer = first.buffer
  const view = new DataView(buffer)
  const start = first.byteOffset - 4
  let at = start
  for (const e of entries) {
    if (e.buffer !== buffer || e.byteOffset !== at + 4 || view.getUint32(at, true) !== e.byteLength)
      return null
    at += 4 + e.byteLength
  }
  return new Uint8Array(buffer, start, at - start)
}

let build: string | null | undefined

/**
 * BLAKE2b-256 of quid's own code (every file of the tree this module was loaded from, src/ or
 * dist/), so that a report is reused only by the rules that made it. A version constant bumped
 * by hand would be forgotten the day a rule changes; the bytes cannot be. Null when the files
 * cannot be read (a bundle): reports are then never reused.
 */
export function buildId(): string | null {
  if (build !== undefined) return build
  try {
    const root = fileURLToPath(new URL('..', import.meta.url))
    const files = (
      readdirSync(root, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[]
    )
      .filter((d) => d.isFile())
      .map((d) => join(d.parentPath, d.name))
      .sort()
    const parts = files.map((f) => `${f.slice(root.length)}:${toHex(blake2b256(readFileSync(f)))}`)
    build = files.length > 0 ? toHex(blake2b256(new TextEncoder().encode(parts.join('\n')))) : null
  } catch {
    build = null
  }
  return build
}

export interface Inputs {
  copies: LogCopy[]
  digests: Uint8Array[]
  problems: AuditViolation[]
  now: number
  cache: AuditCache
}

/** The key of an audit's inputs, or null when reports cannot be reused (unknown build). */
export function inputKey(inputs: Inputs): string | null {
  const code = buildId()
  if (code === null) return null
  const ids = [...new Set(inputs.copies.map((c) => c.id))].sort()
  const text = JSON.stringify({
    code,
    now: inputs.now,
    copies: inputs.copies.map((c, i) => [
      c.id,
      c.source,
      toHex(inputs.digests[i] as Uint8Array),
      layoutDigest(c)
    ]),
    problems: inputs.problems,
    cached: ids.map((id) => inputs.cache.get(id) ?? null)
  })
  return toHex(blake2b256(new TextEncoder().encode(text)))
}

/** Where a file's parts sit (violations name byte offsets), or null for a replicated log. */
function layoutDigest(c: LogCopy): string | null {
  const l = c.layout
  if (!l) return null
  const offsets = Float64Array.from([l.signature, l.roots, l.end])
  const entries = Float64Array.from(l.entries)
  const bytes = new Uint8Array(offsets.byteLength + entries.byteLength)
  bytes.set(new Uint8Array(offsets.buffer), 0)
  bytes.set(new Uint8Array(entries.buffer), offsets.byteLength)
  return toHex(blake2b256(bytes))
}
