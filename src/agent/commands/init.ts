/** `quid init` and `quid id`: make a participant directory, and say who it is. */
import { mkdir, stat } from 'node:fs/promises'
import Corestore from 'corestore'
import { Ledger } from '../../ledger/ledger.js'
import { generateKeyPair, readKeyFile, writeKeyFile, formatId } from '../../crypto/identity.js'
import { logKey } from '../../ledger/logs.js'
import { QuidError, ErrorCodes } from '../../core/errors.js'
import { toHex } from '../../core/bytes.js'
import { participantDir, paths } from '../dirs.js'
import { EXIT, type Command } from './command.js'
import { statIfAny } from '../../core/files.js'

const common = {
  dir: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

export const initCommand: Command = {
  usage: 'quid init [--dir DIR] [--json]',
  options: common,
  async run(values, _positionals, io) {
    const root = participantDir(values.dir as string | undefined, io.env)
    const p = paths(root)
    const there = await statIfAny(root)
    if (there && !there.isDirectory())
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `${root} is a file, not a directory: --dir names a directory`
      )
    // Refused before anything is written (writeKeyFile checks again, atomically, for a race).
    if (await statIfAny(p.keyFile))
      throw new QuidError(
        ErrorCodes.KEY_FILE_EXISTS,
        `${p.keyFile} already exists; refusing to overwrite a key`
      )
    await mkdir(root, { recursive: true, mode: 0o700 })
    const kp = generateKeyPair()
    await writeKeyFile(p.keyFile, kp)
    const store = new Corestore(p.store)
    const ledger = new Ledger(store, kp)
    try {
      await ledger.ready()
    } finally {
      await ledger.close()
      await store.close()
    }
    const id = formatId(kp.publicKey)
    if (values.json)
      io.out(
        JSON.stringify({
          id,
          z32: formatId(kp.publicKey, 'z32'),
          dir: root,
          log: toHex(logKey(kp.publicKey))
        })
      )
    else
      io.out(
        `created participant ${id}\n  directory ${root}\n  key file  ${p.keyFile} (keep it secret: it is the participant)`
      )
    return EXIT.OK
  }
}

export const idCommand: Command = {
  usage: 'quid id [--dir DIR] [--json]',
  options: common,
  async run(values, _positionals, io) {
    const root = participantDir(values.dir as string | undefined, io.env)
    const p = paths(root)
    try {
      await stat(p.keyFile)
    } catch {
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `no participant in ${root}: run quid init --dir ${root}`
      )
    }
    const kp = await readKeyFile(p.keyFile)
    const out = {
      id: formatId(kp.publicKey),
      z32: formatId(kp.publicKey, 'z32'),
      log: toHex(logKey(kp.publicKey))
    }
    if (values.json) io.out(JSON.stringify(out))
    else io.out(`${out.id}\n  z-base-32 ${out.z32}\n  log key   ${out.log}`)
    return EXIT.OK
  }
}
