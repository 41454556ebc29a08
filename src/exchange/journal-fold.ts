/**
 * The journal's events, and what of them is still live: the events a rewrite keeps (journal.ts).
 * Folding is the one place that decides when an event stops mattering:
 * - a proposal, once it ended (its `withdrawn` with it);
 * - a transfer signature, once no proposer can still ask for it: a proposal older than the
 *   co-signing window is refused, and its proposer gives it up (PROTOCOL.md, section 7.2);
 * - an offer, once it expired, with its fills; the fills of a live offer are summed into one
 *   `fills` event that keeps every payment that bought from it (a payment buys once).
 */
import { MAX_COSIGN_LAG_MS } from '../ledger/constants.js'
import { fromHex } from '../core/bytes.js'
import { decodeMessage } from './messages.js'

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
  /** Part of one of our offers was taken by a record we appended, bought with `payment`. */
  | {
      op: 'filled'
      id: string
      record: string
      cpu: string
      disk: string
      net: string
      payment?: string
    }
  /** All that was taken of one of our offers so far, and every payment that bought from it. */
  | { op: 'fills'; id: string; cpu: string; disk: string; net: string; payments: string[] }

/** How long a transfer signature is kept: past the window in which anyone may ask for it again. */
export const SIGNED_KEEP_MS = 2 * MAX_COSIGN_LAG_MS

interface Fills {
  cpu: bigint
  disk: bigint
  net: bigint
  payments: Set<string>
}

type Of<K extends JournalEvent['op']> = Extract<JournalEvent, { op: K }>

export class JournalFold {
  private readonly proposed = new Map<string, Of<'proposed'>>()
  private readonly withdrawn = new Set<string>()
  private readonly signed = new Map<string, Of<'signed'>>()
  private readonly offers = new Map<string, { event: Of<'offer'>; expires: number }>()
  private readonly fills = new Map<string, Fills>()

  constructor(private readonly now: () => number) {}

  apply(e: JournalEvent): void {
    switch (e.op) {
      case 'proposed':
        this.proposed.set(e.id, e)
        return
      case 'ended':
        this.proposed.delete(e.id)
        this.withdrawn.delete(e.id)
        return
      case 'withdrawn':
        if (this.proposed.has(e.id)) this.withdrawn.add(e.id)
        return
      case 'signed':
        this.signed.set(e.id, e)
        return
      case 'offer': {
        const offer = decodeMessage('offer', fromHex(e.offer, e.offer.length / 2, 'offer'))
        this.offers.set(e.id, { event: e, expires: offer.expires })
        return
      }
      case 'filled':
      case 'fills': {
        if (!this.offers.has(e.id)) return
        let f = this.fills.get(e.id)
        if (!f) this.fills.set(e.id, (f = { cpu: 0n, disk: 0n, net: 0n, payments: new Set() }))
        f.cpu += BigInt(e.cpu)
        f.disk += BigInt(e.disk)
        f.net += BigInt(e.net)
        if (e.op === 'filled' && e.payment) f.payments.add(e.payment)
        if (e.op === 'fills') for (const p of e.payments) f.payments.add(p)
        return
      }
    }
  }

  /** Events a rewrite keeps, live as of now, in an order that replays to the same state. */
  events(): JournalEvent[] {
    const now = this.now()
    for (const [id, s] of this.signed) if (s.at < now - SIGNED_KEEP_MS) this.signed.delete(id)
    for (const [id, o] of this.offers) {
      if (o.expires <= now) {
        this.offers.delete(id)
        this.fills.delete(id)
      }
    }
    const out: JournalEvent[] = [...this.proposed.values()]
    for (const id of this.withdrawn) out.push({ op: 'withdrawn', id })
    out.push(...this.signed.values())
    for (const [id, o] of this.offers) {
      out.push(o.event)
      const f = this.fills.get(id)
      if (f)
        out.push({
          op: 'fills',
          id,
          cpu: String(f.cpu),
          disk: String(f.disk),
          net: String(f.net),
          payments: [...f.payments]
        })
    }
    return out
  }

  /** Events a rewrite would keep now (before pruning what has since expired). */
  get size(): number {
    return (
      this.proposed.size +
      this.withdrawn.size +
      this.signed.size +
      this.offers.size +
      this.fills.size
    )
  }
}
