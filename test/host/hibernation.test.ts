/**
 * Hibernation (src/host/hibernation.ts): an idle guest's isolate is disposed and the guest is
 * loaded again before its next call, a message or a timer; its store and credit stay, its memory
 * does not, and waking is billed to it. In both places guests run.
 */
import t from 'tap'
import { participant } from '../helpers.js'
import { startHost, deployGuest, guestCode, recorder, until } from './helpers.js'
import { ISOLATIONS } from '../../src/host/place.js'
import type { Packet } from '../../src/host/host.js'

const AFTER_MS = 150
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

for (const isolation of ISOLATIONS)
  t.test(`hibernation, isolation ${isolation}`, async (t) => {
    const packets: Packet[] = []
    const s = await startHost(t, {
      isolation,
      sandboxes: 1,
      mips: 1000,
      hibernateAfterMs: AFTER_MS,
      router: { send: (p) => packets.push(p) }
    })
    const rec = recorder(s.host)
    const owner = await participant(t, 'owner')
    const g = await deployGuest(s, owner, guestCode('sleeper'), {
      cpu: 1_000_000n,
      disk: 10_000n,
      net: 100_000n
    })
    const ask = async (): Promise<string> => {
      const n = packets.length
      t.equal(await s.host.deliverTo(g.id, 'tester', new TextEncoder().encode('count')), true)
      await until(() => packets.length > n)
      return text((packets[n] as Packet).data)
    }
    const holding = async (): Promise<number> =>
      (await s.host.stats()).reduce((a, p) => a + p.guests, 0)

    t.equal(await ask(), 'memory=1 starts=1')
    t.equal(await ask(), 'memory=2 starts=1', 'awake, memory stays between calls')
    t.equal(s.host.guest(g.id)?.asleep, false)

    t.ok(await until(() => s.host.guest(g.id)?.asleep === true), 'idle, it hibernates')
    t.equal(await holding(), 0, 'its isolate is gone from where guests run')
    const before = s.host.guest(g.id)?.used.cpu as bigint

    t.equal(await ask(), 'memory=1 starts=2', 'a message wakes it: loaded again, start ran again')
    t.equal(s.host.guest(g.id)?.asleep, false)
    t.equal(await holding(), 1)
    const after = s.host.guest(g.id)?.used.cpu as bigint
    t.ok(after > before, `waking is billed to it (${before} MI before, ${after} after)`)

    // A timer set before it sleeps wakes it when it fires.
    t.equal(await s.host.deliverTo(g.id, 'tester', new TextEncoder().encode('after 600')), true)
    t.ok(await until(() => s.host.guest(g.id)?.asleep === true), 'asleep with a timer pending')
    t.ok(
      await until(() => rec.logs.some((l) => l.guest === g.id && l.line === 'timer wake memory 0')),
      'the timer woke it, with fresh memory'
    )
    t.same(
      rec.logs.filter((l) => l.guest === g.id && l.line.startsWith('start')).map((l) => l.line),
      ['start 1', 'start 2', 'start 3'],
      'start ran once per wake'
    )
  })

t.test('a guest that keeps being called never hibernates', async (t) => {
  const s = await startHost(t, { mips: 1000, hibernateAfterMs: AFTER_MS })
  const owner = await participant(t, 'owner')
  const g = await deployGuest(s, owner, guestCode('sleeper'), {
    cpu: 1_000_000n,
    disk: 1000n,
    net: 100_000n
  })
  const end = Date.now() + AFTER_MS * 4
  let calls = 0
  while (Date.now() < end) {
    await s.host.deliverTo(g.id, 'tester', new TextEncoder().encode('count'))
    calls++
    t.equal(s.host.guest(g.id)?.asleep, false)
    await new Promise((r) => setTimeout(r, AFTER_MS / 5))
  }
  t.ok(calls > 5, `${calls} calls, none of them woke it`)
})

t.test('hibernateAfterMs 0: guests never hibernate', async (t) => {
  const s = await startHost(t, { mips: 1000, hibernateAfterMs: 0 })
  const owner = await participant(t, 'owner')
  const g = await deployGuest(s, owner, guestCode('sleeper'), { cpu: 1_000_000n, disk: 1000n })
  await new Promise((r) => setTimeout(r, 300))
  t.equal(s.host.guest(g.id)?.asleep, false)
})
