/**
 * What a `quid` command is and what it writes to. cli.ts dispatches to commands and each command
 * module implements this, so both import it from here and neither imports the other.
 */
import type { ParseArgsConfig } from 'node:util'

export interface Io {
  out: (text: string) => void
  err: (text: string) => void
  env: NodeJS.ProcessEnv
}

export interface Command {
  summary: string
  usage: string
  options: NonNullable<ParseArgsConfig['options']>
  run(values: Record<string, unknown>, positionals: string[], io: Io): Promise<number>
}
