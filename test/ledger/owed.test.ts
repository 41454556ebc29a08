// OwedIndex keeps what each issuer owes up to date instead of summing every leg per question; it
// must answer exactly what the definition (the scan below) answers, whatever the order of events.
import { test } from 'tap'
import { OwedIndex } from '../../src/ledger/owed.js'
import { LedgerState } from '../../src/ledger/state.js'
import { signRecord, signDeployRequest } from '../../src/ledger/sign.js'
import { toHex } from '../../src/core/bytes.js'
import { blake2b256 } from '../../src/crypto/hash.js'
import { claimId } from '../../src/ledger/state.js'
import { deployRequestId } from '../../src/ledger/codecs.js'
import * as build from '../../src/ledger/build.js'
import { RESOURCES, type Resource } from '../../src/ledger/amounts.js'
import type { ClaimInfo } from '../../src/ledger/claims.js'
import { seed } from '../helpers.js'

/** The definition: unexpired, non-void root legs, less what was consumed (disk in full). */
function scan(
  roots: ReadonlyMap<string, readonly string[]>,
  claims: ReadonlyMap<string, ClaimInfo>,
  consumed: ReadonlyMap<string, bigint>,
  issuer: string,
  resource: Resource,
  at: number
): bigint {
  let sum = 0n
  for (const cid of roots.get(issuer) ?? []) {
    const c = claims.get(cid) as ClaimInfo
    if (c.resource !== resource || c.expires <= at || c.void) continue
    sum += resource === 'disk' ? c.amount : c.amount - (consumed.get(cid) ?? 0n)
  }
  return sum
}

/** A small seeded generator, so a failure can be replayed. */
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

test('random legs, consumption and queries moving both ways in time agree with the scan', async (t) => {
  for (const s of [1, 2, 3, 4, 5]) {
    const rand = prng(s)
    const int = (n: number): number => Math.floor(rand() * n)
    const roots = new Map<string, string[]>()
    const claims = new Map<string, ClaimInfo>()
    const consumed = new Map<string, bigint>()
    const owed = new OwedIndex(roots, claims, consumed)
    const issuers = ['aa', 'bb', 'cc']
    let n = 0
    let bad = 0
    for (let step = 0; step < 3000; step++) {
      const r = rand()
      if (r < 0.3) {
        // A new claim; most become root legs of their issuer, some stay void or are not roots.
        const issuer = issuers[int(3)] as string
        const id = `c${n++}`
        const claim = {
          id,
          issuer,
          resource: RESOURCES[int(3)] as Resource,
          amount: BigInt(1 + int(1000)),
          expires: int(200),
          void: rand() < 0.1 ? 'over-capacity' : null
        } as ClaimInfo
        claims.set(id, claim)
        if (!claim.void && rand() < 0.9) {
          const list = roots.get(issuer) ?? []
          list.push(id)
          roots.set(issuer, list)
        }
      } else if (r < 0.5 && n > 0) {
        // Guests consume some of a claim (any claim id; the state reports by the spend's root).
        const id = `c${int(n)}`
        const c = claims.get(id) as ClaimInfo
        if (c.resource === 'disk') continue
        const delta = BigInt(int(5))
        consumed.set(id, (consumed.get(id) ?? 0n) + delta)
        owed.consume(id, delta)
      } else {
        const issuer = issuers[int(3)] as string
        const resource = RESOURCES[int(3)] as Resource
        // Mostly forward like a log's clock, sometimes back, sometimes exactly on an expiry.
        const at = rand() < 0.05 ? NaN : int(220) - 10
        const got = owed.outstanding(issuer, resource, at)
        const want = scan(roots, claims, consumed, issuer, resource, at)
        // The first few differences are enough to debug; the count says how many there were.
        if (got !== want && bad++ < 5)
          t.fail(`seed ${s} step ${step}: ${issuer} ${resource} at ${at}: ${got} != ${want}`)
      }
    }
    t.equal(bad, 0, `seed ${s}: every answer agrees`)
  }
})

test('a state restored with legs already in it (as from a snapshot) is indexed on first use', async (t) => {
  const roots = new Map([['aa', ['x', 'y', 'z']]])
  const claims = new Map<string, ClaimInfo>([
    [
      'x',
      { id: 'x', issuer: 'aa', resource: 'cpu', amount: 10n, expires: 100, void: null } as ClaimInfo
    ],
    [
      'y',
      { id: 'y', issuer: 'aa', resource: 'cpu', amount: 20n, expires: 50, void: null } as ClaimInfo
    ],
    [
      'z',
      { id: 'z', issuer: 'aa', resource: 'disk', amount: 5n, expires: 100, void: null } as ClaimInfo
    ]
  ])
  const consumed = new Map([['x', 3n]])
  const owed = new OwedIndex(roots, claims, consumed)
  t.equal(owed.outstanding('aa', 'cpu', 0), 27n)
  t.equal(owed.outstanding('aa', 'cpu', 50), 7n, 'y expired at 50')
  t.equal(owed.outstanding('aa', 'cpu', 49), 27n, 'and comes back before it')
  t.equal(owed.outstanding('aa', 'disk', 0), 5n)
  t.equal(owed.outstanding('bb', 'cpu', 0), 0n, 'an unknown issuer owes nothing')
})

test('LedgerState.outstanding agrees with the scan through issues, expiry and metered guests', async (t) => {
  const A = seed(1)
  const B = seed(2)
  const T0 = 1_800_000_000_000
  const a = toHex(A.publicKey)
  const st = new LedgerState()
  const log: Uint8Array[] = []
  const put = (bytes: Uint8Array, now: number): void => {
    const v = st.applyEntry(a, log.length, bytes, { now })
    t.same(v, [], `entry ${log.length} applies cleanly`)
    log.push(bytes)
  }
  put(
    signRecord(
      build.capacity(A.publicKey, 100, { cpu: 10n ** 9n, disk: 10n ** 9n, net: 10n ** 9n }, T0),
      [A]
    ).bytes,
    T0
  )
  const issued: Uint8Array[] = []
  let time = T0
  for (let i = 0; i < 40; i++) {
    time += 1000
    const iss = signRecord(
      build.issue({
        issuer: A.publicKey,
        holder: B.publicKey,
        amounts: { cpu: BigInt(100 + i), net: i % 3 ? BigInt(50 + i) : 0n, disk: i % 4 ? 0n : 7n },
        time,
        expires: time + 5000 + (i % 7) * 3000
      }),
      [A, B]
    )
    put(iss.bytes, time)
    issued.push(iss.id)
    if (i % 5 === 4) {
      // B runs a guest on A paid with an earlier cpu leg; A meters it twice and evicts it.
      const leg = claimId(issued[i - 2] as Uint8Array, 0)
      const req = build.deployRequest({
        host: A.publicKey,
        owner: B.publicKey,
        codeHash: blake2b256(new Uint8Array([i])),
        codeSize: 10,
        claims: [{ claim: leg, root: leg, resource: 'cpu', amount: 40n }],
        time
      })
      put(signRecord(build.admit(req, signDeployRequest(req, B), time), [A]).bytes, time)
      const id = deployRequestId(req)
      put(
        signRecord(build.usage(A.publicKey, id, { cpu: 15n, disk: 0n, net: 0n }, time), [A]).bytes,
        time
      )
      put(
        signRecord(build.evict(A.publicKey, id, { cpu: 30n, disk: 0n, net: 0n }, 'stopped', time), [
          A
        ]).bytes,
        time
      )
    }
  }
  t.equal(st.guests.size, 8, 'eight guests ran')
  t.ok(
    [...st.consumed.values()].some((x) => x > 0n),
    'guests consumed some legs'
  )
  let bad = 0
  // Forward and back across every expiry, as a log's clock and a later query would.
  const times = [
    T0,
    ...Array.from({ length: 60 }, (_, i) => T0 + i * 1000 + 4500),
    T0 + 1000,
    time + 100_000,
    T0 + 20_000
  ]
  for (const at of times) {
    for (const r of RESOURCES) {
      if (st.outstanding(a, r, at) !== scan(st.rootsByIssuer, st.claims, st.consumed, a, r, at))
        bad++
    }
  }
  t.equal(bad, 0, 'every answer agrees')
})
