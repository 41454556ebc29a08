/** The guest API end to end: crypto, store, encodings, and a remailer forwarding one layer. */
import t from 'tap'
import { participant } from '../helpers.js'
import { box } from '../../src/host/crypto.js'
import { startHost, deployGuest, guestCode, recorder } from './helpers.js'
import type { Packet } from '../../src/host/host.js'

t.test('the guest API', async (t) => {
  const packets: Packet[] = []
  const s = await startHost(t, {
    mips: 1000,
    sandboxes: 1,
    router: { send: (p) => packets.push(p) }
  })
  const rec = recorder(s.host)
  const owner = await participant(t, 'owner')

  t.test('every call does what docs/GUESTS.md says', async (t) => {
    const g = await deployGuest(s, owner, guestCode('api'), {
      cpu: 100_000n,
      disk: 1000n,
      net: 1000n
    })
    const lines = rec.logs.filter((l) => l.guest === g.id).map((l) => l.line)
    t.equal(lines.length, 18, 'every check ran')
    t.same(
      lines.filter((l) => !l.endsWith(' ok')),
      [],
      'and passed'
    )
    t.equal(
      s.host.guest(g.id)?.used.disk,
      4n + 6n,
      "'text' + 'héllo' in UTF-8 is what stays stored"
    )
  })

  t.test('a remailer unwraps one layer and forwards the rest', async (t) => {
    const g = await deployGuest(s, owner, guestCode('remailer'), {
      cpu: 100_000n,
      disk: 1000n,
      net: 10_000n
    })
    const line = rec.logs.find((l) => l.guest === g.id && l.line.startsWith('public '))
      ?.line as string
    const publicKey = Buffer.from(line.slice(7), 'hex')
    const onion = box(publicKey, new TextEncoder().encode('next@hop\nthe inner layer'))
    t.equal(await s.host.deliverTo(g.address, 'client', onion), true)
    await rec.wait(() => packets.some((p) => p.from === g.address))
    const out = packets.find((p) => p.from === g.address) as Packet
    t.equal(out.to, 'next@hop')
    t.equal(new TextDecoder().decode(out.data), 'the inner layer')
    t.equal(await s.host.deliverTo(g.address, 'client', new Uint8Array(60)), true)
    t.ok(
      rec.logs.some((l) => l.guest === g.id && l.line === 'not for me, from client'),
      'garbage is refused by the guest'
    )
  })
})
