/** The check every command that writes a file the user names makes before it starts the work. */
import { dirname, resolve } from 'node:path'
import { QuidError, ErrorCodes } from '../../core/errors.js'
import { statIfAny } from '../../core/files.js'

/** Refuses `file` (given as option `--flag`) unless it can be written: its directory exists, and it is not one. */
export async function checkOutFile(flag: string, file: string): Promise<void> {
  const dir = dirname(resolve(file))
  if (!(await statIfAny(dir))?.isDirectory())
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, `--${flag} ${file}: no directory ${dir}`)
  if ((await statIfAny(file))?.isDirectory())
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, `--${flag} ${file} is a directory`)
}
