/**
 * Suite `exchange`: the exchange over a real swarm on loopback (a private HyperDHT testnet).
 *
 * - barterPerSec, barterP50Ms, barterP99Ms: barters end to end, one after the other, from
 *   `barter()` to its resolution, i.e. propose → the acceptor's checks, signature and append →
 *   accept → the proposer's append: the agreement is then in both logs (settled).
 * - replicationPerSec: a fresh reader downloads a participant's whole log (100,000 entries) over our
 *   node's authenticated connection; rawReplicationPerSec: the same log downloaded by a plain
 *   Corestore over a plain Hyperswarm connection; replicationRatio = ours / raw (goal >= 0.8).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import Hyperswarm from 'hyperswarm'
import HyperDHT from 'hyperdht'
import type Hypercore from 'hypercore'
import { Ledger } from '../../src/ledger/ledger.js'
import { generateKeyPair } from '../../src/crypto/identity.js'
import { signRecord } from '../../src/ledger/sign.js'
import { logKey } from '../../src/ledger/logs.js'
import * as build from '../../src/ledger/build.js'
import { Node } from '../../src/exchange/node.js'
import { Exchange } from '../../src/exchange/exchange.js'
import { startTestnet, type Testnet } from '../../src/exchange/testnet.js'
import type { Figure, Suite, SuiteContext } from './suite.js'

const LIMITS = { cpu: 10n ** 15n, disk: 10n ** 15n, net: 10n ** 15n }
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6

interface Agent {
  store: Corestore
  node: Node
  ledger: Ledger
  exchange: Exchange
  close(): Promise<void>
}

async function agent(net: Testnet, dirs: string[]): Promise<Agent> {
  const dir = await mkdtemp(join(tmpdir(), 'quid-bench-x-'))
  dirs.push(dir)
  const kp = generateKeyPair()
  const store = new Corestore(dir)
  // The bench drives one peer hard on purpose: lift the per-peer message rate limit.
  const node = new Node({
    keyPair: kp,
    store,
    bootstrap: net.bootstrap,
    firewalled: false,
    market: 'bench',
    limits: { messagesPerSec: 1e6, messageBurst: 1e6 }
  })
  const ledger = new Ledger(store, kp, { logs: node.logs })
  const exchange = new Exchange({ node, ledger })
  await exchange.ready()
  await node.flush()
  return {
    store,
    node,
    ledger,
    exchange,
    async close() {
      await exchange.close()
      await ledger.close()
      await node.close()
      await store.close()
    }
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number
}

async function barters(ctx: SuiteContext, net: Testnet, dirs: string[]): Promise<Figure[]> {
  const count = ctx.quick ? 100 : 1000
  const a = await agent(net, dirs)
  const b = await agent(net, dirs)
  try {
    for (const x of [a, b]) await x.ledger.appendOwn(build.capacity(x.ledger.id, 1000, LIMITS))
    await b.exchange.offer({ give: { disk: 10n ** 14n }, want: { cpu: 10n ** 14n } })
    await a.node.reach(b.ledger.id, 20_000)
    const once = (): Promise<unknown> =>
      a.exchange.barter(b.ledger.id, { give: { cpu: 10n }, want: { disk: 10n } })
    ctx.progress('barters: warm-up')
    for (let i = 0; i < 20; i++) await once()
    const times: number[] = []
    const start = nowMs()
    for (let i = 0; i < count; i++) {
      if (i % 100 === 0) ctx.progress(`barters: ${i}/${count}`)
      const t0 = nowMs()
      await once()
      times.push(nowMs() - t0)
    }
    const total = nowMs() - start
    times.sort((x, y) => x - y)
    const note = `${count} barters in a row, propose → in both logs, two agents on one loopback testnet`
    return [
      { name: 'barterPerSec', value: (count * 1000) / total, unit: 'barters/s', note },
      { name: 'barterP50Ms', value: percentile(times, 50), unit: 'ms', note },
      { name: 'barterP99Ms', value: percentile(times, 99), unit: 'ms', note }
    ]
  } finally {
    await a.close()
    await b.close()
  }
}

/**
 * Entries per second downloading every block of `core`, timed from the moment the reader knows
 * the log's length (connection set-up and discovery are not replication).
 */
async function download(core: Hypercore, length: number): Promise<number> {
  while (core.length < length) await core.update({ wait: true })
  const start = nowMs()
  await core.download({ start: 0, end: length }).done()
  return (length * 1000) / (nowMs() - start)
}

/** One reader agent replicates the writer's log through our node (a fresh store each time). */
async function oursOnce(
  net: Testnet,
  dirs: string[],
  writer: Uint8Array,
  size: number
): Promise<number> {
  const reader = await agent(net, dirs)
  try {
    const core = reader.store.get({ key: logKey(writer) })
    await core.ready()
    const done = core.findingPeers()
    await reader.node.reach(writer, 20_000).finally(done)
    const rate = await download(core, size)
    await core.close()
    return rate
  } finally {
    await reader.close()
  }
}

/** A plain Corestore replicates the same log over a plain Hyperswarm connection. */
async function rawOnce(
  net: Testnet,
  dirs: string[],
  writer: Uint8Array,
  size: number
): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'quid-bench-raw-'))
  dirs.push(dir)
  const store = new Corestore(dir)
  const swarm = new Hyperswarm({
    dht: new HyperDHT({ bootstrap: net.bootstrap, firewalled: false })
  })
  swarm.on('connection', (conn) => store.replicate(conn))
  try {
    const core = store.get({ key: logKey(writer) })
    await core.ready()
    const done = core.findingPeers()
    swarm.join(core.discoveryKey, { server: false, client: true })
    await swarm.flush()
    done()
    const rate = await download(core, size)
    await core.close()
    return rate
  } finally {
    await swarm.destroy()
    await store.close()
  }
}

async function replication(ctx: SuiteContext, net: Testnet, dirs: string[]): Promise<Figure[]> {
  const size = ctx.quick ? 10_000 : 100_000
  const rounds = 2
  const writer = await agent(net, dirs)
  // The same log, served to raw readers by a plain swarm over the writer's store.
  const server = new Hyperswarm({
    dht: new HyperDHT({ bootstrap: net.bootstrap, firewalled: false })
  })
  server.on('connection', (conn) => writer.store.replicate(conn))
  try {
    const kp = writer.ledger.keyPair
    await writer.ledger.appendOwn(build.capacity(kp.publicKey, 1000, LIMITS))
    for (let done = 1; done < size; ) {
      const n = Math.min(1000, size - done)
      await writer.ledger.append(
        Array.from({ length: n }, (_, i) =>
          signRecord(build.capacity(kp.publicKey, 1000 + done + i, LIMITS), [kp])
        )
      )
      done += n
      if (done % 10_000 < 1000) ctx.progress(`replication: writing the log ${done}/${size}`)
    }
    server.join(writer.ledger.core.discoveryKey, { server: true, client: false })
    await server.flush()
    // Whichever runs second runs faster (JIT, caches): one untimed round of each first, then
    // rounds in alternating order, the best of each kept.
    ctx.progress('replication: warm-up')
    await oursOnce(net, dirs, kp.publicKey, size)
    await rawOnce(net, dirs, kp.publicKey, size)
    let ours = 0
    let raw = 0
    for (let r = 1; r <= rounds; r++) {
      ctx.progress(`replication: round ${r}/${rounds}`)
      const runOurs = async (): Promise<void> => {
        ours = Math.max(ours, await oursOnce(net, dirs, kp.publicKey, size))
      }
      const runRaw = async (): Promise<void> => {
        raw = Math.max(raw, await rawOnce(net, dirs, kp.publicKey, size))
      }
      if (r % 2 === 1) {
        await runOurs()
        await runRaw()
      } else {
        await runRaw()
        await runOurs()
      }
    }
    const note = `${size} entries, one reader, loopback, best of ${rounds} after a warm-up`
    return [
      {
        name: 'replicationPerSec',
        value: ours,
        unit: 'entries/s',
        note: `${note}, through our node (authenticated, shared Protomux)`
      },
      {
        name: 'rawReplicationPerSec',
        value: raw,
        unit: 'entries/s',
        note: `${note}, plain Corestore over plain Hyperswarm`
      },
      {
        name: 'replicationRatio',
        value: ours / raw,
        unit: 'ratio',
        note: 'replicationPerSec / rawReplicationPerSec (goal >= 0.8)'
      }
    ]
  } finally {
    await server.destroy()
    await writer.close()
  }
}

export const exchangeSuite: Suite = {
  name: 'exchange',
  description: 'barters end to end over a loopback swarm; log replication through our node vs raw',
  async run(ctx) {
    const net = await startTestnet()
    const dirs: string[] = []
    try {
      return [...(await barters(ctx, net, dirs)), ...(await replication(ctx, net, dirs))]
    } finally {
      await net.close()
      for (const d of dirs) await rm(d, { recursive: true, force: true })
    }
  }
}
