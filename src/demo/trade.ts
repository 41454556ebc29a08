/**
 * Steps 1 and 2 of the story: Alice and Bob barter resources on each other's machines, then pass
 * part of the IOUs they got to Joe ("I then trade some of the CPU time & disk space on your
 * machine to Joe").
 */
import type { Json } from '../agent/control.js'
import { person, who, type StepResult, type Story } from './context.js'
import { observe, type Seen } from './observe.js'
import { short } from './narrator.js'

/** Capacity each host publishes: the most it is willing to owe at once. */
const CAPACITY = { cpu: 100n * 31_557_600n, disk: 1n << 30n, net: 1n << 32n }
/** The story's rating of both machines, fixed so that figures are the same on every run. */
export const MIPS = 1000
export const BARTER = 'cpu=10my,disk=10MB,net=100MB'
/** What each of Alice and Bob passes on to Joe, of the other's IOUs. */
export const TO_JOE: Record<string, string> = { cpu: 'cpu=2my', disk: 'disk=2MB', net: 'net=20MB' }

export async function barter(story: Story): Promise<StepResult> {
  const { world, say } = story
  say.step(
    1,
    'Alice and Bob barter: 10 mips-years of cpu, 10 MB of disk, 100 MB of traffic each way'
  )
  for (const name of ['alice', 'bob']) {
    const agent = await world.agent(name, { host: { capacity: CAPACITY, mips: MIPS } })
    const seen: Seen[] = []
    story.seen.set(name, seen)
    observe(agent, seen)
    const lines: string[] = []
    story.logs.set(name, lines)
    agent.host?.on('log', (l: { line: string }) => lines.push(l.line))
    story.people.set(name, person(name, agent))
    say.say(`${name.padEnd(5)} runs an agent with a host: id ${short(agent.key)}…, ${MIPS} MIPS`)
  }
  const [alice, bob] = [who(story, 'alice'), who(story, 'bob')]
  await bob.quid('offer', { give: BARTER, want: BARTER })
  say.say(`bob   offers on the market: give ${BARTER}, want the same`)
  const r = (await alice.quid('barter', { peer: bob.agent.key, give: BARTER, want: BARTER })) as {
    agreement: string
    claims: string[]
  }
  await story.wait(
    () => bob.agent.exchange.settled(r.agreement),
    'Bob to see the agreement settled'
  )
  say.say(`alice takes it: agreement ${short(r.agreement)}…, signed by both, in both logs`)
  const a = (await alice.quid('balance')) as { holds: Json; owes: Json }
  const b = (await bob.quid('balance')) as { holds: Json; owes: Json }
  say.say(`each holds three IOUs of the other (${fmt(a.holds)}) and owes the same`)
  const ok =
    JSON.stringify(a.holds) === JSON.stringify({ cpu: '10my', disk: '10MB', net: '100MB' }) &&
    JSON.stringify(a.holds) === JSON.stringify(b.owes)
  return {
    name: 'barter',
    ok,
    figures: { agreement: r.agreement, claims: r.claims, alice: a, bob: b }
  }
}

export async function passToJoe(story: Story): Promise<StepResult> {
  const { world, say } = story
  say.step(2, "Alice passes part of Bob's IOUs to Joe (and Bob part of Alice's)")
  const joe = person('joe', await world.agent('joe', { market: null }))
  story.people.set('joe', joe)
  const moved: Json[] = []
  for (const [from, issuer] of [
    ['alice', 'bob'],
    ['bob', 'alice']
  ] as const) {
    const giver = who(story, from)
    const held = (await giver.quid('claims')) as Array<{
      id: string
      issuer: string
      resource: string
    }>
    for (const h of held.filter((c) => c.issuer === who(story, issuer).agent.key)) {
      const amount = TO_JOE[h.resource] as string
      const t = (await giver.quid('transfer', { claim: h.id, to: joe.agent.key, amount })) as {
        claim: string
      }
      moved.push({ from, issuer, amount, claim: t.claim })
    }
    say.say(`${from.padEnd(5)} → joe: ${Object.values(TO_JOE).join(', ')} on ${issuer}'s machine`)
  }
  await story.wait(() => joe.agent.ledger.holdings().length === 6, 'Joe to see his six claims')
  const balance = (await joe.quid('balance')) as { holds: Json }
  say.say(`joe holds ${fmt(balance.holds)} and owes nothing; he runs no host of his own`)
  return {
    name: 'transfer',
    ok: moved.length === 6,
    figures: { transfers: moved, joe: balance.holds }
  }
}

export function fmt(v: Json): string {
  return Object.entries(v as Record<string, string>)
    .map(([k, x]) => `${k} ${x}`)
    .join(', ')
}
