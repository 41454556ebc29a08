/**
 * The guests one place holds, and the answers to the host's requests about them (protocol.ts):
 * the same code serves guests in the agent's process (in-process.ts) and in a sandbox process
 * (child.ts), so that the two modes cannot drift apart.
 */
import { GuestRuntime, makeSpare, type Spare } from './runtime.js'
import { bare, calibrate } from './calibrate.js'
import type { CallIn, CallResult, Event, Request } from './protocol.js'
import type { OkReply } from './place.js'

type NonCall = Exclude<Request, { op: 'call' }>

export class GuestSet {
  private readonly guests = new Map<string, GuestRuntime>()
  /**
   * One isolate with its context is kept ready, so that a deploy does not wait for V8 to make one;
   * the next is made after the request that used the last one has been answered.
   */
  private spare: { limit: number; spare: Spare } | null = null
  private refilling = false
  private closed = false

  constructor(private readonly emit: (e: Event) => void) {}

  get size(): number {
    return this.guests.size
  }

  /** Answers every request but a call; throws what a failed one should report. */
  async handle(req: NonCall): Promise<OkReply> {
    switch (req.op) {
      case 'create':
        return this.create(req)
      case 'dispose':
        this.dispose(req.guest)
        return { re: req.id, ok: true }
      case 'calibrate': {
        const { mips, samples } = await calibrate(req.runs)
        return { re: req.id, ok: true, mips, samples }
      }
      case 'bare':
        return {
          re: req.id,
          ok: true,
          bareNs: bare(req.code, req.memoryLimitMb, req.calls)
        }
      case 'stats':
        return { re: req.id, ok: true, rss: process.memoryUsage.rss(), guests: this.guests.size }
    }
  }

  /** Calls a guest's handlers. */
  async call(req: CallIn): Promise<CallResult> {
    const g = this.guests.get(req.guest)
    if (!g || g.disposed) throw new Error('no such guest in this sandbox')
    const result = await g.call(req.kind, req.data, req.from, req.budget)
    this.finish(req.guest, result)
    return result
  }

  dispose(id: string): void {
    this.guests.get(id)?.dispose()
    this.guests.delete(id)
  }

  /** Disposes every guest's isolate (the place is closing). */
  clear(): void {
    this.closed = true
    for (const id of [...this.guests.keys()]) this.dispose(id)
    this.spare?.spare.isolate.dispose()
    this.spare = null
  }

  /** Loads the guest and, with `start`, runs its start handler in the same request. */
  private async create(req: Extract<Request, { op: 'create' }>): Promise<OkReply> {
    this.dispose(req.guest.id)
    const limit = req.guest.memoryLimitMb
    const g = new GuestRuntime(req.guest, this.emit, this.takeSpare(limit))
    this.guests.set(req.guest.id, g)
    const result = await g.load(req.budget)
    this.finish(req.guest.id, result)
    let started: CallResult | undefined
    if (req.start && !result.ended) {
      const left = {
        ...req.budget,
        cpuNs: req.budget.cpuNs - result.cpuNs,
        net: req.budget.net - result.netOut
      }
      started = await g.call('start', '', '', left)
      this.finish(req.guest.id, started)
    }
    this.refill(limit)
    return started ? { re: req.id, ok: true, result, started } : { re: req.id, ok: true, result }
  }

  private takeSpare(limit: number): Spare | undefined {
    const got = this.spare && this.spare.limit === limit ? this.spare.spare : undefined
    if (this.spare && !got) this.spare.spare.isolate.dispose()
    this.spare = null
    return got
  }

  /** Makes the next spare once the current request has been answered (making one blocks ~1 ms). */
  private refill(limit: number): void {
    if (this.refilling) return
    this.refilling = true
    setImmediate(() => {
      this.refilling = false
      if (!this.spare && !this.closed) this.spare = { limit, spare: makeSpare(limit) }
    })
  }

  private finish(id: string, result: CallResult): void {
    if (result.ended) this.guests.delete(id)
  }
}
