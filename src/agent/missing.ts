/**
 * A participant's log that neither this store nor any peer had: `quid follow` and `quid audit
 * --id` refuse it rather than report a clean, empty log (exit 2, docs/AGENT.md). A log that
 * exists and is empty looks the same from outside (an empty Hypercore has no signed head).
 */
import { QuidError, ErrorCodes } from '../core/errors.js'

export function notFoundLog(key: string): QuidError {
  return new QuidError(
    ErrorCodes.NOT_FOUND,
    `no log of ${key} found here or at any peer: its agent was never reached (is it online?), or it never wrote an entry`,
    { id: key }
  )
}
