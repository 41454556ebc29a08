// A host publishes a new `capacity` record only when its rating or its limits really change: the
// same machine measured again keeps the unit its guests and partners already know (issue 14).
import t from 'tap'
import { participant, tmp } from '../helpers.js'
import { Host } from '../../src/host/host.js'
import { LIMITS } from './helpers.js'

t.test('a restart keeps the published rating unless it moved by more than 10 %', async (t) => {
  const hp = await participant(t, 'host')
  const dir = await tmp(t, 'quid-host-')
  const start = async (
    mips: number,
    limits = LIMITS
  ): Promise<{ mips: number; length: number }> => {
    const host = new Host({ ledger: hp.ledger, dir, limits, mips })
    await host.ready()
    const out = { mips: host.mips, length: hp.ledger.length }
    await host.close()
    return out
  }
  const first = await start(10_000)
  t.equal(first.mips, 10_000)
  const again = await start(10_900)
  t.same(again, first, 'a rating 9 % off is the same one: no new record, the published rating')
  t.equal(hp.ledger.capacity()?.mips, 10_000)
  const moved = await start(11_500)
  t.equal(moved.mips, 11_500, 'a rating 15 % off is a new one')
  t.equal(moved.length, first.length + 1, 'published in a new capacity record')
  t.equal(hp.ledger.capacity()?.mips, 11_500)
  const bigger = await start(11_500, { ...LIMITS, disk: LIMITS.disk * 2n })
  t.equal(bigger.length, moved.length + 1, 'new limits are a new record, the rating unchanged')
  t.equal(hp.ledger.capacity()?.limits.disk, LIMITS.disk * 2n)
})
