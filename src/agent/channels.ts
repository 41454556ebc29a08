/**
 * The agent's own Protomux channels on every authenticated exchange connection (Node.use):
 * `quid/vnet` carries virtual-network packets, `quid/deploy` carries deploy and stop requests to
 * a host and their answers. Both treat a peer that breaks their format or floods them the way the
 * exchange does: banned, its connections closed, nothing it sent acted on.
 */
import c from 'compact-encoding'
import type { Channel, Message } from 'protomux'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { toHex } from '../core/bytes.js'
import { TokenBucket } from '../exchange/limits.js'
import type { Node, PeerProtocol } from '../exchange/node.js'
import type { Peer } from '../exchange/peer.js'
import type { Router, Transport } from '../vnet/router.js'
import { MAX_PAYLOAD } from '../vnet/packet.js'
import {
  DEPLOY_MESSAGES,
  DEPLOY_PROTOCOL,
  decodeDeployMessage,
  encodeDeployMessage,
  MAX_DEPLOY_CODE,
  MAX_FOLLOW,
  type DeployMessageOf,
  type DeployMessageType,
  type DeployMsg,
  type ErrorMsg,
  type PathMsg,
  type StopMsg
} from './deploy-messages.js'
import { settled } from '../core/settle.js'

export const VNET_PROTOCOL = 'quid/vnet'
/** A packet's largest encoding: header, two addresses with guests, length prefix, payload. */
const MAX_PACKET_BYTES = MAX_PAYLOAD + 256

interface Open {
  peer: Peer
  channel: Channel
  messages: Message[]
}

/** Opens `protocol` on a peer's mux; a message that fails `onmessage` bans the peer. */
function openOn(
  node: Node,
  peer: Peer,
  protocol: string,
  count: number,
  onmessage: (index: number, bytes: Uint8Array) => void,
  onclose: () => void
): Open | null {
  const channel = peer.mux.createChannel({ protocol, onclose })
  if (!channel) return null
  const messages: Message[] = []
  for (let i = 0; i < count; i++) {
    messages.push(
      channel.addMessage({
        encoding: c.raw,
        onmessage: (bytes: Uint8Array) => {
          if (peer.closed) return
          try {
            onmessage(i, bytes)
          } catch (err) {
            const e =
              err instanceof QuidError
                ? err
                : new QuidError(ErrorCodes.PROTOCOL, (err as Error).message)
            node.emit('misbehave', peer, e)
            node.ban(peer.noiseKey, e.code)
            if (peer.key) node.ban(peer.key, e.code)
          }
        }
      })
    )
  }
  channel.open()
  return { peer, channel, messages }
}

export interface VnetChannelOptions {
  /** How long a packet to an agent we are not connected to waits for a connection (ms). */
  reachMs?: number
  /**
   * Packets per second, and burst, that one sending address (a guest, a client) may send to this
   * agent (vnet/sources.ts); one peer's packets in all may be `peerFactor` times that. Excess is
   * dropped: the sending address is cut off for a minute, the peer is never banned for it.
   */
  packetsPerSec?: number
  packetBurst?: number
  peerFactor?: number
  /** Packets waiting at once for a connection to their agent; more are answered `no-route`. */
  maxRouting?: number
}

/** Virtual-network packets between agents; the Router's transport. */
export class VnetChannel implements PeerProtocol, Transport {
  private readonly node: Node
  private readonly router: Router
  private readonly open = new Map<string, Open>()
  private readonly opts: Required<VnetChannelOptions>
  private routing = 0

  constructor(node: Node, router: Router, opts: VnetChannelOptions = {}) {
    this.node = node
    this.router = router
    this.opts = {
      reachMs: opts.reachMs ?? 10_000,
      packetsPerSec: opts.packetsPerSec ?? 200,
      packetBurst: opts.packetBurst ?? 400,
      peerFactor: opts.peerFactor ?? 10,
      maxRouting: opts.maxRouting ?? 1024
    }
  }

  attach(peer: Peer): void {
    const key = peer.key as string
    const id = peer.id as Uint8Array
    // All of one peer's packets: a bound on what its agent makes us decode, dropped past it.
    const f = this.opts.peerFactor
    const bucket = new TokenBucket(this.opts.packetsPerSec * f, this.opts.packetBurst * f)
    const o = openOn(
      this.node,
      peer,
      VNET_PROTOCOL,
      1,
      (_i, bytes) => {
        if (bytes.byteLength > MAX_PACKET_BYTES)
          throw new QuidError(ErrorCodes.PROTOCOL, `a packet of ${bytes.byteLength} bytes`)
        if (!bucket.take()) return
        try {
          this.router.receive(id, bytes)
        } catch (err) {
          // Whatever the router refuses (bad bytes, spoofed source, relaying) is the peer's fault.
          throw err instanceof QuidError
            ? new QuidError(ErrorCodes.PROTOCOL, err.message, { why: err.code })
            : err
        }
      },
      () => {
        if (this.open.get(key)?.peer === peer) this.open.delete(key)
      }
    )
    if (o) this.open.set(key, o)
  }

  async send(agent: Uint8Array, bytes: Uint8Array): Promise<boolean> {
    const key = toHex(agent)
    let o = this.open.get(key)
    if (!o || o.peer.closed) {
      // Packets waiting for a route are bounded: past the bound the sender hears `no-route`.
      if (this.routing >= this.opts.maxRouting) return false
      this.routing++
      try {
        await this.node.reach(agent, this.opts.reachMs)
      } catch {
        return false
      } finally {
        this.routing--
      }
      o = this.open.get(key)
      if (!o || o.peer.closed) return false
    }
    return (o.messages[0] as Message).send(bytes) !== undefined
  }
}

/** What a host's agent does with deploy requests (the Agent wires it to its Host). */
export interface DeployHandler {
  deploy(from: Uint8Array, m: DeployMsg): Promise<Uint8Array>
  stop(from: Uint8Array, m: StopMsg): Promise<DeployMessageOf['stopped']['used']>
}

interface Waiter {
  resolve(m: DeployMessageOf['deployed'] | DeployMessageOf['stopped']): void
  reject(e: Error): void
  timer: NodeJS.Timeout
}

export interface DeployChannelOptions {
  /** Waiting for a host's answer (ms): admission includes calibrated isolate start-up. */
  replyMs?: number
  reachMs?: number
  /** Requests a host works on at once per peer; more are answered `rate-limited`. */
  maxInflight?: number
}

/** Deploy and stop requests to hosts, and answers to those sent to us. */
export class DeployChannel implements PeerProtocol {
  private readonly node: Node
  private handler: DeployHandler | null
  private readonly open = new Map<string, Open>()
  private readonly waiting = new Map<number, Waiter>()
  private readonly inflight = new Map<string, number>()
  private readonly opts: Required<DeployChannelOptions>
  private nextRid = 1
  private pathHandler: ((from: Uint8Array, m: PathMsg) => Promise<void>) | null = null

  constructor(node: Node, handler: DeployHandler | null, opts: DeployChannelOptions = {}) {
    this.node = node
    this.handler = handler
    this.opts = {
      replyMs: opts.replyMs ?? 60_000,
      reachMs: opts.reachMs ?? 20_000,
      maxInflight: opts.maxInflight ?? 8
    }
  }

  attach(peer: Peer): void {
    const key = peer.key as string
    const o = openOn(
      this.node,
      peer,
      DEPLOY_PROTOCOL,
      DEPLOY_MESSAGES.length,
      (i, bytes) => this.receive(peer, DEPLOY_MESSAGES[i] as DeployMessageType, bytes),
      () => {
        if (this.open.get(key)?.peer === peer) this.open.delete(key)
      }
    )
    if (o) this.open.set(key, o)
  }

  /** Asks the host `host` to run a guest; resolves with the guest id, or throws the host's refusal. */
  async deploy(host: Uint8Array, m: Omit<DeployMsg, 'rid'>): Promise<Uint8Array> {
    const r = await this.request(host, 'deploy', m)
    return (r as DeployMessageOf['deployed']).guest
  }

  async stop(
    host: Uint8Array,
    m: Omit<StopMsg, 'rid'>
  ): Promise<DeployMessageOf['stopped']['used']> {
    const r = await this.request(host, 'stop', m)
    return (r as DeployMessageOf['stopped']).used
  }

  close(): void {
    for (const [rid, w] of this.waiting) {
      clearTimeout(w.timer)
      w.reject(new QuidError(ErrorCodes.CLOSED, 'the agent is closing'))
      this.waiting.delete(rid)
    }
  }

  private async request(
    host: Uint8Array,
    type: 'deploy' | 'stop',
    body: Omit<DeployMsg, 'rid'> | Omit<StopMsg, 'rid'>
  ): Promise<DeployMessageOf['deployed'] | DeployMessageOf['stopped']> {
    if (type === 'deploy' && (body as DeployMsg).code.byteLength > MAX_DEPLOY_CODE) {
      throw new QuidError(
        ErrorCodes.CODE_TOO_LARGE,
        `code of ${(body as DeployMsg).code.byteLength} bytes; the deploy channel carries at most ${MAX_DEPLOY_CODE}`
      )
    }
    const key = toHex(host)
    let o = this.open.get(key)
    if (!o || o.peer.closed) {
      await this.node.reach(host, this.opts.reachMs)
      o = this.open.get(key)
      if (!o || o.peer.closed)
        throw new QuidError(
          ErrorCodes.UNREACHABLE,
          `host ${key.slice(0, 12)} has no deploy channel`
        )
    }
    const rid = this.nextRid++
    const bytes = encodeDeployMessage(type, { ...body, rid } as DeployMessageOf[typeof type])
    const peer = o.peer
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(rid)
        reject(
          new QuidError(
            ErrorCodes.TIMEOUT,
            `host ${key.slice(0, 12)} did not answer in ${this.opts.replyMs} ms`
          )
        )
      }, this.opts.replyMs)
      this.waiting.set(rid, { resolve, reject, timer })
      const gone = (): void => {
        const w = this.waiting.get(rid)
        if (!w) return
        clearTimeout(w.timer)
        this.waiting.delete(rid)
        reject(
          new QuidError(
            ErrorCodes.DISCONNECTED,
            `the connection to host ${key.slice(0, 12)} closed before it answered`
          )
        )
      }
      peer.once('close', gone)
      ;(o.messages[DEPLOY_MESSAGES.indexOf(type)] as Message).send(bytes)
    })
  }

  private receive(peer: Peer, type: DeployMessageType, bytes: Uint8Array): void {
    const m = decodeDeployMessage(type, bytes)
    if (type === 'path') return this.onPath(peer, m as PathMsg)
    if (type === 'deploy' || type === 'stop')
      return this.serve(peer, type, m as DeployMsg | StopMsg)
    const w = this.waiting.get(m.rid)
    // An answer to nothing we asked (or asked and gave up on) is dropped, not punished: timeouts race.
    if (!w) return
    clearTimeout(w.timer)
    this.waiting.delete(m.rid)
    if (type === 'error') {
      const e = m as ErrorMsg
      const known = (Object.values(ErrorCodes) as string[]).includes(e.code)
      w.reject(
        new QuidError(
          (known ? e.code : ErrorCodes.REFUSED) as QuidError['code'],
          `the host refused: ${e.message}`,
          { code: e.code }
        )
      )
    } else {
      w.resolve(m as DeployMessageOf['deployed'] | DeployMessageOf['stopped'])
    }
  }

  private serve(peer: Peer, type: 'deploy' | 'stop', m: DeployMsg | StopMsg): void {
    const key = peer.key as string
    const from = peer.id as Uint8Array
    const reply = <K extends DeployMessageType>(t: K, body: DeployMessageOf[K]): void => {
      const o = this.open.get(key)
      if (o && !o.peer.closed)
        (o.messages[DEPLOY_MESSAGES.indexOf(t)] as Message).send(encodeDeployMessage(t, body))
    }
    const fail = (err: unknown): void => {
      const e =
        err instanceof QuidError
          ? err
          : new QuidError(ErrorCodes.INTERNAL, (err as Error)?.message ?? String(err))
      reply('error', { rid: m.rid, code: e.code, message: e.message })
    }
    const handler = this.handler
    if (!handler) return fail(new QuidError(ErrorCodes.REFUSED, 'this agent is not a host'))
    const started = this.track(key, () =>
      (type === 'deploy'
        ? handler
            .deploy(from, m as DeployMsg)
            .then((guest) => reply('deployed', { rid: m.rid, guest }))
        : handler.stop(from, m as StopMsg).then((used) => reply('stopped', { rid: m.rid, used }))
      ).catch(fail)
    )
    if (!started) fail(new QuidError(ErrorCodes.RATE_LIMITED, 'too many requests at once'))
  }

  /** Runs `work` unless the peer already has `maxInflight` requests running; false if it did not. */
  private track(key: string, work: () => Promise<unknown>): boolean {
    const n = this.inflight.get(key) ?? 0
    if (n >= this.opts.maxInflight) return false
    this.inflight.set(key, n + 1)
    // `work` answers its own failures to the peer (deploy/stop above).
    void settled(work()).then(() => {
      const left = (this.inflight.get(key) ?? 1) - 1
      if (left <= 0) this.inflight.delete(key)
      else this.inflight.set(key, left)
    })
    return true
  }

  /**
   * After a transfer, tells its receiver whose logs prove the claim's path (a transfer names only
   * its parent claim, so a receiver two hops away could not find the earlier senders). Advisory and
   * best effort: false when there is no open channel to the receiver.
   */
  hint(receiver: Uint8Array, transfer: Uint8Array, ids: Uint8Array[]): boolean {
    const o = this.open.get(toHex(receiver))
    if (!o || o.peer.closed) return false
    const bytes = encodeDeployMessage('path', { rid: 0, transfer, ids: ids.slice(0, MAX_FOLLOW) })
    ;(o.messages[DEPLOY_MESSAGES.indexOf('path')] as Message).send(bytes)
    return true
  }

  setPathHandler(fn: ((from: Uint8Array, m: PathMsg) => Promise<void>) | null): void {
    this.pathHandler = fn
  }

  private onPath(peer: Peer, m: PathMsg): void {
    const fn = this.pathHandler
    // Hints are advisory: past the per-peer limit they are dropped, not answered.
    if (fn) this.track(peer.key as string, () => fn(peer.id as Uint8Array, m))
  }

  /** Lets an agent become a host after the channel exists (or stop being one). */
  setHandler(handler: DeployHandler | null): void {
    this.handler = handler
  }
}
