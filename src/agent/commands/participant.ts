/** Shared by commands that need an existing participant directory. */
import { stat } from 'node:fs/promises'
import Corestore from 'corestore'
import { QuidError, ErrorCodes } from '../../core/errors.js'
import { paths } from '../dirs.js'
import { settled } from '../../core/settle.js'
import { assertNotCopied, copiedOrRethrow } from '../store-copy.js'

/** Refuses, with the command to run, a directory that holds no participant. */
export async function openParticipant(root: string): Promise<void> {
  try {
    await stat(paths(root).keyFile)
  } catch {
    throw new QuidError(
      ErrorCodes.BAD_ARGUMENT,
      `no participant in ${root}: run quid init --dir ${root}`
    )
  }
}

/** Opens a participant's Corestore, refusing with `locked` while another process (the agent) has it. */
export async function openStore(path: string): Promise<Corestore> {
  await assertNotCopied(path)
  const store = new Corestore(path)
  try {
    await store.ready()
  } catch (err) {
    // The caller gets ready()'s failure, the cause of any failure to close what did not open.
    await settled(store.close())
    copiedOrRethrow(path, err)
    const msg = (err as Error).message
    if (/lock/i.test(msg))
      throw new QuidError(
        ErrorCodes.LOCKED,
        'this participant directory is in use by another process (stop the agent first)'
      )
    throw new QuidError(ErrorCodes.STORAGE, `cannot open the store: ${msg}`)
  }
  return store
}
