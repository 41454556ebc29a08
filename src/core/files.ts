/** Small file-system questions whose "no" is an answer, not a failure. */
import { stat } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { isSystemError } from './settle.js'

/** What is at `path`, or null if nothing is (any other failure, such as EACCES, is thrown). */
export async function statIfAny(path: string): Promise<Stats | null> {
  try {
    return await stat(path)
  } catch (err) {
    if (isSystemError(err, 'ENOENT', 'ENOTDIR')) return null
    throw err
  }
}
