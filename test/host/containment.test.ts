/**
 * What a guest makes the host do is bounded or billed, and a limit punishes the guest that broke
 * it (docs/HOST.md, "Containment"): unreachable notices and deliveries wait in bounded queues, a
 * guest's sends are throttled by the host before any peer would have reason to act, every packet
 * pays its wire size and the host's work around it, a host that keeps dying under a guest evicts
 * it (`crash-loop`), and past its heap ceiling the host sheds the guest holding the most. The
 * guest sees what was dropped in `quid.dropped()`. In both places guests run.
 */
import t from 'tap'
import { participant } from '../helpers.js'
import { startHost, deployGuest, guestCode, until } from './helpers.js'
import { ISOLATIONS } from '../../src/host/place.js'
import { EVENT_PRICES, PACKET_OVERHEAD_BYTES } from '../../src/host/prices.js'
import { HOST_DEFAULTS } from '../../src/host/constants.js'
import type { EvictEvent, Host, Packet } from '../../src/host/host.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array): string => new TextDecoder().decode(b)

/** A router as the agent's: local guests get their packets, anything else an `unreachable`. */
function router(host: () => Host, packets: Packet[]): { send(p: Packet): void } {
  return {
    send: (p) => {
      packets.push(p)
      const h = host()
      if (h.has(p.to)) void h.deliverTo(p.to, p.from, p.data).catch(() => {})
      else if (h.has(p.from)) void h.notify(p.from, p.to, 'unknown').catch(() => {})
    }
  }
}

for (const isolation of ISOLATIONS)
  t.test(`containment, isolation ${isolation}`, async (t) => {
    const packets: Packet[] = []
    let host: Host | null = null
    const s = await startHost(t, {
      isolation,
      sandboxes: 1,
      mips: 1000,
      router: router(() => host as Host, packets)
    })
    host = s.host
    const owner = await participant(t, 'owner')
    const witness = await deployGuest(s, owner, guestCode('echo'), {
      cpu: 1_000_000n,
      disk: 10_000n,
      net: 1_000_000n
    })
    const witnessAnswers = async (): Promise<boolean> => {
      const n = packets.length
      if (!(await s.host.deliverTo(witness.id, 'tester', enc('ping')))) return false
      return until(() => packets.slice(n).some((p) => p.from === witness.address))
    }

    t.test(
      'unreachable notices wait in a bounded queue; the rest are dropped and counted',
      async (t) => {
        const g = await deployGuest(s, owner, guestCode('unreachable-flood'), {
          cpu: 10_000_000n,
          net: 100_000_000n
        })
        const rss0 = process.memoryUsage.rss()
        // 8 messages, 256 sends each: 2,048 packets to nowhere, so as many notices, far more than
        // the queue holds; and past the guest's own send rate.
        for (let i = 0; i < 8; i++) await s.host.deliverTo(g.id, 'tester', enc('flood'))
        t.ok(await witnessAnswers(), 'a bystander answers during the flood')
        const n = packets.length
        // Its reply comes after every notice that was queued (one queue per guest). The flood has
        // spent the guest's own send rate, so a reply may be throttled too: ask until one leaves.
        const replied = (): boolean =>
          packets.slice(n).some((p) => p.from === g.address && p.to === 'tester')
        for (let i = 0; i < 50 && !replied(); i++) {
          await s.host.deliverTo(g.id, 'tester', enc('report'))
          await until(replied, 100)
        }
        t.ok(replied(), 'the guest reports what was dropped')
        const reply = packets
          .slice(n)
          .find((p) => p.from === g.address && p.to === 'tester') as Packet
        const r = JSON.parse(dec(reply.data)) as {
          notices: number
          dropped: Record<string, number>
        }
        t.comment(JSON.stringify(r))
        const sent = packets.filter((p) => p.from === g.address && p.to === 'nowhere').length
        const throttled = (r.dropped.rate ?? 0) + (r.dropped.sends ?? 0)
        t.ok(throttled > 0, `the host throttled its sends: ${throttled} dropped`)
        t.ok(
          sent <= HOST_DEFAULTS.guestPacketBurst + 64,
          `${sent} of 2,048 left the host: about its burst (${HOST_DEFAULTS.guestPacketBurst})`
        )
        // A notice either reaches it or, past the queue's bound, is dropped and counted.
        const dropped = r.dropped.notices ?? 0
        t.ok(dropped > 0, `${dropped} notices dropped, counted for the guest`)
        t.ok(r.notices > 0 && r.notices + dropped <= sent, `${r.notices} notices reached it`)
        const grown = (process.memoryUsage.rss() - rss0) / 2 ** 20
        t.ok(grown < 200, `the host's memory grew ${grown.toFixed(1)} MB, bounded`)
        const used = s.host.guest(g.id)?.used
        const minNet = BigInt(sent * PACKET_OVERHEAD_BYTES)
        t.ok((used?.net ?? 0n) >= minNet, `empty packets paid their wire size (${used?.net} B)`)
        t.ok(await witnessAnswers(), 'the bystander still answers')
      }
    )

    t.test(
      'deliveries to a guest wait in a bounded queue; past it the sender is refused',
      async (t) => {
        // A guest whose handler takes a few ms: 200 packets at once cannot all wait.
        const slow = `quid.on('message', () => { const end = Date.now() + 3; while (Date.now() < end) {} })`
        const g = await deployGuest(s, owner, slow, { cpu: 10_000_000n, net: 10_000_000n })
        const results = await Promise.all(
          Array.from({ length: 200 }, () => s.host.deliverTo(g.id, 'tester', enc('x')))
        )
        const refused = results.filter((ok) => !ok).length
        t.ok(refused > 0, `${refused} of 200 refused`)
        t.ok(
          results.filter(Boolean).length <= HOST_DEFAULTS.maxPendingCalls + 1,
          'no more accepted than the queue holds (and the one running)'
        )
        t.ok(s.host.guest(g.id), 'the guest itself is not punished for being popular')
        t.ok(await witnessAnswers(), 'the bystander answers')
      }
    )

    t.test("the host's work around a call is billed at the price list", async (t) => {
      const g = await deployGuest(s, owner, guestCode('echo'), {
        cpu: 1_000_000n,
        disk: 10_000n,
        net: 100_000n
      })
      const before = s.host.guest(g.id)?.used as { cpu: bigint; net: bigint }
      const N = 100
      for (let i = 0; i < N; i++) await s.host.deliverTo(g.id, 'tester', new Uint8Array(0))
      await until(() => packets.filter((p) => p.from === g.address).length >= N)
      const after = s.host.guest(g.id)?.used as { cpu: bigint; net: bigint }
      const prices = EVENT_PRICES[isolation]
      // At 1000 MIPS, 1 MI is 1 ms: N deliveries and N sends cost at least their prices.
      const floorMi = (BigInt(N) * (prices.deliver + prices.send)) / 1_000_000n
      t.ok(
        after.cpu - before.cpu >= floorMi,
        `billed ${after.cpu - before.cpu} MI >= ${floorMi} MI`
      )
      t.equal(
        after.net - before.net,
        BigInt(N * (2 * PACKET_OVERHEAD_BYTES + 'echo:'.length)),
        'each empty packet in and its 5-byte echo out pay their wire size'
      )
    })
  })

t.test(
  'past the heap ceiling the host sheds the guest holding the most, not a bystander',
  async (t) => {
    const s = await startHost(t, { mips: 1000, heapCeiling: 1e-9, heapCheckMs: 20 })
    const evicted = new Map<string, EvictEvent>()
    s.host.on('evict', (e: EvictEvent) => evicted.set(e.guest, e))
    const owner = await participant(t, 'owner')
    const idle = await deployGuest(s, owner, guestCode('echo'), { cpu: 1_000_000n })
    const slow = `quid.on('message', () => { const end = Date.now() + 20; while (Date.now() < end) {} })`
    const heavy = await deployGuest(s, owner, slow, { cpu: 10_000_000n, net: 1_000_000n })
    for (let i = 0; i < 40; i++) void s.host.deliverTo(heavy.id, 'tester', enc('x')).catch(() => {})
    t.ok(await until(() => evicted.has(heavy.id)), 'the guest with the queue is shed')
    t.equal(evicted.get(heavy.id)?.reason, 'shed')
    t.match(evicted.get(heavy.id)?.detail, /heap passed its ceiling/)
    t.ok(s.host.guest(idle.id), 'the idle guest stays')
    t.equal(s.hp.ledger.guest(heavy.id)?.ended?.reason, 'shed', 'its owner reads why in the log')
  }
)
