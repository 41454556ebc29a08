/**
 * How a call is stopped (runtime.ts, `syncable` and `callTimeoutMs`): every call runs on the
 * calling thread, where no timer can fire, so isolated-vm's timeout alone must stop it, microtasks
 * included: at the wall-clock cap for a guest whose CPU credit covers it (`misbehaved`), at its
 * credit for one with less (`cpu-exhausted`). What a call sends reaches the router in order, also
 * past the size at which a sandbox sends a batch ahead of the reply.
 */
import t, { type Test } from 'tap'
import { participant } from '../helpers.js'
import { syncable } from '../../src/host/runtime.js'
import { startHost, deployGuest, guestCode } from './helpers.js'
import { PACKET_OVERHEAD_BYTES } from '../../src/host/prices.js'
import type { Budget } from '../../src/host/protocol.js'
import type { EvictEvent, Packet } from '../../src/host/host.js'

const WALL_MS = 400
const MIPS = 1000

t.test('syncable: only a call whose CPU budget covers the wall-clock cap', async (t) => {
  const b = (cpuNs: bigint, wallMs: number): Budget => ({
    cpuNs,
    wallMs,
    net: 0,
    sliceMs: 10,
    maxSends: 1,
    maxLogs: 1,
    maxPacket: 1
  })
  t.equal(syncable(b(400_000_000n, 400)), true, 'exactly the cap')
  t.equal(syncable(b(10n ** 15n, 400)), true)
  t.equal(syncable(b(399_999_999n, 400)), false, '1 ns short of the cap')
  t.equal(syncable(b(0n, 400)), false)
})

t.test('guests on the main thread', async (t) => {
  const packets: Packet[] = []
  const s = await startHost(t, {
    mips: MIPS,
    callWallMs: WALL_MS,
    sandboxes: 1,
    router: { send: (p) => packets.push(p) }
  })
  const owner = await participant(t, 'owner')
  const evicted = new Map<string, EvictEvent>()
  s.host.on('evict', (e: EvictEvent) => evicted.set(e.guest, e))
  // Credit for 100 s of CPU: far more than the 0.4 s cap, so every call below runs synchronously.
  const BIG = 100_000n
  const witness = await deployGuest(s, owner, guestCode('echo'), {
    cpu: BIG,
    disk: 10_000n,
    net: 1_000_000n
  })
  const witnessAnswers = async (t: Test): Promise<void> => {
    const n = packets.length
    t.equal(await s.host.deliverTo(witness.id, 'tester', new TextEncoder().encode('hi')), true)
    await new Promise((r) => setImmediate(r))
    t.same(
      packets.slice(n).map((p) => new TextDecoder().decode(p.data)),
      ['echo:hi'],
      'the witness in the same sandbox still answers'
    )
  }
  const evictedBy = async (t: Test, code: string, credit: { cpu: bigint; net?: bigint }) => {
    const g = await deployGuest(s, owner, code, credit)
    const before = s.host.guest(g.id)?.used.cpu as bigint
    t.equal(await s.host.deliverTo(g.id, 'x', new Uint8Array([1])), false, 'the call fails')
    t.equal(s.host.guest(g.id), undefined, 'the guest is gone')
    return { ...(evicted.get(g.id) as EvictEvent), before }
  }

  t.test('an endless loop is stopped at the wall-clock cap', async (t) => {
    const ev = await evictedBy(t, guestCode('loop-handler'), { cpu: BIG, net: 1000n })
    t.equal(ev.reason, 'misbehaved')
    t.match(ev.detail, /timed out/)
    // Charged the thread's CPU time over the call, up to the moment isolated-vm stopped it.
    t.ok(
      ev.measuredCpu > ev.before,
      `the call was charged (${ev.before} MI before, ${ev.measuredCpu} after)`
    )
    t.ok(ev.measuredCpu < BIG, 'what it used, not its credit')
    await witnessAnswers(t)
  })

  t.test('an endless loop after an await (in a microtask) is stopped too', async (t) => {
    const ev = await evictedBy(t, `quid.on('message', async () => { await null; for (;;) {} })`, {
      cpu: BIG,
      net: 1000n
    })
    t.equal(ev.reason, 'misbehaved')
    t.match(ev.detail, /timed out/)
    await witnessAnswers(t)
  })

  t.test('an endless chain of microtasks is stopped', async (t) => {
    const ev = await evictedBy(
      t,
      `quid.on('message', () => { const spin = () => Promise.resolve().then(spin); spin() })`,
      { cpu: BIG, net: 1000n }
    )
    t.ok(['misbehaved', 'memory-exceeded'].includes(ev.reason), ev.reason)
    await witnessAnswers(t)
  })

  t.test('a promise that never settles ends the guest at the cap', async (t) => {
    const ev = await evictedBy(t, `quid.on('message', () => new Promise(() => {}))`, {
      cpu: BIG,
      net: 1000n
    })
    t.equal(ev.reason, 'misbehaved')
    await witnessAnswers(t)
  })

  t.test('with less CPU left than the cap, the loop is stopped at its CPU budget', async (t) => {
    // 100 MI at 1000 MIPS is 0.1 s of CPU: under the 0.4 s cap, so the timeout is its credit.
    const ev = await evictedBy(t, guestCode('loop-handler'), { cpu: 100n, net: 1000n })
    t.equal(ev.reason, 'cpu-exhausted')
    // Stopped at its credit plus half a 10 ms slice of wall time: its thread cannot have used
    // more, but this VM's thread clock can run fast while the other vCPU is busy (docs/HOST.md,
    // "Benchmark"), so the bound checked is two slices.
    t.ok(ev.measuredCpu <= 100n + 20n, `stopped near its credit: ${ev.measuredCpu} MI of 100`)
    t.equal(
      ev.used.cpu,
      ev.measuredCpu < 100n ? ev.measuredCpu : 100n,
      'billed what it used, at most its credit'
    )
    await witnessAnswers(t)
  })

  t.test(
    'net credit runs out mid-call: nothing more leaves, even if the guest goes on',
    async (t) => {
      const n = packets.length
      const ev = await evictedBy(
        t,
        `quid.on('message', () => {
        let refused = 0
        for (let i = 0; i < 20; i++) {
          try { quid.send('somewhere', new Uint8Array(100)) } catch { refused++ }
        }
        try { quid.store.put('after', 'yes') } catch { refused++ }
      })`,
        { cpu: BIG, net: 251n + 3n * BigInt(PACKET_OVERHEAD_BYTES) }
      )
      await new Promise((r) => setImmediate(r))
      t.equal(ev.reason, 'net-exhausted')
      t.equal(packets.length - n, 2, 'two packets fitted in the 250 bytes left after the message')
      t.equal(
        ev.used.net,
        201n + 3n * BigInt(PACKET_OVERHEAD_BYTES),
        'billed the byte in and the 200 bytes out, each packet with its wire overhead'
      )
      await witnessAnswers(t)
    }
  )

  t.test('what a call sends reaches the router in order, past the batch size', async (t) => {
    const g = await deployGuest(
      s,
      owner,
      `quid.on('message', () => {
        for (let i = 0; i < 10; i++) {
          const b = new Uint8Array(60000)
          b[0] = i
          quid.send('somewhere', b)
        }
        quid.log('done')
      })`,
      { cpu: BIG, net: 10n ** 7n }
    )
    const n = packets.length
    t.equal(await s.host.deliverTo(g.id, 'x', new Uint8Array([1])), true)
    await new Promise((r) => setImmediate(r))
    const sent = packets.slice(n).filter((p) => p.from === g.address)
    t.same(
      sent.map((p) => [p.data.byteLength, p.data[0]]),
      Array.from({ length: 10 }, (_, i) => [60000, i]),
      'ten packets of 60,000 bytes, in the order sent'
    )
    t.equal(
      s.host.guest(g.id)?.used.net,
      600_001n + 11n * BigInt(PACKET_OVERHEAD_BYTES),
      'all billed'
    )
  })
})
