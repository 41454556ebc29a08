/**
 * The audit report: what the logs say once every rule was replayed over all of them. Amounts are
 * decimal strings of base units (JSON has no bigint); `quid audit --json` prints this object.
 */
import { RESOURCES, type Resource } from '../ledger/amounts.js'
import type { LedgerState } from '../ledger/state.js'
import type { SignedHead } from '../ledger/logs.js'
import type { ResourceVector } from '../ledger/records.js'
import type { AuditViolation } from './violation.js'

export const REPORT_VERSION = 1

export type Vector = Record<Resource, string>

export interface LogSummary {
  id: string
  sources: string[]
  /** Entries in the longest copy. */
  length: number
  /** Entries bound to a verified signed head (the ones replayed). */
  authentic: number
  head: SignedHead | null
}

export interface ParticipantSummary {
  id: string
  /** Published capacity (latest), or null. */
  capacity: Vector | null
  mips: number | null
  /** What it owes now, per resource (its unexpired root legs less what was consumed). */
  owes: Vector
  /** What it can use now, summed over the good claims it holds. */
  holds: Vector
}

export interface Debt {
  issuer: string
  holder: string
  resource: Resource
  /** What the holder can still use of the issuer's good claims it holds. */
  amount: string
}

export interface GuestSummary {
  id: string
  host: string
  owner: string
  admitted: number
  reserved: Vector
  used: Vector
  ended: string | null
  void: string | null
  /** Cumulative usage as the host reported it, in its log's order. */
  usage: Array<{ time: number; cpu: string; disk: string; net: string }>
}

export interface AuditStats {
  copies: number
  entries: number
  /** Entries whose signatures were verified in this run. */
  verified: number
  /** Entries an earlier audit had verified (checkpoint cache). */
  cached: number
  workers: number
  /** The report of an earlier audit of the same inputs, returned from the cache (cache.ts). */
  reused: boolean
  ms: number
}

export interface AuditReport {
  version: number
  now: number
  ok: boolean
  stats: AuditStats
  byCode: Record<string, number>
  logs: LogSummary[]
  participants: ParticipantSummary[]
  debts: Debt[]
  guests: GuestSummary[]
  violations: AuditViolation[]
}

const zero = (): ResourceVector => ({ cpu: 0n, disk: 0n, net: 0n })
const vec = (v: ResourceVector): Vector => ({
  cpu: v.cpu.toString(),
  disk: v.disk.toString(),
  net: v.net.toString()
})

export function buildReport(
  state: LedgerState,
  violations: AuditViolation[],
  logs: LogSummary[],
  timeline: Map<string, GuestSummary['usage']>,
  stats: AuditStats,
  now: number
): AuditReport {
  // A participant is one whose signed head verified, or whom a replayed record names: the id in a
  // copy without a verified head (an empty export's, a forged one) is signed by nobody.
  const ids = new Set<string>(logs.filter((l) => l.head !== null).map((l) => l.id))
  for (const c of state.allClaims()) {
    ids.add(c.issuer)
    ids.add(c.holder)
  }
  // One pass over the claims gives both the debts and what each holder can use (balance() per
  // holder would judge every claim again).
  const owed = new Map<string, Map<string, ResourceVector>>()
  const holds = new Map<string, ResourceVector>()
  for (const [holder, claims] of state.claimsByHolder()) {
    for (const cid of claims) {
      const c = state.claim(cid)
      if (!c || !state.claimStatus(cid, now).ok) continue
      const free = state.free(cid)
      if (free === 0n) continue
      let toHolder = owed.get(c.issuer)
      if (!toHolder) owed.set(c.issuer, (toHolder = new Map()))
      let debt = toHolder.get(holder)
      if (!debt) toHolder.set(holder, (debt = zero()))
      debt[c.resource] += free
      let h = holds.get(holder)
      if (!h) holds.set(holder, (h = zero()))
      h[c.resource] += free
    }
  }
  const participants: ParticipantSummary[] = [...ids].sort().map((id) => {
    const cap = state.capacityOf(id)
    return {
      id,
      capacity: cap ? vec(cap.limits) : null,
      mips: cap ? cap.mips : null,
      owes: vec(state.obligations(id, now)),
      holds: vec(holds.get(id) ?? zero())
    }
  })
  // By issuer, then holder, then resource.
  const debts: Debt[] = []
  for (const issuer of [...owed.keys()].sort()) {
    const toHolder = owed.get(issuer) as Map<string, ResourceVector>
    for (const holder of [...toHolder.keys()].sort()) {
      const v = toHolder.get(holder) as ResourceVector
      for (const resource of RESOURCES) {
        if (v[resource] > 0n)
          debts.push({ issuer, holder, resource, amount: v[resource].toString() })
      }
    }
  }
  const guests: GuestSummary[] = [...state.allGuests()].map((g) => ({
    id: g.id,
    host: g.host,
    owner: g.owner,
    admitted: g.time,
    reserved: vec(g.reserved),
    used: vec(g.used),
    ended: g.ended ? g.ended.reason : null,
    void: g.void,
    usage: timeline.get(g.id) ?? []
  }))
  const byCode: Record<string, number> = {}
  for (const v of violations) byCode[v.code] = (byCode[v.code] ?? 0) + 1
  return {
    version: REPORT_VERSION,
    now,
    ok: violations.length === 0,
    stats,
    byCode,
    logs,
    participants,
    debts,
    guests,
    violations
  }
}
