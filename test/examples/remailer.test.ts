/**
 * examples/guests/remailer.js in a real host: key requests, one layer removed per hop, every cell
 * in and out of the same size, chaff and cells for others dropped, nothing of the sender logged or
 * stored.
 */
import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { participant } from '../helpers.js'
import { startHost, deployGuest, recorder } from '../host/helpers.js'
import type { Packet } from '../../src/host/host.js'
import * as crypto from '../../src/host/crypto.js'
import { buildCell, chaff, openLetter, peel, CELL, type Hop } from '../../src/client/onion.js'
import { guestFile } from '../../src/demo/guests.js'

const CODE = readFileSync(guestFile('remailer'), 'utf8')
const CREDIT = { cpu: 10n ** 6n, disk: 1n << 20n, net: 1n << 24n }
const CLIENT = 'ybndrfg8ejkmcpqxot1uwisza345h769ybndrfg8ejkmcpqxot1u' // any sender address

test('a remailer answers key requests, peels one layer, pads back to the cell size', async (t) => {
  const sent: Packet[] = []
  const s = await startHost(t, { mips: 1000, router: { send: (p) => void sent.push(p) } })
  const rec = recorder(s.host)
  const owner = await participant(t, 'joe')
  const g = await deployGuest(s, owner, CODE, CREDIT)

  t.ok(await s.host.deliverTo(g.id, CLIENT, new TextEncoder().encode('key')))
  await rec.wait(() => sent.length === 1)
  const publicKey = (sent.shift() as Packet).data
  t.equal(publicKey.byteLength, 32, 'the key request is answered with 32 bytes')
  t.equal(sent.length, 0)

  // A route through this remailer twice and a second, outside one: what comes out of each pass
  // is a cell of the same size, for the next hop, one layer thinner.
  const other = crypto.keyPair()
  const recipient = crypto.keyPair()
  const route: Hop[] = [
    { address: g.address, publicKey },
    { address: 'next-hop', publicKey: other.publicKey }
  ]
  const cell = buildCell(route, 'mailbox-address', recipient.publicKey, 'hello')
  t.equal(cell.byteLength, CELL)
  await s.host.deliverTo(g.id, CLIENT, cell)
  // With host timers the cell goes out by itself, after its random delay.
  await rec.wait(() => sent.length >= 1)
  const out = sent.shift() as Packet
  t.equal(out.to, 'next-hop', 'sent to the next address in its layer')
  t.equal(out.data.byteLength, CELL, 'the output cell has the input size')
  t.not(Buffer.compare(Buffer.from(out.data), Buffer.from(cell)), 0)
  const last = peel(other.secretKey, out.data)
  t.ok(last, 'the next hop can peel what came out')
  t.equal(last?.to, 'mailbox-address')
  t.equal(new TextDecoder().decode(openLetter(recipient.secretKey, last!.cell)!), 'hello')

  // A cell for another remailer, and chaff, are dropped without a word.
  await s.host.deliverTo(g.id, CLIENT, buildCell([route[1] as Hop], 'x', recipient.publicKey, 'y'))
  await s.host.deliverTo(g.id, CLIENT, chaff())
  await s.host.flushUsage()
  t.equal(sent.length, 0, 'nothing forwarded for cells it cannot open')
  t.notOk(
    rec.logs.some((l) => l.line.includes(CLIENT)),
    'the sender address never appears in its log lines'
  )
  const used = s.host.guest(g.id)?.used
  t.comment(`remailer used cpu ${used?.cpu} MI, disk ${used?.disk} B, net ${used?.net} B`)
  t.ok((used?.disk ?? 0n) < 200n, 'no cell is kept once forwarded: only its key pair is stored')
})

test('without host timers the remailer is a pool mix: a cell waits for the next one', async (t) => {
  // The same file with its timer detection turned off, as on a host without quid.after.
  const pool = CODE.replace("typeof quid.after === 'function'", 'false')
  t.not(pool, CODE, 'the detection is there to turn off')
  const sent: Packet[] = []
  const s = await startHost(t, { mips: 1000, router: { send: (p) => void sent.push(p) } })
  const owner = await participant(t, 'joe')
  const g = await deployGuest(s, owner, pool, CREDIT)
  await s.host.deliverTo(g.id, CLIENT, new TextEncoder().encode('key'))
  const rec = recorder(s.host)
  await rec.wait(() => sent.length === 1)
  const publicKey = (sent.shift() as Packet).data
  const recipient = crypto.keyPair()
  const cells = ['one', 'two'].map((m) =>
    buildCell([{ address: g.address, publicKey }], `mailbox-${m}`, recipient.publicKey, m)
  )
  await s.host.deliverTo(g.id, CLIENT, cells[0]!)
  await s.host.flushUsage()
  t.equal(sent.length, 0, 'the first cell waits in the pool')
  t.ok((s.host.guest(g.id)?.used.disk ?? 0n) > BigInt(CELL), 'kept in its store meanwhile')
  await s.host.deliverTo(g.id, CLIENT, cells[1]!)
  await rec.wait(() => sent.length === 1)
  t.equal(sent[0]!.to, 'mailbox-one', 'the next cell flushes it')
  await s.host.deliverTo(g.id, CLIENT, chaff())
  await rec.wait(() => sent.length === 2)
  t.equal(sent[1]!.to, 'mailbox-two', 'chaff flushes the pool too, and is itself dropped')
  t.same(
    sent.map((p) => p.data.byteLength),
    [CELL, CELL]
  )
  await s.host.flushUsage()
  t.ok((s.host.guest(g.id)?.used.disk ?? 0n) < 200n, 'nothing left in the pool')
})
