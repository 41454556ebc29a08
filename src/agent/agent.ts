/**
 * A participant's agent: what `quid up` runs. It ties together the participant's ledger, its
 * network node and exchange, optionally a host for other people's guests, the virtual network
 * (its own client address and the guests it hosts), and the control socket the other `quid`
 * commands talk to.
 *
 * One agent per participant directory: the Corestore's lock makes a second one fail with `locked`.
 */
import ReadyResource from 'ready-resource'
import Corestore from 'corestore'
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { readKeyFile, type KeyPair } from '../crypto/identity.js'
import { Ledger } from '../ledger/ledger.js'
import { equal, fromHex, toHex } from '../core/bytes.js'
import { claimId } from '../ledger/state.js'
import type { ClaimInfo } from '../ledger/claims.js'
import type { Amounts } from '../ledger/amounts.js'
import { Node } from '../exchange/node.js'
import { Exchange } from '../exchange/exchange.js'
import type { AcceptancePolicy } from '../exchange/policy.js'
import type { ExchangeTimeouts, NodeLimits } from '../exchange/constants.js'
import { Host, type HostOptions } from '../host/host.js'
import { Router, type Endpoint } from '../vnet/router.js'
import { Inbox } from '../vnet/inbox.js'
import {
  clientAddress,
  formatAddress,
  guestAddress,
  parseAddress,
  type Address
} from '../vnet/address.js'
import { ControlServer } from './control.js'
import { Operations } from './operations.js'
import {
  DeployChannel,
  VnetChannel,
  type DeployHandler,
  type VnetChannelOptions
} from './channels.js'
import { controlHandlers } from './handlers.js'
import { paths, type ParticipantPaths } from './dirs.js'
import { FollowedList } from './followed.js'
import { assertNotCopied, copiedOrRethrow } from './store-copy.js'
import { reportError } from '../core/report.js'
import type { AgentContext, Deployment } from './context.js'
import type { ResourceVector } from '../ledger/records.js'
import { settled } from '../core/settle.js'

export interface AgentHostOptions
  extends Partial<Omit<HostOptions, 'ledger' | 'dir' | 'limits' | 'router'>> {
  /** Most this host is willing to owe at once, per resource (its `capacity` record). */
  capacity: Amounts
}

export interface AgentOptions {
  /** The participant directory (`quid init` made it). */
  dir: string
  /** DHT bootstrap nodes, `host:port`; default: the public HyperDHT bootstrap. */
  bootstrap?: string[]
  /** Default: false with a private `bootstrap` (loopback and LAN networks), HyperDHT's own otherwise. */
  firewalled?: boolean
  /** Market to meet others on; null for none. */
  market?: string | null
  /** Run a host for other participants' guests. */
  host?: AgentHostOptions | null
  policy?: Partial<AcceptancePolicy>
  timeouts?: Partial<ExchangeTimeouts>
  limits?: Partial<NodeLimits>
  /** Guest deliveries waiting at once per guest; more are refused `busy`. */
  guestQueue?: number
  /** Virtual-network limits per sending address and per peer, and the route timeout. */
  vnet?: VnetChannelOptions
}

export type { Deployment } from './context.js'

export class Agent extends ReadyResource implements AgentContext {
  readonly dir: string
  readonly paths: ParticipantPaths
  keyPair!: KeyPair
  id!: Uint8Array
  key!: string
  store!: Corestore
  node!: Node
  ledger!: Ledger
  exchange!: Exchange
  host: Host | null = null
  router!: Router
  readonly inbox = new Inbox()
  deploys!: DeployChannel
  private vnet!: VnetChannel
  private control!: ControlServer
  deployments: Deployment[] = []
  /** The last write of the deployments list, so that writes never overlap (saveDeployments). */
  private deploymentsWritten: Promise<void> = Promise.resolve()
  private readonly opts: AgentOptions
  private readonly guestPending = new Map<string, number>()
  /** Endpoints of the guests this agent hosts, by guest id (hex), made when first routed to. */
  private readonly guestEndpoints = new Map<string, Endpoint>()

  constructor(opts: AgentOptions) {
    super()
    this.opts = opts
    this.dir = opts.dir
    this.paths = paths(opts.dir)
  }

  get address(): Address {
    return clientAddress(this.id)
  }

  protected override async _open(): Promise<void> {
    try {
      this.keyPair = await readKeyFile(this.paths.keyFile)
    } catch (err) {
      if (err instanceof QuidError && err.code !== ErrorCodes.KEY_FILE_INVALID) throw err
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || !(err instanceof QuidError)) {
        throw new QuidError(
          ErrorCodes.BAD_ARGUMENT,
          `no participant in ${this.dir}: run quid init --dir ${this.dir}`
        )
      }
      throw err
    }
    this.id = this.keyPair.publicKey
    this.key = toHex(this.id)
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    await chmod(this.dir, 0o700)
    await assertNotCopied(this.paths.store)
    this.store = new Corestore(this.paths.store)
    try {
      await this.store.ready()
    } catch (err) {
      // The caller gets ready()'s failure, the cause of any failure to close what did not open.
      await settled(this.store.close())
      copiedOrRethrow(this.paths.store, err)
      if (/lock/i.test((err as Error).message)) {
        throw new QuidError(ErrorCodes.LOCKED, `an agent is already running for ${this.dir}`)
      }
      throw new QuidError(ErrorCodes.STORAGE, `cannot open the store: ${(err as Error).message}`)
    }
    const bootstrap = this.opts.bootstrap
    const firewalled = this.opts.firewalled ?? (bootstrap ? false : undefined)
    this.node = new Node({
      keyPair: this.keyPair,
      store: this.store,
      ...(bootstrap ? { bootstrap } : {}),
      ...(firewalled === undefined ? {} : { firewalled }),
      ...(this.opts.market === undefined ? {} : { market: this.opts.market }),
      ...(this.opts.limits ? { limits: this.opts.limits } : {})
    })
    this.ledger = new Ledger(this.store, this.keyPair, { logs: this.node.logs })
    const followed = new FollowedList(this.paths.followed)
    const known = await followed.load()
    this.ledger.on('followed', (key: string) => {
      followed.add(key).catch((err: unknown) => reportError(this, 'agent: followed', err))
    })
    this.exchange = new Exchange({
      node: this.node,
      ledger: this.ledger,
      ...(this.opts.policy ? { policy: this.opts.policy } : {}),
      ...(this.opts.timeouts ? { timeouts: this.opts.timeouts } : {})
    })
    this.router = new Router(
      this.id,
      { send: (agent, bytes) => this.vnet.send(agent, bytes) },
      {
        resolve: (a) => this.guestEndpoint(a),
        sources: {
          ...(this.opts.vnet?.packetsPerSec ? { packetsPerSec: this.opts.vnet.packetsPerSec } : {}),
          ...(this.opts.vnet?.packetBurst ? { packetBurst: this.opts.vnet.packetBurst } : {})
        }
      }
    )
    this.vnet = new VnetChannel(this.node, this.router, this.opts.vnet)
    this.deploys = new DeployChannel(this.node, null)
    this.node.use(this.vnet)
    this.node.use(this.deploys)
    this.deploys.setPathHandler((from, m) => this.followHinted(from, m.transfer, m.ids))
    this.router.attach(this.address, this.inbox)
    await this.exchange.ready()
    // What was followed before a restart, from disk at once (the network catches up behind).
    await Promise.all(
      known.map((key) =>
        this.ledger
          .follow(fromHex(key, 32), { localFirst: true })
          .catch((err: unknown) => reportError(this, 'agent: follow', err))
      )
    )
    // A transfer to us is in the sender's log: bring in the rest of its path so the claim is usable.
    this.exchange.on('done', (id: string) => {
      this.followTransfer(id).catch((err: unknown) => reportError(this, 'agent: follow', err))
    })
    if (this.opts.host) await this.startHost(this.opts.host)
    this.deployments = await this.loadDeployments()
    const operations = new Operations(this.paths.operations)
    await operations.session(process.pid)
    this.control = new ControlServer(this.paths.socket, controlHandlers(this), { operations })
    await this.control.ready()
  }

  protected override async _close(): Promise<void> {
    // The control socket first, so no command starts while the rest shuts down.
    await this.control?.close()
    this.deploys?.close()
    await this.host?.close()
    await this.exchange?.close()
    await this.ledger?.close()
    await this.node?.close()
    await this.store?.close()
  }

  private async startHost(o: AgentHostOptions): Promise<void> {
    const { capacity, ...rest } = o
    const host = new Host({
      ...rest,
      ledger: this.ledger,
      dir: this.paths.host,
      limits: capacity,
      strictAddresses: true,
      router: {
        send: (p) => {
          let from: Address
          let to: Address
          try {
            from = parseAddress(p.from)
            to = parseAddress(p.to)
          } catch {
            return
          }
          this.router
            .send(from, to, p.data)
            .catch((err: unknown) => reportError(this, 'agent: vnet', err))
        }
      }
    })
    host.on('evict', (ev: { guest: string }) => {
      this.guestEndpoints.delete(ev.guest)
      this.router.markGone(guestAddress(this.id, Buffer.from(ev.guest, 'hex')))
    })
    // The host reports what fails in the background (a sandbox that cannot restart, a usage
    // record that cannot be written); the agent passes it on to whoever runs it.
    host.on('error', (err: unknown) => reportError(this, 'agent: host', err))
    await host.ready()
    this.host = host
    const handler: DeployHandler = {
      deploy: async (_from, m) => {
        // Anyone may carry an owner's signed request; the host checks the owner's signature.
        const info = await host.deploy({
          request: m.request,
          signature: m.signature,
          code: m.code,
          follow: m.follow
        })
        return Buffer.from(info.id, 'hex')
      },
      stop: async (_from, m) => {
        const ev = await host.stop(toHex(m.guest), m.signature)
        return ev.used as ResourceVector
      }
    }
    this.deploys.setHandler(handler)
  }

  /**
   * A hosted guest as a virtual-network endpoint: deliveries go through the host, which bills them.
   * The router asks for it on every packet to or from the guest, so it is made once per guest and
   * kept until the guest is evicted.
   */
  private guestEndpoint(a: Address): Endpoint | null {
    const host = this.host
    if (!host || !a.guest || !equal(a.agent, this.id)) return null
    const id = toHex(a.guest)
    // Asked every time, not only when the endpoint is made: a guest being evicted leaves the host
    // before its `evict` event drops the endpoint, and packets for it meanwhile must be refused.
    if (!host.has(id)) return null
    const known = this.guestEndpoints.get(id)
    if (known) return known
    const max = this.opts.guestQueue ?? 64
    const ep: Endpoint = {
      deliver: (payload, from) => {
        const n = this.guestPending.get(id) ?? 0
        if (n >= max) return false
        this.guestPending.set(id, n + 1)
        void host
          .deliverTo(id, formatAddress(from), payload)
          .catch((err: unknown) => this.reportUnlessClosing('agent: deliver', err))
          .finally(() => {
            const left = (this.guestPending.get(id) ?? 1) - 1
            if (left <= 0) this.guestPending.delete(id)
            else this.guestPending.set(id, left)
          })
        return true
      },
      unreachable: (to, reason) => {
        host
          .notify(id, formatAddress(to), reason)
          .catch((err: unknown) => this.reportUnlessClosing('agent: notify', err))
      }
    }
    this.guestEndpoints.set(id, ep)
    return ep
  }

  /** A host that is closing refuses the calls still queued; anything else is worth a report. */
  private reportUnlessClosing(source: string, err: unknown): void {
    if (err instanceof QuidError && err.code === ErrorCodes.CLOSED) return
    reportError(this, source, err)
  }

  /** Participants whose logs prove a claim's path: every issuer and holder above it but us. */
  pathParticipants(claim: ClaimInfo): Uint8Array[] {
    const out = new Map<string, Uint8Array>()
    let c: ClaimInfo | undefined = claim
    while (c) {
      for (const k of [c.holder, c.issuer])
        if (k !== this.key && !out.has(k)) out.set(k, fromHex(k, 32))
      c = c.parent ? this.ledger.claim(c.parent) : undefined
    }
    return [...out.values()]
  }

  /**
   * A transfer's sender named the logs on the claim's path. Followed only once the sender's own
   * log shows that transfer, so a hint cannot make us fetch logs for nothing.
   */
  private async followHinted(
    from: Uint8Array,
    transfer: Uint8Array,
    ids: Uint8Array[]
  ): Promise<void> {
    const sender = toHex(from)
    const id = toHex(transfer)
    await this.ledger.follow(from)
    if (!this.ledger.has(id, sender)) return
    for (const p of ids) if (!equal(p, this.id)) await this.ledger.follow(p)
  }

  private async followTransfer(id: string): Promise<void> {
    const info = this.ledger.claim(toHex(claimId(fromHex(id, 32), 0)))
    if (!info || info.holder !== this.key || info.origin !== 'transfer') return
    for (const p of this.pathParticipants(info)) await this.ledger.follow(p)
  }

  async recordDeployment(d: Deployment): Promise<void> {
    this.deployments = this.deployments.filter((x) => x.guest !== d.guest).concat(d)
    await this.saveDeployments()
  }

  async forgetDeployment(guest: string): Promise<void> {
    this.deployments = this.deployments.filter((x) => x.guest !== guest)
    await this.saveDeployments()
  }

  private async loadDeployments(): Promise<Deployment[]> {
    try {
      const data = JSON.parse(await readFile(this.paths.deployments, 'utf8')) as {
        version: number
        deployments: Deployment[]
      }
      return Array.isArray(data.deployments) ? data.deployments : []
    } catch {
      return []
    }
  }

  /**
   * Writes the list, after any write still in progress: two commands at once (two deploys, a
   * deploy and a stop) would otherwise both write the one temporary file and race to rename it.
   * Each write takes the list as it is when its turn comes, so the last one holds every change.
   */
  private saveDeployments(): Promise<void> {
    const write = async (): Promise<void> => {
      // Written aside and renamed, so a crash leaves the old list or the new one, never half of one.
      const tmp = this.paths.deployments + '.tmp'
      const list = { version: 1, deployments: this.deployments }
      await writeFile(tmp, JSON.stringify(list, null, 2), { mode: 0o600 })
      await rename(tmp, this.paths.deployments)
    }
    const next = this.deploymentsWritten.then(write, write)
    this.deploymentsWritten = settled(next)
    return next
  }
}
