/**
 * Ids people paste: a full id, or a unique prefix of one as git takes them (at least 4 hex
 * characters). Commands print ids shortened to 12 characters; this is how those come back. The
 * agent resolves a prefix among the ids it knows of that kind (the claims it holds, the
 * participants it knows, the guests it deployed); the CLI only checks that the text can be one.
 */
import { QuidError, ErrorCodes } from '../core/errors.js'

export const MIN_PREFIX = 4

const PREFIX = new RegExp(`^[0-9a-fA-F]{${MIN_PREFIX},63}$`)
const FULL = /^[0-9a-fA-F]{64}$/

/** True for text that is a hex prefix of an id, shorter than the full 64 characters. */
export function isIdPrefix(text: string): boolean {
  return PREFIX.test(text)
}

/**
 * The one id among `known` that `text` names: itself when it is a full 64-character id (known
 * or not: the caller checks), else the single known id it begins. `bad-id` when it is neither an
 * id nor a prefix, or no known id begins with it; `ambiguous-id` (with the matches) when several do.
 */
export function resolveId(text: string, known: Iterable<string>, what: string): string {
  if (FULL.test(text)) return text.toLowerCase()
  if (!isIdPrefix(text)) {
    throw new QuidError(
      ErrorCodes.BAD_ID,
      `${what} ${JSON.stringify(text)} is not an id (64 hex characters) or a prefix of one (at least ${MIN_PREFIX})`,
      { input: text }
    )
  }
  const prefix = text.toLowerCase()
  const matches = [...new Set(known)].filter((id) => id.startsWith(prefix)).sort()
  if (matches.length === 0) {
    throw new QuidError(ErrorCodes.BAD_ID, `no ${what} known here starts with ${prefix}`, {
      input: text
    })
  }
  if (matches.length > 1) {
    throw new QuidError(
      ErrorCodes.AMBIGUOUS_ID,
      `${what} prefix ${prefix} is ambiguous: it begins ${matches.length} ids (${matches.map((m) => m.slice(0, 16)).join(', ')}); give more characters`,
      { input: text, matches }
    )
  }
  return matches[0] as string
}
