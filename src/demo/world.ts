/**
 * The demo's world: a private DHT bootstrap on loopback and whole agents (the Agent class, in this
 * process) in participant directories under one temporary root. Closing it stops every agent and
 * the testnet, and removes the root unless it is kept.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, writeKeyFile } from '../crypto/identity.js'
import { startTestnet, type Testnet } from '../exchange/testnet.js'
import { Agent, type AgentOptions } from '../agent/agent.js'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { settled } from '../core/settle.js'

export const MARKET = 'quid-demo'

export interface WorldOptions {
  /** Where to make the temporary root; default the system's temp directory. */
  parent?: string
  /** Leave the directories when closing. */
  keep?: boolean
}

export class World {
  readonly root: string
  readonly agents = new Map<string, Agent>()
  private constructor(
    root: string,
    readonly testnet: Testnet,
    private readonly keep: boolean
  ) {
    this.root = root
  }

  static async open(opts: WorldOptions = {}): Promise<World> {
    const root = await mkdtemp(join(opts.parent ?? tmpdir(), 'quid-demo-'))
    try {
      return new World(root, await startTestnet(), opts.keep ?? false)
    } catch (err) {
      await rm(root, { recursive: true, force: true })
      throw err
    }
  }

  /** A participant directory with a fresh key, and its agent running on the testnet. */
  async agent(name: string, opts: Partial<AgentOptions> = {}): Promise<Agent> {
    this.open()
    const dir = join(this.root, name)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await writeKeyFile(join(dir, 'identity.key'), generateKeyPair())
    const agent = new Agent({ dir, bootstrap: this.testnet.bootstrap, market: MARKET, ...opts })
    this.agents.set(name, agent)
    try {
      await agent.ready()
      await agent.node.flush()
      this.open()
    } catch (err) {
      // Closing began while it started (an interrupt): it must not outlive the world.
      await settled(agent.close())
      throw err
    }
    return agent
  }

  private open(): void {
    if (this.closing) throw new QuidError(ErrorCodes.CLOSED, 'the demo is stopping')
  }

  /** Stops one agent (its directory stays until the world closes). */
  async stop(name: string): Promise<void> {
    const a = this.agents.get(name)
    this.agents.delete(name)
    await a?.close()
  }

  private closing: Promise<void> | null = null

  /** Stops everything; safe to call more than once (an interrupt and the story's end both may). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const name of [...this.agents.keys()].reverse()) await this.stop(name)
      await this.testnet.close()
      if (!this.keep) await rm(this.root, { recursive: true, force: true })
    })()
    return this.closing
  }
}
