/**
 * Durations people type, one syntax in every command: `500ms`, `45s`, `90m`, `12h`, `30d`; whole
 * numbers only. `quid audit --timeout` once took bare milliseconds, so it still may (`legacyMs`).
 */
import { QuidError, ErrorCodes } from '../core/errors.js'

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export function parseDuration(
  text: string,
  what = 'duration',
  opts: { legacyMs?: boolean } = {}
): number {
  if (opts.legacyMs === true && /^(0|[1-9][0-9]{0,11})$/.test(text)) return Number(text)
  const m = /^([1-9][0-9]{0,12})(ms|s|m|h|d)$/.exec(text)
  if (!m) {
    throw new QuidError(
      ErrorCodes.BAD_ARGUMENT,
      `${what} ${JSON.stringify(text)} is not a duration like 500ms, 45s, 90m, 12h or 30d`
    )
  }
  const ms = Number(m[1]) * (UNITS[m[2] as string] as number)
  if (!Number.isSafeInteger(ms) || ms > 100 * 365 * UNITS.d!) {
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, `${what} ${text} is longer than a hundred years`)
  }
  return ms
}
