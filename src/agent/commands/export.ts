/** `quid export`: this participant's log with its signed head, as a file anyone can audit. */
import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { QuidError, ErrorCodes } from '../../core/errors.js'
import { callAgent } from '../control.js'
import { readKeyFile } from '../../crypto/identity.js'
import { toHex } from '../../core/bytes.js'
import { exportCore } from '../../audit/export.js'
import { encodeExport } from '../../audit/export-format.js'
import { participantDir, paths } from '../dirs.js'
import { openParticipant, openStore } from './participant.js'
import type { Command } from './command.js'
import { checkOutFile } from './out-file.js'

export const exportCommand: Command = {
  usage: 'quid export [--dir DIR] [--out FILE] [--json]',
  options: {
    dir: { type: 'string' },
    out: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  },
  async run(values, _positionals, io) {
    const root = participantDir(values.dir as string | undefined, io.env)
    const p = paths(root)
    await openParticipant(root)
    const kp = await readKeyFile(p.keyFile)
    const id = toHex(kp.publicKey)
    const out = (values.out as string | undefined) ?? `quid-${id.slice(0, 16)}.qlog`
    // Checked here, before the agent (which writes the file while it runs) would fail on it.
    await checkOutFile('out', out)
    // While the agent runs it holds the store: it writes the file instead.
    const viaAgent = await callAgent(p.socket, 'export', { out: resolve(out) }).catch(
      (err: unknown) => {
        if (err instanceof QuidError && err.code === ErrorCodes.NO_AGENT) return null
        throw err
      }
    )
    if (viaAgent) {
      const r = viaAgent as { id: string; file: string; entries: number; bytes: number }
      if (values.json) io.out(JSON.stringify(r))
      else io.out(`exported ${r.entries} entries of ${r.id} to ${r.file} (${r.bytes} bytes)`)
      return 0
    }
    const store = await openStore(p.store)
    let bytes: Uint8Array
    let length: number
    try {
      const core = store.get({
        keyPair: { publicKey: Buffer.from(kp.publicKey), secretKey: Buffer.from(kp.secretKey) }
      })
      const log = await exportCore(core, kp.publicKey)
      length = log.length
      bytes = encodeExport(log)
    } finally {
      await store.close()
    }
    await writeFile(out, bytes)
    if (values.json)
      io.out(JSON.stringify({ id, file: out, entries: length, bytes: bytes.byteLength }))
    else io.out(`exported ${length} entries of ${id} to ${out} (${bytes.byteLength} bytes)`)
    return 0
  }
}
