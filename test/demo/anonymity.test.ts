/**
 * Anonymity with real traffic through the demo's network (docs/ANONYMITY.md): what each host's
 * agent carried on the virtual network, what its guests logged and what its log holds. No host
 * sees both a newbie's address and the recipient's; every cell into and out of a remailer has the
 * same size; no host's log lines or records pair a sender with the recipient.
 */
import { test } from 'tap'
import { runStory } from '../../src/demo/story.js'
import type { Story } from '../../src/demo/context.js'
import type { Seen } from '../../src/demo/observe.js'
import { formatAddress } from '../../src/vnet/address.js'
import { exportCore } from '../../src/audit/export.js'
import { CELL } from '../../src/client/onion.js'
import { tmp } from '../helpers.js'

interface Observed {
  newbies: string[]
  recipient: string
  joe: string
  guests: NonNullable<Story['guests']>
  seen: Map<string, Seen[]>
  logs: Map<string, string[]>
  ids: { newbies: Uint8Array[]; recipient: Uint8Array }
  records: Map<string, Uint8Array[]>
}

test('what the hosts of the demo network saw', async (t) => {
  let o: Observed | null = null
  const r = await runStory({
    parent: await tmp(t, 'quid-anon-'),
    inspect: async (story) => {
      const person = (n: string) => story.people.get(n)!
      const records = new Map<string, Uint8Array[]>()
      for (const h of ['alice', 'bob']) {
        const a = person(h).agent
        records.set(h, (await exportCore(a.ledger.core, a.id)).entries)
      }
      o = {
        newbies: ['nina', 'ned'].map((n) => formatAddress(person(n).agent.address)),
        recipient: formatAddress(person('rita').agent.address),
        joe: formatAddress(person('joe').agent.address),
        guests: story.guests!,
        seen: story.seen,
        logs: story.logs,
        ids: {
          newbies: ['nina', 'ned'].map((n) => person(n).agent.id),
          recipient: person('rita').agent.id
        },
        records
      }
    }
  })
  t.ok(r.ok, 'the story ran')
  const w = o as unknown as Observed
  const addresses = (h: string): Set<string> =>
    new Set((w.seen.get(h) ?? []).flatMap((s) => [s.from, s.to]))

  // No single host sees both ends.
  const alice = addresses('alice')
  const bob = addresses('bob')
  t.ok(
    w.newbies.every((n) => alice.has(n)),
    "Alice's host (the first hop) sees the newbies' addresses"
  )
  t.notOk(alice.has(w.recipient), "…and never the recipient's")
  t.ok(bob.has(w.recipient), "Bob's host (last hop and mailbox) sees the recipient's address")
  t.notOk(
    w.newbies.some((n) => bob.has(n)),
    "…and never a newbie's"
  )
  for (const h of ['alice', 'bob'])
    t.notOk(
      w.newbies.some((n) => addresses(h).has(n)) && addresses(h).has(w.recipient),
      `${h} cannot pair a newbie with the recipient`
    )

  // Every cell into and out of a remailer is CELL bytes (key requests and answers aside).
  for (const [name, address] of [
    ['A', w.guests.remailerA],
    ['B', w.guests.remailerB]
  ] as const) {
    const host = name === 'A' ? 'alice' : 'bob'
    const seen = w.seen.get(host) ?? []
    const into = seen.filter((s) => s.to === address && s.bytes !== 3)
    const out = seen.filter((s) => s.from === address && s.to.includes('@'))
    t.ok(
      into.length > 2 && out.length >= 2,
      `remailer ${name}: ${into.length} in, ${out.length} out`
    )
    t.same(
      [...new Set([...into, ...out].map((s) => s.bytes))],
      [CELL],
      `remailer ${name}: every input and output is ${CELL} bytes`
    )
    const asks = seen.filter((s) => s.to === address && s.bytes === 3)
    t.ok(
      asks.every((s) => s.from === w.joe),
      `remailer ${name}: only Joe asked for its key (the newbies got it with their cards)`
    )
  }

  // Nothing a host wrote down pairs a sender with the recipient.
  for (const h of ['alice', 'bob']) {
    const lines = w.logs.get(h) ?? []
    t.notOk(
      lines.some((l) => [...w.newbies, w.recipient].some((a) => l.includes(a))),
      `${h}: no guest log line names a newbie or the recipient (${lines.length} lines)`
    )
    const all = Buffer.concat((w.records.get(h) ?? []).map((e) => Buffer.from(e)))
    const has = (id: Uint8Array): boolean => all.includes(Buffer.from(id))
    t.notOk(
      w.ids.newbies.some(has) && has(w.ids.recipient),
      `${h}'s log (${all.byteLength} bytes) holds no newbie together with the recipient`
    )
    if (h === 'alice') t.notOk(has(w.ids.recipient), "the recipient is not in Alice's log at all")
  }
})
