/**
 * A participant's log that neither this store nor any peer had: `quid follow` and `quid audit
 * --id` refuse it rather than report a clean, empty log (exit 2, docs/AGENT.md).
 */
import { QuidError, ErrorCodes } from '../core/errors.js'

export function notFoundLog(key: string): QuidError {
  return new QuidError(
    ErrorCodes.NOT_FOUND,
    `no log of ${key} found here or at any peer (is its agent online?)`,
    { id: key }
  )
}
