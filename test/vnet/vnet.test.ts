import { test } from 'tap'
import { randomBytes } from 'node:crypto'
import {
  clientAddress,
  formatAddress,
  guestAddress,
  parseAddress,
  sameAddress,
  type Address
} from '../../src/vnet/address.js'
import { decodePacket, encodePacket, MAX_PAYLOAD, type Packet } from '../../src/vnet/packet.js'
import { Router, type Transport } from '../../src/vnet/router.js'
import { Inbox } from '../../src/vnet/inbox.js'
import { ErrorCodes } from '../../src/core/errors.js'
import { toHex } from '../../src/core/bytes.js'

const key = (): Uint8Array => new Uint8Array(randomBytes(32))

test('addresses: client and guest forms round-trip; bad text names the problem', async (t) => {
  const host = key()
  const guest = key()
  const c = clientAddress(host)
  const g = guestAddress(host, guest)
  t.ok(sameAddress(parseAddress(formatAddress(c)), c))
  t.ok(sameAddress(parseAddress(formatAddress(g)), g))
  t.match(formatAddress(g), /^[a-z0-9]{52}@[a-z0-9]{52}$/)
  t.notOk(sameAddress(c, g))
  t.ok(sameAddress(parseAddress(toHex(host)), c), 'hex ids are accepted too')
  for (const bad of [
    '',
    'x',
    '@',
    `${formatAddress(c)}@`,
    `a@b@c`,
    `${formatAddress(g)}@${formatAddress(c)}`
  ]) {
    t.throws(() => parseAddress(bad), { code: ErrorCodes.BAD_ARGUMENT }, JSON.stringify(bad))
  }
})

test('packets: round trip, and strict decoding of every malformed form', async (t) => {
  const from = guestAddress(key(), key())
  const to = clientAddress(key())
  const data: Packet = {
    kind: 'data',
    id: new Uint8Array(16).fill(7),
    from,
    to,
    payload: new Uint8Array([1, 2, 3])
  }
  const back = decodePacket(encodePacket(data))
  t.same(back, data)
  const un: Packet = {
    kind: 'unreachable',
    id: new Uint8Array(16).fill(1),
    from: to,
    to: from,
    reason: 'gone'
  }
  t.same(decodePacket(encodePacket(un)), un)

  const bytes = encodePacket(data)
  for (let n = 0; n < bytes.byteLength; n++) {
    t.throws(() => decodePacket(bytes.subarray(0, n)), `truncated to ${n}`)
  }
  t.throws(() => decodePacket(Uint8Array.from([...bytes, 0])), { code: ErrorCodes.DECODE_TRAILING })
  const v = bytes.slice()
  v[0] = 2
  t.throws(() => decodePacket(v), { code: ErrorCodes.DECODE_VERSION })
  const k = bytes.slice()
  k[1] = 9
  t.throws(() => decodePacket(k), { code: ErrorCodes.DECODE_TYPE })
  const f = bytes.slice()
  f[2 + 16 + 32] = 2 // the `from` guest flag
  t.throws(() => decodePacket(f), { code: ErrorCodes.DECODE_INVALID })
  // A payload length written in 3 bytes (0xfd + u16) where 1 would do.
  const head = bytes.subarray(0, bytes.byteLength - 4)
  t.throws(() => decodePacket(Uint8Array.from([...head, 0xfd, 3, 0, 1, 2, 3])), {
    code: ErrorCodes.DECODE_NONCANONICAL
  })
  const r = encodePacket(un)
  r[r.byteLength - 1] = 99
  t.throws(() => decodePacket(r), { code: ErrorCodes.DECODE_INVALID })
  t.throws(() => encodePacket({ ...data, payload: new Uint8Array(MAX_PAYLOAD + 1) }), {
    code: ErrorCodes.BAD_ARGUMENT
  })
  t.doesNotThrow(() =>
    decodePacket(encodePacket({ ...data, payload: new Uint8Array(MAX_PAYLOAD) }))
  )
})

/** Agents wired by an in-memory transport; the real one is the exchange connection (agent tests). */
function network(): { router(id: Uint8Array): Router; cut(id: Uint8Array): void } {
  const routers = new Map<string, Router>()
  const down = new Set<string>()
  return {
    router(id) {
      const transport: Transport = {
        send(agent, bytes) {
          const r = routers.get(toHex(agent))
          if (!r || down.has(toHex(agent))) return false
          queueMicrotask(() => r.receive(id, bytes))
          return true
        }
      }
      const r = new Router(id, transport)
      routers.set(toHex(id), r)
      return r
    },
    cut(id) {
      down.add(toHex(id))
    }
  }
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5))

test('router: local and remote delivery, at most once, and unreachable notices with reasons', async (t) => {
  const net = network()
  const a = key()
  const b = key()
  const ra = net.router(a)
  const rb = net.router(b)
  const alice = clientAddress(a)
  const inboxA = new Inbox()
  ra.attach(alice, inboxA)
  const echo = guestAddress(b, key())
  const got: Array<{ from: Address; payload: Uint8Array }> = []
  rb.attach(echo, { deliver: (payload, from) => (got.push({ from, payload }), true) })

  t.same((await ra.send(alice, echo, new Uint8Array([1]))).status, 'sent')
  await tick()
  t.equal(got.length, 1)
  t.ok(sameAddress(got[0]!.from, alice))

  // A replayed packet (same id) is dropped: at most once.
  const id = new Uint8Array(16).fill(3)
  const bytes = encodePacket({
    kind: 'data',
    id,
    from: alice,
    to: echo,
    payload: new Uint8Array([9])
  })
  rb.receive(a, bytes)
  rb.receive(a, bytes)
  t.equal(got.length, 2)

  // Unknown guest on b: alice's inbox learns `unknown`.
  const nobody = guestAddress(b, key())
  await ra.send(alice, nobody, new Uint8Array([1]))
  await tick()
  // A detached guest is `gone`.
  const leaving = guestAddress(b, key())
  const detach = rb.attach(leaving, { deliver: () => true })
  detach()
  await ra.send(alice, leaving, new Uint8Array([1]))
  await tick()
  // A full endpoint answers `busy`.
  const full = guestAddress(b, key())
  rb.attach(full, { deliver: () => false })
  await ra.send(alice, full, new Uint8Array([1]))
  await tick()
  // No connection to the agent: `no-route`, at once.
  const c = key()
  const res = await ra.send(alice, clientAddress(c), new Uint8Array([1]))
  t.same(res.status, 'unreachable')
  const notices = inboxA.drain().map((i) => (i.kind === 'unreachable' ? i.reason : 'message'))
  t.same(notices, ['unknown', 'gone', 'busy', 'no-route'])
  t.equal(inboxA.size, 0, 'drain empties the inbox')

  // Local delivery between two addresses of one agent.
  const local = guestAddress(a, key())
  const localGot: Uint8Array[] = []
  ra.attach(local, { deliver: (p) => (localGot.push(p), true) })
  t.same((await ra.send(alice, local, new Uint8Array([5]))).status, 'delivered')
  t.same(localGot, [new Uint8Array([5])])
})

test('router: a peer cannot speak for another agent or use this one as a relay', async (t) => {
  const net = network()
  const a = key()
  const b = key()
  const m = key()
  const rb = net.router(b)
  const got: Uint8Array[] = []
  const target = clientAddress(b)
  rb.attach(target, { deliver: (p) => (got.push(p), true) })
  const spoofed = encodePacket({
    kind: 'data',
    id: new Uint8Array(16),
    from: clientAddress(a),
    to: target,
    payload: new Uint8Array(1)
  })
  t.throws(() => rb.receive(m, spoofed), { code: ErrorCodes.BAD_ARGUMENT, message: /not its own/ })
  const relay = encodePacket({
    kind: 'data',
    id: new Uint8Array(16),
    from: clientAddress(m),
    to: clientAddress(a),
    payload: new Uint8Array(1)
  })
  t.throws(() => rb.receive(m, relay), { code: ErrorCodes.BAD_ARGUMENT, message: /another agent/ })
  t.throws(() => rb.receive(m, new Uint8Array([1, 2, 3])))
  t.equal(got.length, 0, 'nothing was delivered')
  t.throws(() => rb.attach(clientAddress(a), { deliver: () => true }), {
    code: ErrorCodes.BAD_ARGUMENT
  })
  await t.rejects(rb.send(clientAddress(key()), target, new Uint8Array(1)), {
    code: ErrorCodes.BAD_ARGUMENT
  })
})

test('inbox: bounded by count and bytes; refuses instead of dropping what is unread', async (t) => {
  const inbox = new Inbox({ maxMessages: 2, maxBytes: 10 })
  const from = clientAddress(key())
  t.ok(inbox.deliver(new Uint8Array(4), from))
  t.notOk(inbox.deliver(new Uint8Array(7), from), 'over the byte bound')
  t.ok(inbox.deliver(new Uint8Array(6), from))
  t.notOk(inbox.deliver(new Uint8Array(0), from), 'over the count bound')
  const items = inbox.drain()
  t.same(
    items.map((i) => (i.kind === 'message' ? i.payload.byteLength : -1)),
    [4, 6]
  )
  t.ok(inbox.deliver(new Uint8Array(10), from), 'room again after drain')
})
