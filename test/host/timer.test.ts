/** `quid.after`: guest timers fire with their note, are bounded, and end with the guest. */
import t from 'tap'
import { participant } from '../helpers.js'
import { startHost, deployGuest, recorder } from './helpers.js'

const TIMERS = `
quid.on('start', () => {
  quid.after(30, 'first')
  quid.after(0, 'second')
  for (const bad of [-1, 1.5, 3600001, 'x']) {
    try { quid.after(bad) ; quid.log('accepted ' + bad) } catch (e) { quid.log('refused ' + bad) }
  }
  try { quid.after(10, 'n'.repeat(257)) } catch (e) { quid.log('refused long note') }
})
quid.on('timer', (note) => {
  quid.log('timer ' + note)
  if (note === 'first') {
    let n = 0
    try { for (;;) { quid.after(3600000, 'later'); n++ } } catch (e) { quid.log('pending ' + n) }
  }
})
`

const SELF_RESCHEDULING = `
quid.on('start', () => quid.after(5, 'again'))
quid.on('timer', () => {
  const n = Number(quid.store.get('n') ?? '0') + 1
  quid.store.put('n', String(n))
  quid.log('tick ' + n)
  quid.after(5, 'again')
})
`

t.test('guest timers', async (t) => {
  const s = await startHost(t, { mips: 1000, sandboxes: 1 })
  const rec = recorder(s.host)
  const owner = await participant(t, 'owner')

  t.test(
    'they fire in order with their note; bad arguments and more than 64 are refused',
    async (t) => {
      const g = await deployGuest(s, owner, TIMERS, { cpu: 10_000_000n, disk: 1000n, net: 1000n })
      const lines = (): string[] => rec.logs.filter((l) => l.guest === g.id).map((l) => l.line)
      await rec.wait(() => lines().some((l) => l.startsWith('pending')))
      t.same(lines(), [
        'refused -1',
        'refused 1.5',
        'refused 3600001',
        'refused x',
        'refused long note',
        'timer second',
        'timer first',
        // Both have fired (a timer stops counting when its call starts): 64 fit under the cap.
        'pending 64'
      ])
    }
  )

  t.test('an evicted guest gets no more timer calls', async (t) => {
    const g = await deployGuest(s, owner, SELF_RESCHEDULING, {
      cpu: 10_000_000n,
      disk: 1000n,
      net: 1000n
    })
    const ticks = (): number =>
      rec.logs.filter((l) => l.guest === g.id && l.line.startsWith('tick')).length
    await rec.wait(() => ticks() >= 3)
    t.ok(s.host.guest(g.id), 'running on its timers')
    // Owner stop: the guest ends and its pending timer with it.
    const { signStop } = await import('../../src/host/host.js')
    await s.host.stop(g.id, signStop(g.id, owner.kp))
    const after = ticks()
    await new Promise((r) => setTimeout(r, 100))
    t.equal(ticks(), after, 'no tick after the stop')
    t.equal(s.host.guest(g.id), undefined)
  })
})
