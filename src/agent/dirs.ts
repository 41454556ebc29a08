/**
 * A participant directory: the key file, the Corestore holding the participant's log and the logs
 * it follows, the running agent's control socket, hosted guests' data, and the list of guests the
 * participant deployed elsewhere. Chosen by `--dir`, else `$QUID_DIR`, else
 * `~/.quid`.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { QuidError, ErrorCodes } from '../core/errors.js'

export interface ParticipantPaths {
  root: string
  keyFile: string
  store: string
  /** The running agent's control socket (mode 0600). */
  socket: string
  /** The host's guests: code and stores, one directory each. */
  host: string
  /** Guests this participant deployed elsewhere. */
  deployments: string
  /** What each changing command asked and how it ended (operations.ts). */
  operations: string
  /** The logs this participant follows, followed again at once after a restart (followed.ts). */
  followed: string
}

export function participantDir(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env
): string {
  // An empty name would resolve to the current directory: a participant made where nobody meant.
  if (flag === '')
    throw new QuidError(
      ErrorCodes.BAD_ARGUMENT,
      '--dir is empty: give a directory, or leave --dir out'
    )
  if (flag === undefined && env.QUID_DIR === '')
    throw new QuidError(
      ErrorCodes.BAD_ARGUMENT,
      '$QUID_DIR is set but empty: give it a directory, or unset it'
    )
  return resolve(flag ?? env.QUID_DIR ?? join(homedir(), '.quid'))
}

export function paths(root: string): ParticipantPaths {
  return {
    root,
    keyFile: join(root, 'identity.key'),
    store: join(root, 'store'),
    socket: join(root, 'control.sock'),
    host: join(root, 'host'),
    deployments: join(root, 'deployments.json'),
    operations: join(root, 'operations.log'),
    followed: join(root, 'followed.json')
  }
}
