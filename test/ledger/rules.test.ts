// Every rule: a good case that passes and a violating case refused with its code, both by the
// ledger's pre-append check and, when forced into a log anyway, by replay with evidence.
import { test } from 'tap'
import { LedgerState, claimId } from '../../src/ledger/state.js'
import { replay } from '../../src/ledger/replay.js'
import { signRecord, signDeployRequest } from '../../src/ledger/sign.js'
import { deployRequestId, encodeEntry } from '../../src/ledger/codecs.js'
import { toHex } from '../../src/core/bytes.js'
import { blake2b256 } from '../../src/crypto/hash.js'
import * as build from '../../src/ledger/build.js'
import { MAX_FUTURE_SKEW_MS, MAX_COSIGN_LAG_MS } from '../../src/ledger/constants.js'
import { seed } from '../helpers.js'
import type { KeyPair } from '../../src/crypto/identity.js'
import type { LedgerRecord, SignedRecord } from '../../src/ledger/records.js'
import type { Resource } from '../../src/ledger/amounts.js'

const T0 = 1_800_000_000_000
const A = seed(1)
const B = seed(2)
const C = seed(3)
const hex = (kp: KeyPair): string => toHex(kp.publicKey)

/** Logs of several participants applied to one state, as a ledger following them would. */
class World {
  state = new LedgerState()
  now = T0
  logs = new Map<string, Uint8Array[]>()

  sign(record: LedgerRecord, ...kps: KeyPair[]): SignedRecord {
    return signRecord(record, kps)
  }

  /** What the ledger of `kp` would say to appending this. */
  check(kp: KeyPair, s: SignedRecord): string | null {
    return this.state.check(hex(kp), s, { now: this.now })?.code ?? null
  }

  /** Appends after the ledger's check; throws if refused. */
  put(kp: KeyPair, s: SignedRecord): SignedRecord {
    const code = this.check(kp, s)
    if (code) throw new Error(`refused: ${code}`)
    return this.force(kp, s).signed
  }

  /** Appends without checking (a dishonest or buggy author); returns the violations found. */
  force(kp: KeyPair, s: SignedRecord): { signed: SignedRecord; codes: string[] } {
    const key = hex(kp)
    const log = this.logs.get(key) ?? []
    this.logs.set(key, log)
    const v = this.state.applySigned(key, log.length, s, { now: this.now })
    log.push(s.bytes)
    return { signed: s, codes: v.map((x) => x.code) }
  }

  replayCodes(): string[] {
    return replay(
      [...this.logs].map(([id, entries]) => ({ id, entries })),
      { now: this.now }
    ).violations.map((v) => v.code)
  }
}

function setup(limits = { cpu: 1000n, disk: 1000n, net: 1000n }): World {
  const w = new World()
  w.put(A, w.sign(build.capacity(A.publicKey, 100, limits, T0), A))
  w.put(B, w.sign(build.capacity(B.publicKey, 100, limits, T0), B))
  return w
}

function settle(w: World, give: bigint, want: bigint, expires = T0 + 1_000_000): SignedRecord {
  const ag = w.sign(
    build.agreement({
      a: A.publicKey,
      b: B.publicKey,
      give: { cpu: give },
      want: { cpu: want },
      time: T0,
      expires
    }),
    A,
    B
  )
  w.put(A, ag)
  w.put(B, ag)
  return ag
}

const claim = (s: SignedRecord, leg = 0): Uint8Array => claimId(s.id, leg)

function deploy(
  w: World,
  host: KeyPair,
  owner: KeyPair,
  spends: Array<{ claim: Uint8Array; root: Uint8Array; amount: bigint; resource?: Resource }>,
  time = w.now
): SignedRecord {
  const code = new Uint8Array([1, 2, 3])
  const req = build.deployRequest({
    host: host.publicKey,
    owner: owner.publicKey,
    codeHash: blake2b256(code),
    codeSize: code.byteLength,
    claims: spends.map((s) => ({
      claim: s.claim,
      root: s.root,
      resource: s.resource ?? 'cpu',
      amount: s.amount
    })),
    time
  })
  return w.sign(build.admit(req, signDeployRequest(req, owner), time), host)
}

test('bad-signature: a record whose signature does not verify is refused and ignored', async (t) => {
  const w = setup()
  const good = w.sign(
    build.issue({ issuer: A.publicKey, holder: B.publicKey, amounts: { cpu: 5n }, time: T0 }),
    A,
    B
  )
  const sigs = good.signatures.map((s) => new Uint8Array(s))
  ;(sigs[1] as Uint8Array)[0]! ^= 1
  const bytes = encodeEntry(good.record, sigs)
  const st = new LedgerState()
  const v = st.applyEntry(hex(A), 0, bytes, { now: T0 })
  t.equal(v[0]?.code, 'bad-signature')
  t.same(v[0]?.positions, [{ log: hex(A), index: 0 }], 'evidence names the position')
  t.equal(st.claims.size, 0, 'nothing from it is believed')
  t.equal(w.check(A, good), null, 'the intact record passes')
})

test('a signature moved to a record of another type is refused', async (t) => {
  const w = setup()
  const usage = build.usage(A.publicKey, new Uint8Array(32), { cpu: 0n, disk: 0n, net: 0n }, T0)
  const cap = build.capacity(A.publicKey, 100, {}, T0)
  const capSigned = w.sign(cap, A)
  // Same signer, same key: only the domain separation keeps this signature from transplanting.
  const st = new LedgerState()
  const v = st.applyEntry(hex(A), 0, encodeEntry(usage, capSigned.signatures), { now: T0 })
  t.equal(v[0]?.code, 'bad-signature')
})

test("wrong-log: a record takes effect only in its giver's log", async (t) => {
  const w = setup()
  const iss = w.sign(
    build.issue({ issuer: A.publicKey, holder: B.publicKey, amounts: { cpu: 5n }, time: T0 }),
    A,
    B
  )
  t.equal(w.check(B, iss), 'wrong-log', "not in the holder's log")
  t.equal(w.check(A, iss), null, "in the issuer's log")
  t.same(w.force(B, iss).codes, ['wrong-log'])
  t.same(w.replayCodes(), ['wrong-log'])
})

test('duplicate: the same record twice in one log; received twice at one position is idempotent', async (t) => {
  const w = setup()
  const iss = w.put(
    A,
    w.sign(
      build.issue({ issuer: A.publicKey, holder: B.publicKey, amounts: { cpu: 5n }, time: T0 }),
      A,
      B
    )
  )
  t.equal(w.check(A, iss), 'duplicate')
  const st = new LedgerState()
  const log = w.logs.get(hex(A)) as Uint8Array[]
  log.forEach((b, i) => st.applyEntry(hex(A), i, b, { now: T0 }))
  t.same(
    st.applyEntry(hex(A), 1, log[1] as Uint8Array, { now: T0 }),
    [],
    'same entry, same position: no-op'
  )
  t.equal(st.logs.get(hex(A))?.length, 2)
  t.same(w.force(A, iss).codes, ['duplicate'])
  // A copy with a broken signature is ignored and does not keep the good copy out.
  const next = w.sign(
    build.issue({ issuer: A.publicKey, holder: B.publicKey, amounts: { cpu: 1n }, time: T0 }),
    A,
    B
  )
  const sigs = next.signatures.map((x) => new Uint8Array(x))
  ;(sigs[0] as Uint8Array)[3]! ^= 1
  const fresh = new LedgerState()
  fresh.applyEntry(hex(A), 0, encodeEntry(next.record, sigs), { now: T0 })
  t.same(
    fresh.applyEntry(hex(A), 1, next.bytes, { now: T0 }).map((v) => v.code),
    ['no-capacity'],
    'the good copy is judged on its merits, not as a duplicate'
  )
})

test('clock: records never go back in time, nor come from too far in the future', async (t) => {
  const w = setup()
  w.now = T0 + 60_000
  w.put(A, w.sign(build.capacity(A.publicKey, 100, { cpu: 1000n }, T0 + 60_000), A))
  const back = w.sign(build.capacity(A.publicKey, 100, { cpu: 1000n }, T0 + 59_999), A)
  t.equal(w.check(A, back), 'clock-regress')
  // A co-signed record may trail by the proposal window, no more.
  const lagOk = w.sign(
    build.issue({
      issuer: A.publicKey,
      holder: B.publicKey,
      amounts: { cpu: 1n },
      time: T0 + 60_000 - MAX_COSIGN_LAG_MS
    }),
    A,
    B
  )
  t.equal(w.check(A, lagOk), null)
  const lagBad = w.sign(
    build.issue({
      issuer: A.publicKey,
      holder: B.publicKey,
      amounts: { cpu: 1n },
      time: T0 + 59_999 - MAX_COSIGN_LAG_MS
    }),
    A,
    B
  )
  t.equal(w.check(A, lagBad), 'clock-regress')
  const future = w.sign(
    build.capacity(A.publicKey, 100, { cpu: 1000n }, w.now + MAX_FUTURE_SKEW_MS + 1),
    A
  )
  t.equal(w.check(A, future), 'clock-future')
  const edge = w.sign(
    build.capacity(A.publicKey, 100, { cpu: 1000n }, w.now + MAX_FUTURE_SKEW_MS),
    A
  )
  t.equal(w.check(A, edge), null, 'exactly at the bound is fine')
  t.same(w.force(A, back).codes, ['clock-regress'])
})

test('capacity: an issuer needs published capacity and never owes more than it', async (t) => {
  const w = new World()
  const iss = w.sign(
    build.issue({ issuer: A.publicKey, holder: B.publicKey, amounts: { cpu: 5n }, time: T0 }),
    A,
    B
  )
  t.equal(w.check(A, iss), 'no-capacity')
  w.put(A, w.sign(build.capacity(A.publicKey, 100, { cpu: 10n }, T0), A))
  t.equal(w.check(A, iss), null)
  w.put(A, iss)
  const ten = w.sign(
    build.issue({ issuer: A.publicKey, holder: B.publicKey, amounts: { cpu: 6n }, time: T0 }),
    A,
    B
  )
  t.equal(w.check(A, ten), 'over-capacity', '5 + 6 > 10')
  const five = w.sign(
    build.issue({ issuer: A.publicKey, holder: B.publicKey, amounts: { cpu: 5n }, time: T0 }),
    A,
    B
  )
  t.equal(w.check(A, five), null, '5 + 5 = 10 is fine')
  const forced = w.force(A, ten)
  t.same(forced.codes, ['over-capacity'])
  t.equal(
    w.state.claimStatus(toHex(claim(forced.signed))).code,
    'over-capacity',
    'its claim is void'
  )
  t.same(w.replayCodes(), ['over-capacity'])
})

test('counterparty-no-capacity: the acceptor refuses legs of a proposer with no capacity in its log', async (t) => {
  // B (the acceptor, who appends first) follows A's log: it has an entry but no capacity yet.
  const w = new World()
  w.put(B, w.sign(build.capacity(B.publicKey, 100, { cpu: 100n }, T0), B))
  const seen = (time: number): SignedRecord =>
    w.sign(
      build.checkpoint(A.publicKey, w.logs.get(hex(A))?.length ?? 0, new Uint8Array(32), time),
      A
    )
  const barter = (time: number): SignedRecord =>
    w.sign(
      build.agreement({
        a: A.publicKey,
        b: B.publicKey,
        give: { disk: 10n },
        want: { cpu: 10n },
        time
      }),
      A,
      B
    )
  const early = barter(T0 + 10)
  t.equal(w.check(B, early), null, "A's log never seen: nothing to judge it by here")
  w.put(A, seen(T0))
  t.equal(w.check(B, early), 'counterparty-no-capacity')
  t.equal(w.check(A, early), 'no-capacity', "A's own ledger refuses its own legs")
  w.put(A, w.sign(build.capacity(A.publicKey, 100, { disk: 100n }, T0 + 20), A))
  t.equal(
    w.check(B, early),
    'counterparty-no-capacity',
    'capacity stamped after the agreement does not help'
  )
  t.equal(w.check(B, barter(T0 + 20)), null, "capacity stamped at the agreement's time does")
  const forced = w.force(B, early)
  t.same(forced.codes, [], "B's log alone cannot show it: the whole set of logs does")
  const v = replay(
    [...w.logs].map(([id, entries]) => ({ id, entries })),
    { now: w.now, unsettled: true }
  ).violations
  t.same(
    v.map((x) => [x.code, x.culprit, x.records, x.positions, x.claim]),
    [
      [
        'counterparty-no-capacity',
        hex(B),
        [toHex(early.id)],
        [{ log: hex(B), index: 1 }],
        toHex(claim(early, 0))
      ]
    ],
    'reported once, against the party that appended it, instead of unsettled'
  )
  const emptyA = replay(
    [
      { id: hex(A), entries: [] },
      { id: hex(B), entries: w.logs.get(hex(B)) ?? [] }
    ],
    { now: w.now, unsettled: true }
  ).violations
  t.same(
    emptyA.map((x) => [x.code, x.culprit]),
    [['counterparty-no-capacity', hex(B)]],
    "A's log given whole and empty: no capacity in it (the auditor never gives an empty export)"
  )
})

test('capacity frees up as IOUs expire and as cpu is used', async (t) => {
  const w = new World()
  w.put(A, w.sign(build.capacity(A.publicKey, 100, { cpu: 10n }, T0), A))
  w.put(
    A,
    w.sign(
      build.issue({
        issuer: A.publicKey,
        holder: B.publicKey,
        amounts: { cpu: 10n },
        time: T0,
        expires: T0 + 1000
      }),
      A,
      B
    )
  )
  w.now = T0 + 1000
  const later = w.sign(
    build.issue({
      issuer: A.publicKey,
      holder: B.publicKey,
      amounts: { cpu: 10n },
      time: T0 + 1000
    }),
    A,
    B
  )
  t.equal(w.check(A, later), null, 'the first IOU expired')
})

test('transfer: only the holder, only what is free, only before expiry', async (t) => {
  const w = setup()
  const ag = settle(w, 10n, 10n)
  const bLeg = claim(ag, 1) // B's cpu leg, held by A
  const ok = w.sign(
    build.transfer({
      sender: A.publicKey,
      receiver: C.publicKey,
      claim: bLeg,
      amount: 4n,
      time: T0
    }),
    A,
    C
  )
  t.equal(w.check(A, ok), null)
  w.put(A, ok)
  const tooMuch = w.sign(
    build.transfer({
      sender: A.publicKey,
      receiver: C.publicKey,
      claim: bLeg,
      amount: 7n,
      time: T0
    }),
    A,
    C
  )
  t.equal(w.check(A, tooMuch), 'overspent', '4 + 7 > 10')
  const exact = w.sign(
    build.transfer({
      sender: A.publicKey,
      receiver: C.publicKey,
      claim: bLeg,
      amount: 6n,
      time: T0
    }),
    A,
    C
  )
  t.equal(w.check(A, exact), null, '4 + 6 = 10')
  const notMine = w.sign(
    build.transfer({
      sender: B.publicKey,
      receiver: C.publicKey,
      claim: bLeg,
      amount: 1n,
      time: T0
    }),
    B,
    C
  )
  t.equal(w.check(B, notMine), 'not-holder')
  const forced = w.force(A, tooMuch)
  t.same(forced.codes, [], 'one log alone cannot tell which transfer is too much…')
  const all = replay(
    [...w.logs].map(([id, entries]) => ({ id, entries })),
    { now: w.now }
  )
  const over = all.violations.find((v) => v.code === 'overspent')
  t.ok(over, '…the whole set can')
  t.equal(over?.culprit, hex(A))
  t.equal(
    over?.records[0],
    toHex(forced.signed.id),
    'evidence: the transfer that did not fit, then its parent'
  )
  t.equal(all.state.claimStatus(toHex(claim(forced.signed))).code, 'overspent')
  t.ok(all.state.claimStatus(toHex(claim(ok))).ok, 'the earlier transfer stays good')
  // The void transfer took nothing: a later one that fits what is left (6) is good, and free()
  // and the path check agree on it.
  const after = w.force(
    A,
    w.sign(
      build.transfer({
        sender: A.publicKey,
        receiver: C.publicKey,
        claim: bLeg,
        amount: 5n,
        time: T0
      }),
      A,
      C
    )
  )
  const again = replay(
    [...w.logs].map(([id, entries]) => ({ id, entries })),
    { now: w.now }
  )
  t.ok(
    again.state.claimStatus(toHex(claim(after.signed))).ok,
    'a transfer after a void one fits in what is left'
  )
  t.equal(again.state.free(toHex(bLeg)), 1n, '10 - 4 - 5: the void 7 counts for nothing')
  t.same(
    again.violations.map((v) => v.code),
    ['overspent'],
    'only the transfer that did not fit is flagged'
  )
  w.now = T0 + 2_000_000
  const late = w.sign(
    build.transfer({
      sender: A.publicKey,
      receiver: C.publicKey,
      claim: bLeg,
      amount: 1n,
      time: w.now
    }),
    A,
    C
  )
  t.equal(w.check(A, late), 'expired')
})

test('admission: settled, on this host, held by the owner, free, unexpired', async (t) => {
  const w = setup()
  // Unsettled: the agreement is only in A's log.
  const half = w.sign(
    build.agreement({
      a: A.publicKey,
      b: B.publicKey,
      give: { cpu: 10n },
      want: { cpu: 10n },
      time: T0
    }),
    A,
    B
  )
  w.put(A, half)
  t.equal(
    w.check(A, deploy(w, A, B, [{ claim: claim(half, 0), root: claim(half, 0), amount: 1n }])),
    'not-settled'
  )
  w.put(B, half)
  const good = deploy(w, A, B, [{ claim: claim(half, 0), root: claim(half, 0), amount: 10n }])
  t.equal(w.check(A, good), null, 'settled; cost = balance')
  t.equal(
    w.check(A, deploy(w, A, B, [{ claim: claim(half, 0), root: claim(half, 0), amount: 11n }])),
    'insufficient',
    'cost = balance + 1'
  )
  t.equal(
    w.check(A, deploy(w, A, B, [{ claim: claim(half, 1), root: claim(half, 1), amount: 1n }])),
    'not-issuer',
    "B's IOU is not A's to honor"
  )
  t.equal(
    w.check(A, deploy(w, A, C, [{ claim: claim(half, 0), root: claim(half, 0), amount: 1n }])),
    'not-holder'
  )
  t.equal(
    w.check(
      A,
      deploy(w, A, B, [{ claim: new Uint8Array(32), root: new Uint8Array(32), amount: 1n }])
    ),
    'unknown-claim'
  )
  w.put(A, good)
  t.equal(w.check(A, good), 'duplicate')
  t.equal(
    w.check(A, deploy(w, A, B, [{ claim: claim(half, 0), root: claim(half, 0), amount: 1n }])),
    'insufficient',
    'all reserved'
  )
  w.now = T0 + build.DAY_MS * 30
  t.equal(
    w.check(A, deploy(w, A, B, [{ claim: claim(half, 0), root: claim(half, 0), amount: 1n }])),
    'expired',
    'at its expiry time'
  )
})

test('usage: only for admitted guests, never more than admitted, never backwards', async (t) => {
  const w = setup()
  const ag = settle(w, 10n, 10n)
  const adm = w.put(A, deploy(w, A, B, [{ claim: claim(ag, 0), root: claim(ag, 0), amount: 6n }]))
  if (adm.record.type !== 'admit') throw new Error('unreachable')
  const gid = deployRequestId(adm.record.request)
  const use = (cpu: bigint): SignedRecord =>
    w.sign(build.usage(A.publicKey, gid, { cpu, disk: 0n, net: 0n }, w.now), A)
  t.equal(w.check(A, use(6n)), null, 'usage = admitted')
  t.equal(w.check(A, use(7n)), 'over-usage', 'usage = admitted + 1')
  w.put(A, use(3n))
  t.equal(w.check(A, use(2n)), 'usage-regress')
  t.equal(
    w.check(
      A,
      w.sign(build.usage(A.publicKey, new Uint8Array(32), { cpu: 1n, disk: 0n, net: 0n }, w.now), A)
    ),
    'unknown-guest'
  )
  w.put(
    A,
    w.sign(build.evict(A.publicKey, gid, { cpu: 3n, disk: 0n, net: 0n }, 'stopped', w.now), A)
  )
  t.equal(w.check(A, use(4n)), 'guest-ended')
  t.equal(w.state.free(toHex(claim(ag, 0))), 7n, '10 - 3 used; the other 3 reserved came back')
  t.same(w.force(A, use(4n)).codes, ['guest-ended'])
})

test('checkpoint: must say how many entries precede it', async (t) => {
  const w = setup()
  const bad = w.sign(build.checkpoint(A.publicKey, 5, new Uint8Array(32), T0), A)
  t.equal(w.check(A, bad), 'bad-checkpoint')
  const good = w.sign(build.checkpoint(A.publicKey, 1, new Uint8Array(32), T0), A)
  t.equal(w.check(A, good), null)
})

test('fork: two different records at one position of one log are kept as evidence', async (t) => {
  const w = setup()
  const x = w.sign(
    build.issue({ issuer: A.publicKey, holder: B.publicKey, amounts: { cpu: 5n }, time: T0 }),
    A,
    B
  )
  const y = w.sign(
    build.issue({ issuer: A.publicKey, holder: C.publicKey, amounts: { cpu: 5n }, time: T0 }),
    A,
    C
  )
  const cap = w.logs.get(hex(A)) as Uint8Array[]
  const res = replay(
    [
      { id: hex(A), entries: [cap[0] as Uint8Array, x.bytes] },
      { id: hex(A), entries: [cap[0] as Uint8Array, y.bytes] }
    ],
    { now: T0 }
  )
  const fork = res.violations.find((v) => v.code === 'fork')
  t.ok(fork)
  t.same(fork?.records, [toHex(x.id), toHex(y.id)], 'both versions named')
  t.same(fork?.positions, [{ log: hex(A), index: 1 }])
  t.equal(
    res.state.claimStatus(toHex(claim(x))).code,
    'frozen',
    'claims from the forked range are frozen'
  )
})

test('an agreement verified in one log is verified again in the other unless the bytes are identical', async (t) => {
  const w = setup()
  const ag = w.sign(
    build.agreement({
      a: A.publicKey,
      b: B.publicKey,
      give: { cpu: 1n },
      want: { cpu: 1n },
      time: T0
    }),
    A,
    B
  )
  const st = new LedgerState()
  const logA = w.logs.get(hex(A)) as Uint8Array[]
  const logB = w.logs.get(hex(B)) as Uint8Array[]
  st.applyEntry(hex(A), 0, logA[0] as Uint8Array, { now: T0 })
  st.applyEntry(hex(B), 0, logB[0] as Uint8Array, { now: T0 })
  t.same(st.applyEntry(hex(A), 1, ag.bytes, { now: T0 }), [], "A's copy verifies")
  const sigs = ag.signatures.map((x) => new Uint8Array(x))
  ;(sigs[0] as Uint8Array)[7]! ^= 1
  const forged = encodeEntry(ag.record, sigs)
  t.same(
    st.applyEntry(hex(B), 1, forged, { now: T0 }).map((v) => v.code),
    ['bad-signature'],
    'same record id, other signature bytes: checked, refused'
  )
  t.same(st.applyEntry(hex(B), 2, ag.bytes, { now: T0 }), [], 'the identical copy is accepted')
  t.ok(st.claimStatus(toHex(claim(ag, 0)), T0).ok, 'settled')
})
