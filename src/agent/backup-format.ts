/**
 * The backup file: everything `quid restore` needs to continue a participant elsewhere with no
 * fork. docs/FORMAT.md ("The backup file") gives it byte by byte; every integer is little-endian
 * and fixed-width, so that each value has exactly one encoding.
 *
 *   file     = version:u8 (1) · magic "quid-bak" · checksum:32 · body
 *   checksum = BLAKE2b-256(body)
 *   body     = id:32 · created:u64 (ms since 1970)
 *            · log:bytes (a quid-log export file: the own log with its signed head, AUDIT.md)
 *            · cores:u32 · (name:text · blocks:u32 · blocks × bytes) per private core
 *            · files:u32 · (path:text · mode:u32 · data:bytes) per file
 *   bytes    = size:u32 · size bytes          text = bytes holding UTF-8
 *
 * Decoding checks the structure and the checksum, and that every path stays inside the
 * participant directory; what the parts mean (that the log's head verifies, that the key file is
 * the participant's) is checked by restore.ts before anything is written. Every refusal is
 * `backup-invalid` naming the byte offset and the field.
 */
import c from 'compact-encoding'
import type { State } from 'compact-encoding'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { blake2b256 } from '../crypto/hash.js'
import { equal } from '../core/bytes.js'

export const BACKUP_VERSION = 1
export const BACKUP_MAGIC = new Uint8Array(Buffer.from('quid-bak', 'ascii'))
/** version + magic + checksum: where the body starts. */
export const BACKUP_HEADER = 1 + 8 + 32

export interface BackupCore {
  /** The Corestore name the core is opened with (`store.get({ name })`). */
  name: string
  blocks: Uint8Array[]
}

export interface BackupFile {
  /** Path relative to the participant directory, `/`-separated. */
  path: string
  /** Permission bits (0o777 at most). */
  mode: number
  data: Uint8Array
}

export interface Backup {
  /** The participant's id (its Ed25519 public key). */
  id: Uint8Array
  /** When the backup was taken, ms since 1970 (for people; restore does not use it). */
  created: number
  /** The own log as a quid-log export file (src/audit/export-format.ts). */
  log: Uint8Array
  cores: BackupCore[]
  files: BackupFile[]
}

function invalid(offset: number, field: string, why: string): QuidError {
  return new QuidError(ErrorCodes.BACKUP_INVALID, `byte ${offset} (${field}): ${why}`, {
    offset,
    field
  })
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * A path a restore may write: relative, `/`-separated, no empty, `.` or `..` segment, and not the
 * store (restored from the log and cores, never from files) nor the control socket.
 */
export function validPath(path: string): boolean {
  if (path.length === 0 || path.length > 4096 || path.includes('\0') || path.includes('\\'))
    return false
  const parts = path.split('/')
  if (parts.some((s) => s === '' || s === '.' || s === '..')) return false
  return parts[0] !== 'store' && path !== 'control.sock'
}

function bytesSize(b: Uint8Array): number {
  return 4 + b.byteLength
}

const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'))

function encodeBody(b: Backup): Buffer {
  let size = 32 + 8 + bytesSize(b.log) + 4 + 4
  for (const core of b.cores) {
    size += bytesSize(text(core.name)) + 4
    for (const block of core.blocks) size += bytesSize(block)
  }
  for (const f of b.files) size += bytesSize(text(f.path)) + 4 + bytesSize(f.data)
  const state: State = { start: 0, end: size, buffer: Buffer.alloc(size) }
  const bytes = (v: Uint8Array): void => {
    c.uint32.encode(state, v.byteLength)
    c.raw.encode(state, v)
  }
  c.fixed32.encode(state, b.id)
  c.uint64.encode(state, b.created)
  bytes(b.log)
  c.uint32.encode(state, b.cores.length)
  for (const core of b.cores) {
    bytes(text(core.name))
    c.uint32.encode(state, core.blocks.length)
    for (const block of core.blocks) bytes(block)
  }
  c.uint32.encode(state, b.files.length)
  for (const f of b.files) {
    bytes(text(f.path))
    c.uint32.encode(state, f.mode)
    bytes(f.data)
  }
  return state.buffer as Buffer
}

/** Encodes a backup; misuse (a bad path or mode, a repeated name) throws `bad-argument`. */
export function encodeBackup(b: Backup): Uint8Array {
  if (b.id.byteLength !== 32) throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'id must be 32 bytes')
  if (!Number.isSafeInteger(b.created) || b.created < 0)
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'created must be a non-negative integer')
  if (new Set(b.cores.map((x) => x.name)).size !== b.cores.length)
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'core names must be unique')
  if (new Set(b.files.map((x) => x.path)).size !== b.files.length)
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'file paths must be unique')
  for (const f of b.files) {
    if (!validPath(f.path))
      throw new QuidError(ErrorCodes.BAD_ARGUMENT, `not a path a restore may write: ${f.path}`)
    if (!Number.isInteger(f.mode) || f.mode < 0 || f.mode > 0o777)
      throw new QuidError(ErrorCodes.BAD_ARGUMENT, `mode of ${f.path} must be within 0o777`)
  }
  const body = encodeBody(b)
  const out = Buffer.alloc(BACKUP_HEADER + body.byteLength)
  out[0] = BACKUP_VERSION
  out.set(BACKUP_MAGIC, 1)
  out.set(blake2b256(body), 9)
  out.set(body, BACKUP_HEADER)
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
}

/** Decodes a backup file, refusing with `backup-invalid` (offset, field) anything malformed. */
export function decodeBackup(bytes: Uint8Array): Backup {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  // The magic is checked before the version so that a foreign file is called foreign.
  if (buffer.byteLength < 9 || !equal(buffer.subarray(1, 9), BACKUP_MAGIC))
    throw invalid(1, 'magic', 'not a quid backup file (no "quid-bak" marker)')
  if (buffer[0] !== BACKUP_VERSION)
    throw invalid(0, 'version', `unknown backup version ${buffer[0]}`)
  if (buffer.byteLength < BACKUP_HEADER)
    throw invalid(9, 'checksum', 'the file ends inside the checksum')
  const body = buffer.subarray(BACKUP_HEADER)
  if (!equal(blake2b256(body), buffer.subarray(9, BACKUP_HEADER)))
    throw invalid(
      9,
      'checksum',
      'the content does not match its checksum: the file is damaged or truncated'
    )
  const state: State = { start: BACKUP_HEADER, end: buffer.byteLength, buffer }
  const need = (n: number, field: string): void => {
    if (state.end - state.start < n)
      throw invalid(state.start, field, `the file ends ${state.end - state.start} bytes into ${n}`)
  }
  const u32 = (field: string): number => {
    need(4, field)
    return c.uint32.decode(state)
  }
  const take = (field: string): Uint8Array => {
    const size = u32(`${field} size`)
    need(size, field)
    const v = new Uint8Array(buffer.buffer, buffer.byteOffset + state.start, size)
    state.start += size
    return v
  }
  const str = (field: string): string => {
    const at = state.start
    try {
      return utf8.decode(take(field))
    } catch (err) {
      if (err instanceof QuidError) throw err
      throw invalid(at, field, 'not UTF-8')
    }
  }
  need(40, 'header')
  const id = new Uint8Array(c.fixed32.decode(state))
  const createdAt = state.start
  const high = buffer.readUInt32LE(createdAt + 4)
  if (high > 0x1fffff) throw invalid(createdAt, 'created', 'above 2^53 - 1')
  const created = c.uint64.decode(state)
  const log = take('log')
  const cores: BackupCore[] = []
  const ncores = u32('cores')
  for (let i = 0; i < ncores; i++) {
    const at = state.start
    const name = str(`core ${i} name`)
    if (name.length === 0) throw invalid(at, `core ${i} name`, 'empty')
    if (cores.some((x) => x.name === name)) throw invalid(at, `core ${i} name`, 'repeated')
    const blocks: Uint8Array[] = []
    const n = u32(`core ${i} blocks`)
    for (let j = 0; j < n; j++) blocks.push(take(`core ${i} block ${j}`))
    cores.push({ name, blocks })
  }
  const files: BackupFile[] = []
  const nfiles = u32('files')
  for (let i = 0; i < nfiles; i++) {
    const at = state.start
    const path = str(`file ${i} path`)
    if (!validPath(path)) throw invalid(at, `file ${i} path`, 'outside the participant directory')
    if (files.some((x) => x.path === path)) throw invalid(at, `file ${i} path`, 'repeated')
    const modeAt = state.start
    const mode = u32(`file ${i} mode`)
    if (mode > 0o777) throw invalid(modeAt, `file ${i} mode`, `${mode.toString(8)} above 777`)
    files.push({ path, mode, data: take(`file ${i}`) })
  }
  if (state.start !== state.end)
    throw invalid(state.start, 'end', `${state.end - state.start} bytes after the last file`)
  return { id, created, log, cores, files }
}
