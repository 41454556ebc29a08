/**
 * Resources and amounts: what people type (`cpu=10my,disk=10MB,net=100MB`) and the exact bigint
 * base units the records carry. Parsing is exact or it fails: no floats, no rounding, no guessing.
 *
 * Grammar of one amount (docs/FORMAT.md, "Amounts for people"):
 *   amount  = number [unit]
 *   number  = "0" | [1-9][0-9]*  [ "." [0-9]+ ]        (no sign, no leading zeros, no spaces, no hex)
 *   unit    = cpu:  "my" (mips-year = 31,557,600 MI) | "MI" (the base unit)
 *             disk, net: "B" (the base unit) | "kB" (10^3) | "MB" (10^6) | "GB" (10^9)
 * A number without a unit is in base units. A fraction must come out as a whole number of base
 * units ("1.5MI" and "0.0000001MB" are refused). Results above 2^64 - 1 are refused.
 */
import { MAX_AMOUNT, MI_PER_MIPS_YEAR } from './constants.js'
import { QuidError, ErrorCodes } from '../core/errors.js'

export const RESOURCES = ['cpu', 'disk', 'net'] as const
export type Resource = (typeof RESOURCES)[number]

/** Some amount of each resource; a missing resource means none. */
export type Amounts = Partial<Record<Resource, bigint>>

/** Wire tags of the resources, fixed forever. */
export const RESOURCE_CODES: Readonly<Record<Resource, number>> = { cpu: 1, disk: 2, net: 3 }

export function resourceFromCode(code: number): Resource {
  const r = RESOURCES[code - 1]
  if (r === undefined) throw new QuidError(ErrorCodes.BAD_RESOURCE, `unknown resource tag ${code}`)
  return r
}

export function isResource(s: string): s is Resource {
  return (RESOURCES as readonly string[]).includes(s)
}

/** Units people may write, per resource, with their size in base units. Largest first. */
export const UNITS: Readonly<Record<Resource, ReadonlyArray<readonly [string, bigint]>>> = {
  cpu: [
    ['my', MI_PER_MIPS_YEAR],
    ['MI', 1n]
  ],
  disk: [
    ['GB', 1_000_000_000n],
    ['MB', 1_000_000n],
    ['kB', 1_000n],
    ['B', 1n]
  ],
  net: [
    ['GB', 1_000_000_000n],
    ['MB', 1_000_000n],
    ['kB', 1_000n],
    ['B', 1n]
  ]
}

const AMOUNT = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?([A-Za-z]*)$/

function bad(message: string, input: string): QuidError {
  return new QuidError(ErrorCodes.BAD_AMOUNT, message, { input })
}

/** Parses one amount of `resource`, e.g. `10my`, `1.5MB`, `4096`. Zero is allowed here. */
export function parseAmount(resource: Resource, text: string): bigint {
  const m = AMOUNT.exec(text)
  if (!m) {
    throw bad(
      `${resource} amount ${JSON.stringify(text)} is not a plain decimal number with a unit ` +
        `(like ${resource === 'cpu' ? '10my or 5000MI' : '10MB or 512kB'}); no signs, spaces, leading zeros or hex`,
      text
    )
  }
  const [, whole = '', frac = '', unitText = ''] = m
  const units = UNITS[resource]
  const unit = unitText === '' ? 1n : units.find(([u]) => u === unitText)?.[1]
  if (unit === undefined) {
    throw bad(
      `unknown unit ${JSON.stringify(unitText)} for ${resource}; use one of ${units.map(([u]) => u).join(', ')}`,
      text
    )
  }
  const scale = 10n ** BigInt(frac.length)
  const numerator = (BigInt(whole) * scale + BigInt(frac || '0')) * unit
  if (numerator % scale !== 0n) {
    throw bad(
      `${resource} amount ${text} is not a whole number of base units (${resource === 'cpu' ? 'MI' : 'bytes'})`,
      text
    )
  }
  const value = numerator / scale
  if (value > MAX_AMOUNT)
    throw bad(`${resource} amount ${text} is above the largest amount, 2^64 - 1 base units`, text)
  return value
}

/**
 * Parses an amount list: `cpu=10my,disk=10MB,net=100MB`. Each resource at most once, and (unless
 * `allowZero`) each amount at least one base unit, since a zero leg promises nothing.
 */
export function parseAmounts(text: string, opts: { allowZero?: boolean } = {}): Amounts {
  if (text.trim() === '')
    throw bad('the amount list is empty; write it like cpu=10my,disk=10MB,net=100MB', text)
  const out: Amounts = {}
  for (const part of text.split(',')) {
    const eq = part.indexOf('=')
    const name = eq < 0 ? part : part.slice(0, eq)
    if (eq < 0) throw bad(`${JSON.stringify(part)} is not resource=amount (like cpu=10my)`, text)
    if (!isResource(name)) {
      throw new QuidError(
        ErrorCodes.BAD_RESOURCE,
        `unknown resource ${JSON.stringify(name)}; use cpu, disk or net`,
        { input: text }
      )
    }
    if (out[name] !== undefined) throw bad(`${name} is given twice`, text)
    const value = parseAmount(name, part.slice(eq + 1))
    if (value === 0n && !opts.allowZero) throw bad(`${name} amount must be more than zero`, text)
    out[name] = value
  }
  return out
}

/**
 * Formats an amount exactly, in the largest unit that shows it with at most six decimals
 * (`10my`, `1.5MB`, `123MI`). `parseAmount(r, formatAmount(r, x)) === x` for every x.
 */
export function formatAmount(resource: Resource, value: bigint): string {
  if (value < 0n) throw new RangeError('amounts are never negative')
  if (value === 0n) return resource === 'cpu' ? '0MI' : '0B'
  for (const [name, size] of UNITS[resource]) {
    if (size === 1n) break
    if (value < size && resource !== 'cpu') continue
    const shown = exactIn(value, name, size)
    if (shown !== null) return shown
  }
  return `${value}${resource === 'cpu' ? 'MI' : 'B'}`
}

/** `value` in the unit `name` of `size` base units exactly, with at most six decimals, or null. */
export function exactIn(value: bigint, name: string, size: bigint): string | null {
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

/** `cpu=10my,disk=10MB,net=100MB`; resources with no amount are left out, `none` if all are. */
export function formatAmounts(a: Amounts): string {
  const parts = RESOURCES.filter((r) => a[r] !== undefined && a[r] !== 0n).map(
    (r) => `${r}=${formatAmount(r, a[r] as bigint)}`
  )
  return parts.length ? parts.join(',') : 'none'
}

/** Adds amounts; the result must still fit a record (at most 2^64 - 1 per resource). */
export function addAmounts(x: Amounts, y: Amounts): Amounts {
  const out: Amounts = {}
  for (const r of RESOURCES) {
    const s = (x[r] ?? 0n) + (y[r] ?? 0n)
    if (s > MAX_AMOUNT)
      throw new QuidError(ErrorCodes.BAD_AMOUNT, `${r}: the sum is above 2^64 - 1 base units`)
    if (x[r] !== undefined || y[r] !== undefined) out[r] = s
  }
  return out
}
