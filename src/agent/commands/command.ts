/**
 * What a `quid` command is and what it writes to. cli.ts dispatches to commands and each command
 * module implements this, so both import it from here and neither imports the other.
 */
import type { ParseArgsConfig } from 'node:util'

/** Exit codes, documented in docs/AGENT.md. */
export const EXIT = {
  OK: 0,
  USAGE: 1,
  REFUSED: 2,
  NO_AGENT: 3,
  VIOLATIONS: 4,
  /** The agent went away after the request was sent: it may or may not have been done. */
  OUTCOME_UNKNOWN: 5
} as const

export interface Io {
  out: (text: string) => void
  err: (text: string) => void
  env: NodeJS.ProcessEnv
}

/**
 * A command's one-line summary lives in the command table (table.ts), so that `quid --help` can
 * list every command without loading any of them.
 */
export interface Command {
  usage: string
  options: NonNullable<ParseArgsConfig['options']>
  /**
   * Whether the command takes positional arguments (and checks them itself). Without it the CLI
   * refuses any, rather than ignore them: `quid init newp` must not create `~/.quid`.
   */
  positionals?: boolean
  run(values: Record<string, unknown>, positionals: string[], io: Io): Promise<number>
}
