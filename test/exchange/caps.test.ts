import t from 'tap'
import { readdirSync } from 'node:fs'
import { toHex } from '../../src/core/bytes.js'
import { Hostile, type HostileConnection } from './hostile.js'
import { network } from './helpers.js'

const fds = (): number => readdirSync('/proc/self/fd').length

t.test(
  '1,000 connection attempts from fresh keys: our caps hold and established peers trade',
  async (t) => {
    const net = await network(t)
    const limits = { maxConnections: 24, maxUnauthenticated: 8, authTimeoutMs: 1500 }
    const a = await net.agent('a')
    const b = await net.agent('b', { limits })
    await b.exchange.offer({ give: { disk: 10n ** 9n }, want: { cpu: 10n ** 6n } })
    await a.node.reach(b.kp.publicKey, 20_000)
    // Several attackers, each its own DHT node, dialing in parallel.
    const hostiles = Array.from({ length: 5 }, () => new Hostile(net.testnet.bootstrap))
    t.teardown(() => Promise.all(hostiles.map((h) => h.close())))

    let most = 0
    let mostUnauthenticated = 0
    b.node.swarm.on('update', () => {
      most = Math.max(most, b.node.peers.size)
      mostUnauthenticated = Math.max(
        mostUnauthenticated,
        [...b.node.peers].filter((p) => !p.authenticated).length
      )
    })
    const target = b.node.swarm.keyPair.publicKey
    const fdsBefore = fds()
    global.gc?.()
    const heapBefore = process.memoryUsage().heapUsed

    let opened = 0
    let refused = 0
    const held: HostileConnection[] = []
    // Trade while the attempts go on.
    const trades = (async () => {
      const done = []
      for (let i = 0; i < 5; i++)
        done.push(
          await a.exchange.barter(b.kp.publicKey, { give: { cpu: 10n }, want: { disk: 1000n } })
        )
      return done
    })()
    const ATTEMPTS = 1000
    const PARALLEL = 20 * hostiles.length
    let next = 0
    await Promise.all(
      Array.from({ length: PARALLEL }, async (_, w) => {
        const hostile = hostiles[w % hostiles.length]!
        while (next < ATTEMPTS) {
          next++
          // Opened connections say nothing: they hold a slot until the auth timeout drops them.
          const h = await hostile.connect(target).catch(() => null)
          if (h) {
            opened++
            held.push(h)
          } else refused++
        }
      })
    )
    const signed = await trades
    t.equal(opened + refused, ATTEMPTS, 'every attempt ended')
    t.ok(
      refused > 0,
      `the firewall refused attempts over the caps (${refused} refused, ${opened} let in)`
    )
    t.ok(
      most <= limits.maxConnections,
      `connections never exceeded the cap (${most} <= ${limits.maxConnections})`
    )
    t.ok(
      mostUnauthenticated <= limits.maxUnauthenticated,
      `unauthenticated connections never exceeded their cap (${mostUnauthenticated})`
    )
    await Promise.all(held.map((h) => h.closed))
    t.pass('every silent connection was dropped at the auth timeout')
    t.equal(
      b.node.swarm.peers.size <= limits.maxConnections,
      true,
      `the swarm keeps no record per refused key (${b.node.swarm.peers.size})`
    )
    t.equal(b.node.bans.size, 0, 'refusals by the caps are not bans')
    t.ok(fds() <= fdsBefore + 10, `file descriptors stay bounded (${fdsBefore} -> ${fds()})`)
    global.gc?.()
    const grown = (process.memoryUsage().heapUsed - heapBefore) / 1e6
    t.ok(grown < 64, `heap stays bounded (grew ${grown.toFixed(1)} MB)`)

    t.equal(signed.length, 5, 'the established peer traded throughout')
    for (const s of signed) t.ok(await b.exchange.waitSettled(toHex(s.id)), 'settled')
    t.ok(b.node.peer(a.key), 'and is still connected')
  }
)
