import { test } from 'tap'
import { randomBytes } from 'node:crypto'
import z32 from 'z32'
import { formatAddress, guestAddress, clientAddress } from '../../src/vnet/address.js'
import { equal } from '../../src/core/bytes.js'

const key = (): Uint8Array => new Uint8Array(randomBytes(32))
const spelled = (agent: Uint8Array, guest: Uint8Array | null): string =>
  guest ? `${z32.encode(guest)}@${z32.encode(agent)}` : z32.encode(agent)

test('formatAddress remembers spellings by the bytes, not by the object', async (t) => {
  const agent = key()
  const guest = key()
  const a = guestAddress(agent, guest)
  t.equal(formatAddress(a), spelled(agent, guest))
  // The same object with its bytes changed is another address, spelled anew.
  guest.fill(1)
  t.equal(formatAddress(a), spelled(agent, guest), 'changed bytes, new spelling')
  // A client address and a guest address on the same agent are spelled apart.
  t.equal(formatAddress(clientAddress(agent)), spelled(agent, null))
  t.not(formatAddress(clientAddress(agent)), formatAddress(a))
})

test('formatAddress: past the number it remembers, every address is still spelled right', async (t) => {
  const all = Array.from({ length: 5000 }, () =>
    Math.random() < 0.5 ? guestAddress(key(), key()) : clientAddress(key())
  )
  for (const a of all) formatAddress(a)
  t.ok(
    all.every((a) => formatAddress(a) === spelled(a.agent, a.guest)),
    'the first ones (forgotten) and the last ones (remembered) alike'
  )
})

test('equal (core/bytes): same bytes only, whatever the view', async (t) => {
  const a = key()
  t.ok(equal(a, a.slice()), 'a copy')
  t.ok(equal(a, Buffer.from(a)), 'a Buffer of the same bytes')
  const big = new Uint8Array(40)
  big.set(a, 4)
  t.ok(equal(a, big.subarray(4, 36)), 'a view at an offset')
  const b = a.slice()
  b[31] = (b[31] as number) ^ 1
  t.notOk(equal(a, b), 'one bit apart')
  t.notOk(equal(a, a.subarray(0, 31)), 'a prefix')
  t.notOk(equal(new Uint8Array(0), new Uint8Array(1)))
  t.ok(equal(new Uint8Array(0), new Uint8Array(0)))
})
