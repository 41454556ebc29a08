/**
 * One agent's switch on the virtual network: it hands packets to the guests and the client it
 * holds, and everything else to the agent named in the destination, over the exchange
 * connection (the `Transport`).
 *
 * Delivery is at most once: a packet is never retried or duplicated, and a receiver drops a
 * packet id it has seen recently. When a packet cannot be delivered the sender is told, with a
 * reason (`unknown` address, guest `gone`, receiver `busy`, `no-route` to its agent), by an
 * `unreachable` packet that is itself never answered. An agent only forwards packets it holds
 * the source or the destination of: packets from a peer must come from that peer's own
 * addresses and be addressed to this agent, so nobody can use an agent as a relay or speak in
 * another agent's name.
 */
import { EventEmitter } from 'node:events'
import { equal, toHex } from '../core/bytes.js'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { addressKey, type Address } from './address.js'
import { SourceLimits, type SourceLimitOptions } from './sources.js'
import {
  decodePacket,
  encodePacket,
  MAX_PAYLOAD,
  newPacketId,
  type Packet,
  type UnreachableReason
} from './packet.js'
import { reportError } from '../core/report.js'

export interface Endpoint {
  /** Takes a payload addressed to this endpoint; false when its bounded queue is full. */
  deliver(payload: Uint8Array, from: Address, id: Uint8Array): boolean
  /** Learns that a packet it sent could not be delivered. */
  unreachable?(to: Address, reason: UnreachableReason, id: Uint8Array): void
}

export interface Transport {
  /** Sends bytes to the agent of participant `agent`; false when there is no route to it. */
  send(agent: Uint8Array, bytes: Uint8Array): boolean | Promise<boolean>
}

export interface RouterOptions {
  /** How many recent packet ids are remembered to drop duplicates. */
  dedupe?: number
  /** How many detached addresses are remembered, to answer `gone` instead of `unknown`. */
  gone?: number
  /**
   * Endpoints that come and go with something else's life cycle (a host's guests): asked for any
   * of this agent's addresses that is not attached.
   */
  resolve?: (address: Address) => Endpoint | null
  /** Rate limits per sending address (sources.ts). */
  sources?: SourceLimitOptions
}

export type SendResult =
  | { id: Uint8Array; status: 'sent' | 'delivered' }
  | { id: Uint8Array; status: 'unreachable'; reason: UnreachableReason }

export class Router extends EventEmitter {
  readonly self: Uint8Array
  private readonly transport: Transport
  private readonly endpoints = new Map<string, Endpoint>()
  private readonly seen: BoundedSet
  private readonly gone: BoundedSet
  private readonly resolve: (address: Address) => Endpoint | null
  /** Each sending address's packet rate, and the addresses cut off for exceeding it. */
  readonly sources: SourceLimits

  constructor(self: Uint8Array, transport: Transport, opts: RouterOptions = {}) {
    super()
    this.self = self
    this.transport = transport
    this.seen = new BoundedSet(opts.dedupe ?? 8192)
    this.gone = new BoundedSet(opts.gone ?? 4096)
    this.resolve = opts.resolve ?? (() => null)
    this.sources = new SourceLimits(opts.sources)
  }

  /** Makes `address` (which must be this agent's) reachable; returns the detach function. */
  attach(address: Address, endpoint: Endpoint): () => void {
    if (!equal(address.agent, this.self))
      throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'an agent can only hold its own addresses')
    const key = addressKey(address)
    if (this.endpoints.has(key))
      throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'that address is already attached')
    this.endpoints.set(key, endpoint)
    this.gone.delete(key)
    return () => {
      if (this.endpoints.get(key) !== endpoint) return
      this.endpoints.delete(key)
      this.gone.add(key)
    }
  }

  has(address: Address): boolean {
    return this.endpoint(address) !== null
  }

  /** Remembers that a resolved address has ended, so that senders hear `gone`. */
  markGone(address: Address): void {
    this.gone.add(addressKey(address))
  }

  private endpoint(address: Address): Endpoint | null {
    if (!equal(address.agent, this.self)) return null
    return this.endpoints.get(addressKey(address)) ?? this.resolve(address)
  }

  /** Sends `payload` from one of this agent's addresses; never throws for delivery problems. */
  async send(from: Address, to: Address, payload: Uint8Array): Promise<SendResult> {
    if (!this.endpoint(from))
      throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'a packet must come from an attached address')
    if (payload.byteLength > MAX_PAYLOAD) {
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `a payload of ${payload.byteLength} bytes is over the ${MAX_PAYLOAD}-byte limit`
      )
    }
    const id = newPacketId()
    if (equal(to.agent, this.self)) {
      const status = this.local(to, payload, from, id)
      if (status !== 'delivered') this.tell(from, to, status, id)
      return status === 'delivered' ? { id, status } : { id, status: 'unreachable', reason: status }
    }
    const sent = await this.transport.send(
      to.agent,
      encodePacket({ kind: 'data', id, from, to, payload })
    )
    if (sent) return { id, status: 'sent' }
    this.tell(from, to, 'no-route', id)
    return { id, status: 'unreachable', reason: 'no-route' }
  }

  /**
   * Takes packet bytes that arrived from the agent of participant `peer`. Throws a decode or
   * `bad-argument` error when the peer broke the protocol (the caller drops that peer).
   */
  receive(peer: Uint8Array, bytes: Uint8Array): void {
    const p = decodePacket(bytes)
    if (!equal(p.from.agent, peer))
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        'a peer sent a packet from an address that is not its own'
      )
    if (!equal(p.to.agent, this.self))
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        'a peer sent a packet addressed to another agent'
      )
    // Over its rate, a sending address is cut off, not its agent; nothing answers the drop, so a
    // flood cannot make this agent send for it.
    if (!this.sources.admit(addressKey(p.from))) {
      this.emit('throttled', { from: p.from })
      return
    }
    const seenKey = toHex(p.id) + (p.kind === 'unreachable' ? '!' : '')
    if (this.seen.has(seenKey)) return
    this.seen.add(seenKey)
    this.dispatch(p)
  }

  private dispatch(p: Packet): void {
    if (p.kind === 'unreachable') {
      this.endpoint(p.to)?.unreachable?.(p.from, p.reason, p.id)
      this.emit('unreachable', { to: p.from, reason: p.reason, id: p.id })
      return
    }
    const status = this.local(p.to, p.payload, p.from, p.id)
    if (status === 'delivered') return
    // Tell the sender, from the address it tried to reach; nobody answers an `unreachable`.
    Promise.resolve(
      this.transport.send(
        p.from.agent,
        encodePacket({ kind: 'unreachable', id: p.id, from: p.to, to: p.from, reason: status })
      )
    ).catch((err: unknown) => reportError(this, 'vnet: unreachable notice', err))
  }

  private local(
    to: Address,
    payload: Uint8Array,
    from: Address,
    id: Uint8Array
  ): 'delivered' | UnreachableReason {
    const ep = this.endpoint(to)
    if (!ep) return this.gone.has(addressKey(to)) ? 'gone' : 'unknown'
    return ep.deliver(payload, from, id) ? 'delivered' : 'busy'
  }

  private tell(from: Address, to: Address, reason: UnreachableReason, id: Uint8Array): void {
    this.endpoint(from)?.unreachable?.(to, reason, id)
    this.emit('unreachable', { to, reason, id })
  }
}

/** A set that forgets its oldest members beyond `max`. */
class BoundedSet {
  private readonly items = new Set<string>()
  constructor(private readonly max: number) {}
  has(k: string): boolean {
    return this.items.has(k)
  }
  add(k: string): void {
    this.items.delete(k)
    this.items.add(k)
    if (this.items.size > this.max) this.items.delete(this.items.values().next().value as string)
  }
  delete(k: string): void {
    this.items.delete(k)
  }
}
