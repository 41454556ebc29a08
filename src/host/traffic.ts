/**
 * Packets and timers: what a guest's calls ask of the host after they return (its sends, its
 * `quid.after` timers, its log lines), and packets and notices coming in to a guest.
 *
 * Sends are routed after the call, never inside it, so a guest sending to itself queues a message;
 * a timer fires as a `timer` call, queued behind the guest's other calls like any.
 */
import { QuidError, ErrorCodes } from '../core/errors.js'
import { HOST_DEFAULTS } from './constants.js'
import type { CallResult, Event } from './protocol.js'
import type { Guest, GuestRouter, Packet } from './types.js'
import type { EvictReason } from '../ledger/records.js'

export type CallKind = 'start' | 'message' | 'stop' | 'timer' | 'unreachable'

/** What traffic needs from the guests' side (the host). */
export interface Calls {
  /** A running guest by id or address. */
  find(idOrAddress: string): Guest | undefined
  /** Calls a handler, after the guest's previous calls; metered and billed. */
  call(g: Guest, kind: CallKind, data?: Uint8Array, from?: string): Promise<CallResult>
  /** Ends a guest, after its previous calls. */
  end(g: Guest, reason: EvictReason): Promise<void>
  log(guest: string, line: string): void
  report(err: unknown): void
}

export class Traffic {
  readonly router: GuestRouter

  constructor(
    private readonly calls: Calls,
    router?: GuestRouter
  ) {
    // Default: packets to this host's own guests are delivered, others dropped.
    this.router = router ?? {
      send: (p) => void this.deliverTo(p.to, p.from, p.data).catch(() => {})
    }
  }

  /** An event a sandbox emitted during a call. */
  onEvent(e: Event): void {
    if (e.event === 'log') {
      this.calls.log(e.guest, e.line)
      return
    }
    if (e.event === 'timer') {
      const g = this.calls.find(e.guest)
      if (!g || g.ended) return
      const timer = setTimeout(() => {
        g.timers.delete(timer)
        if (!g.ended) void this.calls.call(g, 'timer', undefined, e.note).catch(() => {})
      }, e.ms)
      g.timers.add(timer)
      return
    }
    if (e.event !== 'send') return
    const g = this.calls.find(e.guest)
    if (!g) return
    const packet: Packet = { from: g.address, to: e.to, data: e.data }
    // Routed after the current call, never inside it: a guest sending to itself queues a message.
    setImmediate(() => {
      try {
        this.router.send(packet)
      } catch (err) {
        this.calls.report(err)
      }
    })
  }

  /** Cancels a guest's pending timers (it ended, or the host closes). */
  clearTimers(g: Guest): void {
    for (const timer of g.timers) clearTimeout(timer)
    g.timers.clear()
  }

  /**
   * Delivers a packet to a guest (by id or address). Resolves true once its `message` handler has
   * run, false if there is no such guest or its net credit cannot cover the bytes (it is evicted).
   */
  async deliverTo(to: string, from: string, data: Uint8Array): Promise<boolean> {
    const g = this.calls.find(to)
    if (!g || g.ended) return false
    if (data.byteLength > HOST_DEFAULTS.maxPacketBytes) return false
    if (g.net + BigInt(data.byteLength) > g.reserved.net) {
      await this.calls.end(g, 'net-exhausted')
      return false
    }
    g.net += BigInt(data.byteLength)
    return evictedIsFalse(this.calls.call(g, 'message', data, from))
  }

  /**
   * Tells a guest that a packet it sent could not be delivered (its `unreachable` handlers get the
   * address and the reason). Resolves false if the guest is gone; the call is metered like any.
   */
  notify(guest: string, to: string, reason: string): Promise<boolean> {
    const g = this.calls.find(guest)
    if (!g || g.ended) return Promise.resolve(false)
    const data = new TextEncoder().encode(reason.slice(0, 32))
    return evictedIsFalse(this.calls.call(g, 'unreachable', data, to))
  }
}

/** True once the call has run; false if the guest was (or got) evicted. */
async function evictedIsFalse(call: Promise<CallResult>): Promise<boolean> {
  try {
    await call
    return true
  } catch (err) {
    if (err instanceof QuidError && err.code === ErrorCodes.GUEST_EVICTED) return false
    throw err
  }
}
