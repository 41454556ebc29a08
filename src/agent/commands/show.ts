/**
 * How the commands show amounts and ids to a person. Amounts shown side by side (`free of`, `used
 * of`) share one unit, so that they can be compared at a glance; the agent's answers carry them
 * in the amount syntax (docs/FORMAT.md), each in its own best unit.
 */
import { isResource, parseAmount, UNITS, type Resource } from '../../ledger/amounts.js'

/** `cpu=1my,disk=10MB`, as the agent sent it. */
export const vec = (v: Record<string, string>): string =>
  Object.entries(v)
    .map(([r, a]) => `${r}=${a}`)
    .join(',')

/** An id shortened for a table; every command accepts a unique prefix (git style). */
export const short = (id: string): string => id.slice(0, 12)

/** `value` in `unit` exactly, with at most six decimals, or null when it does not come out so. */
function exactIn(value: bigint, name: string, size: bigint): string | null {
  const whole = value / size
  const rest = value % size
  if (rest === 0n) return `${whole}${name}`
  for (let digits = 1; digits <= 6; digits++) {
    const scaled = rest * 10n ** BigInt(digits)
    if (scaled % size === 0n)
      return `${whole}.${(scaled / size).toString().padStart(digits, '0')}${name}`
  }
  return null
}

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
