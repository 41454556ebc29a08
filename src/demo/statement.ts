/**
 * The story's closing table as a statement: each amount column in one unit, chosen for the
 * column and named in its header, so a person can read down it (`9.999995` above `7` under
 * `holds cpu (my)`, never `315575850MI` beside `7my`). Figures are rounded to six decimals and
 * their decimal points lined up; the exact base-unit amounts stay in `--json` (`summary`).
 */
import { RESOURCES, UNITS, type Resource } from '../ledger/amounts.js'

const DECIMALS = 6

/** One participant's line, amounts in base units (MI, bytes) as decimal strings, as JSON has them. */
export interface StatementRow {
  who: string
  holds: Record<Resource, string>
  owes: Record<Resource, string>
  guests: number
  /** What the guests this participant's host runs have used so far. */
  used: Record<Resource, string>
}

/** `value` base units of `resource` in `unit` (one of UNITS[resource]), half up, zeros trimmed. */
export function inUnit(resource: Resource, value: bigint, unit: string): string {
  const size = unitSize(resource, unit)
  const scale = 10n ** BigInt(DECIMALS)
  // In integers: no float ever touches an amount.
  const scaled = (value * scale * 2n + size) / (size * 2n)
  const whole = scaled / scale
  const frac = (scaled % scale).toString().padStart(DECIMALS, '0').replace(/0+$/, '')
  return frac ? `${whole}.${frac}` : `${whole}`
}

function unitSize(resource: Resource, unit: string): bigint {
  const size = UNITS[resource].find(([name]) => name === unit)?.[1]
  if (size === undefined) throw new RangeError(`${unit} is not a unit of ${resource}`)
  return size
}

/** The unit a column of amounts is shown in: the largest unit its largest figure reaches. */
export function columnUnit(resource: Resource, values: bigint[]): string {
  const max = values.reduce((m, v) => (v > m ? v : m), 0n)
  const units = UNITS[resource]
  for (const [name, size] of units) if (max >= size) return name
  return (units[units.length - 1] as readonly [string, bigint])[0]
}

/** A column of figures in one unit, padded on the right so that the decimal points line up. */
function column(resource: Resource, values: bigint[]): { unit: string; cells: string[] } {
  const unit = columnUnit(resource, values)
  const raw = values.map((v) => inUnit(resource, v, unit))
  const decimals = Math.max(0, ...raw.map((c) => (c.split('.')[1] ?? '').length))
  const cells = raw.map((c) => {
    const frac = c.split('.')[1]
    if (decimals === 0) return c
    return frac === undefined
      ? c + ' '.repeat(decimals + 1)
      : c + ' '.repeat(decimals - frac.length)
  })
  return { unit, cells }
}

/** The table, header first: who, then holds/owes per resource, then the hosts' guests. */
export function statement(rows: StatementRow[]): string[][] {
  const cols: Array<{ head: string; cells: string[] }> = [
    { head: 'who', cells: rows.map((r) => r.who) }
  ]
  const amounts = (head: string, resource: Resource, pick: (r: StatementRow) => string): void => {
    const c = column(
      resource,
      rows.map((r) => BigInt(pick(r)))
    )
    cols.push({ head: `${head} ${resource} (${c.unit})`, cells: c.cells })
  }
  for (const r of RESOURCES) {
    amounts('holds', r, (row) => row.holds[r])
    amounts('owes', r, (row) => row.owes[r])
  }
  cols.push({ head: 'guests', cells: rows.map((r) => String(r.guests)) })
  amounts('guests used', 'cpu', (row) => row.used.cpu)
  amounts('guests used', 'net', (row) => row.used.net)
  return [cols.map((c) => c.head), ...rows.map((_r, i) => cols.map((c) => c.cells[i] as string))]
}
