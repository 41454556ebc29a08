/**
 * Ledger logs of other participants, fetched on demand over the swarm (a LogSource for Ledger).
 *
 * The log's core lives in the node's Corestore, which replicates with every authenticated peer;
 * when the ledger asks for an update, the node joins the participant's topic so that its agent
 * (or anyone who holds the log) is connected. `findingPeers()` is held around that join and
 * flush: otherwise `update({ wait: true })` returns at once, length 0, before any peer connected.
 */
import {
  CorestoreLogs,
  type LogSource,
  type ParticipantLog,
  type SignedHead
} from '../ledger/logs.js'
import type Corestore from 'corestore'
import { settled } from '../core/settle.js'

/** What the logs need of the node (node.ts implements it; named here so neither imports the other). */
export interface LogLookup {
  readonly store: Corestore
  /** Joins the participant's topic until its peers are found (or none are). */
  lookup(id: Uint8Array): Promise<void>
}

export class SwarmLogs implements LogSource {
  constructor(
    private readonly node: LogLookup,
    private readonly opts: { timeout?: number } = {}
  ) {}

  open(id: Uint8Array): ParticipantLog {
    return new SwarmLog(this.node, id, new CorestoreLogs(this.node.store, this.opts).open(id))
  }
}

class SwarmLog implements ParticipantLog {
  constructor(
    private readonly node: LogLookup,
    private readonly participant: Uint8Array,
    private readonly inner: ParticipantLog
  ) {}

  get id(): string {
    return this.inner.id
  }

  get length(): number {
    return this.inner.length
  }

  get fork(): number {
    return this.inner.fork
  }

  ready(): Promise<void> {
    return this.inner.ready()
  }

  get(index: number): Promise<Uint8Array> {
    return this.inner.get(index)
  }

  async update(): Promise<boolean> {
    const done = this.node.store.findingPeers()
    // A lookup that fails finds no peer, which update() reports as nothing new.
    const found = settled(this.node.lookup(this.participant)).finally(done)
    try {
      return await this.inner.update()
    } finally {
      await found
    }
  }

  head(): Promise<SignedHead | null> {
    return this.inner.head()
  }

  on(event: 'append' | 'truncate' | 'conflict', fn: (...args: never[]) => void): void {
    ;(this.inner.on as (e: string, f: (...args: never[]) => void) => void)(event, fn)
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}
