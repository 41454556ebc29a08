/**
 * A realistic, valid history of several participants' logs, for replay benchmarks.
 *
 * Participants publish capacity, barter (agreements in both logs), sell (issues), pass claims on
 * (transfers, chained), and host guests paid with claims on themselves (admit, a few usage
 * reports, evict). Amounts are tracked so that every rule holds: replaying the result must find
 * no violation, which the benchmark asserts, so it measures the path honest data takes.
 *
 * Entries are signed directly (signId + encodeEntry) rather than with signRecord, which would
 * also verify every signature it makes and double the generation time.
 */
import { keyPairFromSeed, type KeyPair } from '../../src/crypto/identity.js'
import { deployRequestId, encodeEntry, recordId } from '../../src/ledger/codecs.js'
import { signDeployRequest, signId } from '../../src/ledger/sign.js'
import { claimId } from '../../src/ledger/state.js'
import { blake2b256 } from '../../src/crypto/hash.js'
import * as build from '../../src/ledger/build.js'
import { RESOURCES, type Resource } from '../../src/ledger/amounts.js'
import {
  signers,
  type LedgerRecord,
  type RecordType,
  type ResourceVector
} from '../../src/ledger/records.js'
import type { LogEntries } from '../../src/ledger/replay.js'

export interface Workload {
  logs: LogEntries[]
  /** The verifier's clock to replay with: just after the last entry. */
  now: number
  entries: number
  /** Signatures a replay verifies (record signatures plus owners' deploy-request signatures). */
  signatures: number
  counts: Record<RecordType, number>
}

interface Claim {
  id: Uint8Array
  root: Uint8Array
  issuer: number
  holder: number
  resource: Resource
  /** What is left to transfer or reserve, as the state will compute it. */
  free: bigint
}

interface Guest {
  /** The deploy request's id, which usage and evict name. */
  id: Uint8Array
  host: number
  reserved: ResourceVector
  used: ResourceVector
  spends: Array<{ claim: Claim; amount: bigint }>
  reports: number
  /** Usage reports before the guest is evicted. */
  lifetime: number
}

/** mulberry32: a small seeded generator, so every run replays the same shape of history. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const T0 = 1_800_000_000_000
const STEP_MS = 1000
const BIG = 10n ** 15n

export function generateWorkload(opts: {
  entries: number
  participants?: number
  seed?: number
  onProgress?: (done: number) => void
}): Workload {
  const n = opts.participants ?? 8
  const rand = prng(opts.seed ?? 1)
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1))
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
  const other = (i: number): number => (i + int(1, n - 1)) % n
  const bytes = (len: number): Uint8Array => Uint8Array.from({ length: len }, () => int(0, 255))

  const kps: KeyPair[] = Array.from({ length: n }, (_, i) =>
    keyPairFromSeed(blake2b256(new TextEncoder().encode(`bench-participant-${i}`)))
  )
  const logs: Uint8Array[][] = kps.map(() => [])
  const counts = Object.fromEntries(
    ['capacity', 'agreement', 'issue', 'transfer', 'admit', 'usage', 'evict', 'checkpoint'].map(
      (t) => [t, 0]
    )
  ) as Record<RecordType, number>
  const claims: Claim[] = []
  const guests: Guest[] = []
  let entries = 0
  let signatures = 0
  let t = T0

  // Signs a record by all its signers and appends it to the given logs (several for agreements).
  const put = (record: LedgerRecord, into: number[], extraSignatures = 0): Uint8Array => {
    const id = recordId(record)
    const sigs = signers(record).map((k) =>
      signId(record.type, id, kps.find((kp) => equalKey(kp.publicKey, k)) as KeyPair)
    )
    const entry = encodeEntry(record, sigs)
    // Each log gets bytes of its own, as replication would deliver them.
    for (const i of into) (logs[i] as Uint8Array[]).push(new Uint8Array(entry))
    entries += into.length
    signatures += into.length * (sigs.length + extraSignatures)
    counts[record.type] += into.length
    t += STEP_MS
    if (opts.onProgress && entries % 1000 < into.length) opts.onProgress(entries)
    return id
  }
  // Nonces from a seeded generator keep runs alike; build.* draws random ones otherwise.
  const withNonce = <R extends { nonce: Uint8Array }>(r: R): R => ({ ...r, nonce: bytes(16) })

  const capacity = (i: number): void => {
    put(build.capacity(kps[i]!.publicKey, int(500, 5000), { cpu: BIG, disk: BIG, net: BIG }, t), [
      i
    ])
  }
  const newClaims = (
    id: Uint8Array,
    legs: Array<{ issuer: number; holder: number; resource: Resource; amount: bigint }>
  ): void => {
    legs.forEach((l, leg) => {
      const cid = claimId(id, leg)
      claims.push({
        id: cid,
        root: cid,
        issuer: l.issuer,
        holder: l.holder,
        resource: l.resource,
        free: l.amount
      })
    })
  }
  const someAmounts = (): Partial<Record<Resource, bigint>> => {
    const out: Partial<Record<Resource, bigint>> = {}
    for (const r of RESOURCES) if (rand() < 0.5) out[r] = BigInt(int(1_000, 1_000_000))
    if (Object.keys(out).length === 0) out.cpu = BigInt(int(1_000, 1_000_000))
    return out
  }
  const agreement = (): void => {
    const a = int(0, n - 1)
    const b = other(a)
    const give = someAmounts()
    const want = someAmounts()
    const record = withNonce(
      build.agreement({ a: kps[a]!.publicKey, b: kps[b]!.publicKey, give, want, time: t })
    )
    const id = put(record, [a, b])
    newClaims(
      id,
      record.legs.map((l) => ({
        issuer: l.issuer === 'a' ? a : b,
        holder: l.issuer === 'a' ? b : a,
        resource: l.resource,
        amount: l.amount
      }))
    )
  }
  const issue = (): void => {
    const i = int(0, n - 1)
    const h = other(i)
    const record = withNonce(
      build.issue({
        issuer: kps[i]!.publicKey,
        holder: kps[h]!.publicKey,
        amounts: someAmounts(),
        time: t
      })
    )
    const id = put(record, [i])
    newClaims(
      id,
      record.legs.map((l) => ({ issuer: i, holder: h, resource: l.resource, amount: l.amount }))
    )
  }
  // A claim with something left, recent ones more likely (people pass on what they just got).
  const spendable = (ok: (c: Claim) => boolean): Claim | null => {
    for (let tries = 0; tries < 16 && claims.length > 0; tries++) {
      const c = claims[
        Math.max(0, claims.length - 1 - Math.floor(claims.length * rand() ** 3))
      ] as Claim
      if (c.free >= 2n && ok(c)) return c
    }
    return null
  }
  const transfer = (): boolean => {
    const parent = spendable(() => true)
    if (!parent) return false
    const receiver = other(parent.holder)
    const amount = 1n + BigInt(Math.floor(rand() * Number(parent.free / 2n)))
    const record = withNonce(
      build.transfer({
        sender: kps[parent.holder]!.publicKey,
        receiver: kps[receiver]!.publicKey,
        claim: parent.id,
        amount,
        time: t
      })
    )
    const id = put(record, [parent.holder])
    parent.free -= amount
    const cid = claimId(id, 0)
    claims.push({
      id: cid,
      root: parent.root,
      issuer: parent.issuer,
      holder: receiver,
      resource: parent.resource,
      free: amount
    })
    return true
  }
  const admit = (): boolean => {
    const c = spendable((x) => x.holder !== x.issuer)
    if (!c) return false
    const amount = 1n + BigInt(Math.floor(rand() * Number(c.free / 2n)))
    const owner = kps[c.holder] as KeyPair
    const code = bytes(32)
    const request = withNonce(
      build.deployRequest({
        host: kps[c.issuer]!.publicKey,
        owner: owner.publicKey,
        codeHash: blake2b256(code),
        codeSize: int(1000, 100_000),
        claims: [{ claim: c.id, root: c.root, resource: c.resource, amount }],
        time: t
      })
    )
    put(build.admit(request, signDeployRequest(request, owner), t), [c.issuer], 1)
    c.free -= amount
    guests.push({
      id: deployRequestId(request),
      host: c.issuer,
      reserved: { ...request.resources },
      used: build.vector(),
      spends: [{ claim: c, amount }],
      reports: 0,
      lifetime: int(2, 8)
    })
    return true
  }
  const report = (): boolean => {
    if (guests.length === 0) return false
    const gi = Math.floor(rand() * guests.length)
    const g = guests[gi] as Guest
    const used = build.vector()
    for (const r of RESOURCES) {
      const cap = g.reserved[r]
      // cpu and net only grow; disk (bytes stored now) moves both ways within the quota.
      used[r] =
        r === 'disk'
          ? BigInt(Math.floor(rand() * Number(cap + 1n)))
          : g.used[r] + (cap - g.used[r]) / BigInt(int(2, 6))
    }
    g.used = used
    g.reports++
    const hostKey = kps[g.host]!.publicKey
    if (g.reports < g.lifetime) {
      put(build.usage(hostKey, g.id, used, t), [g.host])
      return true
    }
    put(
      build.evict(hostKey, g.id, used, pick(['stopped', 'cpu-exhausted', 'expired'] as const), t),
      [g.host]
    )
    // What the guest did not consume (and all of a disk quota) goes back to the claim.
    for (const s of g.spends)
      s.claim.free += s.claim.resource === 'disk' ? s.amount : s.amount - used[s.claim.resource]
    guests[gi] = guests[guests.length - 1] as Guest
    guests.pop()
    return true
  }
  // The mix, in events (an agreement is two entries). Usage reports dominate, as on a host that
  // meters its guests; when an event has nothing to act on yet, the next fallback happens.
  for (let i = 0; i < n; i++) capacity(i)
  while (entries < opts.entries) {
    const r = rand()
    if (r < 0.06) agreement()
    else if (r < 0.14) issue()
    else if (r < 0.34) {
      if (!transfer()) issue()
    } else if (r < 0.44) {
      if (!admit()) issue()
    } else if (r < 0.995) {
      if (!report() && !admit()) issue()
    } else capacity(int(0, n - 1))
  }
  return {
    logs: kps.map((kp, i) => ({ id: kp.publicKey, entries: logs[i] as Uint8Array[] })),
    now: t + STEP_MS,
    entries,
    signatures,
    counts
  }
}

function equalKey(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return false
  return true
}
