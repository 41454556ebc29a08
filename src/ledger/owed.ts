/**
 * What each issuer owes, per resource, kept up to date instead of recomputed.
 *
 * An issuer owes the sum, over its unexpired root legs, of each leg's amount less what guests
 * consumed of it (disk, a quota, is owed in full). The capacity rule asks this before every issue,
 * so summing every leg ever issued each time made replay quadratic in the length of a log.
 *
 * Here the legs of one issuer and resource are split at a time `floor`: those expiring after it
 * are summed (`sum`) and kept in a min-heap by expiry; the others sit in a list sorted by expiry.
 * A query at `at` moves legs across the split until `floor = at`: forward past the earliest
 * expiries, or back from the latest expired ones. Clocks only move forward within a log, so the
 * usual query costs nothing but the legs that just expired. Consumption changes a summed leg's
 * value, so it is reported here (`consume`). The answer is exactly the sum over the legs, as
 * `LedgerState.outstanding` defines it.
 *
 * Legs are taken lazily from `LedgerState.rootsByIssuer` (append-only), so a state restored from
 * a snapshot needs nothing rebuilt: the first query takes every leg with its current value.
 */
import type { Resource } from './amounts.js'
import type { ClaimInfo } from './claims.js'

interface Leg {
  cid: string
  resource: Resource
  expires: number
  /** Counted in `sum` (expires after `floor`). */
  summed: boolean
}

class ByResource {
  /** Legs expiring after `floor`: a binary min-heap by `expires`. */
  readonly heap: Leg[] = []
  /** Legs expiring at or before `floor`, ascending by `expires`. */
  readonly expired: Leg[] = []
  floor = -Infinity
  sum = 0n
}

interface Issuer {
  /** How many entries of the issuer's `rootsByIssuer` list have been taken. */
  taken: number
  legs: Map<string, Leg>
  by: Record<Resource, ByResource>
}

export class OwedIndex {
  private readonly issuers = new Map<string, Issuer>()

  constructor(
    private readonly roots: ReadonlyMap<string, readonly string[]>,
    private readonly claims: ReadonlyMap<string, ClaimInfo>,
    private readonly consumed: ReadonlyMap<string, bigint>
  ) {}

  /** What `issuer` owes of `resource` at time `at` (see the module comment). */
  outstanding(issuer: string, resource: Resource, at: number): bigint {
    const it = this.issuer(issuer)
    const side = it.by[resource]
    // No time compares with NaN, so nothing counts as expired: the total of every leg.
    if (Number.isNaN(at)) {
      let all = side.sum
      for (const leg of side.expired) all += this.value(leg)
      return all
    }
    if (at >= side.floor) {
      while (side.heap.length > 0 && (side.heap[0] as Leg).expires <= at) {
        const leg = popMin(side.heap)
        leg.summed = false
        side.sum -= this.value(leg)
        side.expired.push(leg)
      }
    } else {
      while (
        side.expired.length > 0 &&
        (side.expired[side.expired.length - 1] as Leg).expires > at
      ) {
        const leg = side.expired.pop() as Leg
        leg.summed = true
        side.sum += this.value(leg)
        push(side.heap, leg)
      }
    }
    side.floor = at
    return side.sum
  }

  /** Guests consumed `delta` more of claim `cid`; call after updating the consumed map. */
  consume(cid: string, delta: bigint): void {
    const c = this.claims.get(cid)
    if (!c) return
    const it = this.issuers.get(c.issuer)
    const leg = it?.legs.get(cid)
    // A leg not taken yet is valued when it is; one past its expiry is valued if it comes back.
    if (it && leg?.summed && leg.resource !== 'disk') it.by[leg.resource].sum -= delta
  }

  private value(leg: Leg): bigint {
    const c = this.claims.get(leg.cid) as ClaimInfo
    return leg.resource === 'disk' ? c.amount : c.amount - (this.consumed.get(leg.cid) ?? 0n)
  }

  private issuer(key: string): Issuer {
    let it = this.issuers.get(key)
    if (!it) {
      it = {
        taken: 0,
        legs: new Map(),
        by: { cpu: new ByResource(), disk: new ByResource(), net: new ByResource() }
      }
      this.issuers.set(key, it)
    }
    const list = this.roots.get(key)
    if (list) {
      for (; it.taken < list.length; it.taken++) {
        const cid = list[it.taken] as string
        const c = this.claims.get(cid) as ClaimInfo
        // Void legs are never owed; a leg is rooted only once, and never voided after.
        if (c.void) continue
        const leg: Leg = { cid, resource: c.resource, expires: c.expires, summed: false }
        it.legs.set(cid, leg)
        const side = it.by[c.resource]
        if (c.expires > side.floor) {
          leg.summed = true
          side.sum += this.value(leg)
          push(side.heap, leg)
        } else {
          insertSorted(side.expired, leg)
        }
      }
    }
    return it
  }
}

function push(heap: Leg[], leg: Leg): void {
  let i = heap.length
  heap.push(leg)
  while (i > 0) {
    const parent = (i - 1) >> 1
    if ((heap[parent] as Leg).expires <= leg.expires) break
    heap[i] = heap[parent] as Leg
    i = parent
  }
  heap[i] = leg
}

function popMin(heap: Leg[]): Leg {
  const top = heap[0] as Leg
  const last = heap.pop() as Leg
  if (heap.length === 0) return top
  let i = 0
  for (;;) {
    const l = 2 * i + 1
    if (l >= heap.length) break
    const r = l + 1
    const child = r < heap.length && (heap[r] as Leg).expires < (heap[l] as Leg).expires ? r : l
    if ((heap[child] as Leg).expires >= last.expires) break
    heap[i] = heap[child] as Leg
    i = child
  }
  heap[i] = last
  return top
}

function insertSorted(list: Leg[], leg: Leg): void {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((list[mid] as Leg).expires <= leg.expires) lo = mid + 1
    else hi = mid
  }
  list.splice(lo, 0, leg)
}
