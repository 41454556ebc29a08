/**
 * A participant's network node: one Hyperswarm (with its own HyperDHT), the market and
 * participant topics, and, on every connection, an authenticated Peer with Corestore replication
 * of ledger logs and the exchange channel.
 *
 * The node enforces our own limits: Hyperswarm 4.17.2 stores `maxServerConnections` but never
 * checks it, and incoming connections ignore `maxPeers`, so the synchronous `firewall` callback
 * is where connections are capped and banned keys refused. Hyperswarm also never closes the open
 * connections of a peer it bans; the node does.
 *
 * Other modules (the agent's deploy requests, the virtual network) carry their own messages on
 * the same connection with `use()`: each gets every authenticated peer and opens its own Protomux
 * channel on `peer.mux`.
 */
import ReadyResource from 'ready-resource'
import Hyperswarm, { type PeerDiscovery, type PeerInfo } from 'hyperswarm'
import HyperDHT, { type DHTKeyPair } from 'hyperdht'
import type Corestore from 'corestore'
import type { NoiseStream } from 'protomux'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { fromHex, toHex } from '../core/bytes.js'
import type { KeyPair } from '../crypto/identity.js'
import { DEFAULT_LIMITS, DEFAULT_MARKET, type NodeLimits } from './constants.js'
import { BanList } from './limits.js'
import { Peer } from './peer.js'
import { marketTopic, participantTopic } from './topics.js'
import { SwarmLogs } from './swarm-logs.js'
import type { AnyMessage } from './messages.js'
import { reportError } from '../core/report.js'

export type Bootstrap = Array<string | { host: string; port: number }>

export interface NodeOptions {
  /** The participant this node speaks for; it signs `hello` with it. */
  keyPair: KeyPair
  /** Replicated with every authenticated peer: own log, and the logs this participant follows. */
  store: Corestore
  /** DHT bootstrap nodes (`host:port` or objects); default: HyperDHT's public bootstrap. */
  bootstrap?: Bootstrap
  /** Passed to HyperDHT; false for nodes reachable directly (loopback, a private network). */
  firewalled?: boolean
  /** Market to meet others on; null joins none. Default: DEFAULT_MARKET. */
  market?: string | null
  limits?: Partial<NodeLimits>
  /** The Noise key pair of the swarm; default: a fresh one. It is not the participant key. */
  swarmKeyPair?: DHTKeyPair
}

/** A module carrying its own messages on every authenticated connection. */
export interface PeerProtocol {
  /** Called once per authenticated peer, synchronously, before any of its other messages. */
  attach(peer: Peer): void
}

export class Node extends ReadyResource {
  readonly keyPair: KeyPair
  readonly id: Uint8Array
  readonly key: string
  readonly store: Corestore
  readonly limits: NodeLimits
  /** A LogSource for Ledger: logs of others, found on the swarm and replicated on demand. */
  readonly logs: SwarmLogs
  swarm!: Hyperswarm
  /** Every live connection, authenticated or not. */
  readonly peers = new Set<Peer>()
  readonly bans: BanList
  private readonly byId = new Map<string, Set<Peer>>()
  /** Noise keys admitted by the firewall whose connection has not arrived yet, with expiry. */
  private readonly admissions = new Map<string, number>()
  private readonly protocols: PeerProtocol[] = []
  private readonly handlers: Array<(peer: Peer, message: AnyMessage) => void> = []
  private readonly topics = new Map<string, PeerDiscovery>()
  /**
   * Topics joined only to reach a destination, by participant key, with when each was last used,
   * least recently used first: bounded and left when stale, so that packets to ever new ids
   * cannot make the node join topics without end.
   */
  private readonly destinations = new Map<string, number>()
  private sweeper: NodeJS.Timeout | null = null
  private readonly opts: NodeOptions

  constructor(opts: NodeOptions) {
    super()
    this.opts = opts
    this.keyPair = opts.keyPair
    this.id = opts.keyPair.publicKey
    this.key = toHex(this.id)
    this.store = opts.store
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits }
    this.bans = new BanList(this.limits.maxBans)
    this.logs = new SwarmLogs(this)
  }

  protected override async _open(): Promise<void> {
    const dht = new HyperDHT({
      ...(this.opts.bootstrap ? { bootstrap: this.opts.bootstrap } : {}),
      ...(this.opts.firewalled === undefined ? {} : { firewalled: this.opts.firewalled })
    })
    this.swarm = new Hyperswarm({
      dht,
      ...(this.opts.swarmKeyPair ? { keyPair: this.opts.swarmKeyPair } : {}),
      firewall: (key) => this.firewall(key)
    })
    this.swarm.on('connection', (conn) => this.onconnection(conn))
    // Hyperswarm bans every key our firewall refuses, forever, and keeps its PeerInfo: a stream of
    // fresh keys would grow that map without bound. Our BanList is the authority; undo theirs.
    this.swarm.on('ban', (info) => this.unbanInSwarm(info))
    await this.swarm.listen()
    this.join(participantTopic(this.id), { server: true, client: false })
    const market = this.opts.market === undefined ? DEFAULT_MARKET : this.opts.market
    if (market !== null) this.join(marketTopic(market), { server: true, client: true })
  }

  protected override async _close(): Promise<void> {
    // Waits end now, not at their timeouts: their timers would keep the process alive.
    this.emit('closing')
    if (this.sweeper) clearInterval(this.sweeper)
    for (const peer of this.peers) peer.destroy()
    await this.swarm.destroy()
  }

  /** Joins a topic (idempotent for the same options); the node leaves every topic on close. */
  join(topic: Uint8Array, opts: { server: boolean; client: boolean }): void {
    const hex = toHex(topic)
    if (this.topics.has(hex)) return
    this.topics.set(hex, this.swarm.join(topic, opts))
  }

  /**
   * How many DHT nodes answered this node (its routing table). 0 after `ready()` means that no
   * bootstrap node answered: the node can neither announce itself nor find anyone.
   */
  get dhtNodes(): number {
    return this.swarm.dht.table.toArray().length
  }

  /** Topics joined now (own, market, logs followed, destinations). */
  get topicCount(): number {
    return this.topics.size
  }

  /** Joins a participant's topic to reach it, in the bounded table of destinations. */
  private joinDestination(key: string, id: Uint8Array): void {
    const known = this.destinations.has(key)
    if (!known && this.topics.has(toHex(participantTopic(id)))) return // joined for another reason
    this.destinations.delete(key)
    this.destinations.set(key, Date.now())
    if (known) return
    this.join(participantTopic(id), { server: false, client: true })
    while (this.destinations.size > this.limits.maxDestinationTopics) {
      const oldest = this.destinations.keys().next().value as string
      this.leaveDestination(oldest)
    }
    if (!this.sweeper) {
      const every = Math.max(1000, Math.min(this.limits.destinationTopicMs / 2, 60_000))
      this.sweeper = setInterval(() => this.sweepDestinations(), every)
      this.sweeper.unref()
    }
  }

  private leaveDestination(key: string): void {
    this.destinations.delete(key)
    const topic = participantTopic(fromHex(key, 32))
    const hex = toHex(topic)
    if (!this.topics.delete(hex)) return
    // Leaving stops looking the participant up; a connection to it stays open.
    this.swarm.leave(topic).catch((err: unknown) => reportError(this, 'node: leave', err))
  }

  /** Leaves destination topics unused for `destinationTopicMs` whose participant is not connected. */
  private sweepDestinations(): void {
    const now = Date.now()
    for (const [key, used] of [...this.destinations]) {
      if (now - used < this.limits.destinationTopicMs) continue
      if (this.peer(key)) this.destinations.set(key, now)
      else this.leaveDestination(key)
    }
  }

  /** Looks the joined topics up again (Hyperswarm otherwise refreshes them only every few minutes). */
  async refresh(): Promise<void> {
    await Promise.all([...this.topics.values()].map((d) => d.refresh()))
    await this.swarm.flush()
  }

  /** Waits until the swarm has announced and connected to the peers found so far. */
  async flush(): Promise<void> {
    await this.swarm.flush()
  }

  use(protocol: PeerProtocol): void {
    this.protocols.push(protocol)
    for (const peer of this.peers) if (peer.authenticated && !peer.closed) protocol.attach(peer)
  }

  /** Exchange messages from authenticated peers (the Exchange registers here). */
  onmessage(fn: (peer: Peer, message: AnyMessage) => void): void {
    this.handlers.push(fn)
  }

  offmessage(fn: (peer: Peer, message: AnyMessage) => void): void {
    const i = this.handlers.indexOf(fn)
    if (i !== -1) this.handlers.splice(i, 1)
  }

  /** An open, authenticated connection to a participant, if there is one. */
  peer(id: Uint8Array | string): Peer | null {
    const set = this.byId.get(typeof id === 'string' ? id : toHex(id))
    if (!set) return null
    for (const p of set) if (!p.closed) return p
    return null
  }

  /** Authenticated peers, one per participant. */
  connected(): Peer[] {
    const out: Peer[] = []
    for (const key of this.byId.keys()) {
      const p = this.peer(key)
      if (p) out.push(p)
    }
    return out
  }

  /**
   * Finds a participant's agent: joins its participant topic and waits for an authenticated
   * connection, or fails with UNREACHABLE after `timeoutMs`.
   */
  async reach(id: Uint8Array, timeoutMs: number): Promise<Peer> {
    await this.ready()
    const key = toHex(id)
    if (key === this.key) throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'cannot reach oneself')
    const have = this.peer(key)
    if (have) return have
    this.joinDestination(key, id)
    return new Promise<Peer>((resolve, reject) => {
      const onpeer = (peer: Peer): void => {
        if (peer.key !== key) return
        cleanup()
        resolve(peer)
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(
          new QuidError(
            ErrorCodes.UNREACHABLE,
            `participant ${key.slice(0, 12)} not reached in ${timeoutMs} ms`,
            { participant: key }
          )
        )
      }, timeoutMs)
      const cleanup = (): void => {
        clearTimeout(timer)
        this.off('peer', onpeer)
        this.off('closing', onclose)
      }
      const onclose = (): void => {
        cleanup()
        reject(new QuidError(ErrorCodes.CLOSED, 'the node is closed'))
      }
      if (this.closing) return onclose()
      this.on('peer', onpeer)
      this.once('closing', onclose)
    })
  }

  /** Joins a participant's topic as a client and flushes, so that its log can be found. */
  async lookup(id: Uint8Array): Promise<void> {
    const key = toHex(id)
    // A followed log's topic stays joined: out of the table of destinations, if it was there.
    this.destinations.delete(key)
    if (key === this.key || this.peer(key)) return
    this.join(participantTopic(id), { server: false, client: true })
    await this.swarm.flush()
  }

  /**
   * Bans a participant or Noise key for `ms` and closes its open connections (Hyperswarm's own
   * ban does not).
   */
  ban(key: string, reason: string, ms = this.limits.banMs): void {
    this.bans.add(key, ms, reason)
    for (const peer of this.peers) {
      if (peer.noiseKey === key || peer.key === key)
        peer.destroy(new QuidError(ErrorCodes.BANNED, reason))
    }
  }

  // The firewall runs synchronously inside HyperDHT's handshake (and before our own connects).
  private firewall(remoteKey: Uint8Array): boolean {
    const key = toHex(remoteKey)
    if (this.closing || this.bans.has(key)) return true
    const now = Date.now()
    for (const [k, until] of this.admissions) if (until <= now) this.admissions.delete(k)
    if (this.admissions.has(key)) return false
    if (this.peers.size + this.admissions.size >= this.limits.maxConnections) return true
    let unauthenticated = this.admissions.size
    for (const p of this.peers) if (!p.authenticated) unauthenticated++
    if (unauthenticated >= this.limits.maxUnauthenticated) return true
    this.admissions.set(key, now + this.limits.admissionMs)
    return false
  }

  private unbanInSwarm(info: PeerInfo): void {
    info.ban(false)
    const key = toHex(info.publicKey)
    let connected = false
    for (const p of this.peers) if (p.noiseKey === key) connected = true
    if (!connected && info.shouldGC() && info.topics.length === 0) this.swarm.peers.delete(key)
  }

  private onconnection(conn: NoiseStream): void {
    const noiseKey = toHex(conn.remotePublicKey)
    this.admissions.delete(noiseKey)
    if (this.closing || this.bans.has(noiseKey)) {
      conn.on('error', refused)
      conn.destroy()
      return
    }
    const peer = new Peer(conn, {
      keyPair: this.keyPair,
      messagesPerSec: this.limits.messagesPerSec,
      messageBurst: this.limits.messageBurst,
      onauthenticated: (p) => this.onauthenticated(p),
      onmessage: (p, m) => {
        for (const fn of this.handlers) fn(p, m)
      },
      onmisbehave: (p, err) => {
        this.emit('misbehave', p, err)
        this.ban(p.noiseKey, err.code)
        if (p.key && p.key !== this.key) this.ban(p.key, err.code)
      }
    })
    this.peers.add(peer)
    const timer = setTimeout(() => {
      if (!peer.authenticated) peer.destroy(new QuidError(ErrorCodes.TIMEOUT, 'no hello in time'))
    }, this.limits.authTimeoutMs)
    peer.once('close', () => {
      clearTimeout(timer)
      this.peers.delete(peer)
      if (peer.key) {
        const set = this.byId.get(peer.key)
        set?.delete(peer)
        if (set && set.size === 0) this.byId.delete(peer.key)
      }
      this.emit('disconnect', peer)
    })
  }

  private onauthenticated(peer: Peer): void {
    const key = peer.key as string
    if (this.bans.has(key)) throw new QuidError(ErrorCodes.BANNED, 'this participant is banned')
    if (key === this.key) {
      // Our own id on another key (a second process of the same participant): not a peer.
      peer.destroy()
      return
    }
    let set = this.byId.get(key)
    if (!set) this.byId.set(key, (set = new Set()))
    set.add(peer)
    // Logs are public; they are replicated only with authenticated peers all the same, so that
    // nothing of ours runs for a connection before it says who it is.
    this.store.replicate(peer.conn)
    for (const p of this.protocols) p.attach(peer)
    this.emit('peer', peer)
  }
}

/**
 * The `error` handler of a connection refused as it opened (a banned peer, a closing node): it is
 * destroyed at once, and what it reports is the echo of that.
 */
function refused(_err: unknown): void {}
