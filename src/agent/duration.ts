/** Durations people type: `30d`, `12h`, `90m`, `45s`, `500ms`; whole numbers only. */
import { QuidError, ErrorCodes } from '../core/errors.js'

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export function parseDuration(text: string, what = 'duration'): number {
  const m = /^([1-9][0-9]{0,12})(ms|s|m|h|d)$/.exec(text)
  if (!m) {
    throw new QuidError(
      ErrorCodes.BAD_ARGUMENT,
      `${what} ${JSON.stringify(text)} is not a duration like 30d, 12h, 90m or 45s`
    )
  }
  const ms = Number(m[1]) * (UNITS[m[2] as string] as number)
  if (!Number.isSafeInteger(ms) || ms > 100 * 365 * UNITS.d!) {
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, `${what} ${text} is longer than a hundred years`)
  }
  return ms
}
