// Minimal typings for the Holepunch modules quid uses; only what quid calls is declared.

declare module 'z32' {
  export function encode(buf: Uint8Array): string
  export function decode(s: string): Buffer
  const z32: { encode: typeof encode; decode: typeof decode }
  export default z32
}

declare module 'hypercore' {
  import { EventEmitter } from 'node:events'
  export interface KeyPair {
    publicKey: Buffer
    secretKey: Buffer
  }
  export default class Hypercore extends EventEmitter {
    static key(manifestOrPublicKey: Uint8Array | object, opts?: object): Buffer
    readonly key: Buffer
    readonly discoveryKey: Buffer
    readonly length: number
    readonly byteLength: number
    readonly signedLength: number
    readonly fork: number
    readonly writable: boolean
    readonly readable: boolean
    readonly opened: boolean
    readonly closed: boolean
    ready(): Promise<void>
    close(): Promise<void>
    append(blocks: Uint8Array | Uint8Array[]): Promise<{ length: number; byteLength: number }>
    get(index: number, opts?: { wait?: boolean; timeout?: number }): Promise<Buffer | null>
    has(index: number): Promise<boolean>
    update(opts?: { wait?: boolean }): Promise<boolean>
    truncate(length: number, fork?: number): Promise<void>
    treeHash(length?: number): Promise<Buffer>
    findingPeers(): () => void
    download(range?: { start?: number; end?: number; linear?: boolean }): {
      done(): Promise<void>
      destroy(): void
    }
    replicate(isInitiator: boolean | object, opts?: object): NodeJS.ReadWriteStream
  }
}

declare module 'corestore' {
  import type Hypercore from 'hypercore'
  import type { KeyPair } from 'hypercore'
  export interface GetOptions {
    key?: Uint8Array
    name?: string
    keyPair?: KeyPair | { publicKey: Uint8Array; secretKey: Uint8Array }
    manifest?: object
    writable?: boolean
    exclusive?: boolean
  }
  export default class Corestore {
    constructor(storage: string, opts?: { primaryKey?: Uint8Array; readOnly?: boolean })
    readonly opened: boolean
    readonly closed: boolean
    ready(): Promise<void>
    close(): Promise<void>
    get(opts: GetOptions | Uint8Array): Hypercore
    namespace(name: string): Corestore
    session(): Corestore
    replicate(
      isInitiator: boolean | object,
      opts?: object
    ): NodeJS.ReadWriteStream & { destroy(err?: Error): void }
    findingPeers(): () => void
  }
}

declare module 'ready-resource' {
  import { EventEmitter } from 'node:events'
  export default class ReadyResource extends EventEmitter {
    readonly opening: Promise<void> | null
    readonly closing: Promise<void> | null
    readonly opened: boolean
    readonly closed: boolean
    ready(): Promise<void>
    close(): Promise<void>
    protected _open(): Promise<void>
    protected _close(): Promise<void>
  }
}
