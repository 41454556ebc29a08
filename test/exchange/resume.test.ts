import t, { type Test } from 'tap'
import { toHex } from '../../src/core/bytes.js'
import { decodeEntry } from '../../src/ledger/codecs.js'
import type { SignedRecord } from '../../src/ledger/records.js'
import { network, until, type Agent } from './helpers.js'

/** How many entries of an agent's own log are the record `id`. */
async function copies(x: Agent, id: string): Promise<number> {
  let n = 0
  for (let i = 0; i < x.ledger.core.length; i++) {
    if (toHex(decodeEntry((await x.ledger.core.get(i)) as Uint8Array).id) === id) n++
  }
  return n
}

/** Cuts every connection between two agents, from `x`'s side. */
function cut(x: Agent, y: Agent): void {
  for (const p of x.node.peers) if (p.key === y.key) p.destroy()
}

async function pair(
  t: Test
): Promise<{ a: Agent; b: Agent; net: Awaited<ReturnType<typeof network>> }> {
  const net = await network(t)
  const a = await net.agent('a')
  const b = await net.agent('b')
  await b.exchange.offer({ give: { disk: 10_000n }, want: { cpu: 100n } })
  await a.node.reach(b.kp.publicKey, 20_000)
  return { a, b, net }
}

t.test('cut between propose and accept: the barter completes on reconnect, once', async (t) => {
  const net = await network(t)
  const a = await net.agent('a')
  let asked = 0
  const b = await net.agent('b', {
    exchange: {
      policy: {
        agreement: (_r, ctx) => {
          // The first time, the connection drops before B answers (and B records nothing).
          if (asked++ === 0) {
            cut(b, a)
            return false
          }
          return ctx.offer !== null
        }
      }
    }
  })
  await b.exchange.offer({ give: { disk: 10_000n }, want: { cpu: 100n } })
  await a.node.reach(b.kp.publicKey, 20_000)
  const lengths = [a.ledger.length, b.ledger.length]
  const signed = await a.exchange.barter(b.kp.publicKey, {
    give: { cpu: 10n },
    want: { disk: 1000n }
  })
  const id = toHex(signed.id)
  t.equal(asked, 2, 'B was asked again after the reconnect')
  t.equal(await copies(a, id), 1, "once in A's log")
  t.equal(await copies(b, id), 1, "once in B's log")
  t.same(
    [a.ledger.length, b.ledger.length],
    [lengths[0]! + 1, lengths[1]! + 1],
    'nothing else was appended'
  )
  t.ok(await a.exchange.waitSettled(id), 'settled from A')
  t.ok(await b.exchange.waitSettled(id), 'settled from B')
})

t.test('cut between accept and the second append: completes on reconnect, once', async (t) => {
  const { a, b } = await pair(t)
  let cuts = 0
  // B has appended and is about to answer: the connection drops, so A never sees the accept.
  b.exchange.on('accepted', () => {
    if (cuts++ === 0) cut(b, a)
  })
  const signed = await a.exchange.barter(b.kp.publicKey, {
    give: { cpu: 10n },
    want: { disk: 1000n }
  })
  const id = toHex(signed.id)
  t.equal(cuts, 1, 'B accepted once: the repeat was answered from its log')
  t.equal(await copies(a, id), 1, "once in A's log")
  t.equal(await copies(b, id), 1, "once in B's log")
  t.ok(await a.exchange.waitSettled(id), 'settled from A')
  t.ok(await b.exchange.waitSettled(id), 'settled from B')
})

t.test(
  'A restarts between accept and its append: the journal resumes the barter, once',
  async (t) => {
    const { a, b, net } = await pair(t)
    const accepted = new Promise<SignedRecord>((resolve) => {
      b.exchange.once('accepted', (s: SignedRecord) => {
        cut(b, a)
        resolve(s)
      })
    })
    const proposal = a.exchange.barter(b.kp.publicKey, {
      give: { cpu: 10n },
      want: { disk: 1000n }
    })
    const outcome = proposal.then(
      () => null,
      (err: unknown) => err
    )
    const signed = await accepted
    const id = toHex(signed.id)
    await a.close()
    t.match(await outcome, { code: 'closed' }, "the old process's wait ends with the process")
    t.equal(await copies(b, id), 1, "in B's log")

    const a2 = await net.agent('a2', { dir: a.dir, kp: a.kp })
    t.same(a2.exchange.pending(), [id], 'the restarted agent has the proposal pending')
    await until(() => a2.exchange.pending().length === 0, 'the pending barter completes')
    t.equal(await copies(a2, id), 1, "once in A's log")
    t.equal(await copies(b, id), 1, "still once in B's log")
    t.ok(await a2.exchange.waitSettled(id), 'settled from A')
    t.ok(await b.exchange.waitSettled(id), 'settled from B')
  }
)

t.test(
  'a busy acceptor answers rate-limited; the proposals are re-sent and complete',
  async (t) => {
    const net = await network(t)
    const a = await net.agent('a')
    let busy = 0
    const b = await net.agent('b', {
      exchange: {
        maxInflightPerPeer: 1,
        policy: {
          agreement: async (_r, ctx) => {
            await new Promise((r) => setTimeout(r, 100))
            return ctx.offer !== null
          }
        }
      }
    })
    b.node.on('misbehave', () => busy--)
    let retried = 0
    a.exchange.on('busy', () => retried++)
    await b.exchange.offer({ give: { disk: 10_000n }, want: { cpu: 100n } })
    await a.node.reach(b.kp.publicKey, 20_000)
    const all = await Promise.all(
      [1n, 2n, 3n].map((n) =>
        a.exchange.barter(b.kp.publicKey, { give: { cpu: n }, want: { disk: 100n * n } })
      )
    )
    t.equal(all.length, 3, 'all three completed')
    t.ok(retried > 0, `some were refused as busy and re-sent (${retried})`)
    for (const s of all) t.equal(await copies(b, toHex(s.id)), 1, "each once in B's log")
    t.equal(busy, 0, 'being busy is not misbehaviour')
  }
)
