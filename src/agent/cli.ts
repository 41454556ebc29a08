/**
 * The `quid` command line. Human text by default, `--json` for machines; `--help` on each command.
 *
 * Exit codes: 0 done, 1 bad usage or input, 2 refused by a rule or a peer, 3 no agent running,
 * 4 an audit found violations, 5 outcome unknown (docs/AGENT.md).
 */
import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import { QuidError, ErrorCodes, type ErrorCode } from '../core/errors.js'
import { commandTable } from './commands/table.js'
import { EXIT, type Io } from './commands/command.js'

export type { Command, Io } from './commands/command.js'
export { EXIT } from './commands/command.js'

/** Codes that mean the input or the invocation was wrong, as opposed to a rule refusing it. */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.BAD_AMOUNT,
  ErrorCodes.BAD_RESOURCE,
  ErrorCodes.BAD_ID,
  ErrorCodes.AMBIGUOUS_ID,
  ErrorCodes.BAD_ARGUMENT,
  ErrorCodes.KEY_FILE_EXISTS,
  ErrorCodes.KEY_FILE_INVALID,
  ErrorCodes.KEY_FILE_PERMISSIONS,
  ErrorCodes.CACHE_INVALID,
  ErrorCodes.LOCKED,
  ErrorCodes.STORE_COPIED,
  ErrorCodes.BACKUP_INVALID,
  ErrorCodes.TARGET_NOT_EMPTY
])

const defaultIo: Io = {
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
  env: process.env
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return pkg.version
}

function help(): string {
  const width = Math.max(...Object.keys(commandTable).map((c) => c.length))
  return [
    'quid: barter computing resources with signed IOUs, and run guests paid with them',
    '',
    'usage: quid <command> [options]',
    '',
    ...Object.entries(commandTable).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --json and --help; all but testnet and demo act on a participant',
    'directory, --dir DIR (default $QUID_DIR, else ~/.quid).',
    'Amounts: cpu=1my,disk=10MB,net=100MB. Durations: 500ms, 45s, 2m, 12h, 30d.',
    'Exit codes: 0 done, 1 bad usage or input, 2 refused by a rule or a peer, 3 no agent running,',
    '4 an audit found violations, 5 outcome unknown (the agent stopped before answering: quid outcome OP).'
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
  // Before the arguments are parsed, `--json` anywhere asks for a JSON error.
  const asked = rest.includes('--json')
  const entry = Object.hasOwn(commandTable, name) ? commandTable[name] : undefined
  if (!entry) {
    const err = new QuidError(ErrorCodes.BAD_ARGUMENT, `unknown command ${JSON.stringify(name)}`)
    if (asked) io.out(JSON.stringify({ error: err.toJSON() }))
    io.err(`quid: ${err.message} [${err.code}]\n\n${help()}`)
    return EXIT.USAGE
  }
  const cmd = await entry.load()
  let parsed: { values: Record<string, unknown>; positionals: string[] }
  try {
    parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: true, strict: true })
    if (parsed.values.help) {
      io.out(`${entry.summary}\n\nusage: ${cmd.usage}`)
      return EXIT.OK
    }
    if (!cmd.positionals && parsed.positionals.length > 0) {
      const [first] = parsed.positionals
      const hint = 'dir' in cmd.options ? ` (a directory goes in --dir ${first})` : ''
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `unexpected argument ${JSON.stringify(first)}: quid ${name} takes none${hint}`
      )
    }
  } catch (err) {
    const e =
      err instanceof QuidError
        ? err
        : new QuidError(ErrorCodes.BAD_ARGUMENT, String((err as Error).message))
    if (asked) io.out(JSON.stringify({ error: e.toJSON() }))
    io.err(`quid ${name}: ${e.message} [${e.code}]\nusage: ${cmd.usage}`)
    return EXIT.USAGE
  }
  try {
    return await cmd.run(parsed.values, parsed.positionals, io)
  } catch (err) {
    const e = asQuidError(err)
    if (parsed.values.json) io.out(JSON.stringify({ error: e.toJSON() }))
    io.err(`quid ${name}: ${e.message} [${e.code}]`)
    // The stack is for whoever debugs quid, never for a person who typed a wrong path.
    if (!(err instanceof QuidError) && io.env.QUID_DEBUG) io.err(String((err as Error).stack))
    return exitCode(e)
  }
}

/** The documented exit code of an error (docs/AGENT.md, "Exit codes"). */
export function exitCode(err: QuidError): number {
  if (err.code === ErrorCodes.NO_AGENT) return EXIT.NO_AGENT
  if (err.code === ErrorCodes.OUTCOME_UNKNOWN) return EXIT.OUTCOME_UNKNOWN
  return USAGE_CODES.has(err.code) ? EXIT.USAGE : EXIT.REFUSED
}

/**
 * Node's errors about a path the person gave (a file where a directory should be, no such file,
 * no permission) are bad input; anything else that is not a QuidError is `internal`.
 */
const PATH_ERRORS: ReadonlySet<string> = new Set([
  'ENOENT',
  'ENOTDIR',
  'EEXIST',
  'EISDIR',
  'EACCES',
  'EPERM',
  'ENAMETOOLONG',
  'ELOOP',
  'EROFS'
])

function asQuidError(err: unknown): QuidError {
  if (err instanceof QuidError) return err
  const e = err as NodeJS.ErrnoException | undefined
  if (e && typeof e.code === 'string' && PATH_ERRORS.has(e.code)) {
    const what = e.syscall && e.path ? `cannot ${e.syscall} ${e.path}` : 'a path is unusable'
    return new QuidError(ErrorCodes.BAD_ARGUMENT, `${what}: ${e.code}`, {
      errno: e.code,
      ...(e.path ? { path: e.path } : {})
    })
  }
  return new QuidError(
    ErrorCodes.INTERNAL,
    `unexpected failure: ${e instanceof Error ? e.message : String(err)} (QUID_DEBUG=1 shows where)`
  )
}
