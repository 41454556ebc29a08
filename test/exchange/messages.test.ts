import t from 'tap'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '../../src/crypto/identity.js'
import { encodeEntry } from '../../src/ledger/codecs.js'
import { signRecord } from '../../src/ledger/sign.js'
import * as build from '../../src/ledger/build.js'
import {
  decodeMessage,
  decodeProposal,
  encodeMessage,
  offerId,
  signHello,
  signOffer,
  verifyHello,
  verifyOffer,
  type Offer
} from '../../src/exchange/messages.js'
import { MAX_MESSAGE_BYTES } from '../../src/exchange/constants.js'
import { OfferBook, fitsOffer, priceOf } from '../../src/exchange/offers.js'
import { marketTopic, participantTopic } from '../../src/exchange/topics.js'
import { toHex } from '../../src/core/bytes.js'

const kp = generateKeyPair()
/** Byte fields as hex, so Buffers and Uint8Arrays compare by content. */
const plain = (x: unknown): unknown =>
  x instanceof Uint8Array
    ? toHex(x)
    : typeof x === 'bigint'
      ? String(x)
      : x && typeof x === 'object'
        ? Object.fromEntries(Object.entries(x).map(([k, val]) => [k, plain(val)]))
        : x
const v = (cpu: bigint, disk: bigint, net = 0n) => ({ cpu, disk, net })
const anOffer = (over: Partial<Offer> = {}): Offer =>
  signOffer(
    {
      maker: kp.publicKey,
      time: 1000,
      expires: 2000,
      nonce: new Uint8Array(16).fill(3),
      give: v(0n, 100n),
      want: v(10n, 0n),
      ...over
    },
    kp
  )

t.test('every message round-trips and has its documented size', async (t) => {
  const hh = randomBytes(64)
  const noise = randomBytes(32)
  const hello = signHello(kp, hh, noise)
  const cases = [
    ['hello', hello, 97],
    ['offer', anOffer(), 177],
    ['accept', { record: randomBytes(32), signature: randomBytes(64) }, 96],
    [
      'reject',
      { record: randomBytes(32), code: 'over-capacity', message: 'no room' },
      32 + 1 + 13 + 1 + 7
    ],
    ['done', { record: randomBytes(32) }, 32]
  ] as const
  for (const [type, body, size] of cases) {
    const bytes = encodeMessage(type, body as never)
    t.equal(bytes.byteLength, size, `${type} is ${size} bytes`)
    t.same(plain(decodeMessage(type, bytes)), plain(body), `${type} round-trips`)
    t.throws(
      () => decodeMessage(type, Buffer.concat([bytes, Buffer.from([0])])),
      { code: 'protocol-violation' },
      `${type}: trailing byte refused`
    )
    t.throws(
      () => decodeMessage(type, bytes.subarray(0, bytes.byteLength - 1)),
      { code: 'protocol-violation' },
      `${type}: truncated refused`
    )
  }
  t.ok(verifyHello(hello, hh, noise), 'hello verifies for its connection')
  t.notOk(verifyHello(hello, randomBytes(64), noise), 'not for another handshake')
  t.notOk(verifyHello(hello, hh, randomBytes(32)), 'nor for another Noise key')
})

t.test('schema checks name what is wrong', async (t) => {
  const bad = (type: Parameters<typeof decodeMessage>[0], bytes: Uint8Array, what: string) =>
    t.throws(() => decodeMessage(type, bytes), { code: 'protocol-violation' }, what)
  bad('propose', new Uint8Array(MAX_MESSAGE_BYTES + 1), 'oversize')
  const hello = encodeMessage('hello', signHello(kp, randomBytes(64), randomBytes(32)))
  hello[0] = 2
  bad('hello', hello, 'unknown protocol version')
  const offer = encodeMessage('offer', anOffer())
  offer.set(Buffer.alloc(8, 0xff), 33)
  bad('offer', offer, 'time beyond 2^53 - 1')
  const backwards = Buffer.from(encodeMessage('offer', anOffer()))
  backwards.writeUInt32LE(5000, 33)
  bad('offer', backwards, 'expires before time')
  const reject = Buffer.from(
    encodeMessage('reject', { record: new Uint8Array(32), code: 'refused', message: '' })
  )
  reject[33] = 'R'.charCodeAt(0)
  bad('reject', reject, 'a code outside [a-z0-9-]')
  t.throws(
    () => decodeProposal({ entry: randomBytes(300) }),
    { code: 'protocol-violation' },
    'an entry that does not decode'
  )
  const cap = signRecord(build.capacity(kp.publicKey, 1, {}), [kp])
  t.throws(
    () => decodeProposal({ entry: cap.bytes }),
    { code: 'protocol-violation' },
    'a record not co-signed over the exchange'
  )
  const other = generateKeyPair()
  const r = build.agreement({
    a: kp.publicKey,
    b: other.publicKey,
    give: { cpu: 1n },
    want: { disk: 1n }
  })
  t.equal(
    decodeProposal({ entry: encodeEntry(r, [new Uint8Array(64), new Uint8Array(64)]) }).record.type,
    'agreement',
    'an agreement is a proposal'
  )
  t.throws(
    () => signOffer({ ...anOffer(), give: v(0n, 0n) }, kp),
    { code: 'bad-argument' },
    'an offer that gives nothing is not signed'
  )
})

t.test('offers: signatures, ids, price and fit', async (t) => {
  const o = anOffer()
  t.ok(verifyOffer(o), 'a signed offer verifies')
  t.notOk(verifyOffer({ ...o, give: v(0n, 1000n) }), 'a changed offer does not')
  t.equal(toHex(offerId(o)).length, 64, 'id is 32 bytes')
  t.same(priceOf(o, v(0n, 50n)), v(5n, 0n), 'half the disk for half the cpu')
  t.same(priceOf(o, v(0n, 1n)), v(1n, 0n), 'rounded up, in the maker’s favour')
  t.equal(priceOf(o, v(0n, 101n)), null, 'not more than it gives')
  t.equal(priceOf(o, v(1n, 0n)), null, 'not what it does not give')
  t.ok(fitsOffer(o, v(0n, 100n), v(0n, 50n), v(5n, 0n)), 'a proposal at the price fits')
  t.notOk(fitsOffer(o, v(0n, 100n), v(0n, 50n), v(4n, 0n)), 'below the price does not')
  t.notOk(fitsOffer(o, v(0n, 40n), v(0n, 50n), v(5n, 0n)), 'beyond what is left does not')

  let now = 1500
  const book = new OfferBook(2, () => now)
  const maker = generateKeyPair()
  const mk = (expires: number, want: bigint) =>
    signOffer(
      {
        maker: maker.publicKey,
        time: 1000,
        expires,
        nonce: randomBytes(16),
        give: v(0n, 100n),
        want: v(want, 0n)
      },
      maker
    )
  t.ok(book.add(mk(3000, 20n)), 'added')
  t.notOk(book.add(mk(1400, 20n)), 'an expired offer is not')
  t.ok(book.add(mk(4000, 10n)), 'a second')
  t.ok(book.add(mk(5000, 30n)), 'full: the soonest to expire makes room')
  t.equal(book.size, 2, 'bounded')
  t.same(
    book.match(v(0n, 50n), v(100n, 0n)).map((m) => m.price.cpu),
    [5n, 15n],
    'cheapest first'
  )
  t.same(
    book.match(v(0n, 50n), v(10n, 0n)).map((m) => m.price.cpu),
    [5n],
    'within what the taker can give'
  )
  now = 4500
  t.equal(book.list().length, 1, 'expired offers leave the book')
})

t.test('topics are 32 bytes and differ by name and id', async (t) => {
  t.equal(marketTopic().byteLength, 32)
  t.not(toHex(marketTopic('a')), toHex(marketTopic('b')))
  t.not(toHex(participantTopic(kp.publicKey)), toHex(participantTopic(generateKeyPair().publicKey)))
  t.throws(() => marketTopic(''), TypeError)
})
