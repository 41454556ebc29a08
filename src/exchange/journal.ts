/**
 * The exchange's own journal: what this agent proposed, accepted and offered, so that every step
 * resumes after a dropped connection or a restart. It is a private core in the participant's
 * Corestore (like the ledger's snapshots), never part of the protocol; entries are JSON events,
 * replayed in order on open. Steps are keyed by record id, which is what makes them idempotent.
 */
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'

export const JOURNAL_CORE = 'quid-exchange'

export type JournalEvent =
  /** We proposed a record (entry hex, our signature in, the counter-signature slot zero). */
  | { op: 'proposed'; id: string; peer: string; entry: string; at: number }
  /** Our proposal ended: appended (`ok`) or refused / given up (with the code). */
  | { op: 'ended'; id: string; ok: boolean; code?: string }
  /** We withdrew a proposal (`quid cancel`): not sent again; a late answer still completes it. */
  | { op: 'withdrawn'; id: string }
  /** We counter-signed a transfer to us (the sender appends it); the signature to repeat. */
  | { op: 'signed'; id: string; peer: string; signature: string; at: number }
  /** We published an offer (encoded offer hex). */
  | { op: 'offer'; id: string; offer: string }
  /** Part of one of our offers was taken by an agreement we appended, bought with `payment`. */
  | {
      op: 'filled'
      id: string
      record: string
      cpu: string
      disk: string
      net: string
      payment?: string
    }

export class Journal {
  private core!: Hypercore

  constructor(private readonly store: Corestore) {}

  async open(): Promise<JournalEvent[]> {
    this.core = this.store.get({ name: JOURNAL_CORE })
    await this.core.ready()
    const events: JournalEvent[] = []
    for (let i = 0; i < this.core.length; i++) {
      const block = await this.core.get(i)
      try {
        events.push(JSON.parse((block as Buffer).toString()) as JournalEvent)
      } catch {
        // A torn last write: the step it recorded is redone from the previous state.
      }
    }
    return events
  }

  async append(event: JournalEvent): Promise<void> {
    await this.core.append(Buffer.from(JSON.stringify(event)))
  }

  async close(): Promise<void> {
    await this.core?.close()
  }
}
