/**
 * The logs a deploy asks the host to fetch: the host's own id in the list (which once made
 * Ledger.follow recurse until the process ran out of memory) is skipped, repeats are fetched once,
 * and an overlong list is refused before anything is reserved.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { participant } from '../helpers.js'
import { startHost, fund, spend, deployOf, guestCode } from './helpers.js'
import { ErrorCodes } from '../../src/core/errors.js'

t.test('deploy follow lists', async (t) => {
  const s = await startHost(t, { mips: 1000, sandboxes: 1 })
  const owner = await participant(t, 'owner')

  t.test("the host's own id and repeats are harmless", async (t) => {
    const c = await fund(s.hp, owner, { cpu: 1_000_000n })
    const d = deployOf(s.hp, owner, guestCode('echo'), [spend(c.cpu, 'cpu', 1_000_000n)])
    const g = await s.host.deploy({
      ...d,
      follow: [s.hp.kp.publicKey, s.hp.kp.publicKey, owner.kp.publicKey, owner.kp.publicKey]
    })
    t.ok(s.host.guest(g.id), 'admitted and running')
    await s.hp.ledger.follow(s.hp.kp.publicKey)
    t.pass('following its own log is a no-op')
  })

  t.test('more than 32 logs to follow: refused, nothing reserved', async (t) => {
    const c = await fund(s.hp, owner, { cpu: 1_000_000n })
    const d = deployOf(s.hp, owner, guestCode('echo'), [spend(c.cpu, 'cpu', 1_000_000n)])
    const before = s.hp.ledger.length
    const follow = Array.from({ length: 33 }, () => new Uint8Array(randomBytes(32)))
    await t.rejects(s.host.deploy({ ...d, follow }), {
      code: ErrorCodes.BAD_ARGUMENT,
      message: /at most 32/
    })
    t.equal(s.hp.ledger.length, before, 'nothing appended')
    t.equal(
      s.hp.ledger.holdings(owner.key).find((h) => h.claim.id === c.cpu)?.free,
      1_000_000n,
      'the claim is all free'
    )
  })
})
