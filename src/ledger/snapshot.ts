/**
 * A local snapshot of a LedgerState, so that reopening a ledger need not replay its whole history.
 *
 * The snapshot is a private cache format (JSON with bigints tagged), not part of the protocol: what
 * makes it trustworthy is the signed `checkpoint` record in the participant's own log that carries
 * BLAKE2b-256 of these exact bytes. A snapshot whose hash does not match is refused and the ledger
 * replays from the start instead.
 */
import { LedgerState } from './state.js'
import { blake2b256 } from '../crypto/hash.js'

// 2: capacity entries carry `since`, agreements `time`. A format-1 snapshot is refused, so the
// ledger replays its log from the start instead (FORMAT.md 10.11).
const FORMAT = 2

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return { $n: value.toString() }
  if (value instanceof Map) return { $map: [...value.entries()] }
  if (value instanceof Set) return { $set: [...value] }
  return value
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object') {
    const v = value as Record<string, unknown>
    if (typeof v.$n === 'string') return BigInt(v.$n)
    if (Array.isArray(v.$map)) return new Map(v.$map as Array<[unknown, unknown]>)
    if (Array.isArray(v.$set)) return new Set(v.$set as unknown[])
  }
  return value
}

export function encodeSnapshot(state: LedgerState): Uint8Array {
  const body = {
    format: FORMAT,
    logs: state.logs,
    claims: state.claims,
    agreements: state.agreements,
    guests: state.guests,
    capacity: state.capacity,
    rootsByIssuer: state.rootsByIssuer,
    pending: state.pending,
    commitments: state.commitments,
    consumed: state.consumed,
    entryViolations: state.entryViolations
  }
  return new TextEncoder().encode(JSON.stringify(body, replacer))
}

export function snapshotHash(bytes: Uint8Array): Uint8Array {
  return blake2b256(bytes)
}

export function decodeSnapshot(bytes: Uint8Array): LedgerState {
  const body = JSON.parse(new TextDecoder().decode(bytes), reviver) as Record<string, unknown>
  if (body.format !== FORMAT) throw new Error(`unknown snapshot format ${String(body.format)}`)
  const state = new LedgerState()
  const copy = <K, V>(from: unknown, to: Map<K, V>): void => {
    for (const [k, v] of from as Map<K, V>) to.set(k, v)
  }
  copy(body.logs, state.logs)
  copy(body.claims, state.claims)
  copy(body.agreements, state.agreements)
  copy(body.guests, state.guests)
  copy(body.capacity, state.capacity)
  copy(body.rootsByIssuer, state.rootsByIssuer)
  copy(body.pending, state.pending)
  copy(body.commitments, state.commitments)
  copy(body.consumed, state.consumed)
  state.entryViolations.push(...(body.entryViolations as never[]))
  for (const c of state.claims.values()) {
    let set = state.byHolder.get(c.holder)
    if (!set) state.byHolder.set(c.holder, (set = new Set()))
    set.add(c.id)
  }
  return state
}
