/**
 * A participant's client on the virtual network, as the demo's people use it: sends from the
 * agent's client address and collects what arrives in its inbox, so a step can wait for the
 * packets it expects (a remailer's key, a mailbox's deliveries, a cracker's reports).
 */
import type { Agent } from '../agent/agent.js'
import { parseAddress } from '../vnet/address.js'
import { QuidError, ErrorCodes } from '../core/errors.js'

export interface Received {
  from: string
  payload: Uint8Array
}

const utf8 = new TextEncoder()
const text = new TextDecoder()

export class Client {
  private readonly got: Received[] = []
  constructor(readonly agent: Agent) {}

  async send(to: string, data: Uint8Array | string | object): Promise<void> {
    const bytes =
      typeof data === 'string'
        ? utf8.encode(data)
        : data instanceof Uint8Array
          ? data
          : utf8.encode(JSON.stringify(data))
    const res = await this.agent.router.send(this.agent.address, parseAddress(to), bytes)
    if (res.status === 'unreachable')
      throw new QuidError(
        ErrorCodes.UNREACHABLE,
        `${to.slice(0, 16)}… is unreachable: ${res.reason}`
      )
  }

  /** Waits until `take` picks what it wants from the packets received so far (they are removed). */
  async wait<T>(
    take: (got: Received[]) => { value: T; used: Received[] } | null,
    what: string,
    ms = 20_000
  ): Promise<T> {
    const deadline = Date.now() + ms
    for (;;) {
      if (this.agent.closing)
        throw new QuidError(ErrorCodes.CLOSED, `the agent stopped while waiting for ${what}`)
      for (const i of this.agent.inbox.drain())
        if (i.kind === 'message') this.got.push({ from: i.from, payload: i.payload })
      const r = take(this.got)
      if (r) {
        for (const u of r.used) this.got.splice(this.got.indexOf(u), 1)
        return r.value
      }
      if (Date.now() > deadline)
        throw new QuidError(ErrorCodes.TIMEOUT, `timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  /** The next JSON reply from `from` matching `pred`. */
  json<T = Record<string, unknown>>(
    from: string,
    pred: (v: Record<string, unknown>) => boolean,
    what: string,
    ms?: number
  ): Promise<T> {
    return this.wait(
      (got) => {
        for (const g of got) {
          if (g.from !== from || g.payload[0] !== 0x7b || g.payload.byteLength > 4096) continue
          try {
            const v = JSON.parse(text.decode(g.payload)) as Record<string, unknown>
            if (pred(v)) return { value: v as T, used: [g] }
          } catch {
            // not JSON: someone else's packet
          }
        }
        return null
      },
      what,
      ms
    )
  }

  /** Every packet of `size` bytes from `from` received so far (taken out). */
  binaryFrom(from: string, size: number): Uint8Array[] {
    const mine = this.got.filter((g) => g.from === from && g.payload.byteLength === size)
    for (const m of mine) this.got.splice(this.got.indexOf(m), 1)
    return mine.map((m) => m.payload)
  }

  /** Asks a remailer for its public key. */
  remailerKey(address: string): Promise<Uint8Array> {
    return this.send(address, 'key').then(() =>
      this.wait(
        (got) => {
          const g = got.find((x) => x.from === address && x.payload.byteLength === 32)
          return g ? { value: g.payload, used: [g] } : null
        },
        `the key of ${address.slice(0, 12)}…`
      )
    )
  }
}
