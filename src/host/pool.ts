/**
 * The places guests run in: the host's own process (isolation `isolate`), or a pool of sandbox
 * processes (isolation `process`); where each new guest is placed, and what happens when a
 * sandbox process dies. A crash is recovered in order, one at a time: a fresh process takes the
 * dead one's place, the guest that was running when it died is billed and evicted, and every other
 * guest it held starts again in the fresh one from its code and store.
 */
import { Sandbox, SandboxCrashed } from './sandbox.js'
import { InProcess } from './in-process.js'
import type { Isolation, Place } from './place.js'
import type { Event } from './protocol.js'
import type { Guest } from './types.js'
import type { EvictReason } from '../ledger/records.js'
import { settled } from '../core/settle.js'

/** What recovery needs from the guests' side (the host). */
export interface Recovery {
  /** A running guest by id. */
  guest(id: string): Guest | undefined
  evict(g: Guest, reason: EvictReason): Promise<void>
  /** Starts a guest again from its code and store. */
  revive(g: Guest): Promise<void>
  /** An event a sandbox emitted: a log line, a timer, a send. */
  event(e: Event): void
  /** A sandbox died (before it is recovered). */
  crashed(info: { guest: string | null; exit: string }): void
  /** A failure in the background. */
  report(err: unknown): void
}

export class Pool {
  private sandboxes: Place[] = []
  /** The crash recoveries so far, in order; calls caught by a crash wait for it. */
  recovering: Promise<void> = Promise.resolve()

  constructor(
    private readonly recovery: Recovery,
    private readonly isolation: Isolation
  ) {}

  /** Starts the places: the host's process alone, or `count` sandbox processes. */
  async start(count: number): Promise<void> {
    const n = this.isolation === 'isolate' ? 1 : count
    for (let i = 0; i < n; i++) this.sandboxes.push(await this.spawn())
  }

  private async spawn(): Promise<Place> {
    const s: Place = this.isolation === 'isolate' ? new InProcess() : new Sandbox()
    s.on('event', (e: Event) => this.recovery.event(e))
    s.on('crash', (err: SandboxCrashed) => {
      this.recovering = this.recovering
        .then(() => this.recover(s, err))
        .catch((e) => this.recovery.report(e))
    })
    await s.start()
    return s
  }

  /** The host's MIPS rating, measured where guests run (docs/HOST.md). */
  async calibrate(runs: number): Promise<{ mips: number; samples: number[] }> {
    const r = await (this.sandboxes[0] as Place).request({ op: 'calibrate', runs })
    return { mips: r.mips as number, samples: r.samples ?? [] }
  }

  /** Places a guest in the place with the fewest guests. */
  place(id: string): Place {
    let best = this.sandboxes[0] as Place
    for (const s of this.sandboxes) if (s.guests.size < best.guests.size) best = s
    best.guests.add(id)
    return best
  }

  /** Takes an ended guest out of its sandbox and disposes its isolate there. */
  async release(g: Guest): Promise<void> {
    g.sandbox.guests.delete(g.id)
    // A sandbox that dies meanwhile takes the isolate with it; its crash is recovered elsewhere.
    if (!g.sandbox.exited) await settled(g.sandbox.request({ op: 'dispose', guest: g.id }))
  }

  /** Process ids of the sandbox processes (none when guests run in the host's process). */
  pids(): number[] {
    return this.isolation === 'process' ? this.sandboxes.map((s) => s.pid as number) : []
  }

  /** Per sandbox process: its resident memory (bytes) and how many guests it holds. */
  stats(): Promise<Array<{ pid: number | undefined; rss: number; guests: number }>> {
    return Promise.all(
      this.sandboxes.map(async (s) => {
        const r = await s.request({ op: 'stats' })
        return { pid: s.pid, rss: r.rss as number, guests: r.guests as number }
      })
    )
  }

  /** Waits out any recovery, then ends every sandbox process. */
  async close(): Promise<void> {
    await settled(this.recovering)
    await Promise.all(this.sandboxes.map((s) => s.close()))
  }

  /** A sandbox died: bill and evict the guest that was running, move the others to a new sandbox. */
  private async recover(dead: Place, err: SandboxCrashed): Promise<void> {
    this.recovery.crashed({ guest: err.guest, exit: err.exit })
    const fresh = await this.spawn()
    this.sandboxes = this.sandboxes.map((s) => (s === dead ? fresh : s))
    const culprit = err.guest ? this.recovery.guest(err.guest) : undefined
    if (culprit) {
      // Its CPU time died with the process: the call's wall time is the most it can have used.
      culprit.cpuNs += err.wallNs
      await this.recovery.evict(culprit, 'crashed')
    }
    for (const id of [...dead.guests]) {
      const g = this.recovery.guest(id)
      if (!g) continue
      dead.guests.delete(id)
      g.sandbox = fresh
      fresh.guests.add(id)
      await this.recovery.revive(g)
    }
  }
}
