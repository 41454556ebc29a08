/**
 * The client helper (src/client/onion.ts): cells of one size for every route length, each hop
 * peeling exactly its layer, and bad input refused with a clear error.
 */
import { test } from 'tap'
import * as crypto from '../../src/host/crypto.js'
import { ErrorCodes } from '../../src/core/errors.js'
import {
  buildCell,
  chaff,
  maxMessage,
  openDelivery,
  openLetter,
  peel,
  CELL,
  MAX_HOPS,
  type Hop
} from '../../src/client/onion.js'

const hops = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ kp: crypto.keyPair(), address: `r${i}@host` }))

test('every route gives one cell size; each hop peels its own layer only', async (t) => {
  const recipient = crypto.keyPair()
  for (const n of [1, 2, 3, MAX_HOPS]) {
    const rs = hops(n)
    const route: Hop[] = rs.map((r) => ({ address: r.address, publicKey: r.kp.publicKey }))
    const message = 'x'.repeat(maxMessage(n))
    let cell = buildCell(route, 'mailbox@host', recipient.publicKey, message)
    for (const [i, r] of rs.entries()) {
      t.equal(cell.byteLength, CELL, `${n} hops: the cell at hop ${i + 1} is ${CELL} bytes`)
      if (i + 1 < rs.length) t.equal(peel(rs[i + 1]!.kp.secretKey, cell), null, 'not the next hop')
      const p = peel(r.kp.secretKey, cell)
      t.ok(p, `${n} hops: hop ${i + 1} opens its layer`)
      t.equal(p!.to, i + 1 < rs.length ? rs[i + 1]!.address : 'mailbox@host')
      cell = p!.cell
    }
    t.equal(new TextDecoder().decode(openLetter(recipient.secretKey, cell)!), message)
    t.equal(openLetter(crypto.keyPair().secretKey, cell), null, 'no other key opens the letter')
    const delivery = crypto.box(recipient.publicKey, cell)
    t.equal(new TextDecoder().decode(openDelivery(recipient.secretKey, delivery)!), message)
  }
  t.equal(peel(hops(1)[0]!.kp.secretKey, chaff()), null, 'chaff opens for no one')
  t.equal(peel(hops(1)[0]!.kp.secretKey, new Uint8Array(100)), null, 'nor does a short packet')
})

test('bad input is refused, naming what is wrong', async (t) => {
  const r = hops(2).map((h) => ({ address: h.address, publicKey: h.kp.publicKey }))
  const key = crypto.keyPair().publicKey
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['no route', () => buildCell([], 'm', key, 'x'), /1 to 8 remailers, not 0/],
    [
      'too many hops',
      () =>
        buildCell(
          hops(9).map((h) => ({ address: h.address, publicKey: h.kp.publicKey })),
          'm',
          key,
          'x'
        ),
      /not 9/
    ],
    [
      'too long',
      () => buildCell(r, 'm', key, 'x'.repeat(maxMessage(2) + 1)),
      /3621 bytes; through 2 remailers at most 3620/
    ],
    [
      'a short recipient key',
      () => buildCell(r, 'm', key.subarray(1), 'x'),
      /recipient key must be 32 bytes/
    ],
    [
      'a bad hop key',
      () => buildCell([r[0]!, { address: 'b', publicKey: new Uint8Array(5) }], 'm', key, 'x'),
      /key of remailer 2 must be 32 bytes/
    ],
    [
      'a long address',
      () => buildCell(r, 'm'.repeat(129), key, 'x'),
      /an address must be 1 to 128 bytes/
    ],
    ['an empty address', () => buildCell(r, '', key, 'x'), /an address must be 1 to 128 bytes/],
    ['a bad secret key', () => peel(new Uint8Array(3), chaff()), /secret key must be 32 bytes/]
  ]
  for (const [what, fn, message] of cases)
    t.throws(fn, { code: ErrorCodes.BAD_ARGUMENT, message }, what)
})
