/**
 * Limits per sending address (src/vnet/sources.ts, and the router that applies them): a guest
 * that floods an agent is cut off, while another guest of the same host, sending through the
 * same peer, is not.
 */
import { test } from 'tap'
import { randomBytes } from 'node:crypto'
import { SourceLimits } from '../../src/vnet/sources.js'
import { Router } from '../../src/vnet/router.js'
import { addressKey, clientAddress, guestAddress, type Address } from '../../src/vnet/address.js'
import { encodePacket } from '../../src/vnet/packet.js'

const key = (): Uint8Array => new Uint8Array(randomBytes(32))

test('an address over its rate is cut off for banMs, then starts afresh', async (t) => {
  let now = 1_000_000
  const s = new SourceLimits({ packetsPerSec: 10, packetBurst: 5, banMs: 60_000, now: () => now })
  const admitted = (n: number): number => {
    let ok = 0
    for (let i = 0; i < n; i++) if (s.admit('a')) ok++
    return ok
  }
  t.equal(admitted(5), 5, 'its burst')
  t.equal(s.admit('a'), false, 'the next one, at once, is over the rate')
  t.ok(s.banned('a'), 'and cuts it off')
  t.equal(s.admit('b'), true, 'another address is not affected')
  now += 30_000
  t.equal(admitted(3), 0, 'still cut off after 30 s, even though its bucket refilled')
  now += 30_001
  t.notOk(s.banned('a'))
  t.equal(admitted(5), 5, 'a minute later it may send its burst again')
  t.equal(s.dropped, 4)
})

test('the table of addresses is bounded: the least recently heard is forgotten', async (t) => {
  const now = 0
  const s = new SourceLimits({ packetsPerSec: 1, packetBurst: 1, maxSources: 3, now: () => now })
  s.admit('x')
  s.admit('x') // cut off
  t.ok(s.banned('x'))
  for (const k of ['y', 'z', 'w']) s.admit(k)
  t.notOk(s.banned('x'), 'forgotten once three others were heard since')
})

test('the router drops a flooding guest, not its agent', async (t) => {
  const self = key()
  const host = key()
  const router = new Router(
    self,
    { send: () => true },
    { sources: { packetsPerSec: 1, packetBurst: 20 } }
  )
  const me = clientAddress(self)
  const got: Address[] = []
  router.attach(me, { deliver: (_p, from) => (got.push(from), true) })
  const flooder = guestAddress(host, key())
  const neighbour = guestAddress(host, key())
  const packet = (from: Address): Uint8Array =>
    encodePacket({
      kind: 'data',
      id: new Uint8Array(randomBytes(16)),
      from,
      to: me,
      payload: new Uint8Array(1)
    })
  let throttled = 0
  router.on('throttled', () => throttled++)
  for (let i = 0; i < 100; i++) router.receive(host, packet(flooder))
  const fromFlooder = got.length
  t.equal(fromFlooder, 20, 'the flooder got its burst through, then was cut off')
  t.equal(throttled, 80)
  for (let i = 0; i < 10; i++) router.receive(host, packet(neighbour))
  t.equal(
    got.length - fromFlooder,
    10,
    'a neighbour on the same host, through the same peer, is not'
  )
  t.ok(router.sources.banned(addressKey(flooder)), 'the flooder stays cut off')
  t.notOk(router.sources.banned(addressKey(neighbour)))
})
