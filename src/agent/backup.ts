/**
 * Taking a backup of a participant directory and restoring it elsewhere (backup-format.ts gives
 * the file; docs/AGENT.md, "Moving a participant", says when to use which).
 *
 * What a backup holds, and why that is enough to continue with no fork:
 * - the own log, every entry with its signed head (a quid-log export). Hypercore's tree is a
 *   function of the entries alone and Ed25519 signatures are deterministic, so appending the same
 *   entries to a fresh core made from the same key pair gives the same key, length, tree and
 *   signature; restore checks all four before it keeps anything, so the next append extends the
 *   very log peers and auditors have seen;
 * - the private cores (the ledger's snapshots, the exchange journal), block by block: their keys
 *   come from the store's own random seed and mean nothing outside it, only their contents count;
 * - every other file of the directory (the key file, the list of followed logs, deployments,
 *   operations, the host's guests), so that state added later is carried without a change here.
 * The logs of others it follows are left out: they are other people's, re-fetched from the network
 * when the restored agent starts (followed.json lists them), and a backup stays the size of one log.
 */
import {
  mkdir,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  writeFile,
  readFile,
  lstat
} from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import type Corestore from 'corestore'
import CorestoreImpl from 'corestore'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { equal, toHex } from '../core/bytes.js'
import { readKeyFile, type KeyPair } from '../crypto/identity.js'
import { exportCore } from '../audit/export.js'
import { decodeExport, encodeExport, type ExportedLog } from '../audit/export-format.js'
import { bareSignature, leafHash, rootsFromLeaves, treeHash, verifyHead } from '../audit/tree.js'
import { JOURNAL_CORES } from '../exchange/journal.js'
import { SNAPSHOT_CORE } from '../ledger/ledger.js'
import { logKey } from '../ledger/logs.js'
import { paths } from './dirs.js'
import { openParticipant, openStore } from './commands/participant.js'
import { assertNotCopied } from './store-copy.js'
import {
  decodeBackup,
  encodeBackup,
  type Backup,
  type BackupCore,
  type BackupFile
} from './backup-format.js'

/** The store's private cores, by the name they are opened with. */
export const PRIVATE_CORES: readonly string[] = [SNAPSHOT_CORE, ...JOURNAL_CORES]

/** Entries appended per batch on restore: one signature per batch, and progress between them. */
const RESTORE_BATCH = 1024

export type Progress = (label: string | null, done: number, total: number) => void

export interface BackupSummary {
  id: string
  entries: number
  cores: number
  files: number
  bytes: number
}

function keyPairBuffers(kp: KeyPair): { publicKey: Buffer; secretKey: Buffer } {
  return { publicKey: Buffer.from(kp.publicKey), secretKey: Buffer.from(kp.secretKey) }
}

/** Every regular file of the directory but the store and the socket, sorted by path. */
async function listFiles(root: string): Promise<BackupFile[]> {
  const out: BackupFile[] = []
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, e.name)
      const rel = relative(root, full).split(sep).join('/')
      if (rel === 'store' || rel === 'control.sock') continue
      if (e.isDirectory()) await walk(full)
      else if (e.isFile()) {
        const st = await lstat(full)
        out.push({ path: rel, mode: st.mode & 0o777, data: new Uint8Array(await readFile(full)) })
      }
      // Sockets, pipes and symbolic links are not part of a participant's state: left out.
    }
  }
  await walk(root)
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

async function readCore(store: Corestore, name: string): Promise<BackupCore> {
  const core = store.get({ name })
  try {
    await core.ready()
    const blocks: Uint8Array[] = []
    for (let i = 0; i < core.length; i++) {
      const block = await core.get(i, { wait: false })
      if (!block) throw new QuidError(ErrorCodes.STORAGE, `block ${i} of ${name} is not stored`)
      blocks.push(new Uint8Array(block))
    }
    return { name, blocks }
  } finally {
    await core.close()
  }
}

/**
 * Reads a stopped participant's directory into a backup. Refuses `locked` while its agent runs
 * (the agent holds the store, and a copy taken beside it would not be of one moment) and
 * `store-copied` for a plain copy.
 */
export async function takeBackup(
  root: string,
  opts: { now?: () => number } = {}
): Promise<{ bytes: Uint8Array; summary: BackupSummary }> {
  const p = paths(root)
  await openParticipant(root)
  const kp = await readKeyFile(p.keyFile)
  await assertNotCopied(p.store)
  let store: Corestore
  try {
    store = await openStore(p.store)
  } catch (err) {
    if (err instanceof QuidError && err.code === ErrorCodes.LOCKED)
      throw new QuidError(
        ErrorCodes.LOCKED,
        `an agent is running for ${root}: stop it first (Ctrl-C, or quid status for its pid), ` +
          'then run quid backup again. A backup needs the store to itself so that the log, the ' +
          'journal and the files are of one moment.',
        { dir: root }
      )
    throw err
  }
  let log: ExportedLog
  const cores: BackupCore[] = []
  let files: BackupFile[]
  try {
    const core = store.get({ keyPair: keyPairBuffers(kp) })
    try {
      log = await exportCore(core, kp.publicKey)
    } finally {
      await core.close()
    }
    if (log.fork !== 0)
      throw new QuidError(
        ErrorCodes.STORAGE,
        `the log was truncated (fork ${log.fork}): a restore could not reproduce its head`
      )
    for (const name of PRIVATE_CORES) cores.push(await readCore(store, name))
    // Read with the store still held, so that no agent starts and changes them meanwhile.
    files = await listFiles(root)
  } finally {
    await store.close()
  }
  const backup: Backup = {
    id: kp.publicKey,
    created: (opts.now ?? Date.now)(),
    log: encodeExport(log),
    cores,
    files
  }
  const bytes = encodeBackup(backup)
  return {
    bytes,
    summary: {
      id: toHex(kp.publicKey),
      entries: log.length,
      cores: cores.length,
      files: files.length,
      bytes: bytes.byteLength
    }
  }
}

/** Writes the file atomically, mode 0600 (it holds the secret key), refusing to overwrite. */
export async function writeBackupFile(out: string, bytes: Uint8Array): Promise<void> {
  const exists = await stat(out).then(
    () => true,
    () => false
  )
  if (exists) throw new QuidError(ErrorCodes.BAD_ARGUMENT, `${out} exists: choose another --out`)
  const tmp = `${out}.tmp-${process.pid}`
  await writeFile(tmp, bytes, { mode: 0o600, flag: 'wx' })
  try {
    await rename(tmp, out)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}

function bad(field: string, why: string): QuidError {
  return new QuidError(ErrorCodes.BACKUP_INVALID, `${field}: ${why}`, { field })
}

/** Decodes a backup and checks its parts against each other; nothing is written. */
export function checkBackup(bytes: Uint8Array): { backup: Backup; log: ExportedLog } {
  const backup = decodeBackup(bytes)
  let log: ExportedLog
  try {
    log = decodeExport(backup.log).log
  } catch (err) {
    if (err instanceof QuidError) throw bad('log', err.message)
    throw err
  }
  if (!equal(log.id, backup.id)) throw bad('log', "the log is not the backup's participant's")
  if (log.fork !== 0) throw bad('log', `fork ${log.fork}: only an untruncated log can be restored`)
  const roots = rootsFromLeaves(log.entries.map((e) => ({ hash: leafHash(e), size: e.byteLength })))
  if (
    roots.length !== log.roots.length ||
    roots.some((r, i) => !equal(r.hash, log.roots[i]!.hash) || r.size !== log.roots[i]!.size)
  )
    throw bad('log', 'the entries do not hash to the signed tree')
  if (log.length > 0 && !verifyHead(log.id, roots, log))
    throw bad('log', "the head is not the participant's signature")
  if (!backup.files.some((f) => f.path === 'identity.key'))
    throw bad('files', 'the backup holds no identity.key')
  return { backup, log }
}

/** Refuses a target that exists and is not an empty directory; says whether it exists. */
async function targetExists(dir: string): Promise<boolean> {
  let st
  try {
    st = await stat(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
  if (!st.isDirectory())
    throw new QuidError(ErrorCodes.TARGET_NOT_EMPTY, `${dir} exists and is not a directory`, {
      dir
    })
  if ((await readdir(dir)).length > 0)
    throw new QuidError(
      ErrorCodes.TARGET_NOT_EMPTY,
      `${dir} is not empty: restore into a new or empty directory (nothing was written)`,
      { dir }
    )
  return true
}

async function appendAll(
  core: { append(b: Uint8Array[]): Promise<unknown> },
  blocks: Uint8Array[],
  label: string,
  progress: Progress
): Promise<void> {
  for (let i = 0; i < blocks.length; i += RESTORE_BATCH) {
    await core.append(blocks.slice(i, i + RESTORE_BATCH).map((b) => Buffer.from(b)))
    progress(label, Math.min(i + RESTORE_BATCH, blocks.length), blocks.length)
  }
}

/** Writes the store: the own log (checked to come out identical) and the private cores. */
async function writeStore(
  dir: string,
  kp: KeyPair,
  log: ExportedLog,
  backup: Backup,
  progress: Progress
): Promise<void> {
  const store = new CorestoreImpl(join(dir, 'store'))
  try {
    await store.ready()
    const core = store.get({ keyPair: keyPairBuffers(kp) })
    try {
      await core.ready()
      if (!equal(core.key, logKey(kp.publicKey)))
        throw new QuidError(ErrorCodes.STORAGE, 'the restored log has another key')
      await appendAll(core, log.entries, 'log', progress)
      const state = (core as unknown as { state?: { signature?: Uint8Array | null } }).state
      const sig = state?.signature ? bareSignature(state.signature) : null
      const same =
        core.length === log.length &&
        core.fork === 0 &&
        equal(await core.treeHash(log.length), treeHash(log.roots)) &&
        (log.length === 0 || (sig !== null && equal(sig, log.signature)))
      if (!same)
        throw new QuidError(
          ErrorCodes.STORAGE,
          'the restored log does not reproduce the signed head: nothing was kept'
        )
    } finally {
      await core.close()
    }
    for (const c of backup.cores) {
      const named = store.get({ name: c.name })
      try {
        await named.ready()
        await appendAll(named, c.blocks, c.name, progress)
      } finally {
        await named.close()
      }
    }
  } finally {
    await store.close()
  }
}

/**
 * Restores a backup into `dir` (new, or an empty directory). Everything is checked before anything
 * is written; the participant is built in a sibling directory and renamed into place, so that a
 * failure at any point leaves `dir` as it was.
 */
export async function restoreBackup(
  bytes: Uint8Array,
  dir: string,
  progress: Progress = () => {}
): Promise<BackupSummary> {
  const { backup, log } = checkBackup(bytes)
  const existed = await targetExists(dir)
  await mkdir(dirname(dir), { recursive: true })
  const tmp = `${dir}.quid-restore-${process.pid}`
  await rm(tmp, { recursive: true, force: true })
  try {
    await mkdir(tmp, { mode: 0o700 })
    for (const f of backup.files) {
      const to = join(tmp, ...f.path.split('/'))
      await mkdir(dirname(to), { recursive: true, mode: 0o700 })
      await writeFile(to, f.data, { mode: f.mode, flag: 'wx' })
    }
    const kp = await readKeyFile(join(tmp, 'identity.key')).catch((err: unknown) => {
      if (err instanceof QuidError) throw bad('identity.key', err.message)
      throw err
    })
    if (!equal(kp.publicKey, backup.id))
      throw bad('identity.key', "the key file is not the backup's participant's")
    await writeStore(tmp, kp, log, backup, progress)
    progress(null, 0, 0)
    if (existed) await rmdir(dir)
    await rename(tmp, dir)
  } catch (err) {
    progress(null, 0, 0)
    await rm(tmp, { recursive: true, force: true })
    throw err
  }
  return {
    id: toHex(backup.id),
    entries: log.length,
    cores: backup.cores.length,
    files: backup.files.length,
    bytes: bytes.byteLength
  }
}
