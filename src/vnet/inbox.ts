/**
 * A client's inbox: what `quid inbox` reads. Bounded by message count and bytes; when full, new
 * packets are refused (the sender learns `busy`) rather than old ones dropped, so nothing the
 * owner has not read disappears silently. Delivery notices for packets the client sent that
 * could not be delivered are kept in the same bounded list.
 */
import { formatAddress, type Address } from './address.js'
import type { Endpoint } from './router.js'
import type { UnreachableReason } from './packet.js'

export type InboxItem =
  | { kind: 'message'; from: string; at: number; payload: Uint8Array }
  | { kind: 'unreachable'; to: string; at: number; reason: UnreachableReason }

export interface InboxOptions {
  maxMessages?: number
  maxBytes?: number
  now?: () => number
}

export class Inbox implements Endpoint {
  private items: InboxItem[] = []
  private bytes = 0
  private readonly maxMessages: number
  private readonly maxBytes: number
  private readonly now: () => number

  constructor(opts: InboxOptions = {}) {
    this.maxMessages = opts.maxMessages ?? 1000
    this.maxBytes = opts.maxBytes ?? 16 * 1024 * 1024
    this.now = opts.now ?? Date.now
  }

  get size(): number {
    return this.items.length
  }

  deliver(payload: Uint8Array, from: Address): boolean {
    if (this.items.length >= this.maxMessages || this.bytes + payload.byteLength > this.maxBytes)
      return false
    this.items.push({
      kind: 'message',
      from: formatAddress(from),
      at: this.now(),
      payload: payload.slice()
    })
    this.bytes += payload.byteLength
    return true
  }

  unreachable(to: Address, reason: UnreachableReason): void {
    if (this.items.length >= this.maxMessages) return
    this.items.push({ kind: 'unreachable', to: formatAddress(to), at: this.now(), reason })
  }

  /** Hands out everything received so far, oldest first, and empties the inbox. */
  drain(): InboxItem[] {
    const out = this.items
    this.items = []
    this.bytes = 0
    return out
  }
}
