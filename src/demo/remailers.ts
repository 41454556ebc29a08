/**
 * Steps 3, 5 and 6 of the story: Joe sets up remailers on Alice's and Bob's machines and a
 * mailbox, sells remailer cards to the two newbies for the credit they earned selling cpu (step
 * 4, crack.ts), they write to the recipient anonymously, and his remailer on Alice's machine
 * disappears when his cpu credit there runs out.
 */
import { join } from 'node:path'
import type { Json } from '../agent/control.js'
import type { EvictEvent } from '../host/host.js'
import { toHex } from '../core/bytes.js'
import { formatAddress, parseAddress } from '../vnet/address.js'
import { keyPair } from '../host/crypto.js'
import { buildCell, chaff, openDelivery, BOX_OVERHEAD, CELL, type Hop } from '../client/onion.js'
import { person, who, type Person, type StepResult, type Story } from './context.js'
import { guestFile, listing } from './guests.js'
import { CREDITOR, NEWBIES, PRICE } from './crack.js'
import { settled } from '../core/settle.js'

/**
 * Joe's cpu credit for the remailer on Alice's machine: enough to start and carry the newbies'
 * letters, small enough that their prepaid traffic uses it up within the demo.
 */
export const REMAILER_A_CPU = '2000MI'
export const MAILBOX_DISK = 1_000_000
export const CARD = 'net=1MB'
const LETTERS = ['Meet at the usual place, Thursday.', 'The documents are in the locker.']
const DELIVERY = CELL + BOX_OVERHEAD
/** Cover cells the newbies send to remailer A between two looks at whether it is gone (step 6). */
const CELLS_PER_LOOK = 4

async function deploy(
  joe: Person,
  file: string,
  host: Person,
  amounts: { cpu: string; disk: string; net: string }
): Promise<{ guest: string; address: string; paid: Json[] }> {
  return (await joe.quid('deploy', { file, host: host.agent.key, ...amounts })) as {
    guest: string
    address: string
    paid: Json[]
  }
}

export async function setUp(story: Story): Promise<StepResult> {
  const { world, say } = story
  say.step(3, "Joe deploys remailers on Alice's and Bob's machines and a mailbox for Rita")
  const [alice, bob, joe] = [who(story, 'alice'), who(story, 'bob'), who(story, 'joe')]
  const rita = person('rita', await world.agent('rita', { market: null }))
  story.people.set('rita', rita)
  story.recipientKey = keyPair()
  const a = await deploy(joe, guestFile('remailer'), alice, {
    cpu: REMAILER_A_CPU,
    disk: '64kB',
    net: '10MB'
  })
  say.say(`remailer A on alice: ${a.address.slice(0, 16)}… (cpu ${REMAILER_A_CPU})`)
  const b = await deploy(joe, guestFile('remailer'), bob, {
    cpu: '100000MI',
    disk: '64kB',
    net: '2MB'
  })
  say.say(`remailer B on bob:   ${b.address.slice(0, 16)}…`)
  const m = await deploy(joe, guestFile('mailbox'), bob, {
    cpu: '100000MI',
    disk: `${MAILBOX_DISK}B`,
    net: '2MB'
  })
  say.say(`mailbox on bob:      ${m.address.slice(0, 16)}… (disk ${MAILBOX_DISK} B)`)
  const paid = [...a.paid, ...b.paid, ...m.paid].length
  say.say(
    `each host fetched the logs on the claims' paths (bob → alice → joe, alice → bob → joe), checked them, admitted the guests: ${paid} claim spends`
  )
  story.guests = { remailerA: a.address, remailerB: b.address, mailbox: m.address }
  await joe.client.send(m.address, {
    op: 'setup',
    key: toHex(story.recipientKey.publicKey),
    reader: formatAddress(rita.agent.address),
    quota: MAILBOX_DISK
  })
  await joe.client.json(m.address, (v) => v.op === 'ready', 'the mailbox to be set up')
  say.say("joe sets the mailbox up for Rita: her X25519 key, her client's address as the reader")
  const hostedA = alice.agent.host?.list().length ?? 0
  const hostedB = bob.agent.host?.list().length ?? 0
  return {
    name: 'deploy',
    ok: hostedA === 1 && hostedB === 2,
    figures: {
      remailerA: a.address,
      remailerB: b.address,
      mailbox: m.address,
      claimSpends: paid,
      hosted: { alice: hostedA, bob: hostedB }
    }
  }
}

export async function write(story: Story): Promise<StepResult> {
  const { say } = story
  say.step(
    5,
    'Joe sells remailer cards to the newbies for what Carl paid them; they write to Rita through both remailers'
  )
  const [joe, rita, creditor] = [who(story, 'joe'), who(story, 'rita'), who(story, CREDITOR)]
  const g = story.guests as NonNullable<Story['guests']>
  const key = story.recipientKey as NonNullable<Story['recipientKey']>
  const onAlice = joe.agent.ledger
    .holdings()
    .find((h) => h.claim.issuer === who(story, 'alice').agent.key && h.claim.resource === 'net')
  const newbies = NEWBIES.map((name) => who(story, name))
  const paid: Json[] = []
  for (const n of newbies) {
    if (!onAlice) throw new Error("joe holds no net on alice's machine")
    // The newbie pays first, with the part of Bob's IOU Carl paid it; Joe sells once his ledger
    // holds it, good.
    const earned = n.agent.ledger
      .holdings()
      .find((h) => h.claim.issuer === creditor.agent.key && h.claim.resource === 'net')
    if (!earned) throw new Error(`${n.name} holds nothing of ${CREDITOR}'s to pay with`)
    const pay = (await n.quid('transfer', {
      claim: earned.claim.id,
      to: joe.agent.key,
      amount: PRICE
    })) as { transfer: string; claim: string }
    await story.wait(
      () => joe.agent.ledger.claimStatus(pay.claim).ok,
      `Joe to hold ${n.name}'s payment`
    )
    // A card is good once its whole path is known: the logs above Joe's claim, then Joe's.
    for (const p of [...joe.agent.pathParticipants(onAlice.claim), joe.agent.id])
      await n.agent.ledger.follow(p)
    const card = (await joe.quid('transfer', {
      claim: onAlice.claim.id,
      to: n.agent.key,
      amount: CARD
    })) as { transfer: string; claim: string }
    await story.wait(
      () => n.agent.ledger.claim(card.claim) !== undefined,
      `${n.name} to see her card`
    )
    paid.push(
      { from: n.name, to: 'joe', amount: PRICE, issuer: CREDITOR, record: pay.transfer },
      { from: 'joe', to: n.name, amount: CARD, issuer: 'alice', record: card.transfer }
    )
  }
  for (const n of newbies)
    await story.wait(
      () => n.agent.ledger.balance().net === 1_000_000n,
      `${n.name} to hold her card`
    )
  say.say(`nina, ned → joe: ${PRICE} each of bob's IOU, what carl paid them for their cpu`)
  say.say(`joe → nina, ned: a card each (${CARD} of his credit on alice's machine)`)
  // The card also carries the route: Joe asks his remailers for their keys, so the newbies talk
  // to the first remailer only (asking B themselves would show B their addresses).
  const route: Hop[] = [
    { address: g.remailerA, publicKey: await joe.client.remailerKey(g.remailerA) },
    { address: g.remailerB, publicKey: await joe.client.remailerKey(g.remailerB) }
  ]
  say.say('with the card goes the route: the addresses of A and B and the keys they gave Joe')
  for (const [i, n] of newbies.entries()) {
    const cell = buildCell(route, g.mailbox, key.publicKey, LETTERS[i] as string)
    await n.client.send(g.remailerA, cell)
    say.say(
      `${n.name.padEnd(4)} wraps a letter for Rita in three layers (mailbox, B, A) and sends ${cell.byteLength} B to A`
    )
  }
  // Joe keeps cover traffic flowing: chaff, which every remailer drops. It hides the letters
  // among other cells, and on a host without timers it is what flushes a remailer's pool.
  const read: string[] = []
  await story.wait(async () => {
    await joe.client.send(g.remailerA, chaff())
    await joe.client.send(g.remailerB, chaff())
    await rita.client.send(g.mailbox, { op: 'fetch' })
    await rita.client.json(g.mailbox, (v) => v.op === 'fetched', 'the mailbox to answer')
    for (const d of rita.client.binaryFrom(g.mailbox, DELIVERY)) {
      const m = openDelivery(key.secretKey, d)
      if (m) read.push(new TextDecoder().decode(m))
    }
    return read.length >= LETTERS.length
  }, 'the letters to reach the mailbox')
  for (const r of read) say.say(`rita fetches and opens: "${r}"`)
  // What each host's operator could have logged: the addresses on the packets its agent carried.
  const ends: Record<string, Json> = {}
  for (const host of ['alice', 'bob']) {
    const seen = new Set((story.seen.get(host) ?? []).flatMap((p) => [p.from, p.to]))
    const senders = newbies.filter((n) => seen.has(formatAddress(n.agent.address))).length
    const recipient = seen.has(formatAddress(rita.agent.address))
    ends[host] = { senders, recipient }
    const theirs =
      senders === 0 ? "no newbie's" : senders === newbies.length ? "both newbies'" : "a newbie's"
    say.say(
      recipient
        ? `${host}'s host saw rita's address and ${theirs}`
        : `${host}'s host saw ${theirs} addresses, not rita's`
    )
  }
  const bothEnds = Object.values(ends).some(
    (e) => (e as { senders: number }).senders > 0 && (e as { recipient: boolean }).recipient
  )
  const ok = !bothEnds && [...read].sort().join('\n') === [...LETTERS].sort().join('\n')
  return {
    name: 'messages',
    ok,
    figures: { sent: LETTERS.length, read: read.length, cell: CELL, seen: ends, payments: paid }
  }
}

export async function runOut(story: Story): Promise<StepResult> {
  const { say } = story
  say.step(6, "The newbies' prepaid traffic uses up Joe's cpu credit on Alice's machine")
  const alice = who(story, 'alice')
  const g = story.guests as NonNullable<Story['guests']>
  const host = alice.agent.host
  if (!host) throw new Error('alice runs no host')
  const guestsDir = join(alice.agent.paths.host, 'guests')
  const guestA = toHex(parseAddress(g.remailerA).guest as Uint8Array)
  const before = await listing(guestsDir)
  say.say(`ls ${guestsDir}`)
  for (const d of before) say.say(`  ${d}${d === guestA ? '   (remailer A)' : ''}`)
  let evicted: EvictEvent | null = null
  host.on('evict', (ev: EvictEvent) => {
    if (ev.guest === guestA) evicted = ev
  })
  const newbies = [who(story, 'nina'), who(story, 'ned')]
  let sent = 0
  await story.wait(
    async () => {
      // A few cells between two looks (the wait looks every 20 ms): one at a time, the step took
      // 20 ms a cell, most of the story. Well within the per-peer rate (docs/AGENT.md).
      for (let i = 0; i < CELLS_PER_LOOK && !evicted; i++) {
        const n = newbies[sent % newbies.length] as Person
        // Cover traffic: a cell lost on the way is as good as one delivered.
        await settled(n.client.send(g.remailerA, chaff()))
        sent++
      }
      return evicted !== null
    },
    'remailer A to run out of cpu',
    40_000
  )
  const ev = evicted as unknown as EvictEvent
  const after = await listing(guestsDir)
  say.say(
    `after ${sent} more cells: evicted (${ev.reason}), used cpu ${ev.used.cpu} MI, net ${ev.used.net} B`
  )
  say.say(`ls ${guestsDir}`)
  if (after.length === 0) say.say('  (empty: the remailer and its key are gone)')
  for (const d of after) say.say(`  ${d}`)
  return {
    name: 'eviction',
    ok: ev.reason === 'cpu-exhausted' && before.includes(guestA) && !after.includes(guestA),
    figures: {
      guest: guestA,
      reason: ev.reason,
      used: { cpu: String(ev.used.cpu), disk: String(ev.used.disk), net: String(ev.used.net) },
      before,
      after,
      cells: sent
    }
  }
}
