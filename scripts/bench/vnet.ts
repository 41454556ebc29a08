/**
 * Suite `vnet`: guest-to-guest round trips across two agents on loopback (a private testnet).
 *
 * Agent A hosts a relay guest P, agent B hosts an echo guest E. One round trip: A's client sends
 * to P (local), P sends to E (over the agents' connection), E answers P, P answers the client.
 * The time is taken from the client's send to the answer reaching its inbox, so it holds two
 * network crossings and three guest handler calls, metered; the guests run in the agents'
 * processes (the default), and then, for the `process*` figures, in sandbox processes.
 *
 * - rttP50Ms, rttP99Ms: one message in flight at a time.
 * - msgsPerSec: round trips per second with 32 in flight.
 * - rawRttP50Ms: an echo over a plain Hyperswarm connection between two swarms on the same testnet,
 *   measured in the same run; rttRatio = rttP50Ms / rawRttP50Ms (goal <= 2).
 * - agentRttP50Ms, agentRttRatio: the same two agents with no guest (client to client), to tell
 *   the network layer's cost from the guests' (three calls per round trip).
 * - processRttP50Ms, processRttP99Ms, processMsgsPerSec, processRttRatio: the same with
 *   `isolation: 'process'`.
 * - ipcRttP50Ms, isolateCallP50Ms, floorRttRatio, inProcessFloorRatio: what a guest call costs at
 *   the least (./floor.ts), and the rttRatio that the raw echo plus three such calls would give
 *   with guests in sandbox processes and in the agent's own process.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Hyperswarm from 'hyperswarm'
import HyperDHT from 'hyperdht'
import { Agent } from '../../src/agent/agent.js'
import { controlHandlers } from '../../src/agent/handlers.js'
import { generateKeyPair, writeKeyFile } from '../../src/crypto/identity.js'
import { startTestnet, type Testnet } from '../../src/exchange/testnet.js'
import { formatAddress, parseAddress } from '../../src/vnet/address.js'
import type { CallContext, JsonObject } from '../../src/agent/control.js'
import type { Figure, Suite, SuiteContext } from './suite.js'
import { ipcRtt, isolateCall } from './floor.js'
import type { Isolation } from '../../src/host/place.js'

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6
const BIG = { cpu: 10n ** 15n, disk: 10n ** 12n, net: 10n ** 12n }
const R = 'cpu=1000my,disk=100MB,net=1GB'

const ECHO = `quid.on('message', (data, from) => quid.send(from, data))`
// The relay forwards what its owner's client sends to the echo, and the echo's answers back.
const relay = (owner: string, echo: string): string => `
const OWNER = ${JSON.stringify(owner)}
const ECHO = ${JSON.stringify(echo)}
quid.on('message', (data, from) => quid.send(from === OWNER ? ECHO : OWNER, data))
`

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

const ctx: CallContext = { progress: () => {}, signal: new AbortController().signal }

async function agent(
  net: Testnet,
  root: string,
  name: string,
  isolation: Isolation
): Promise<Agent> {
  const dir = join(root, name)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeKeyFile(join(dir, 'identity.key'), generateKeyPair())
  const a = new Agent({
    dir,
    bootstrap: net.bootstrap,
    market: 'bench-vnet',
    // The bench drives its guests hard on purpose: lift the host's per-guest send rate too.
    host: { capacity: BIG, mips: 1000, isolation, guestPacketsPerSec: 1e6, guestPacketBurst: 1e6 },
    guestQueue: 1024,
    // The bench drives one peer hard on purpose: lift the per-peer packet rate limit.
    vnet: { packetsPerSec: 1e6, packetBurst: 1e6 }
  })
  await a.ready()
  await a.node.flush()
  return a
}

/** Resolves with each payload that reaches the agent's client inbox. */
function tapInbox(a: Agent, on: (payload: Uint8Array) => void): void {
  a.inbox.deliver = (payload) => {
    on(payload)
    return true
  }
}

async function guestRtt(
  net: Testnet,
  root: string,
  ctx2: SuiteContext,
  rounds: number,
  inflight: number,
  isolation: Isolation
): Promise<{ rtts: number[]; perSec: number; agentRtts: number[] }> {
  const a = await agent(net, root, `a-${isolation}`, isolation)
  const b = await agent(net, root, `b-${isolation}`, isolation)
  try {
    const ha = controlHandlers(a)
    const hb = controlHandlers(b)
    await ha.offer!({ give: R, want: R }, ctx)
    await hb.barter!({ peer: a.key, give: R, want: R }, ctx)
    const echoFile = join(root, 'echo.js')
    await writeFile(echoFile, ECHO)
    const echo = (await ha.deploy!(
      { file: echoFile, host: b.key, cpu: '100my', disk: '1MB', net: '100MB' } as JsonObject,
      ctx
    )) as { address: string }
    const relayFile = join(root, 'relay.js')
    await writeFile(relayFile, relay(formatAddress(a.address), echo.address))
    const p = (await hb.deploy!(
      { file: relayFile, host: a.key, cpu: '100my', disk: '1MB', net: '100MB' } as JsonObject,
      ctx
    )) as { address: string }
    const to = parseAddress(p.address)
    let waiting: Array<() => void> = []
    tapInbox(a, () => waiting.shift()?.())
    const once = async (): Promise<number> => {
      const t0 = nowMs()
      const got = new Promise<void>((resolve) => waiting.push(resolve))
      await a.router.send(a.address, to, new Uint8Array(64))
      await got
      return nowMs() - t0
    }
    ctx2.progress('vnet: warm-up')
    for (let i = 0; i < 50; i++) await once()
    ctx2.progress(`vnet: ${rounds} round trips`)
    const rtts: number[] = []
    for (let i = 0; i < rounds; i++) rtts.push(await once())
    ctx2.progress(`vnet: ${rounds} round trips, ${inflight} in flight`)
    waiting = []
    const t0 = nowMs()
    let sent = 0
    let done = 0
    await new Promise<void>((resolve) => {
      const next = (): void => {
        if (sent >= rounds) return
        sent++
        void a.router.send(a.address, to, new Uint8Array(64))
      }
      tapInbox(a, () => {
        done++
        if (done === rounds) resolve()
        else next()
      })
      for (let i = 0; i < inflight; i++) next()
    })
    const perSec = (rounds * 1000) / (nowMs() - t0)
    // The same two agents without guests: B's client echoes A's client's packets, so what is left
    // is quid's network layer (router, packet codec, the vnet channel) on top of the connection.
    ctx2.progress(`vnet: ${rounds} client-to-client round trips`)
    tapInbox(b, (payload) => void b.router.send(b.address, a.address, payload))
    waiting = []
    tapInbox(a, () => waiting.shift()?.())
    const once2 = async (): Promise<number> => {
      const t1 = nowMs()
      const got = new Promise<void>((resolve) => waiting.push(resolve))
      await a.router.send(a.address, b.address, new Uint8Array(64))
      await got
      return nowMs() - t1
    }
    for (let i = 0; i < 50; i++) await once2()
    const agentRtts: number[] = []
    for (let i = 0; i < rounds; i++) agentRtts.push(await once2())
    return { rtts, perSec, agentRtts }
  } finally {
    await b.close()
    await a.close()
  }
}

/** An echo over a plain Hyperswarm connection: the same DHT, no quid on top. */
async function rawRtt(net: Testnet, rounds: number): Promise<number[]> {
  const mk = (): Hyperswarm =>
    new Hyperswarm({ dht: new HyperDHT({ bootstrap: net.bootstrap, firewalled: false }) })
  const server = mk()
  const client = mk()
  try {
    server.on('connection', (conn) => {
      conn.on('error', () => {})
      conn.on('data', (d: Buffer) => conn.write(d))
    })
    const topic = Buffer.alloc(32, 7)
    await server.join(topic, { server: true, client: false }).flushed()
    const conn = await new Promise<import('protomux').NoiseStream>((resolve) => {
      client.once('connection', (c) => resolve(c))
      client.join(topic, { server: false, client: true })
    })
    conn.on('error', () => {})
    let waiting: (() => void) | null = null
    conn.on('data', () => waiting?.())
    const once = async (): Promise<number> => {
      const t0 = nowMs()
      const got = new Promise<void>((resolve) => (waiting = resolve))
      conn.write(Buffer.alloc(64))
      await got
      return nowMs() - t0
    }
    for (let i = 0; i < 50; i++) await once()
    const out: number[] = []
    for (let i = 0; i < rounds; i++) out.push(await once())
    conn.destroy()
    return out
  } finally {
    await client.destroy()
    await server.destroy()
  }
}

export const vnetSuite: Suite = {
  name: 'vnet',
  description:
    'guest-to-guest round trips across two agents on loopback, against a plain Hyperswarm echo',
  async run(ctx2) {
    const rounds = ctx2.quick ? 200 : 2000
    const net = await startTestnet()
    const root = await mkdtemp(join(tmpdir(), 'quid-bench-vnet-'))
    try {
      ctx2.progress('vnet: raw echo')
      const raw = (await rawRtt(net, rounds)).sort((x, y) => x - y)
      ctx2.progress('vnet: bare IPC round trips and isolate calls')
      const ipcP50 = percentile(await ipcRtt(rounds), 50)
      const callP50 = percentile(await isolateCall(rounds), 50)
      const { rtts, perSec, agentRtts } = await guestRtt(net, root, ctx2, rounds, 32, 'isolate')
      ctx2.progress('vnet: the same with guests in sandbox processes')
      const sandboxed = await guestRtt(net, root, ctx2, rounds, 32, 'process')
      const processRtts = sandboxed.rtts.sort((x, y) => x - y)
      rtts.sort((x, y) => x - y)
      agentRtts.sort((x, y) => x - y)
      const agentP50 = percentile(agentRtts, 50)
      const rttP50 = percentile(rtts, 50)
      const rawP50 = percentile(raw, 50)
      const figures: Figure[] = [
        {
          name: 'rttP50Ms',
          value: rttP50,
          unit: 'ms',
          note: 'client → relay guest → echo guest on the other agent → relay → client'
        },
        { name: 'rttP99Ms', value: percentile(rtts, 99), unit: 'ms' },
        { name: 'msgsPerSec', value: perSec, unit: 'round trips/s', note: '32 in flight' },
        {
          name: 'rawRttP50Ms',
          value: rawP50,
          unit: 'ms',
          note: 'echo over a plain Hyperswarm connection, same run'
        },
        {
          name: 'rttRatio',
          value: rttP50 / rawP50,
          unit: 'ratio',
          note: 'rttP50Ms / rawRttP50Ms (goal <= 2)'
        },
        {
          name: 'agentRttP50Ms',
          value: agentP50,
          unit: 'ms',
          note: 'client to client across the two agents, no guest'
        },
        {
          name: 'agentRttRatio',
          value: agentP50 / rawP50,
          unit: 'ratio',
          note: 'agentRttP50Ms / rawRttP50Ms: the network layer alone'
        },
        {
          name: 'processRttP50Ms',
          value: percentile(processRtts, 50),
          unit: 'ms',
          note: 'the same round trip with guests in sandbox processes (isolation process)'
        },
        { name: 'processRttP99Ms', value: percentile(processRtts, 99), unit: 'ms' },
        {
          name: 'processMsgsPerSec',
          value: sandboxed.perSec,
          unit: 'round trips/s',
          note: '32 in flight, guests in sandbox processes'
        },
        {
          name: 'processRttRatio',
          value: percentile(processRtts, 50) / rawP50,
          unit: 'ratio',
          note: 'processRttP50Ms / rawRttP50Ms'
        },
        {
          name: 'ipcRttP50Ms',
          value: ipcP50,
          unit: 'ms',
          note: 'a call-sized message to a bare child process and back (Node IPC)'
        },
        {
          name: 'isolateCallP50Ms',
          value: callP50,
          unit: 'ms',
          note: 'one echo handler call in an isolate of this process'
        },
        {
          name: 'floorRttRatio',
          value: 1 + (3 * (ipcP50 + callP50)) / rawP50,
          unit: 'ratio',
          note: 'least rttRatio with 3 calls in sandbox processes: (raw + 3 (ipc + call)) / raw'
        },
        {
          name: 'inProcessFloorRatio',
          value: 1 + (3 * callP50) / rawP50,
          unit: 'ratio',
          note: "the same with guests in the agent's process (the default)"
        }
      ]
      return figures
    } finally {
      await net.close()
      await rm(root, { recursive: true, force: true })
    }
  }
}
