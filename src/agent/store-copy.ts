/**
 * Telling a plain file copy of a participant's store from the store itself, before Corestore is
 * asked to open it.
 *
 * hypercore-storage keeps a device file, `store/CORESTORE`, written once when the store is made:
 * `device/inode=` the file's inode and `device/created=` the time (ms). On every open it refuses,
 * deep inside Corestore, a file whose inode differs or whose mtime is 5 s or more away from
 * `created` ("Invalid device file, was modified"), and one whose extended attribute
 * `user.device-file` is gone ("was moved unsafely"). That is on purpose: two copies of a writable
 * log that both append fork it, and a fork is a violation every auditor sees. `cp -r`, `rsync`
 * and a copy to another disk all make a new inode; `mv` within one file system keeps it.
 *
 * This module reads the same two fields (node:fs cannot read the attribute, so that case is
 * caught when the open fails, by `copiedOrRethrow`) and refuses with `store-copied`, saying
 * what to do instead. It only reads: neither the copy nor the original is changed.
 */
import { readFile, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { QuidError, ErrorCodes } from '../core/errors.js'

/** device-file's own tolerance between `created` and the file's mtime. */
const MODIFIED_SLACK_MS = 5000

function copiedError(store: string, why: string): QuidError {
  const dir = dirname(store)
  return new QuidError(
    ErrorCodes.STORE_COPIED,
    `${dir} is a plain file copy of a participant directory (${why}); its log must not be ` +
      'continued from a copy, since two copies appending would fork it. To move or back up a ' +
      'participant, stop its agent and run quid backup --dir ORIGINAL --out FILE, then quid ' +
      'restore FILE --dir NEW (docs/AGENT.md, "Moving a participant"). Nothing was changed.',
    { dir, why }
  )
}

/** Refuses with `store-copied` a store whose device file says it was copied; a new store passes. */
export async function assertNotCopied(store: string): Promise<void> {
  const file = join(store, 'CORESTORE')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new QuidError(ErrorCodes.STORAGE, `cannot read ${file}: ${(err as Error).message}`)
  }
  const fields = new Map<string, string>()
  for (const line of text.split('\n')) {
    const i = line.indexOf('=')
    if (i > 0) fields.set(line.slice(0, i).trim(), line.slice(i + 1).trim())
  }
  const inode = Number(fields.get('device/inode') ?? 0)
  const created = Number(fields.get('device/created') ?? 0)
  const st = await stat(file)
  if (inode && st.ino !== inode) throw copiedError(store, 'its store has a new inode')
  const modified = Math.max(st.mtimeMs, st.birthtimeMs)
  if (created && Math.abs(modified - created) >= MODIFIED_SLACK_MS)
    throw copiedError(store, 'its store was rewritten after it was made')
}

/** For the catch around `store.ready()`: hypercore-storage's own device-file refusal, explained. */
export function copiedOrRethrow(store: string, err: unknown): void {
  const e = err as { code?: unknown; message?: unknown }
  if (e?.code === 'DEVICE_FILE' || /invalid device file/i.test(String(e?.message ?? '')))
    throw copiedError(store, String(e.message))
}
