/**
 * The `quid` command line. Human text by default, `--json` for machines; `--help` on each command.
 *
 * Exit codes: 0 done, 1 bad usage or input, 2 refused by a rule or a peer, 3 no agent running,
 * 4 an audit found violations.
 */
import { parseArgs } from 'node:util'
import { mkdir, stat } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import Corestore from 'corestore'
import { Ledger } from '../ledger/ledger.js'
import { generateKeyPair, readKeyFile, writeKeyFile, formatId } from '../crypto/identity.js'
import { logKey } from '../ledger/logs.js'
import { QuidError, ErrorCodes, type ErrorCode } from '../core/errors.js'
import { toHex } from '../core/bytes.js'
import { participantDir, paths } from './dirs.js'
import { auditCommand } from './commands/audit.js'
import { exportCommand } from './commands/export.js'
import { remoteCommands } from './commands/remote.js'
import { testnetCommand, upCommand } from './commands/up.js'
import { demoCommand } from './commands/demo.js'
import type { Command, Io } from './commands/command.js'

export type { Command, Io } from './commands/command.js'

export const EXIT = { OK: 0, USAGE: 1, REFUSED: 2, NO_AGENT: 3, VIOLATIONS: 4 } as const

/** Codes that mean the input or the invocation was wrong, as opposed to a rule refusing it. */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.BAD_AMOUNT,
  ErrorCodes.BAD_RESOURCE,
  ErrorCodes.BAD_ID,
  ErrorCodes.BAD_ARGUMENT,
  ErrorCodes.KEY_FILE_EXISTS,
  ErrorCodes.KEY_FILE_INVALID,
  ErrorCodes.KEY_FILE_PERMISSIONS,
  ErrorCodes.LOCKED
])

const defaultIo: Io = {
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
  env: process.env
}

const common = {
  dir: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

const commands: Record<string, Command> = {
  init: {
    summary: 'create a participant: a key pair (key file mode 0600) and an empty log',
    usage: 'quid init [--dir DIR] [--json]',
    options: common,
    async run(values, _positionals, io) {
      const root = participantDir(values.dir as string | undefined, io.env)
      const p = paths(root)
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
  },
  id: {
    summary: "print this participant's id (hex and z-base-32) and its log's Hypercore key",
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
  },
  testnet: testnetCommand,
  up: upCommand,
  ...remoteCommands,
  export: exportCommand,
  audit: auditCommand,
  demo: demoCommand
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return pkg.version
}

function help(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length))
  return [
    'quid: barter computing resources with signed IOUs, and run guests paid with them',
    '',
    'usage: quid <command> [options]',
    '',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --dir DIR (default $QUID_DIR, else ~/.quid), --json and --help.',
    'Exit codes: 0 done, 1 bad usage or input, 2 refused by a rule or a peer, 3 no agent running,',
    '4 an audit found violations.'
  ].join('\n')
}

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.out(help())
    return name === undefined ? EXIT.USAGE : EXIT.OK
  }
  if (name === '--version' || name === '-v') {
    io.out(version())
    return EXIT.OK
  }
  const cmd = commands[name]
  if (!cmd) {
    io.err(`quid: unknown command ${JSON.stringify(name)}\n\n${help()}`)
    return EXIT.USAGE
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] }
  try {
    parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: true, strict: true })
  } catch (err) {
    io.err(`quid ${name}: ${(err as Error).message}\nusage: ${cmd.usage}`)
    return EXIT.USAGE
  }
  if (parsed.values.help) {
    io.out(`${cmd.summary}\n\nusage: ${cmd.usage}`)
    return EXIT.OK
  }
  try {
    return await cmd.run(parsed.values, parsed.positionals, io)
  } catch (err) {
    if (err instanceof QuidError) {
      if (parsed.values.json) io.out(JSON.stringify({ error: err.toJSON() }))
      io.err(`quid ${name}: ${err.message} [${err.code}]`)
      if (err.code === ErrorCodes.NO_AGENT) return EXIT.NO_AGENT
      return USAGE_CODES.has(err.code) ? EXIT.USAGE : EXIT.REFUSED
    }
    throw err
  }
}
