/**
 * examples/guests/cracker.js in a real host: finds a key in a small space from its BLAKE2s hash
 * (computed in the guest's own JavaScript), reporting progress to its owner; with too little cpu
 * credit it is metered, evicted mid-search and its files deleted.
 */
import { test, type Test } from 'tap'
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import z32 from 'z32'
import { blake2s } from '@noble/hashes/blake2.js'
import { participant } from '../helpers.js'
import { startHost, deployGuest } from '../host/helpers.js'
import type { EvictEvent, Packet } from '../../src/host/host.js'
import { toHex } from '../../src/core/bytes.js'
import { guestFile } from '../../src/demo/guests.js'

const CODE = readFileSync(guestFile('cracker'), 'utf8')
const utf8 = new TextEncoder()

function target(key: number): string {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, key)
  return toHex(blake2s(b))
}

/** A host whose guests' packets to themselves come back to them (as the agent's router does). */
async function setup(t: Test) {
  const reports: Array<Record<string, unknown>> = []
  let host: Awaited<ReturnType<typeof startHost>>['host'] | null = null
  const s = await startHost(t, {
    mips: 1000,
    router: {
      send: (p: Packet) => {
        if (p.to === p.from) {
          const id = p.from.slice(0, p.from.indexOf('@'))
          void host?.deliverTo(toHex(z32.decode(id)), p.from, p.data).catch(() => {})
        } else reports.push(JSON.parse(new TextDecoder().decode(p.data)))
      }
    }
  })
  host = s.host
  return { s, reports }
}

test('the cracker finds the key and reports its progress', async (t) => {
  const { s, reports } = await setup(t)
  const owner = await participant(t, 'buyer')
  const g = await deployGuest(s, owner, CODE, { cpu: 10n ** 6n, disk: 4096n, net: 1n << 20n })
  const me = z32.encode(owner.kp.publicKey)
  await s.host.deliverTo(
    g.id,
    'someone-else',
    utf8.encode(JSON.stringify({ op: 'crack', hash: target(1), bits: 4 }))
  )
  t.same(reports, [], 'only its owner may start a search')
  await s.host.deliverTo(
    g.id,
    me,
    utf8.encode(JSON.stringify({ op: 'crack', hash: 'zz', bits: 4 }))
  )
  while (reports.length === 0) await new Promise((r) => setTimeout(r, 5))
  t.match(reports.shift(), { op: 'error', error: /hash must be 64 hex/ })
  t.same(reports, [], "the stranger's request was not answered either")
  const key = 3000
  await s.host.deliverTo(
    g.id,
    me,
    utf8.encode(JSON.stringify({ op: 'crack', hash: target(key), bits: 12, chunk: 1000 }))
  )
  while (!reports.some((r) => r.op === 'found')) await new Promise((r) => setTimeout(r, 10))
  t.same(
    reports.map((r) => r.op),
    ['progress', 'progress', 'progress', 'found'],
    'a report per chunk, then the key'
  )
  t.same(reports.at(-1), { op: 'found', key, tried: key + 1 })
  t.match(reports[0], { op: 'progress', tried: 1000, of: 4096 })
})

test('with too little cpu credit the cracker is evicted mid-search and its files deleted', async (t) => {
  const { s, reports } = await setup(t)
  const owner = await participant(t, 'buyer')
  const cpu = 300n // MI at 1000 MIPS: 0.3 s of the guest's CPU time
  const g = await deployGuest(s, owner, CODE, { cpu, disk: 4096n, net: 1n << 20n })
  const dir = join(s.dir, 'guests', g.id)
  t.ok(existsSync(dir), 'the guest has its directory')
  const evicted = new Promise<EvictEvent>((resolve) => s.host.on('evict', resolve))
  const me = z32.encode(owner.kp.publicKey)
  const key = 2 ** 24 - 2 // near the end: far more work than the credit pays for
  await s.host.deliverTo(
    g.id,
    me,
    utf8.encode(JSON.stringify({ op: 'crack', hash: target(key), bits: 24, chunk: 20000 }))
  )
  const ev = await evicted
  t.equal(ev.reason, 'cpu-exhausted')
  // Its last call is stopped at its credit's worth of wall time: on a busy machine the thread may
  // not have run all of it, and then the guest pays only what it used.
  t.equal(
    ev.used.cpu,
    ev.measuredCpu < cpu ? ev.measuredCpu : cpu,
    'billed what it used, at most its credit'
  )
  t.ok(ev.measuredCpu >= cpu / 2n, `it had used most of what it paid for (${ev.measuredCpu} MI)`)
  t.ok(
    reports.some((r) => r.op === 'progress'),
    `it reported progress first (${reports.length} reports)`
  )
  t.notOk(
    reports.some((r) => r.op === 'found'),
    'it did not get to the key'
  )
  t.notOk(existsSync(dir), 'its files are deleted')
  t.equal(s.host.guest(g.id), undefined, 'the host no longer runs it')
})
