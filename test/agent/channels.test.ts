/**
 * The agent's own channels (`quid/deploy`, `quid/vnet`): strict message codecs, and a hostile
 * peer on a real connection that breaks them is dropped and banned while the agent runs on.
 */
import { test } from 'tap'
import { randomBytes } from 'node:crypto'
import Protomux, { type Channel, type Message } from 'protomux'
import c from 'compact-encoding'
import {
  decodeDeployMessage,
  encodeDeployMessage,
  DEPLOY_PROTOCOL,
  DEPLOY_MESSAGES,
  DEPLOY_VERSION,
  MAX_FOLLOW
} from '../../src/agent/deploy-messages.js'
import { VNET_PROTOCOL } from '../../src/agent/channels.js'
import { encodePacket } from '../../src/vnet/packet.js'
import { clientAddress } from '../../src/vnet/address.js'
import { generateKeyPair } from '../../src/crypto/identity.js'
import { toHex } from '../../src/core/bytes.js'
import { ErrorCodes } from '../../src/core/errors.js'
import { Hostile } from '../exchange/hostile.js'
import { agentNet } from './helpers.js'

const bytes = (n: number): Uint8Array => new Uint8Array(randomBytes(n))

test('deploy messages: round trip and strict decoding', async (t) => {
  const samples = {
    deploy: {
      rid: 7,
      request: bytes(300),
      signature: bytes(64),
      code: bytes(1000),
      follow: [bytes(32), bytes(32)]
    },
    stop: { rid: 1, guest: bytes(32), signature: bytes(64) },
    deployed: { rid: 300, guest: bytes(32) },
    stopped: { rid: 2, used: { cpu: 10n, disk: 0n, net: 2n ** 40n } },
    error: { rid: 9, code: 'insufficient', message: 'not enough credit' },
    path: { rid: 0, transfer: bytes(32), ids: [bytes(32), bytes(32), bytes(32)] }
  } as const
  for (const type of DEPLOY_MESSAGES) {
    const m = samples[type]
    const enc = encodeDeployMessage(type, m as never)
    t.same(decodeDeployMessage(type, enc), m, `${type} round-trips`)
    t.throws(
      () => decodeDeployMessage(type, Uint8Array.from([...enc, 0])),
      { code: ErrorCodes.PROTOCOL, message: /trailing/ },
      `${type}: trailing byte`
    )
    for (const n of [0, 1, enc.byteLength - 1]) {
      t.throws(
        () => decodeDeployMessage(type, enc.subarray(0, n)),
        { code: ErrorCodes.PROTOCOL },
        `${type}: truncated to ${n}`
      )
    }
  }
  // A rid written in three bytes where one does (after the version byte; 300 takes three).
  const long = Uint8Array.from([
    DEPLOY_VERSION,
    0xfd,
    7,
    0,
    ...encodeDeployMessage('deployed', samples.deployed).subarray(4)
  ])
  t.throws(() => decodeDeployMessage('deployed', long), {
    code: ErrorCodes.PROTOCOL,
    details: { why: ErrorCodes.DECODE_NONCANONICAL }
  })
  const tooMany = {
    ...samples.deploy,
    follow: Array.from({ length: MAX_FOLLOW + 1 }, () => bytes(32))
  }
  t.throws(() => encodeDeployMessage('deploy', tooMany), { code: ErrorCodes.BAD_ARGUMENT })
  const state = c.state()
  state.end += 1
  c.uint.preencode(state, 1)
  state.end += 1
  state.buffer = new Uint8Array(state.end)
  c.uint8.encode(state, DEPLOY_VERSION)
  c.uint.encode(state, 1)
  c.uint8.encode(state, 200) // a request length prefix of 200 with no bytes behind it
  t.throws(() => decodeDeployMessage('deploy', state.buffer as Uint8Array), {
    code: ErrorCodes.PROTOCOL,
    details: { why: ErrorCodes.DECODE_TRUNCATED }
  })
})

test('a peer that breaks the deploy or vnet channel is dropped and banned; the agent runs on', async (t) => {
  const net = await agentNet(t)
  const host = await net.agent('host', {
    host: { capacity: { cpu: 10n ** 12n, disk: 10n ** 9n, net: 10n ** 9n }, mips: 1000 }
  })
  const hostile = new Hostile(net.testnet.bootstrap)
  t.teardown(() => hostile.close())
  const target = host.node.swarm.keyPair.publicKey

  const cases: Array<[string, string, number, Uint8Array | ((me: Uint8Array) => Uint8Array)]> = [
    ['garbage deploy request', DEPLOY_PROTOCOL, 0, bytes(50)],
    [
      'an answer with trailing bytes',
      DEPLOY_PROTOCOL,
      2,
      Uint8Array.from([...encodeDeployMessage('deployed', { rid: 1, guest: bytes(32) }), 1])
    ],
    ['garbage packet', VNET_PROTOCOL, 0, bytes(80)],
    [
      'a packet in another agent’s name',
      VNET_PROTOCOL,
      0,
      () =>
        encodePacket({
          kind: 'data',
          id: bytes(16),
          from: clientAddress(bytes(32)),
          to: clientAddress(host.id),
          payload: bytes(4)
        })
    ]
  ]
  for (const [what, protocol, index, payload] of cases) {
    const kp = generateKeyPair()
    const conn = await hostile.connect(target)
    // The agent opens its side once it has verified our hello; answer that open (a peer must not
    // open these channels before it is authenticated: the agent would refuse them).
    const mux = Protomux.from(conn.conn)
    const count = protocol === DEPLOY_PROTOCOL ? DEPLOY_MESSAGES.length : 1
    const opened = new Promise<{ channel: Channel; messages: Message[] }>((resolve) => {
      mux.pair({ protocol }, () => {
        const channel = mux.createChannel({ protocol }) as Channel
        const messages = Array.from({ length: count }, () =>
          channel.addMessage({ encoding: c.raw })
        )
        channel.open()
        resolve({ channel, messages })
      })
    })
    conn.hello(kp)
    const { channel, messages } = await opened
    t.ok(await channel.fullyOpened(), `${what}: the channel opens once authenticated`)
    messages[index]!.send(typeof payload === 'function' ? payload(kp.publicKey) : payload)
    await conn.closed
    t.pass(`${what}: the connection is closed`)
    t.ok(host.node.bans.has(toHex(kp.publicKey)), `${what}: the participant is banned`)
  }
  // The agent runs on: its own state answers, and its host has nothing from any of them.
  t.same(host.host!.list(), [], 'no guest was admitted')
  t.equal(host.inbox.size, 0, 'nothing was delivered')
  t.ok(host.ledger.length >= 1, 'its log is intact')
})
