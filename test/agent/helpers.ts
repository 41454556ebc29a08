/** Agent test helpers: a loopback testnet and whole agents (participant directories) on it. */
import type { Test } from 'tap'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, writeKeyFile } from '../../src/crypto/identity.js'
import { startTestnet, type Testnet } from '../../src/exchange/testnet.js'
import { Agent, type AgentOptions } from '../../src/agent/agent.js'
import { tmp } from '../helpers.js'

export interface AgentNet {
  testnet: Testnet
  root: string
  /** A participant directory with a fresh key, and a running agent on it. */
  agent(name: string, opts?: Partial<AgentOptions>): Promise<Agent>
}

export const MARKET = 'quid-agent-test'

export async function agentNet(t: Test): Promise<AgentNet> {
  const testnet = await startTestnet()
  const root = await tmp(t, 'quid-ag-')
  const agents: Agent[] = []
  t.teardown(async () => {
    for (const a of agents.reverse()) await a.close()
    await testnet.close()
  })
  return {
    testnet,
    root,
    async agent(name, opts = {}) {
      const dir = opts.dir ?? join(root, name)
      await mkdir(dir, { recursive: true, mode: 0o700 })
      if (!opts.dir) await writeKeyFile(join(dir, 'identity.key'), generateKeyPair())
      const agent = new Agent({ dir, bootstrap: testnet.bootstrap, market: MARKET, ...opts })
      agents.push(agent)
      await agent.ready()
      await agent.node.flush()
      return agent
    }
  }
}

export async function until(
  fn: () => boolean | Promise<boolean>,
  what: string,
  ms = 20_000
): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
