// The story of the 1997 post, on real Hypercores on disk, replicated in-process.
import { test } from 'tap'
import { participant, connect, publishCapacity, barter, cosign } from '../helpers.js'
import * as build from '../../src/ledger/build.js'
import { parseAmounts } from '../../src/ledger/amounts.js'
import { MI_PER_MIPS_YEAR } from '../../src/ledger/constants.js'
import { claimId } from '../../src/ledger/state.js'
import { fromHex, toHex } from '../../src/core/bytes.js'
import { signDeployRequest } from '../../src/ledger/sign.js'
import { deployRequestId } from '../../src/ledger/codecs.js'
import { blake2b256 } from '../../src/crypto/hash.js'

const MY = MI_PER_MIPS_YEAR

test("A and B barter, A passes part of B's IOU to Joe, B honors it, usage debits it, expiry ends it", async (t) => {
  let clock = Date.now()
  const now = (): number => clock
  const A = await participant(t, 'alice', { now })
  const B = await participant(t, 'bob', { now })
  const joe = await participant(t, 'joe', { now })
  await publishCapacity(A, undefined, clock)
  await publishCapacity(B, undefined, clock)

  const each = parseAmounts('cpu=10my,disk=10MB,net=100MB')
  const { signed: agreement } = await barter(A, B, each, each, { time: clock })
  // Legs: A's cpu, disk, net (0..2), then B's cpu, disk, net (3..5).
  const bCpu = toHex(claimId(agreement.id, 3))
  t.equal(A.ledger.claim(bCpu)?.holder, A.key, "A holds B's cpu IOU")
  t.equal(A.ledger.claim(bCpu)?.amount, 10n * MY)
  t.equal(A.ledger.claimStatus(bCpu).code, 'not-settled', "A has not seen B's log yet")

  connect(t, A, B)
  connect(t, A, joe)
  connect(t, B, joe)
  await A.ledger.follow(B.kp.publicKey)
  await B.ledger.follow(A.kp.publicKey)
  t.ok(A.ledger.claimStatus(bCpu).ok, 'from A: settled')
  t.same(A.ledger.balance(), { cpu: 10n * MY, disk: 10_000_000n, net: 100_000_000n })
  t.same(B.ledger.obligations(), { cpu: 10n * MY, disk: 10_000_000n, net: 100_000_000n })

  // A transfers 4 mips-years of B's IOU to Joe (in A's log, signed by A and Joe).
  const give = cosign(
    build.transfer({
      sender: A.kp.publicKey,
      receiver: joe.kp.publicKey,
      claim: fromHex(bCpu, 32),
      amount: 4n * MY,
      time: clock
    }),
    A.kp,
    joe.kp
  )
  await A.ledger.append(give)
  const joeClaim = toHex(claimId(give.id, 0))

  // B, the issuer, has never spoken to Joe; it verifies Joe's claim by reading A's log. A's new
  // entry reaches B's replica over the connection a moment later, sooner or later with the load.
  await B.ledger.sync(A.kp.publicKey)
  for (let i = 0; i < 100 && !B.ledger.claimStatus(joeClaim).ok; i++) {
    await new Promise((r) => setTimeout(r, 20))
    await B.ledger.sync(A.kp.publicKey)
  }
  t.ok(B.ledger.claimStatus(joeClaim).ok, "from B: Joe's claim is good")
  t.equal(B.ledger.state.free(joeClaim), 4n * MY)
  t.equal(B.ledger.state.free(bCpu), 6n * MY, 'A keeps 6')

  // A tries to pass on 7 more of the same IOU: only 6 are left.
  const greedy = cosign(
    build.transfer({
      sender: A.kp.publicKey,
      receiver: joe.kp.publicKey,
      claim: fromHex(bCpu, 32),
      amount: 7n * MY,
      time: clock
    }),
    A.kp,
    joe.kp
  )
  await t.rejects(A.ledger.append(greedy), { code: 'overspent' })
  t.equal(A.ledger.length, 3, 'nothing appended by the refused transfer')

  // Joe deploys on B, paying 1 mips-year of his claim; B admits, meters, evicts.
  const code = new TextEncoder().encode('quid.on("start", () => {})')
  const request = build.deployRequest({
    host: B.kp.publicKey,
    owner: joe.kp.publicKey,
    codeHash: blake2b256(code),
    codeSize: code.byteLength,
    claims: [
      { claim: fromHex(joeClaim, 32), root: fromHex(bCpu, 32), resource: 'cpu', amount: 1n * MY }
    ],
    time: clock
  })
  const admitted = await B.ledger.appendOwn(
    build.admit(request, signDeployRequest(request, joe.kp), clock)
  )
  t.equal(admitted.record.type, 'admit')
  t.equal(B.ledger.state.free(joeClaim), 3n * MY, 'the reservation is held')
  const gid = deployRequestId(request)
  await B.ledger.appendOwn(
    build.usage(B.kp.publicKey, gid, { cpu: MY / 2n, disk: 0n, net: 0n }, clock)
  )
  await t.rejects(
    B.ledger.appendOwn(
      build.usage(B.kp.publicKey, gid, { cpu: 2n * MY, disk: 0n, net: 0n }, clock)
    ),
    { code: 'over-usage' }
  )
  await B.ledger.appendOwn(
    build.evict(B.kp.publicKey, gid, { cpu: MY / 2n, disk: 0n, net: 0n }, 'stopped', clock)
  )
  t.equal(B.ledger.state.free(joeClaim), 4n * MY - MY / 2n, 'usage debited, the rest released')
  t.equal(B.ledger.obligations().cpu, 10n * MY - MY / 2n, 'B owes what was not yet used')

  // After expiry nothing more can be admitted.
  if (agreement.record.type !== 'agreement') throw new Error('unreachable')
  clock = agreement.record.expires + 1
  const late = build.deployRequest({
    host: B.kp.publicKey,
    owner: joe.kp.publicKey,
    codeHash: blake2b256(code),
    codeSize: code.byteLength,
    claims: [
      { claim: fromHex(joeClaim, 32), root: fromHex(bCpu, 32), resource: 'cpu', amount: 1n }
    ],
    time: clock
  })
  await t.rejects(B.ledger.appendOwn(build.admit(late, signDeployRequest(late, joe.kp), clock)), {
    code: 'expired'
  })
  t.same(
    B.ledger.balance(A.key),
    { cpu: 0n, disk: 0n, net: 0n },
    'expired claims count for nothing'
  )
  t.same(B.ledger.violations(), [], 'no rule was broken')
})
