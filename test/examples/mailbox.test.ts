/**
 * examples/guests/mailbox.js in a real host: only the owner sets it up, it keeps letters within its
 * quota (dropping, never overdrawing, past it), and hands them out sealed to the owner's key to the
 * owner or the named reader only.
 */
import { test } from 'tap'
import { readFileSync } from 'node:fs'
import z32 from 'z32'
import { participant } from '../helpers.js'
import { startHost, deployGuest } from '../host/helpers.js'
import type { Packet } from '../../src/host/host.js'
import * as crypto from '../../src/host/crypto.js'
import { toHex } from '../../src/core/bytes.js'
import { buildCell, openDelivery, peel, BOX_OVERHEAD, CELL } from '../../src/client/onion.js'
import { guestFile } from '../../src/demo/guests.js'

const CODE = readFileSync(guestFile('mailbox'), 'utf8')
const utf8 = new TextEncoder()
const json = (v: unknown): Uint8Array => utf8.encode(JSON.stringify(v))

test('the mailbox keeps letters for its owner and hands them out sealed', async (t) => {
  const sent: Packet[] = []
  const s = await startHost(t, { mips: 1000, router: { send: (p) => void sent.push(p) } })
  const owner = await participant(t, 'joe')
  // Room for three letters (key m/<seq>: 14 bytes) besides the stranger's short one, settings
  // and counters: the fourth letter does not fit.
  const quota = 512 + 3 * (CELL + 14) + 400
  const g = await deployGuest(s, owner, CODE, {
    cpu: 10n ** 6n,
    disk: BigInt(quota),
    net: 1n << 24n
  })
  const ownerAddress = z32.encode(owner.kp.publicKey)
  const reader = z32.encode(crypto.keyPair().publicKey) // any client address
  const stranger = z32.encode(crypto.keyPair().publicKey)
  const key = crypto.keyPair()
  const until = async (pred: () => boolean): Promise<void> => {
    while (!pred()) await new Promise((r) => setTimeout(r, 5))
  }
  // The mailbox's JSON replies; a sealed letter is random bytes, which may happen to start with
  // '{' (1 in 256) but do not parse.
  const replies = (to: string): Array<Record<string, unknown>> =>
    sent
      .filter((p) => p.to === to && p.data[0] === 0x7b)
      .flatMap((p) => {
        try {
          return [JSON.parse(new TextDecoder().decode(p.data)) as Record<string, unknown>]
        } catch {
          return []
        }
      })

  // A stranger cannot set it up: its "setup" is only a letter to keep.
  await s.host.deliverTo(g.id, stranger, json({ op: 'setup', key: toHex(key.publicKey), quota }))
  t.same(replies(stranger), [], 'no answer to a stranger')
  await s.host.deliverTo(g.id, ownerAddress, json({ op: 'setup', key: 'nope', quota }))
  await until(() => replies(ownerAddress).length === 1)
  t.match(replies(ownerAddress).pop(), { op: 'error', error: /key must be 64 hex/ })
  await s.host.deliverTo(
    g.id,
    ownerAddress,
    json({ op: 'setup', key: toHex(key.publicKey), reader, quota })
  )
  await until(() => replies(ownerAddress).length === 2)
  t.same(
    replies(ownerAddress).pop(),
    { op: 'ready' },
    'the owner (by its client address) sets it up'
  )

  // Letters built for this mailbox through one (simulated) remailer hop.
  const hop = crypto.keyPair()
  const letters = ['one', 'two', 'three', 'four']
  for (const l of letters) {
    const cell = buildCell(
      [{ address: 'r', publicKey: hop.publicKey }],
      g.address,
      key.publicKey,
      l
    )
    await s.host.deliverTo(g.id, stranger, peel(hop.secretKey, cell)!.cell)
  }
  await s.host.flushUsage()
  const disk = s.host.guest(g.id)?.used.disk ?? 0n
  t.ok(disk <= BigInt(quota), `within its quota (${disk} of ${quota} bytes)`)
  t.ok(s.host.guest(g.id), 'still running: past the quota it drops, it does not overdraw')

  // A stranger's fetch is a letter too (dropped: the box is full); the reader's is answered.
  sent.length = 0
  await s.host.deliverTo(g.id, stranger, json({ op: 'fetch' }))
  t.equal(sent.length, 0, 'nothing handed to a stranger')
  await s.host.deliverTo(g.id, reader, json({ op: 'fetch' }))
  await until(() => replies(reader).length === 1)
  const deliveries = sent.filter(
    (p) => p.to === reader && p.data.byteLength === CELL + BOX_OVERHEAD
  )
  const opened = deliveries.map((d) =>
    new TextDecoder().decode(openDelivery(key.secretKey, d.data)!)
  )
  t.same(opened, ['one', 'two', 'three'], 'the kept letters, oldest first, opened with the key')
  t.equal(
    openDelivery(crypto.keyPair().secretKey, deliveries[0]!.data),
    null,
    'no other key opens them'
  )
  const answer = replies(reader).pop() as { count: number; left: number; dropped: number }
  const all = sent.filter(
    (p) => (p.to === reader && p.data[0] !== 0x7b) || p.data.byteLength > 2048
  )
  t.equal(answer.count, all.length, 'the answer counts what was handed out')
  t.equal(answer.left, 0)
  t.ok(answer.dropped >= 1, `and what was dropped (${answer.dropped}): the fourth letter at least`)
  sent.length = 0
  await s.host.deliverTo(g.id, ownerAddress, json({ op: 'fetch' }))
  await until(() => replies(ownerAddress).length === 1)
  t.match(replies(ownerAddress).pop(), { op: 'fetched', count: 0 }, 'handed out once, then deleted')
  await s.host.flushUsage()
  t.ok((s.host.guest(g.id)?.used.disk ?? 0n) < 600n, 'the disk is free again')
})
