/**
 * Guests in the host's own process (HostOptions.isolation `isolate`, the default): each in its
 * own isolate, called on the host's thread with no hop to another thread or process, as
 * Cloudflare Workers runs many tenants' isolates in one process. A call costs a few µs here
 * against 50–70 µs for waking a sandbox process (docs/HOST.md, "Where guests run").
 *
 * What a call emits (sends, log lines, timers) is held until the call returns and then handed to
 * the host in order, before the call's reply, as from a sandbox process: the host never acts on a
 * guest's send while that guest's code is still on the stack.
 *
 * Calls chained on promises run one after another in microtasks, where no timer, socket or other
 * guest's packet gets a turn: a guest with a queue of long calls would hold the event loop for the
 * whole queue. So once calls have run for `TURN_MS` since the loop last turned, the next call
 * waits for it to turn (setImmediate): after a couple of hundred short calls, before every call
 * for long ones, never for a call that arrives on a loop that has been idle.
 */
import { EventEmitter } from 'node:events'
import { GuestSet } from './guest-set.js'
import { latin1, type Event } from './protocol.js'
import type { OkReply, Place, RequestBody } from './place.js'

/** The longest the host's event loop goes without a turn because of guests' calls. */
const TURN_MS = 5

export class InProcess extends EventEmitter implements Place {
  readonly guests = new Set<string>()
  readonly exited = false
  private held: Event[] = []
  private readonly set = new GuestSet((e) => this.held.push(e))
  /** Time (ms) spent in calls since the event loop last turned, and whether a watch is set. */
  private busy = 0
  private watching = false

  get pid(): number {
    return process.pid
  }

  async start(): Promise<void> {}

  request(body: RequestBody): Promise<OkReply> {
    return this.answer(body)
  }

  run(_guest: string, body: RequestBody): Promise<OkReply> {
    return this.answer(body)
  }

  kill(): void {
    throw new Error('guests in the host process cannot be killed apart from it')
  }

  async close(): Promise<void> {
    this.set.clear()
  }

  private async answer(body: RequestBody): Promise<OkReply> {
    if (this.busy >= TURN_MS) await this.turn()
    this.watchTurns()
    const t0 = performance.now()
    try {
      if (body.op !== 'call') return await this.set.handle({ ...body, id: 0 })
      const result = await this.set.call({
        id: 0,
        guest: body.guest,
        kind: body.kind,
        from: body.from ?? '',
        data: body.data ? latin1(body.data) : '',
        budget: body.budget
      })
      return { re: 0, ok: true, result }
    } finally {
      this.busy += performance.now() - t0
      this.release()
    }
  }

  /** Waits for the event loop to turn: timers, sockets and other places' messages run. */
  private turn(): Promise<void> {
    return new Promise((resolve) =>
      setImmediate(() => {
        this.busy = 0
        resolve()
      })
    )
  }

  /** Notes when the loop next turns by itself (it does, unless calls keep it in microtasks). */
  private watchTurns(): void {
    if (this.watching) return
    this.watching = true
    setImmediate(() => {
      this.watching = false
      this.busy = 0
    })
  }

  /**
   * Hands over what guests emitted. Calls of different guests may interleave (one waiting for its
   * handler's promise while another runs), so every event held is passed on, each guest's in order.
   */
  private release(): void {
    if (this.held.length === 0) return
    const events = this.held
    this.held = []
    for (const e of events) this.emit('event', e)
  }
}
