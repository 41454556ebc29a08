/**
 * Idle guests hibernate, as Cloudflare's Durable Objects do: a guest that has had no call for
 * `afterMs` has its isolate disposed. Its store, credit, pending timers and address stay; before
 * its next call (a message, a timer, `stop`) it is loaded again, its top level and its `start`
 * handlers run, metered and billed to it like any call. What it held only in memory is gone
 * (docs/GUESTS.md, "Hibernation"). An idle isolate costs about 1.3 MB of memory, a sleeping guest
 * its few hundred bytes of bookkeeping: this is what lets a host hold thousands.
 */
import type { Guest } from './types.js'

/** What hibernation needs from the host. */
export interface Sleepers {
  guests(): Iterable<Guest>
  /** Disposes the isolate of a guest that is still idle, after its queued calls. */
  sleep(g: Guest): Promise<void>
  report(err: unknown): void
}

export class Hibernation {
  private timer: NodeJS.Timeout | null = null

  /** `afterMs` 0: guests never hibernate. */
  constructor(
    readonly afterMs: number,
    private readonly host: Sleepers
  ) {}

  start(): void {
    if (this.afterMs <= 0 || this.timer) return
    // Checked twice per period (at least every 5 s), so a guest sleeps at most 1.5 periods after
    // its last call.
    this.timer = setInterval(() => this.sweep(), Math.max(10, Math.min(this.afterMs / 2, 5000)))
    this.timer.unref()
  }

  /** Whether `g` has been idle long enough to sleep (nothing queued, no call for `afterMs`). */
  idle(g: Guest, now = performance.now()): boolean {
    return (
      this.afterMs > 0 &&
      !g.ended &&
      !g.asleep &&
      g.queued === 0 &&
      now - g.lastActive >= this.afterMs
    )
  }

  private sweep(): void {
    const now = performance.now()
    for (const g of this.host.guests())
      if (this.idle(g, now)) this.host.sleep(g).catch((err) => this.host.report(err))
  }

  close(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }
}
