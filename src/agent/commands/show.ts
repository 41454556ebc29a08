/**
 * How the commands show amounts and ids to a person. Amounts shown side by side (`free of`, `used
 * of`) share one unit, so that they can be compared at a glance; the agent's answers carry them
 * in the amount syntax (docs/FORMAT.md), each in its own best unit.
 */
import {
  exactIn,
  formatAmount,
  isResource,
  parseAmount,
  UNITS,
  type Resource
} from '../../ledger/amounts.js'

/** `cpu=1my,disk=10MB`, as the agent sent it. */
export const vec = (v: Record<string, string>): string =>
  Object.entries(v)
    .map(([r, a]) => `${r}=${a}`)
    .join(',')

/** An id shortened for a table; every command accepts a unique prefix (git style). */
export const short = (id: string): string => id.slice(0, 12)

/**
 * Several amounts of one resource in the largest unit that shows each of them exactly (the base
 * unit always does): `1.5my` and `2my`, never `47336400MI` beside `2my`.
 */
export function alike(resource: Resource, texts: string[]): string[] {
  const values = texts.map((t) => parseAmount(resource, t))
  const largest = values.reduce((a, b) => (b > a ? b : a), 0n)
  for (const [name, size] of UNITS[resource]) {
    // A unit larger than every amount would show only fractions: skip it, as formatAmount does
    // (except for cpu, where `0.5my` reads better than millions of MI).
    if (size > largest && size !== 1n && resource !== 'cpu') continue
    const shown = values.map((v) => exactIn(v, name, size))
    if (shown.every((s) => s !== null)) return shown as string[]
  }
  return texts
}

/** `a of b` for two amount lists, each resource's pair in one unit. */
export function vecOf(a: Record<string, string>, b: Record<string, string>): string {
  const names = [...new Set([...Object.keys(b), ...Object.keys(a)])]
  const pair = (r: string): [string, string] => {
    const x = a[r] ?? '0'
    const y = b[r] ?? '0'
    return isResource(r) ? (alike(r, [x, y]) as [string, string]) : [x, y]
  }
  const pairs = names.map((r) => [r, ...pair(r)] as const)
  return `${pairs.map(([r, x]) => `${r}=${x}`).join(',')} of ${pairs.map(([r, , y]) => `${r}=${y}`).join(',')}`
}

/**
 * Amounts in `--json`, the same way in every command: each amount comes in both forms side by
 * side, the exact integer in base units (a decimal string: JSON numbers are exact only to 2^53)
 * and the human form in the amount syntax. The agent's answers carry the human form, so a field
 * `holds` gains `holdsUnits`; the audit report carries base units, so `owes` gains `owesText`.
 * Recognised: a vector (an object whose keys are cpu, disk, net) and a single `amount`, `free` or
 * `used` beside a `resource`.
 */
export function bothForms(json: unknown, given: 'text' | 'units'): unknown {
  if (Array.isArray(json)) return json.map((x) => bothForms(x, given))
  if (typeof json !== 'object' || json === null) return json
  const obj = json as Record<string, unknown>
  const out: Record<string, unknown> = {}
  const suffix = given === 'text' ? 'Units' : 'Text'
  const resource =
    typeof obj.resource === 'string' && isResource(obj.resource) ? obj.resource : null
  for (const [k, v] of Object.entries(obj)) {
    out[k] = bothForms(v, given)
    const other = isVector(v)
      ? vectorOther(v, given)
      : resource && typeof v === 'string' && SINGLE.has(k)
        ? convert(resource, v, given)
        : undefined
    if (other !== undefined && !(k + suffix in obj)) out[k + suffix] = other
  }
  return out
}

function vectorOther(
  v: Record<string, string>,
  given: 'text' | 'units'
): Record<string, string> | undefined {
  const out: Record<string, string> = {}
  for (const [r, a] of Object.entries(v)) {
    const o = convert(r as Resource, a, given)
    if (o === undefined) return undefined
    out[r] = o
  }
  return out
}

const SINGLE: ReadonlySet<string> = new Set(['amount', 'free', 'used'])

function isVector(v: unknown): v is Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const entries = Object.entries(v)
  return entries.length > 0 && entries.every(([r, a]) => isResource(r) && typeof a === 'string')
}

/** The other form of one amount; undefined for a string that is not one (it is left alone). */
function convert(resource: Resource, text: string, given: 'text' | 'units'): string | undefined {
  try {
    if (given === 'text') return parseAmount(resource, text).toString()
    return /^(0|[1-9][0-9]*)$/.test(text) ? formatAmount(resource, BigInt(text)) : undefined
  } catch {
    return undefined
  }
}
