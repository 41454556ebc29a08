/**
 * Step 4 of the story, the seed's last sentence: "They'd probably even need to sell their
 * cpu-cycles to key crackers in order to pay for their email service." Two newbies each run a
 * small host and offer its cpu on the market; Carl, a key cracker with a hash to break and no cpu
 * to spare (his host publishes bandwidth only), has earlier sold Bob traffic on his machine for
 * traffic on Bob's. With that credit, Bob's IOUs, he buys both offers (`quid buy`: a payment, then
 * a sale signed by the newbie; docs/PROTOCOL.md, section 7.3). He deploys `cracker.js` on each
 * newbie's machine, paid with their IOUs, splits the key space between them, reads the key from
 * the one that finds it, and stops both: each is evicted, its files deleted, its unused credit
 * back with him. The part of Bob's IOU the newbies got pays for their remailer cards in the next
 * step (remailers.ts, `write`).
 */
import { join } from 'node:path'
import { blake2s } from '@noble/hashes/blake2.js'
import type { Json } from '../agent/control.js'
import type { EvictEvent } from '../host/host.js'
import { toHex } from '../core/bytes.js'
import { person, who, type Person, type StepResult, type Story } from './context.js'
import { guestFile, listing } from './guests.js'
import { MIPS } from './trade.js'

export const NEWBIES = ['nina', 'ned']
export const CRACKER = 'carl'
/** What each newbie sells of its machine: the cracker's cpu, its saved place, its reports. */
export const SALE = 'cpu=5000MI,disk=4kB,net=64kB'
/** What a newbie asks for it: traffic, the price of a remailer card. */
export const PRICE = 'net=1MB'
/** What Carl sold Bob before: traffic on Carl's machine for as much on Bob's, his credit now. */
export const CREDIT = 'net=10MB'
/** Whose IOUs Carl pays with. */
export const CREDITOR = 'bob'
/** A newbie's small host: a laptop's worth, rated like the others so figures repeat. */
const NEWBIE_HOST = { capacity: { cpu: 31_557_600n, disk: 1_000_000n, net: 10_000_000n } }
/** The cracker's host publishes traffic, which it has to spare, and no cpu, which it has not. */
const CRACKER_HOST = { capacity: { cpu: 0n, disk: 0n, net: 100_000_000n } }
/** The key the cracker looks for, of 16 bits: Ned's half of the key space holds it. */
export const BITS = 16
const KEY = 45_001
const CHUNK = 8192

interface Report {
  op: string
  key?: number
  tried: number
}

export async function crack(story: Story): Promise<StepResult> {
  const { world, say } = story
  say.step(4, 'Two newbies sell their cpu to a key cracker')
  const host = (capacity: Record<string, bigint>) => ({ capacity, mips: MIPS, sandboxes: 1 })
  // Started together: each agent waits on the network more than on the cpu.
  const [carl, ...newbies] = await Promise.all(
    [CRACKER, ...NEWBIES].map(async (name) => {
      const cap = name === CRACKER ? CRACKER_HOST.capacity : NEWBIE_HOST.capacity
      return person(name, await world.agent(name, { host: host(cap) }))
    })
  )
  // In the story's order, whichever started first.
  for (const p of [carl, ...newbies] as Person[]) story.people.set(p.name, p)
  const cracker = carl as Person
  say.say(
    `nina, ned run agents with small hosts (${MIPS} MIPS); carl's host publishes traffic only, no cpu`
  )
  // Carl's credit: Bob, who runs a remailer, takes traffic on Carl's machine for traffic on his.
  const bob = who(story, CREDITOR)
  await cracker.quid('offer', { give: CREDIT, want: CREDIT })
  const earned = (await bob.quid('barter', {
    peer: cracker.agent.key,
    give: CREDIT,
    want: CREDIT
  })) as { agreement: string }
  say.say(
    `carl has sold bob ${CREDIT} of traffic on his machine for as much on bob's (${earned.agreement.slice(0, 8)}…): his credit, bob's IOU`
  )
  for (const n of newbies) await n.quid('offer', { give: SALE, want: PRICE })
  say.say(`nina, ned offer on the market: give ${SALE}, want ${PRICE} of anyone's traffic`)
  let market: Array<{ id: string; maker: string }> = []
  await story.wait(async () => {
    market = ((await cracker.quid('offers')) as { market: typeof market }).market
    return newbies.every((n) => market.some((x) => x.maker === n.agent.key))
  }, "Carl to see the newbies' offers")
  // One after the other: both pay with the same claim of Bob's.
  const deals: Array<{ sale: string; payment: string }> = []
  for (const n of newbies) {
    const offer = market.find((x) => x.maker === n.agent.key) as { id: string }
    deals.push(
      (await cracker.quid('buy', { offer: offer.id })) as { sale: string; payment: string }
    )
  }
  say.say(
    `carl buys both with ${PRICE} each of bob's IOU: ${deals.map((d, i) => `${(newbies[i] as Person).name} paid ${d.payment.slice(0, 8)}…, sold ${d.sale.slice(0, 8)}…`).join('; ')} (each sale signed by its newbie once the payment was good)`
  )
  // One after the other: an agent's record of its deployments is rewritten by each command, and
  // two at once race on its temporary file (reported; src/agent/agent.ts, saveDeployments).
  const deployed: Array<{ address: string; guest: string }> = []
  for (const n of newbies)
    deployed.push(
      (await cracker.quid('deploy', {
        file: guestFile('cracker'),
        host: n.agent.key,
        ...amounts(SALE)
      })) as { address: string; guest: string }
    )
  say.say(`carl deploys cracker.js on both machines, paid with the newbies' IOUs`)
  const ends = new Map<string, EvictEvent>()
  for (const n of newbies)
    n.agent.host?.on('evict', (ev: EvictEvent) => {
      if (deployed.some((d) => d.guest === ev.guest)) ends.set(ev.guest, ev)
    })
  const key = new Uint8Array(4)
  new DataView(key.buffer).setUint32(0, KEY)
  const hash = toHex(blake2s(key))
  const half = 2 ** BITS / newbies.length
  const reports = await Promise.all(
    deployed.map(async (d, i) => {
      await cracker.client.send(d.address, {
        op: 'crack',
        hash,
        bits: BITS,
        from: i * half,
        to: (i + 1) * half,
        chunk: CHUNK
      })
      return cracker.client.json<Report>(
        d.address,
        (v) => v.op === 'found' || v.op === 'exhausted',
        'the cracker to finish its half'
      )
    })
  )
  say.say(
    `carl sends each half of the 2^${BITS} keys of BLAKE2s(key) = ${hash.slice(0, 12)}…: ${reports
      .map(
        (r, i) =>
          `${(newbies[i] as Person).name}: ${r.op}${r.key !== undefined ? ` ${r.key}` : ''} after ${r.tried} keys`
      )
      .join('; ')}`
  )
  const dirs = newbies.map((n) => join(n.agent.paths.host, 'guests'))
  const before = await Promise.all(dirs.map(listing))
  const stopped: Array<{ used: Json }> = []
  for (const d of deployed)
    stopped.push((await cracker.quid('stop', { guest: d.address })) as { used: Json })
  await story.wait(() => ends.size === deployed.length, 'both crackers to be evicted')
  const after = await Promise.all(dirs.map(listing))
  const evicted = deployed.map((d) => ends.get(d.guest) as EvictEvent)
  const cpu = evicted.reduce((s, ev) => s + ev.used.cpu, 0n)
  const tried = reports.reduce((s, r) => s + r.tried, 0)
  say.say(
    `the job is done: carl stops both; evicted (${evicted.map((e) => e.reason).join(', ')}), their directories deleted`
  )
  say.say(
    `billed: ${evicted.map((e, i) => `${(newbies[i] as Person).name} ${e.used.cpu} MI`).join(', ')} of cpu for ${tried} keys; the rest of each ${SALE.split(',')[0]} returns to carl`
  )
  const payments: Json[] = [
    { from: CREDITOR, to: CRACKER, amount: CREDIT, issuer: CREDITOR, record: earned.agreement },
    { from: CRACKER, to: CREDITOR, amount: CREDIT, issuer: CRACKER, record: earned.agreement },
    ...deals.flatMap((d, i) => {
      const n = (newbies[i] as Person).name
      return [
        { from: CRACKER, to: n, amount: PRICE, issuer: CREDITOR, record: d.payment },
        { from: n, to: CRACKER, amount: SALE, issuer: n, record: d.sale }
      ]
    })
  ]
  const found = reports.find((r) => r.op === 'found')
  const ok =
    found?.key === KEY &&
    reports.filter((r) => r.op === 'exhausted').length === newbies.length - 1 &&
    evicted.every((e) => e.reason === 'stopped' && e.used.cpu > 0n) &&
    before.every((b, i) => b.includes((deployed[i] as { guest: string }).guest)) &&
    after.every((a) => a.length === 0)
  return {
    name: 'crack',
    ok,
    figures: {
      key: found?.key ?? null,
      bits: BITS,
      tried,
      cpuBilled: String(cpu),
      perHost: deployed.map((d, i) => ({
        host: (newbies[i] as Person).name,
        guest: d.guest,
        address: d.address,
        result: (reports[i] as Report).op,
        tried: (reports[i] as Report).tried,
        cpu: String((evicted[i] as EvictEvent).used.cpu),
        reason: (evicted[i] as EvictEvent).reason,
        stopped: (stopped[i] as { used: Json }).used,
        before: before[i] as string[],
        after: after[i] as string[]
      })),
      payments
    }
  }
}

function amounts(text: string): { cpu: string; disk: string; net: string } {
  const out = Object.fromEntries(text.split(',').map((p) => p.split('='))) as Record<string, string>
  return { cpu: out.cpu ?? '0MI', disk: out.disk ?? '0B', net: out.net ?? '0B' }
}
