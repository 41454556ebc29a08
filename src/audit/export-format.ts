/**
 * The export file: one participant's log entries with the Hypercore head that binds them to the
 * participant's key, so that anyone can check them offline. docs/AUDIT.md gives it byte by byte.
 *
 *   file  = magic "quid-log" · version:u8 (1) · id:32 · length:u32 · fork:u64 · signature:64
 *           · roots:u8 count · (index:u64 · size:u64 · hash:32) per root
 *           · length × (size:u32 · entry bytes)
 *
 * Decoding checks the structure only (that the roots are the ones a tree of `length` leaves has,
 * that every byte is accounted for); whether the entries hash to the roots and whether the head
 * signature verifies is the auditor's job (proof.ts), so that it can say which part is wrong.
 * Every refusal is `export-invalid` naming the byte offset and the field.
 */
import c from 'compact-encoding'
import type { State } from 'compact-encoding'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { rootIndexes, type TreeNode } from './tree.js'

export const EXPORT_MAGIC = new Uint8Array(Buffer.from('quid-log', 'ascii'))
export const EXPORT_VERSION = 1
/** Far above any quid entry (4096 bytes); a bound so that a corrupt size cannot ask for gigabytes. */
export const MAX_EXPORT_ENTRY = 1 << 20

export interface ExportedLog {
  /** The participant's id (its Ed25519 public key). */
  id: Uint8Array
  /** Entries in the file = the signed length of the log. */
  length: number
  /** Hypercore's fork counter at the head (how many times the log was truncated). */
  fork: number
  /** The participant's Ed25519 signature over the tree at `length` (all zero when length is 0). */
  signature: Uint8Array
  /** The tree's roots at `length`, left to right. */
  roots: TreeNode[]
  entries: Uint8Array[]
}

/** Where each part of a decoded file sits, for naming the place of a problem. */
export interface ExportLayout {
  signature: number
  roots: number
  /** Byte offset of each entry's size field. */
  entries: number[]
  end: number
}

function invalid(offset: number, field: string, why: string): QuidError {
  return new QuidError(ErrorCodes.EXPORT_INVALID, `byte ${offset} (${field}): ${why}`, {
    offset,
    field
  })
}

const node = {
  preencode(state: State, _n: TreeNode) {
    state.end += 48
  },
  encode(state: State, n: TreeNode) {
    c.uint64.encode(state, n.index)
    c.uint64.encode(state, n.size)
    c.fixed32.encode(state, n.hash)
  },
  decode(state: State): TreeNode {
    return {
      index: c.uint64.decode(state),
      size: c.uint64.decode(state),
      hash: c.fixed32.decode(state)
    }
  }
}

export function encodeExport(log: ExportedLog): Uint8Array {
  if (log.entries.length !== log.length)
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'length must equal the number of entries')
  if (log.roots.length > 255) throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'too many roots')
  const state = { start: 0, end: 0, buffer: null as unknown as Buffer }
  state.end += EXPORT_MAGIC.byteLength + 1 + 32 + 4 + 8 + 64 + 1
  for (const r of log.roots) node.preencode(state, r)
  for (const e of log.entries) state.end += 4 + e.byteLength
  state.buffer = Buffer.alloc(state.end)
  state.end = state.buffer.byteLength
  c.fixed(EXPORT_MAGIC.byteLength).encode(state, EXPORT_MAGIC)
  c.uint8.encode(state, EXPORT_VERSION)
  c.fixed32.encode(state, log.id)
  c.uint32.encode(state, log.length)
  c.uint64.encode(state, log.fork)
  c.fixed64.encode(state, log.signature)
  c.uint8.encode(state, log.roots.length)
  for (const r of log.roots) node.encode(state, r)
  for (const e of log.entries) {
    c.uint32.encode(state, e.byteLength)
    c.raw.encode(state, e)
  }
  return new Uint8Array(state.buffer.buffer, state.buffer.byteOffset, state.buffer.byteLength)
}

/** Decodes an export file, refusing with `export-invalid` (offset, field) anything malformed. */
export function decodeExport(bytes: Uint8Array): { log: ExportedLog; layout: ExportLayout } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const state = { start: 0, end: buffer.byteLength, buffer }
  const need = (n: number, field: string): void => {
    if (state.end - state.start < n)
      throw invalid(state.start, field, `the file ends ${state.end - state.start} bytes into ${n}`)
  }
  need(EXPORT_MAGIC.byteLength, 'magic')
  const magic = c.fixed(EXPORT_MAGIC.byteLength).decode(state)
  if (Buffer.compare(magic, EXPORT_MAGIC) !== 0)
    throw invalid(0, 'magic', 'not a quid log export (no "quid-log" magic)')
  need(1, 'version')
  const version = c.uint8.decode(state)
  if (version !== EXPORT_VERSION)
    throw invalid(state.start - 1, 'version', `unknown export version ${version}`)
  need(32 + 4 + 8 + 64 + 1, 'header')
  const id = new Uint8Array(c.fixed32.decode(state))
  const length = c.uint32.decode(state)
  const forkAt = state.start
  let fork: number
  try {
    fork = c.uint64.decode(state)
  } catch {
    throw invalid(forkAt, 'fork', 'above 2^53 - 1')
  }
  const sigAt = state.start
  const signature = new Uint8Array(c.fixed64.decode(state))
  if (length === 0 && signature.some((b) => b !== 0))
    throw invalid(sigAt, 'signature', 'an empty log has no signature: must be zero')
  const rootsAt = state.start
  const count = c.uint8.decode(state)
  const expected = rootIndexes(length)
  if (count !== expected.length)
    throw invalid(
      rootsAt,
      'roots',
      `${count} roots, a tree of ${length} entries has ${expected.length}`
    )
  const roots: TreeNode[] = []
  for (let i = 0; i < count; i++) {
    const at = state.start
    need(48, `root ${i}`)
    let r: TreeNode
    try {
      r = node.decode(state)
    } catch {
      throw invalid(at, `root ${i}`, 'index or size above 2^53 - 1')
    }
    if (r.index !== expected[i])
      throw invalid(at, `root ${i} index`, `${r.index}, expected ${expected[i]}`)
    roots.push({ index: r.index, size: r.size, hash: new Uint8Array(r.hash) })
  }
  const entries: Uint8Array[] = []
  const offsets: number[] = []
  // Read by hand, not through compact-encoding: this loop runs once per entry of every file
  // (a million in the bench), and a re-audit that reuses its report is mostly this loop.
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength)
  const end = state.end
  let at = state.start
  for (let i = 0; i < length; i++) {
    if (end - at < 4) throw invalid(at, `entry ${i} size`, `the file ends ${end - at} bytes into 4`)
    const size = view.getUint32(at, true)
    if (size > MAX_EXPORT_ENTRY)
      throw invalid(
        at,
        `entry ${i} size`,
        `${size} bytes is above the ${MAX_EXPORT_ENTRY}-byte bound`
      )
    if (end - at - 4 < size)
      throw invalid(at + 4, `entry ${i}`, `the file ends ${end - at - 4} bytes into ${size}`)
    entries.push(new Uint8Array(buffer.buffer, buffer.byteOffset + at + 4, size))
    offsets.push(at)
    at += 4 + size
  }
  state.start = at
  if (state.start !== state.end)
    throw invalid(state.start, 'end', `${state.end - state.start} bytes after the last entry`)
  return {
    log: { id, length, fork, signature, roots, entries },
    layout: { signature: sigAt, roots: rootsAt, entries: offsets, end: state.end }
  }
}
