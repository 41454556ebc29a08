/**
 * How a handler call ends (bootstrap.ts `dispatch`, runtime.ts `call`): one handler that returns
 * no promise is done when it returns; a handler that returns a promise or a thenable, or several
 * handlers, are awaited in turn and their outcome reported to the sandbox by the bootstrap. Both
 * on the sandbox's main thread (credit above the wall-clock cap) and on isolated-vm's pool (less).
 */
import t from 'tap'
import { participant } from '../helpers.js'
import { startHost, deployGuest, recorder } from './helpers.js'
import type { EvictEvent, Packet } from '../../src/host/host.js'

const WALL_MS = 300
const MIPS = 1000
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

t.test('handler outcomes', async (t) => {
  const packets: Packet[] = []
  const s = await startHost(t, {
    mips: MIPS,
    callWallMs: WALL_MS,
    sandboxes: 1,
    router: { send: (p) => packets.push(p) }
  })
  const rec = recorder(s.host)
  const owner = await participant(t, 'owner')
  const evicted = new Map<string, EvictEvent>()
  s.host.on('evict', (e: EvictEvent) => evicted.set(e.guest, e))
  const paths = [
    // 100 s of CPU: over the cap, so calls run on the main thread.
    { name: 'main thread', cpu: 100_000n },
    // 0.2 s of CPU: under the 0.3 s cap, so calls run on the pool.
    { name: 'pool', cpu: 200n }
  ]

  for (const path of paths) {
    t.test(path.name, async (t) => {
      const deploy = (code: string) =>
        deployGuest(s, owner, code, { cpu: path.cpu, net: 1_000_000n })
      /** Delivers `n` messages one after another; returns what the guest sent during each. */
      const exchange = async (id: string, n: number) => {
        const out: string[][] = []
        for (let i = 0; i < n; i++) {
          const before = packets.length
          t.equal(await s.host.deliverTo(id, 'x', new TextEncoder().encode(`m${i}`)), true)
          await new Promise((r) => setImmediate(r))
          out.push(packets.slice(before).map((p) => text(p.data)))
        }
        return out
      }

      t.test('an async handler: its sends happen, call after call', async (t) => {
        const g = await deploy(`quid.on('message', async (data) => {
          await null
          quid.send('x', data)
          await Promise.resolve()
          quid.send('x', 'after')
        })`)
        t.same(await exchange(g.id, 3), [
          ['m0', 'after'],
          ['m1', 'after'],
          ['m2', 'after']
        ])
      })

      t.test('an async handler that rejects: reported, and the guest lives on', async (t) => {
        const g = await deploy(`let n = 0
        quid.on('message', async (data) => {
          await null
          if (n++ === 0) throw new Error('late failure')
          quid.send('x', data)
        })`)
        const logs = rec.logs.length
        t.same(await exchange(g.id, 2), [[], ['m1']])
        t.same(
          rec.logs
            .slice(logs)
            .filter((l) => l.guest === g.id)
            .map((l) => l.line),
          ['handler threw: Error: late failure']
        )
      })

      t.test('a thenable is awaited like a promise', async (t) => {
        const g = await deploy(`quid.on('message', (data) => ({
          then(resolve) { quid.send('x', 'then'); resolve() }
        }))`)
        t.same(await exchange(g.id, 2), [['then'], ['then']])
      })

      t.test('several handlers: each awaited before the next, in order', async (t) => {
        // The first handler's microtask runs before the second handler, as with awaiting each.
        const g =
          await deploy(`quid.on('message', () => { Promise.resolve().then(() => quid.send('x', 'micro')) })
        quid.on('message', () => quid.send('x', 'second'))
        quid.on('message', async () => { await null; quid.send('x', 'third') })`)
        t.same(await exchange(g.id, 2), [
          ['micro', 'second', 'third'],
          ['micro', 'second', 'third']
        ])
      })

      t.test('a throw stops the handlers after it, and is reported', async (t) => {
        const g = await deploy(`quid.on('message', () => { throw new TypeError('first') })
        quid.on('message', () => quid.send('x', 'never'))`)
        const logs = rec.logs.length
        t.same(await exchange(g.id, 1), [[]])
        t.same(
          rec.logs
            .slice(logs)
            .filter((l) => l.guest === g.id)
            .map((l) => l.line),
          ['handler threw: TypeError: first']
        )
      })

      t.test('one handler that returns a value (not a promise) is done at once', async (t) => {
        const g = await deploy(`quid.on('message', (data) => { quid.send('x', data); return 7 })`)
        t.same(await exchange(g.id, 2), [['m0'], ['m1']])
      })

      t.test('a promise that never settles ends the guest at the wall-clock cap', async (t) => {
        const g = await deploy(
          `quid.on('message', async () => { quid.send('x', 'before'); await new Promise(() => {}) })`
        )
        const before = packets.length
        t.equal(await s.host.deliverTo(g.id, 'x', new Uint8Array([1])), false)
        t.equal(evicted.get(g.id)?.reason, 'misbehaved')
        t.match(evicted.get(g.id)?.detail, /longer than 300 ms/)
        await new Promise((r) => setImmediate(r))
        t.same(
          packets.slice(before).map((p) => text(p.data)),
          ['before'],
          'what it sent before waiting still leaves'
        )
      })
    })
  }
})
