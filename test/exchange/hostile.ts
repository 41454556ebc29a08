/**
 * A hostile peer for tests: it dials an agent's swarm key directly over the testnet's DHT, opens
 * the exchange channel, and sends whatever it is told to, well-formed or not.
 */
import HyperDHT from 'hyperdht'
import Protomux, { type Message, type NoiseStream } from 'protomux'
import { EXCHANGE_PROTOCOL } from '../../src/exchange/constants.js'
import {
  MESSAGE_TYPES,
  encodeMessage,
  signHello,
  type MessageType
} from '../../src/exchange/messages.js'
import type { KeyPair } from '../../src/crypto/identity.js'

export class HostileConnection {
  readonly closed: Promise<void>
  isClosed = false
  private readonly messages: Message[]

  constructor(readonly conn: NoiseStream) {
    conn.on('error', () => {})
    this.closed = new Promise((resolve) =>
      conn.once('close', () => {
        this.isClosed = true
        resolve()
      })
    )
    const mux = Protomux.from(conn)
    const channel = mux.createChannel({ protocol: EXCHANGE_PROTOCOL })
    if (!channel) throw new Error('no channel')
    this.messages = MESSAGE_TYPES.map(() => channel.addMessage({}))
    channel.open()
  }

  /** A correct hello for participant `kp` on this connection. */
  hello(kp: KeyPair): void {
    this.send(
      'hello',
      encodeMessage('hello', signHello(kp, this.conn.handshakeHash, this.conn.publicKey))
    )
  }

  send(type: MessageType, bytes: Uint8Array): void {
    if (!this.isClosed) this.messages[MESSAGE_TYPES.indexOf(type)]!.send(bytes)
  }
}

export class Hostile {
  readonly dht: HyperDHT

  constructor(bootstrap: string[]) {
    this.dht = new HyperDHT({ bootstrap, firewalled: false })
  }

  /** Dials `target` (an agent's swarm Noise key) from a fresh key; resolves once open. */
  async connect(target: Uint8Array): Promise<HostileConnection> {
    const conn = this.dht.connect(target, { keyPair: HyperDHT.keyPair() })
    const c = new HostileConnection(conn)
    if (!(await conn.opened)) throw new Error('the connection did not open')
    return c
  }

  close(): Promise<void> {
    return this.dht.destroy()
  }
}
