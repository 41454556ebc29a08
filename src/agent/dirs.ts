/**
 * A participant directory: the key file, the Corestore holding the participant's log and the logs
 * it follows, and (later) guest data and config. Chosen by `--dir`, else `$QUID_DIR`, else
 * `~/.quid`.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export interface ParticipantPaths {
  root: string
  keyFile: string
  store: string
}

export function participantDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.QUID_DIR ?? join(homedir(), '.quid'))
}

export function paths(root: string): ParticipantPaths {
  return { root, keyFile: join(root, 'identity.key'), store: join(root, 'store') }
}
