/** Admission: every refusal code, exact bigint balances, and 50 concurrent deploys on one claim. */
import t, { type Test } from 'tap'
import { participant, connect } from '../helpers.js'
import { ErrorCodes } from '../../src/core/errors.js'
import { signRecord, signDeployRequest } from '../../src/ledger/sign.js'
import { claimId } from '../../src/ledger/state.js'
import { toHex } from '../../src/core/bytes.js'
import { decodeDeployRequest } from '../../src/ledger/codecs.js'
import * as build from '../../src/ledger/build.js'
import { startHost, fund, spend, deployOf, guestCode } from './helpers.js'

const CODE = "quid.on('start', () => quid.log('up'))"

t.test('admission', async (t) => {
  const s = await startHost(t, { mips: 1000, maxGuests: 60 })
  const owner = await participant(t, 'owner')
  const other = await participant(t, 'other')
  const refused = async (
    t: Test,
    d: ReturnType<typeof deployOf>,
    code: string,
    claim?: string
  ): Promise<void> => {
    const length = s.hp.ledger.length
    const free = claim ? s.hp.ledger.free(claim) : 0n
    await t.rejects(s.host.deploy(d), { code }, `refused: ${code}`)
    t.equal(s.hp.ledger.length, length, 'nothing appended')
    if (claim) t.equal(s.hp.ledger.free(claim), free, 'nothing reserved')
  }

  t.test('balance = cost - 1, = cost, = cost + 1 (exact bigint)', async (t) => {
    const cost = 10n ** 11n + 7n
    const c = await fund(s.hp, owner, { cpu: cost })
    await refused(
      t,
      deployOf(s.hp, owner, CODE, [spend(c.cpu, 'cpu', cost + 1n)]),
      ErrorCodes.INSUFFICIENT,
      c.cpu
    )
    const g = await s.host.deploy(deployOf(s.hp, owner, CODE, [spend(c.cpu, 'cpu', cost)]))
    t.equal(g.reserved.cpu, cost, 'balance = cost: admitted')
    t.equal(s.hp.ledger.free(c.cpu), 0n, 'the whole claim is reserved')
    const c2 = await fund(s.hp, owner, { cpu: cost })
    await s.host.deploy(deployOf(s.hp, owner, CODE, [spend(c2.cpu, 'cpu', cost - 1n)]))
    t.equal(s.hp.ledger.free(c2.cpu), 1n, 'balance = cost + 1: admitted, 1 left')
    await refused(
      t,
      deployOf(s.hp, owner, CODE, [spend(c2.cpu, 'cpu', 2n)]),
      ErrorCodes.INSUFFICIENT,
      c2.cpu
    )
  })

  t.test('refusal codes', async (t) => {
    const c = await fund(s.hp, owner, { cpu: 1000n })
    const good = deployOf(s.hp, owner, CODE, [spend(c.cpu, 'cpu', 10n)])
    // bad-signature: signed by someone else
    const req = decodeDeployRequest(good.request)
    await refused(
      t,
      { ...good, signature: signDeployRequest({ ...req, owner: other.kp.publicKey }, other.kp) },
      ErrorCodes.BAD_SIGNATURE,
      c.cpu
    )
    // unknown-claim
    const unknown = toHex(new Uint8Array(32).fill(9))
    await refused(
      t,
      deployOf(s.hp, owner, CODE, [spend(unknown, 'cpu', 10n)]),
      ErrorCodes.UNKNOWN_CLAIM
    )
    // not-holder: another participant's claim
    await refused(
      t,
      deployOf(s.hp, other, CODE, [spend(c.cpu, 'cpu', 10n)]),
      ErrorCodes.NOT_HOLDER,
      c.cpu
    )
    // not-issuer: a claim on someone else
    await other.ledger.appendOwn(build.capacity(other.kp.publicKey, 1000, { cpu: 10n ** 9n }))
    const foreign = build.issue({
      issuer: other.kp.publicKey,
      holder: owner.kp.publicKey,
      amounts: { cpu: 100n }
    })
    const fs = signRecord(foreign, [other.kp, owner.kp])
    await other.ledger.append(fs)
    connect(t, s.hp, other)
    await s.hp.ledger.follow(other.kp.publicKey)
    const fc = toHex(claimId(fs.id, 0))
    await refused(t, deployOf(s.hp, owner, CODE, [spend(fc, 'cpu', 10n)]), ErrorCodes.NOT_ISSUER)
    // not-settled: an agreement only in the host's log
    const ag = build.agreement({
      a: s.hp.kp.publicKey,
      b: owner.kp.publicKey,
      give: { cpu: 500n },
      want: { disk: 1n }
    })
    const as = signRecord(ag, [s.hp.kp, owner.kp])
    await s.hp.ledger.append(as)
    const ac = toHex(claimId(as.id, 0))
    await refused(
      t,
      deployOf(s.hp, owner, CODE, [spend(ac, 'cpu', 10n)]),
      ErrorCodes.NOT_SETTLED,
      ac
    )
    // expired
    const now = Date.now()
    const e = await fund(s.hp, owner, { cpu: 100n }, { time: now - 1000, expires: now + 300 })
    await new Promise((r) => setTimeout(r, 400))
    await refused(
      t,
      deployOf(s.hp, owner, CODE, [spend(e.cpu, 'cpu', 10n)]),
      ErrorCodes.EXPIRED,
      e.cpu
    )
    // code-too-large, bad-code, wrong-host
    await refused(
      t,
      deployOf(s.hp, owner, 'x'.repeat(1024 * 1024 + 1), [spend(c.cpu, 'cpu', 10n)]),
      ErrorCodes.CODE_TOO_LARGE,
      c.cpu
    )
    await refused(
      t,
      { ...good, code: new TextEncoder().encode(CODE.replace('up', 'UP')) },
      ErrorCodes.BAD_CODE,
      c.cpu
    )
    await refused(
      t,
      deployOf(other, owner, CODE, [spend(c.cpu, 'cpu', 10n)]),
      ErrorCodes.WRONG_HOST,
      c.cpu
    )
    // insufficient: no cpu at all
    const d = await fund(s.hp, owner, { disk: 100n })
    await refused(
      t,
      deployOf(s.hp, owner, CODE, [spend(d.disk, 'disk', 10n)]),
      ErrorCodes.INSUFFICIENT,
      d.disk
    )
    // duplicate-guest: the same request twice
    await s.host.deploy(good)
    await refused(t, good, ErrorCodes.DUPLICATE_GUEST, c.cpu)
    // a request that does not decode
    await t.rejects(s.host.deploy({ ...good, request: good.request.subarray(1) }), {
      code: ErrorCodes.DECODE_VERSION
    })
  })

  t.test('overspent: a transfer the host sees does not fit what is left', async (t) => {
    const c = await fund(s.hp, owner, { cpu: 1000n })
    // The host reserves 600 for a guest; the owner then writes a transfer of 800 straight into its
    // own log (a cheating owner: its ledger would have refused it had it followed the host).
    await s.host.deploy(deployOf(s.hp, owner, CODE, [spend(c.cpu, 'cpu', 600n)]))
    const tr = build.transfer({
      sender: owner.kp.publicKey,
      receiver: other.kp.publicKey,
      claim: Buffer.from(c.cpu, 'hex'),
      amount: 800n
    })
    const ts = signRecord(tr, [owner.kp, other.kp])
    await owner.ledger.core.append(ts.bytes)
    connect(t, s.hp, owner)
    await s.hp.ledger.follow(owner.kp.publicKey)
    const child = toHex(claimId(ts.id, 0))
    await refused(
      t,
      deployOf(s.hp, other, CODE, [spend(child, 'cpu', 10n, c.cpu)]),
      ErrorCodes.OVERSPENT
    )
  })

  t.test('host-full', async (t) => {
    const small = await startHost(t, { mips: 1000, maxGuests: 1, sandboxes: 1 })
    const c = await fund(small.hp, owner, { cpu: 1000n })
    await small.host.deploy(deployOf(small.hp, owner, CODE, [spend(c.cpu, 'cpu', 10n)]))
    const length = small.hp.ledger.length
    await t.rejects(
      small.host.deploy(deployOf(small.hp, owner, CODE, [spend(c.cpu, 'cpu', 10n)])),
      { code: ErrorCodes.HOST_FULL }
    )
    t.equal(small.hp.ledger.length, length, 'nothing appended')
    t.equal(small.hp.ledger.free(c.cpu), 990n, 'nothing more reserved')
  })

  t.test('50 concurrent deploys against one claim never reserve more than it holds', async (t) => {
    const c = await fund(s.hp, owner, { cpu: 25_000n })
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () =>
        s.host.deploy(deployOf(s.hp, owner, guestCode('echo'), [spend(c.cpu, 'cpu', 1000n)]))
      )
    )
    const ok = results.filter((r) => r.status === 'fulfilled').length
    const codes = new Set(
      results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : []))
    )
    t.equal(ok, 25, 'exactly as many as the claim pays for')
    t.same([...codes], [ErrorCodes.INSUFFICIENT], 'the rest are insufficient')
    t.equal(s.hp.ledger.free(c.cpu), 0n)
    t.equal(s.hp.ledger.hostCommitted(c.cpu), 25_000n, 'reserved = the claim, not more')
    t.same(
      s.hp.ledger.violations().filter((v) => v.culprit === s.hp.key),
      [],
      "the host's log breaks no rule"
    )
  })
})
