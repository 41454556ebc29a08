/**
 * Exchange test helpers: a private testnet on loopback and agents on it (Corestore on disk, node,
 * ledger, exchange), all closed by one teardown, agents first (newest first), then the testnet.
 */
import Corestore from 'corestore'
import type { Test } from 'tap'
import { Ledger } from '../../src/ledger/ledger.js'
import { generateKeyPair, type KeyPair } from '../../src/crypto/identity.js'
import { toHex } from '../../src/core/bytes.js'
import * as build from '../../src/ledger/build.js'
import { Node, type NodeOptions } from '../../src/exchange/node.js'
import { Exchange, type ExchangeOptions } from '../../src/exchange/exchange.js'
import { startTestnet, type Testnet } from '../../src/exchange/testnet.js'
import { tmp } from '../helpers.js'

export interface Agent {
  name: string
  kp: KeyPair
  key: string
  dir: string
  store: Corestore
  node: Node
  ledger: Ledger
  exchange: Exchange
  /** Closes this agent (idempotent); the store's directory stays for a restart. */
  close(): Promise<void>
}

export interface Net {
  testnet: Testnet
  agents: Agent[]
  /** A new agent on this network; `dir` and `kp` reuse an earlier one's (a restart). */
  agent(name: string, opts?: AgentOptions): Promise<Agent>
}

export interface AgentOptions {
  dir?: string
  kp?: KeyPair
  market?: string | null
  limits?: NodeOptions['limits']
  exchange?: Partial<Omit<ExchangeOptions, 'node' | 'ledger'>>
  capacity?: boolean
}

export const MARKET = 'quid-test'

export async function network(t: Test): Promise<Net> {
  const testnet = await startTestnet()
  const agents: Agent[] = []
  t.teardown(async () => {
    for (const a of agents.slice().reverse()) await a.close()
    await testnet.close()
  })
  const net: Net = {
    testnet,
    agents,
    async agent(name, opts = {}) {
      const dir = opts.dir ?? (await tmp(t, `quid-x-${name}-`))
      const kp = opts.kp ?? generateKeyPair()
      const store = new Corestore(dir)
      const node = new Node({
        keyPair: kp,
        store,
        bootstrap: testnet.bootstrap,
        firewalled: false,
        market: opts.market === undefined ? MARKET : opts.market,
        ...(opts.limits ? { limits: opts.limits } : {})
      })
      const ledger = new Ledger(store, kp, { logs: node.logs })
      const exchange = new Exchange({
        node,
        ledger,
        timeouts: { completeMs: 30_000, reachMs: 20_000, syncMs: 20_000 },
        ...opts.exchange
      })
      let closing: Promise<void> | null = null
      const agent: Agent = {
        name,
        kp,
        key: toHex(kp.publicKey),
        dir,
        store,
        node,
        ledger,
        exchange,
        close: () =>
          (closing ??= (async () => {
            await exchange.close()
            await ledger.close()
            await node.close()
            await store.close()
          })())
      }
      agents.push(agent)
      await exchange.ready()
      // Announced before the next agent looks the market up, so that it finds this one.
      await node.flush()
      if (opts.capacity !== false && ledger.capacity() === undefined) {
        await ledger.appendOwn(
          build.capacity(kp.publicKey, 1000, { cpu: 10n ** 12n, disk: 10n ** 12n, net: 10n ** 12n })
        )
      }
      return agent
    }
  }
  return net
}

/** Resolves once `a` has an authenticated connection to every one of `others`. */
export async function connected(a: Agent, others: Agent[]): Promise<void> {
  await Promise.all(others.map((o) => a.node.reach(o.kp.publicKey, 20_000)))
}

/** Resolves when `fn` returns true (checked every 20 ms); fails after `ms` so a test cannot hang. */
export async function until(fn: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
