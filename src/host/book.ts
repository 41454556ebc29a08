/**
 * The host's bookkeeping in its own log: batched `usage` records and `evict` records. They go
 * through one queue, so a guest's usage and its eviction never interleave (an `evict` ends the
 * guest, and a later `usage` for it would be refused).
 */
import { signRecord } from '../ledger/sign.js'
import { fromHex } from '../core/bytes.js'
import * as build from '../ledger/build.js'
import type { Ledger } from '../ledger/ledger.js'
import type { EvictReason, ResourceVector } from '../ledger/records.js'
import { settled } from '../core/settle.js'

const same = (a: ResourceVector, b: ResourceVector): boolean =>
  a.cpu === b.cpu && a.disk === b.disk && a.net === b.net

/** A guest as the book sees it: its id, whether it ended, and what the log last says it used. */
export interface Billed {
  id: string
  ended: boolean
  logged: ResourceVector
}

export class Book {
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly ledger: Ledger,
    /** Time for new records: never before the log's clock. */
    private readonly clock: () => number
  ) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = settled(run)
    return run
  }

  /** One `usage` record per running guest whose figures moved, all in one append. */
  usage(entries: Array<{ guest: Billed; used: ResourceVector }>): Promise<void> {
    return this.serial(async () => {
      const batch = entries.filter((e) => !e.guest.ended && !same(e.used, e.guest.logged))
      if (batch.length === 0) return
      const time = this.clock()
      const kp = this.ledger.keyPair
      await this.ledger.append(
        batch.map((e) =>
          signRecord(build.usage(kp.publicKey, fromHex(e.guest.id, 32), e.used, time), [kp])
        )
      )
      for (const e of batch) e.guest.logged = e.used
    })
  }

  /** The guest's `evict` with its final usage; the ledger's rules release the rest. */
  evict(id: string, used: ResourceVector, reason: EvictReason): Promise<void> {
    return this.serial(async () => {
      await this.ledger.appendOwn(
        build.evict(this.ledger.id, fromHex(id, 32), used, reason, this.clock())
      )
    })
  }
}
