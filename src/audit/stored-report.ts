/**
 * The report as the cache stores it: the same values, with the two lists that make up nearly all
 * of it (debts, and guests with their usage history) written as columns with the participant ids
 * in one table. A million entries give a report of about 155 MB of JSON, 86 MB of it debts that
 * repeat two 64-digit ids each; packed, the cache reads back several times faster, which is most
 * of a re-audit's time (docs/AUDIT.md section 9). Amounts of up to 15 digits are stored as JSON
 * numbers (exact: below 2^53), which JSON.parse reads about four times faster than strings.
 *
 * unpack(pack(r)) is `r` with its fields in the same order, so its JSON is byte for byte the
 * same. An object of a shape this module does not know (a field added to the report one day) is
 * not packed: its list is stored as it is.
 */
import type { AuditReport, Debt, GuestSummary } from './report.js'

/** A report without its `stats` (those describe the run, not the logs). */
export type StoredReport = Omit<AuditReport, 'stats'>

export interface PackedDebts {
  ids: string[]
  /** Per debt: issuer, holder (indexes into ids), resource, amount (a number when exact). */
  rows: Array<number | string>
}

export interface PackedGuests {
  ids: string[]
  /** Per guest: id, host, owner (indexes), admitted, reserved and used (cpu, disk, net), ended, void. */
  rows: Array<number | string | null>
  /** Per guest, its usage rows as time, cpu, disk, net, flattened. */
  usage: Array<Array<number | string>>
}

export type PackedReport = Omit<StoredReport, 'debts' | 'guests'> & {
  debts: PackedDebts | Debt[]
  guests: PackedGuests | GuestSummary[]
}

const DEBT_KEYS = ['issuer', 'holder', 'resource', 'amount']
const GUEST_KEYS = ['id', 'host', 'owner', 'admitted', 'reserved', 'used', 'ended', 'void', 'usage']
const VECTOR_KEYS = ['cpu', 'disk', 'net']
const USAGE_KEYS = ['time', 'cpu', 'disk', 'net']
const GUEST_WIDTH = 12

/**
 * Whether `o` has exactly these own fields in this order. Checked on every object, not the first
 * of a list only: a field set on some objects alone would otherwise be lost.
 */
function shaped(o: object, keys: string[]): boolean {
  let n = 0
  for (const k in o) if (k !== keys[n++]) return false
  return n === keys.length
}

const SMALL = /^(0|[1-9][0-9]{0,14})$/
/** A decimal amount as a number when that is exact, else the string. */
const amount = (s: string): number | string => (SMALL.test(s) ? Number(s) : s)
/** The decimal string back (String(n) of an integer below 2^53 is its decimal digits). */
const text = (v: number | string | null | undefined): string =>
  typeof v === 'number' ? String(v) : (v as string)

export function pack(report: StoredReport): PackedReport {
  return { ...report, debts: packDebts(report.debts), guests: packGuests(report.guests) }
}

export function unpack(packed: PackedReport): StoredReport {
  const debts = Array.isArray(packed.debts) ? packed.debts : unpackDebts(packed.debts)
  const guests = Array.isArray(packed.guests) ? packed.guests : unpackGuests(packed.guests)
  // Spread in the packed object's own order, which is the report's.
  return { ...packed, debts, guests }
}

function interner(): { ids: string[]; at: (id: string) => number } {
  const ids: string[] = []
  const index = new Map<string, number>()
  return {
    ids,
    at(id) {
      let i = index.get(id)
      if (i === undefined) index.set(id, (i = ids.push(id) - 1))
      return i
    }
  }
}

function packDebts(debts: Debt[]): PackedDebts | Debt[] {
  const t = interner()
  const rows: Array<number | string> = []
  for (const d of debts) {
    if (!shaped(d, DEBT_KEYS)) return debts
    rows.push(t.at(d.issuer), t.at(d.holder), d.resource, amount(d.amount))
  }
  return { ids: t.ids, rows }
}

function unpackDebts(p: PackedDebts): Debt[] {
  const out: Debt[] = []
  const { ids, rows } = p
  for (let i = 0; i < rows.length; i += 4) {
    out.push({
      issuer: ids[rows[i] as number] as string,
      holder: ids[rows[i + 1] as number] as string,
      resource: rows[i + 2] as Debt['resource'],
      amount: text(rows[i + 3])
    })
  }
  return out
}

function packGuests(guests: GuestSummary[]): PackedGuests | GuestSummary[] {
  const t = interner()
  const rows: Array<number | string | null> = []
  const usage: Array<Array<number | string>> = []
  for (const g of guests) {
    if (!shaped(g, GUEST_KEYS) || !shaped(g.reserved, VECTOR_KEYS) || !shaped(g.used, VECTOR_KEYS))
      return guests
    const u: Array<number | string> = []
    for (const row of g.usage) {
      if (!shaped(row, USAGE_KEYS)) return guests
      u.push(row.time, amount(row.cpu), amount(row.disk), amount(row.net))
    }
    rows.push(g.id, t.at(g.host), t.at(g.owner), g.admitted)
    rows.push(amount(g.reserved.cpu), amount(g.reserved.disk), amount(g.reserved.net))
    rows.push(amount(g.used.cpu), amount(g.used.disk), amount(g.used.net))
    rows.push(g.ended, g.void)
    usage.push(u)
  }
  return { ids: t.ids, rows, usage }
}

function unpackGuests(p: PackedGuests): GuestSummary[] {
  const out: GuestSummary[] = []
  const { ids, rows } = p
  for (let i = 0, k = 0; i < rows.length; i += GUEST_WIDTH, k++) {
    const u = p.usage[k] as Array<number | string>
    const usage: GuestSummary['usage'] = []
    for (let j = 0; j < u.length; j += 4) {
      usage.push({
        time: u[j] as number,
        cpu: text(u[j + 1]),
        disk: text(u[j + 2]),
        net: text(u[j + 3])
      })
    }
    out.push({
      id: rows[i] as string,
      host: ids[rows[i + 1] as number] as string,
      owner: ids[rows[i + 2] as number] as string,
      admitted: rows[i + 3] as number,
      reserved: { cpu: text(rows[i + 4]), disk: text(rows[i + 5]), net: text(rows[i + 6]) },
      used: { cpu: text(rows[i + 7]), disk: text(rows[i + 8]), net: text(rows[i + 9]) },
      ended: rows[i + 10] as string | null,
      void: rows[i + 11] as string | null,
      usage
    })
  }
  return out
}
