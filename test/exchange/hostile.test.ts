import t from 'tap'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '../../src/crypto/identity.js'
import { toHex } from '../../src/core/bytes.js'
import { encodeEntry } from '../../src/ledger/codecs.js'
import * as build from '../../src/ledger/build.js'
import { encodeMessage, signOffer, type Offer } from '../../src/exchange/messages.js'
import { Hostile, type HostileConnection } from './hostile.js'
import { network, until } from './helpers.js'

const vec = (cpu: bigint, disk: bigint) => ({ cpu, disk, net: 0n })

t.test(
  'a hostile peer is dropped and banned for every kind of garbage; nothing recorded',
  async (t) => {
    const net = await network(t)
    const a = await net.agent('a')
    const b = await net.agent('b')
    await b.exchange.offer({ give: { disk: 10_000n }, want: { cpu: 100n } })
    await a.node.reach(b.kp.publicKey, 20_000)
    const hostile = new Hostile(net.testnet.bootstrap)
    t.teardown(() => hostile.close())
    const target = b.node.swarm.keyPair.publicKey
    const startLength = b.ledger.length
    const misbehaved: string[] = []
    const why: unknown[] = []
    b.node.on('misbehave', (_p, err: { code: string; details: { why?: unknown } }) => {
      misbehaved.push(err.code)
      why.push(err.details.why)
    })

    const mallory = generateKeyPair()
    const offerOf = (kp = mallory): Offer =>
      signOffer(
        {
          maker: kp.publicKey,
          time: Date.now(),
          expires: Date.now() + 60_000,
          nonce: new Uint8Array(16),
          give: vec(1n, 0n),
          want: vec(0n, 1n)
        },
        kp
      )

    /** Runs one attack on a fresh connection; the connection must end and its key be banned. */
    const attack = async (
      name: string,
      code: string,
      act: (h: HostileConnection) => void
    ): Promise<void> => {
      const h = await hostile.connect(target)
      const noiseKey = toHex(h.conn.publicKey)
      act(h)
      await h.closed
      t.pass(`${name}: dropped`)
      t.equal(misbehaved.at(-1), code, `${name}: refused as ${code}`)
      t.ok(b.node.bans.has(noiseKey), `${name}: its key is banned`)
    }

    await attack('raw random frames before hello', 'protocol-violation', (h) => {
      for (let k = 0; k < 20; k++) h.conn.write(randomBytes(8 * 1024))
    })
    // Whichever comes first: 64 KiB counted before hello, or a random frame Protomux cannot parse.
    t.ok(
      ['preauth-bytes', 'framing'].includes(why.at(-1) as string),
      'refused for what it sent before hello'
    )
    await attack('random bytes as hello', 'protocol-violation', (h) =>
      h.send('hello', randomBytes(97))
    )
    await attack('random bytes after hello', 'protocol-violation', (h) => {
      h.hello(generateKeyPair())
      h.send('accept', randomBytes(50))
    })
    await attack('an oversize frame', 'protocol-violation', (h) => {
      h.hello(generateKeyPair())
      h.send('propose', randomBytes(64 * 1024))
    })
    t.equal(why.at(-1), 'oversize', 'refused for its size, before decoding')
    await attack('a hello signed by another key', 'auth-failed', (h) => {
      // Claims to be A, signs with its own key.
      const forged = encodeMessage('hello', {
        version: 1,
        id: a.kp.publicKey,
        signature: new Uint8Array(64).fill(7)
      })
      h.send('hello', forged)
    })
    await attack('a valid offer before hello', 'auth-failed', (h) =>
      h.send('offer', encodeMessage('offer', offerOf()))
    )
    await attack('an offer with a forged signature', 'auth-failed', (h) => {
      h.hello(mallory)
      const o = offerOf()
      h.send('offer', encodeMessage('offer', { ...o, give: vec(1000n, 0n) }))
    })
    await attack('a proposal with a forged signature', 'auth-failed', (h) => {
      const kp = generateKeyPair()
      h.hello(kp)
      const r = build.agreement({
        a: kp.publicKey,
        b: b.kp.publicKey,
        give: { cpu: 1n },
        want: { disk: 1n }
      })
      h.send('propose', encodeEntry(r, [new Uint8Array(64).fill(1), new Uint8Array(64)]))
    })
    await attack('a flood', 'rate-limited', (h) => {
      h.hello(generateKeyPair())
      for (let i = 0; i < 3000; i++) h.send('done', randomBytes(32))
    })

    // A banned participant is refused on a new connection too, and its other connections close.
    const eve = generateKeyPair()
    const first = await hostile.connect(target)
    first.hello(eve)
    const second = await hostile.connect(target)
    second.hello(eve)
    await until(() => b.node.peer(toHex(eve.publicKey)) !== null, 'eve authenticated')
    second.send('propose', randomBytes(10))
    await Promise.all([first.closed, second.closed])
    t.pass("misbehaving on one connection closes the participant's other connection")
    t.ok(b.node.bans.has(toHex(eve.publicKey)), 'the participant id is banned')
    const third = await hostile.connect(target).catch(() => null)
    if (third) {
      third.hello(eve)
      await third.closed
    }
    t.pass('a banned participant coming back on a fresh key is dropped')

    t.equal(b.ledger.length, startLength, 'nothing recorded in B')
    t.equal(b.exchange.book.size, 0, 'no hostile offer in the book')
    t.ok(
      [...b.node.peers].every((p) => p.key === a.key),
      'only the honest peer is still connected'
    )
    const signed = await a.exchange.barter(b.kp.publicKey, {
      give: { cpu: 10n },
      want: { disk: 1000n }
    })
    t.ok(await b.exchange.waitSettled(toHex(signed.id)), 'honest peers keep trading')
  }
)
