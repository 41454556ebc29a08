/**
 * Guests in the host's own process (HostOptions.isolation `isolate`, the default): each in its
 * own isolate, called on the host's thread with no hop to another thread or process, as
 * Cloudflare Workers runs many tenants' isolates in one process. A call costs a few µs here
 * against 50–70 µs for waking a sandbox process (docs/HOST.md, "Where guests run").
 *
 * What a call emits (sends, log lines, timers) is held until the call returns and then handed to
 * the host in order, before the call's reply, as from a sandbox process: the host never acts on a
 * guest's send while that guest's code is still on the stack.
 */
import { EventEmitter } from 'node:events'
import { GuestSet } from './guest-set.js'
import { latin1, type Event } from './protocol.js'
import type { OkReply, Place, RequestBody } from './place.js'

export class InProcess extends EventEmitter implements Place {
  readonly guests = new Set<string>()
  readonly exited = false
  private held: Event[] = []
  private readonly set = new GuestSet((e) => this.held.push(e))

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
      this.release()
    }
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
