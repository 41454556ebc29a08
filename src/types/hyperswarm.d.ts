// Minimal typings for the networking modules of quid's exchange (hyperswarm 4.17.2, hyperdht
// 6.34.0, protomux 3.12.1, @hyperswarm/secret-stream); only what quid calls is declared.

declare module 'hyperdht' {
  import { EventEmitter } from 'node:events'
  import type { NoiseStream } from 'protomux'
  export interface DHTKeyPair {
    publicKey: Buffer
    secretKey: Buffer
  }
  export interface DHTOptions {
    bootstrap?: Array<string | { host: string; port: number }>
    /** false on hosts reachable directly (loopback, private networks); default: detected. */
    firewalled?: boolean
    ephemeral?: boolean
    host?: string
    port?: number
  }
  export default class HyperDHT extends EventEmitter {
    constructor(opts?: DHTOptions)
    static keyPair(seed?: Uint8Array): DHTKeyPair
    readonly destroyed: boolean
    /** dht-rpc's routing table: the DHT nodes that answered. */
    readonly table: { toArray(): unknown[] }
    ready(): Promise<void>
    fullyBootstrapped(): Promise<void>
    address(): { host: string; port: number }
    connect(remotePublicKey: Uint8Array, opts?: { keyPair?: DHTKeyPair }): NoiseStream
    destroy(opts?: { force?: boolean }): Promise<void>
  }
}

declare module 'hyperdht/testnet.js' {
  import type HyperDHT from 'hyperdht'
  export interface Testnet {
    nodes: HyperDHT[]
    bootstrap: Array<{ host: string; port: number }>
    createNode(opts?: object): HyperDHT
    destroy(): Promise<void>
  }
  export default function createTestnet(
    size?: number,
    opts?: { host?: string; port?: number; bootstrap?: Array<{ host: string; port: number }> }
  ): Promise<Testnet>
}

declare module 'hyperswarm' {
  import { EventEmitter } from 'node:events'
  import type HyperDHT from 'hyperdht'
  import type { DHTKeyPair } from 'hyperdht'
  import type { NoiseStream } from 'protomux'
  export interface PeerInfo {
    publicKey: Buffer
    banned: boolean
    topics: Buffer[]
    explicit: boolean
    queued: boolean
    waiting: boolean
    ban(val: boolean): void
    shouldGC(): boolean
  }
  export interface PeerDiscovery {
    flushed(): Promise<void>
    refresh(opts?: { server?: boolean; client?: boolean }): Promise<void>
    destroy(): Promise<void>
  }
  export interface SwarmOptions {
    dht?: HyperDHT
    keyPair?: DHTKeyPair
    bootstrap?: Array<string | { host: string; port: number }>
    maxPeers?: number
    /** Synchronous; true rejects the connection (and Hyperswarm then bans the key). */
    firewall?: (remotePublicKey: Buffer, payload: unknown) => boolean
  }
  export default class Hyperswarm extends EventEmitter {
    constructor(opts?: SwarmOptions)
    readonly keyPair: DHTKeyPair
    readonly dht: HyperDHT
    readonly connections: Set<NoiseStream>
    readonly peers: Map<string, PeerInfo>
    readonly destroyed: boolean
    join(topic: Uint8Array, opts?: { server?: boolean; client?: boolean }): PeerDiscovery
    leave(topic: Uint8Array): Promise<void>
    joinPeer(publicKey: Uint8Array): void
    leavePeer(publicKey: Uint8Array): void
    flush(): Promise<boolean>
    listen(): Promise<void>
    destroy(opts?: { force?: boolean }): Promise<void>
    on(event: 'connection', fn: (conn: NoiseStream, info: PeerInfo) => void): this
    on(event: 'ban', fn: (info: PeerInfo, err: Error) => void): this
    on(event: 'update', fn: () => void): this
  }
}

declare module 'protomux' {
  import { Duplex } from 'node:stream'
  import type { Encoder } from 'compact-encoding'
  /** @hyperswarm/secret-stream: an encrypted, framed, Noise-authenticated duplex. */
  export interface NoiseStream extends Duplex {
    readonly isInitiator: boolean
    readonly publicKey: Buffer
    readonly remotePublicKey: Buffer
    readonly handshakeHash: Buffer
    readonly rawBytesRead: number
    readonly rawBytesWritten: number
    readonly rawStream: Duplex & { remoteHost?: string }
    readonly opened: Promise<boolean>
    userData: unknown
    setTimeout(ms: number): void
    setKeepAlive(ms: number): void
    sendKeepAlive(): void
  }
  export interface Message<T = Uint8Array> {
    send(message: T): boolean
  }
  export interface MessageSpec<T = Uint8Array> {
    encoding?: Encoder<T>
    onmessage?: (message: T, channel: Channel) => void | Promise<void>
  }
  export interface Channel {
    readonly opened: boolean
    readonly closed: boolean
    readonly messages: Message[]
    userData: unknown
    open(handshake?: unknown): void
    close(): void
    addMessage<T = Uint8Array>(spec: MessageSpec<T>): Message<T>
    fullyOpened(): Promise<boolean>
    cork(): void
    uncork(): void
  }
  export interface ChannelOptions {
    protocol: string
    id?: Uint8Array | null
    unique?: boolean
    userData?: unknown
    handshake?: Encoder<unknown> | null
    messages?: MessageSpec<never>[]
    onopen?: (handshake: unknown, channel: Channel) => void | Promise<void>
    onclose?: (isRemote: boolean, channel: Channel) => void | Promise<void>
    ondestroy?: (channel: Channel) => void
  }
  export default class Protomux {
    static from(stream: NoiseStream): Protomux
    readonly stream: NoiseStream
    createChannel(opts: ChannelOptions): Channel | null
    opened(opts: { protocol: string; id?: Uint8Array | null }): boolean
    pair(
      opts: { protocol: string; id?: Uint8Array | null },
      notify: (id: Uint8Array | null) => void | Promise<void>
    ): void
    unpair(opts: { protocol: string; id?: Uint8Array | null }): void
    cork(): void
    uncork(): void
    destroy(err?: Error): void
  }
}
