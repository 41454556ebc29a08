/**
 * The key cracker through whole agents: Joe buys cpu on Alice's machine, deploys the cracker with
 * `quid deploy`, starts a search from his client and reads the reports in his inbox.
 */
import { test } from 'tap'
import { blake2s } from '@noble/hashes/blake2.js'
import { World } from '../../src/demo/world.js'
import { person } from '../../src/demo/context.js'
import { guestFile } from '../../src/demo/guests.js'
import { toHex } from '../../src/core/bytes.js'
import { tmp } from '../helpers.js'

const R = 'cpu=1my,disk=1MB,net=10MB'

test('a cracker deployed by a client finds the key and reports to its inbox', async (t) => {
  const world = await World.open({ parent: await tmp(t, 'quid-crack-') })
  t.teardown(() => world.close())
  const capacity = { cpu: 10n ** 12n, disk: 1n << 30n, net: 1n << 30n }
  const alice = person('alice', await world.agent('alice', { host: { capacity, mips: 1000 } }))
  const joe = person('joe', await world.agent('joe', { host: { capacity, mips: 1000 } }))
  await alice.quid('offer', { give: R, want: R })
  await joe.quid('barter', { peer: alice.agent.key, give: R, want: R })
  const dep = (await joe.quid('deploy', {
    file: guestFile('cracker'),
    host: alice.agent.key,
    cpu: '100000MI',
    disk: '4kB',
    net: '1MB'
  })) as { address: string }
  const key = 40_000
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, key)
  await joe.client.send(dep.address, {
    op: 'crack',
    hash: toHex(blake2s(b)),
    bits: 16,
    chunk: 10_000
  })
  const found = await joe.client.json<{ key: number; tried: number }>(
    dep.address,
    (v) => v.op === 'found',
    'the key'
  )
  t.same(found, { op: 'found', key, tried: key + 1 }, 'the key, from the guest on Alice')
  // A slice of the key space, as an owner splitting one search among hosts sends it.
  await joe.client.send(dep.address, {
    op: 'crack',
    hash: toHex(blake2s(b)),
    bits: 16,
    from: 1000,
    to: 3000
  })
  t.same(
    await joe.client.json(dep.address, (v) => v.op === 'exhausted', 'the slice'),
    { op: 'exhausted', tried: 2000 },
    'a slice without the key: every key of it tried'
  )
  await joe.client.send(dep.address, {
    op: 'crack',
    hash: toHex(blake2s(b)),
    bits: 16,
    from: 39_000,
    to: 65_536,
    chunk: 500
  })
  t.same(
    await joe.client.json(dep.address, (v) => v.op === 'found', 'the key in a slice'),
    { op: 'found', key, tried: key - 39_000 + 1 },
    'found in a slice: tried counts from the slice start'
  )
  await joe.client.send(dep.address, { op: 'crack', hash: toHex(blake2s(b)), bits: 8, to: 300 })
  t.match(
    await joe.client.json(dep.address, (v) => v.op === 'error', 'the refusal'),
    { error: /from and to/ },
    'a slice past 2^bits is refused'
  )
  const used = alice.agent.host?.guest(dep.address)?.used
  t.ok(used && used.cpu > 0n, `its cpu is metered (${used?.cpu} MI so far)`)
})
