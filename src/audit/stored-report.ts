/**
 * The report as the cache stores it: the same values, with the two lists that make up nearly all
 * of it (debts, and guests with their usage history) written as columns with the participant ids
 * in one table. A million entries give a report of about 155 MB of JSON, 86 MB of it debts that
 * repeat two 64-digit ids each; packed, the cache reads back several times faster, which is most
 * of a re-audit's time (docs/AUDIT.md section 9).
 *
 * unpack(pack(r)) is `r` with its fields in the same order, so its JSON is byte for byte the
 * same. An object of a shape this module does not know (a field added to the report one day) is
 * not packed: its list is stored as it is.
 */
import type { StoredReport } from './cache.js'
import type { Debt, GuestSummary } from './report.js'

export interface PackedDebts {
  ids: string[]
  /** Per debt: issuer, holder (indexes into ids), resource, amount. */
  rows: Array<number | string>
}

export interface PackedGuests {
  ids: string[]
  /** Per guest: id, host, owner (indexes), admitted, reserved and used (cpu, disk, net), ended, void, usage rows. */
  rows: Array<number | string | null>
  /** Per guest, its usage rows as time, cpu, disk, net, flattened. */
  usage: Array<Array<number | string>>
}

export type PackedReport = Omit<StoredReport, 'debts' | 'guests'> & {
  debts: PackedDebts | Debt[]
  guests: PackedGuests | GuestSummary[]
}

const DEBT_KEYS = 'issuer,holder,resource,amount'
const GUEST_KEYS = 'id,host,owner,admitted,reserved,used,ended,void,usage'
const VECTOR_KEYS = 'cpu,disk,net'
const USAGE_KEYS = 'time,cpu,disk,net'
const GUEST_WIDTH = 12

const keys = (o: object): string => Object.keys(o).join(',')

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
    if (keys(d) !== DEBT_KEYS) return debts
    rows.push(t.at(d.issuer), t.at(d.holder), d.resource, d.amount)
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
      amount: rows[i + 3] as string
    })
  }
  return out
}

function packGuests(guests: GuestSummary[]): PackedGuests | GuestSummary[] {
  const t = interner()
  const rows: Array<number | string | null> = []
  const usage: Array<Array<number | string>> = []
  for (const g of guests) {
    if (keys(g) !== GUEST_KEYS || keys(g.reserved) !== VECTOR_KEYS || keys(g.used) !== VECTOR_KEYS)
      return guests
    const u: Array<number | string> = []
    for (const row of g.usage) {
      if (keys(row) !== USAGE_KEYS) return guests
      u.push(row.time, row.cpu, row.disk, row.net)
    }
    rows.push(g.id, t.at(g.host), t.at(g.owner), g.admitted)
    rows.push(g.reserved.cpu, g.reserved.disk, g.reserved.net)
    rows.push(g.used.cpu, g.used.disk, g.used.net)
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
        cpu: u[j + 1] as string,
        disk: u[j + 2] as string,
        net: u[j + 3] as string
      })
    }
    out.push({
      id: rows[i] as string,
      host: ids[rows[i + 1] as number] as string,
      owner: ids[rows[i + 2] as number] as string,
      admitted: rows[i + 3] as number,
      reserved: {
        cpu: rows[i + 4] as string,
        disk: rows[i + 5] as string,
        net: rows[i + 6] as string
      },
      used: { cpu: rows[i + 7] as string, disk: rows[i + 8] as string, net: rows[i + 9] as string },
      ended: rows[i + 10] as string | null,
      void: rows[i + 11] as string | null,
      usage
    })
  }
  return out
}
