// Rules that span logs depend on the set of records seen, never on the order logs arrive in: a
// transfer met before the leg it draws from waits for it, and keeps its own log's verdict.
import { test } from 'tap'
import { LedgerState, claimId } from '../../src/ledger/state.js'
import { replay } from '../../src/ledger/replay.js'
import { signRecord } from '../../src/ledger/sign.js'
import { toHex } from '../../src/core/bytes.js'
import * as build from '../../src/ledger/build.js'
import { MAX_COSIGN_LAG_MS } from '../../src/ledger/constants.js'
import { seed } from '../helpers.js'
import type { KeyPair } from '../../src/crypto/identity.js'

const T0 = 1_800_000_000_000
const A = seed(1)
const B = seed(2)
const C = seed(3)
const hex = (kp: KeyPair): string => toHex(kp.publicKey)

/** Applies whole logs one after another, in the order given. */
function applyInOrder(logs: Array<[KeyPair, Uint8Array[]]>, now: number): LedgerState {
  const st = new LedgerState()
  for (const [kp, entries] of logs) entries.forEach((b, i) => st.applyEntry(hex(kp), i, b, { now }))
  return st
}

/** What a state believes, independent of the order it learned it in. */
function summary(st: LedgerState, now: number): unknown {
  const claims = [...st.claims.values()]
    .map((c) => ({
      id: c.id,
      parent: c.parent,
      holder: c.holder,
      amount: c.amount.toString(),
      void: c.void,
      status: st.claimStatus(c.id, now).code
    }))
    .sort((x, y) => (x.id < y.id ? -1 : 1))
  const codes = st
    .violations()
    .map((v) => `${v.code} ${v.records[0] ?? ''}`)
    .sort()
  return { claims, pending: st.pending.size, codes }
}

test('a transfer from a leg issued in a log applied later attaches to it, as in the other order', async (t) => {
  const iss = signRecord(
    build.issue({ issuer: A.publicKey, holder: B.publicKey, amounts: { cpu: 10n }, time: T0 }),
    [A, B]
  )
  const leg = claimId(iss.id, 0)
  const tr = signRecord(
    build.transfer({
      sender: B.publicKey,
      receiver: C.publicKey,
      claim: leg,
      amount: 4n,
      time: T0 + 1
    }),
    [B, C]
  )
  const onward = signRecord(
    build.transfer({
      sender: C.publicKey,
      receiver: A.publicKey,
      claim: claimId(tr.id, 0),
      amount: 1n,
      time: T0 + 2
    }),
    [C, A]
  )
  const logs: Array<[KeyPair, Uint8Array[]]> = [
    [A, [signRecord(build.capacity(A.publicKey, 100, { cpu: 100n }, T0), [A]).bytes, iss.bytes]],
    [B, [tr.bytes]],
    [C, [onward.bytes]]
  ]
  const now = T0 + 10
  const issuerFirst = applyInOrder(logs, now)
  const issuerLast = applyInOrder(
    [logs[2], logs[1], logs[0]] as Array<[KeyPair, Uint8Array[]]>,
    now
  )
  t.same(
    summary(issuerLast, now),
    summary(issuerFirst, now),
    'same claims, statuses and violations'
  )
  t.equal(issuerLast.pending.size, 0, 'nothing left waiting')
  t.ok(
    issuerLast.claimStatus(toHex(claimId(onward.id, 0)), now).ok,
    'the claim two transfers down is good'
  )
  t.same(issuerLast.violations(), [])
  const r = replay(
    logs.map(([kp, entries]) => ({ id: kp.publicKey, entries })),
    { now }
  )
  t.ok(r.ok, 'replay, whatever order its sort gives, finds nothing wrong')
})

test('a transfer that broke a rule of its own log stays void when its parent turns up later', async (t) => {
  const iss = signRecord(
    build.issue({ issuer: A.publicKey, holder: B.publicKey, amounts: { cpu: 10n }, time: T0 }),
    [A, B]
  )
  const leg = claimId(iss.id, 0)
  // B's log moves its clock on, then carries a transfer stamped too far before it.
  const late = T0 + MAX_COSIGN_LAG_MS + 10_000
  const tick = signRecord(build.capacity(B.publicKey, 100, { cpu: 1n }, late), [B])
  const stale = signRecord(
    build.transfer({
      sender: B.publicKey,
      receiver: C.publicKey,
      claim: leg,
      amount: 4n,
      time: T0 + 1
    }),
    [B, C]
  )
  const logs: Array<[KeyPair, Uint8Array[]]> = [
    [A, [signRecord(build.capacity(A.publicKey, 100, { cpu: 100n }, T0), [A]).bytes, iss.bytes]],
    [B, [tick.bytes, stale.bytes]]
  ]
  const now = late + 10
  const issuerFirst = applyInOrder(logs, now)
  const issuerLast = applyInOrder([logs[1], logs[0]] as Array<[KeyPair, Uint8Array[]]>, now)
  t.same(
    summary(issuerLast, now),
    summary(issuerFirst, now),
    'same claims, statuses and violations'
  )
  const child = toHex(claimId(stale.id, 0))
  t.equal(
    issuerLast.claims.get(child)?.void,
    'clock-regress',
    'the transfer is void for its own reason'
  )
  t.equal(issuerLast.claimStatus(child, now).code, 'clock-regress')
  t.equal(issuerLast.free(toHex(leg)), 10n, 'and takes nothing from its parent')
})
