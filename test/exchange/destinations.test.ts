/**
 * The participant topics a node joins to reach destinations are bounded and left when stale
 * (src/exchange/node.ts): packets or requests to ever new ids cannot make it join topics without
 * end, and a participant it does reach stays reachable.
 */
import { test } from 'tap'
import { randomBytes } from 'node:crypto'
import { network, until } from './helpers.js'

test('destination topics: at most maxDestinationTopics, left when unused, a reached peer kept', async (t) => {
  const net = await network(t)
  const a = await net.agent('a', {
    limits: { maxDestinationTopics: 4, destinationTopicMs: 1000 }
  })
  const b = await net.agent('b')
  const base = a.node.topicCount
  // Ten participants nobody runs: each reach joins its topic, then gives up.
  const ids = Array.from({ length: 10 }, () => new Uint8Array(randomBytes(32)))
  await Promise.allSettled(ids.map((id) => a.node.reach(id, 50)))
  t.equal(a.node.topicCount, base + 4, 'only the 4 most recent destinations stay joined')

  // A participant that does run is reached, and stays connected while its topic ages out.
  const peer = await a.node.reach(b.kp.publicKey, 20_000)
  t.equal(peer.key, b.key)
  // (b may have been met on the market already, then its topic was never a destination.)
  await until(() => a.node.topicCount <= base + 1, 'the stale topics to be left', 10_000)
  t.ok(a.node.peer(b.key), 'the reached peer is still connected')
  t.ok(a.node.topicCount <= base + 1, 'every unreached destination was left')
})
