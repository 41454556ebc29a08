/** `quid backup` and `quid restore`: move or keep a participant (docs/AGENT.md, "Moving a participant"). */
import { readFile } from 'node:fs/promises'
import { isAbsolute, relative, resolve } from 'node:path'
import { QuidError, ErrorCodes } from '../../core/errors.js'
import { restoreBackup, takeBackup, writeBackupFile } from '../backup.js'
import { participantDir } from '../dirs.js'
import { progressBar } from './progress.js'
import { EXIT, type Command } from './command.js'

export const backupCommand: Command = {
  usage: 'quid backup [--dir DIR] --out FILE [--json]',
  options: {
    dir: { type: 'string' },
    out: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  },
  async run(values, _positionals, io) {
    // Positionals never reach here: the CLI refuses them for a command that declares none.
    const out = values.out as string | undefined
    if (!out) throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'say where to write it: --out FILE')
    const root = participantDir(values.dir as string | undefined, io.env)
    const file = resolve(out)
    const inside = relative(root, file)
    // A backup inside the directory would be carried by every later backup of it.
    if (!inside.startsWith('..') && !isAbsolute(inside))
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `write the backup outside the participant directory ${root}`
      )
    const { bytes, summary } = await takeBackup(root)
    await writeBackupFile(file, bytes)
    if (values.json) io.out(JSON.stringify({ ...summary, dir: root, file }))
    else
      io.out(
        `backed up ${summary.id} (${summary.entries} log entries, ${summary.files} files) to ${file}` +
          ` (${summary.bytes} bytes)\n  it holds the secret key: keep it as safe as ${root}`
      )
    return EXIT.OK
  }
}

export const restoreCommand: Command = {
  positionals: true,
  usage: 'quid restore FILE [--dir DIR] [--json]',
  options: {
    dir: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  },
  async run(values, positionals, io) {
    if (positionals.length !== 1)
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        positionals.length === 0
          ? 'say which backup file: quid restore FILE --dir DIR'
          : `unexpected argument ${positionals[1]}`
      )
    const file = resolve(positionals[0] as string)
    const root = participantDir(values.dir as string | undefined, io.env)
    let bytes: Uint8Array
    try {
      bytes = new Uint8Array(await readFile(file))
    } catch (err) {
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`
      )
    }
    const summary = await restoreBackup(bytes, root, progressBar(process.stderr))
    if (values.json) io.out(JSON.stringify({ ...summary, dir: root, file }))
    else
      io.out(
        `restored ${summary.id} (${summary.entries} log entries, ${summary.files} files) to ${root}\n` +
          '  start it with quid up; never start the directory it came from again, nor restore this\n' +
          '  backup twice: two copies appending fork the log'
      )
    return EXIT.OK
  }
}
