/**
 * One connection to another agent, as the exchange sees it: a Protomux over the Noise stream,
 * the `quid/exchange` channel, and the authentication that binds the stream's Noise key to a
 * participant id.
 *
 * A peer is unauthenticated until its `hello` verifies; until then every other message is a
 * protocol violation. Every message is size-checked, rate-limited and decoded here, so the rest
 * of the exchange only ever sees well-formed messages from an authenticated participant. What
 * the peer does wrong is reported to its owner (the node), which bans and disconnects.
 */
import { EventEmitter } from 'node:events'
import Protomux, { type Channel, type Message, type NoiseStream } from 'protomux'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { toHex } from '../core/bytes.js'
import type { KeyPair } from '../crypto/identity.js'
import { EXCHANGE_PROTOCOL, MAX_MESSAGE_BYTES, MAX_PREAUTH_BYTES } from './constants.js'
import { TokenBucket } from './limits.js'
import {
  MESSAGE_TYPES,
  decodeMessage,
  encodeMessage,
  signHello,
  verifyHello,
  type AnyMessage,
  type MessageOf,
  type MessageType
} from './messages.js'

export interface PeerOptions {
  keyPair: KeyPair
  messagesPerSec: number
  messageBurst: number
  /** Called once, synchronously, when the peer's hello verifies. Throwing drops the peer. */
  onauthenticated(peer: Peer): void
  /** Every decoded message after authentication. */
  onmessage(peer: Peer, message: AnyMessage): void
  /** The peer broke the protocol: the owner bans it; the connection is destroyed anyway. */
  onmisbehave(peer: Peer, err: QuidError): void
}

export class Peer extends EventEmitter {
  readonly conn: NoiseStream
  /** The connection's multiplexer: other modules open their own channels on it (Node.use). */
  readonly mux: Protomux
  /** The remote Noise public key, as hex. */
  readonly noiseKey: string
  /** The participant id, set once `hello` verified. */
  id: Uint8Array | null = null
  /** Hex of `id`. */
  key: string | null = null
  closed = false
  private readonly channel: Channel
  private readonly messages: Message[]
  private readonly bucket: TokenBucket
  private readonly opts: PeerOptions

  constructor(conn: NoiseStream, opts: PeerOptions) {
    super()
    this.conn = conn
    this.opts = opts
    this.noiseKey = toHex(conn.remotePublicKey)
    this.bucket = new TokenBucket(opts.messagesPerSec, opts.messageBurst)
    this.mux = Protomux.from(conn)
    // Created at once: Protomux rejects a remote channel that finds no local one waiting.
    const channel = this.mux.createChannel({
      protocol: EXCHANGE_PROTOCOL,
      onclose: () => this.destroy()
    })
    if (!channel)
      throw new QuidError(
        ErrorCodes.PROTOCOL,
        'the exchange channel is already open on this connection'
      )
    this.channel = channel
    this.messages = MESSAGE_TYPES.map((type) =>
      channel.addMessage({ onmessage: (bytes: Uint8Array) => this.receive(type, bytes) })
    )
    channel.open()
    conn.on('close', () => this.destroy())
    conn.on('error', (err: Error & { code?: unknown }) => this.onStreamError(err))
    conn.on('data', (data: Uint8Array) => this.countPreauth(data.byteLength))
    this.sendHello()
  }

  get authenticated(): boolean {
    return this.id !== null
  }

  private preauthBytes = 0

  /**
   * The stream failed. When Protomux could not parse what the peer sent (random frames, a broken
   * channel open), the peer broke the protocol: it is reported, and so banned, like any bad
   * message. Errors of the network itself (an errno code: ECONNRESET, ETIMEDOUT, ...) are not the
   * peer's doing, and a stream we destroyed ourselves was already reported.
   */
  private onStreamError(err: Error & { code?: unknown }): void {
    if (this.closed) return
    if (typeof err?.code === 'string' && /^E[A-Z]+$/.test(err.code)) return
    const e = new QuidError(
      ErrorCodes.PROTOCOL,
      `unparseable frames: ${err?.message ?? String(err)}`,
      {
        why: 'framing'
      }
    )
    this.opts.onmisbehave(this, e)
  }

  private countPreauth(n: number): void {
    if (this.authenticated || this.closed) return
    this.preauthBytes += n
    if (this.preauthBytes <= MAX_PREAUTH_BYTES) return
    const err = new QuidError(
      ErrorCodes.PROTOCOL,
      `more than ${MAX_PREAUTH_BYTES} bytes before hello`,
      {
        why: 'preauth-bytes'
      }
    )
    this.opts.onmisbehave(this, err)
    this.destroy(err)
  }

  private sendHello(): void {
    const hello = signHello(this.opts.keyPair, this.conn.handshakeHash, this.conn.publicKey)
    this.messages[0]?.send(encodeMessage('hello', hello))
  }

  /** Sends one message; false if the connection is gone (the caller's timeout handles it). */
  send<K extends MessageType>(type: K, body: MessageOf[K]): boolean {
    if (this.closed) return false
    const m = this.messages[MESSAGE_TYPES.indexOf(type)] as Message
    m.send(encodeMessage(type, body))
    return true
  }

  private receive(type: MessageType, bytes: Uint8Array): void {
    if (this.closed) return
    try {
      if (bytes.byteLength > MAX_MESSAGE_BYTES) {
        throw new QuidError(
          ErrorCodes.PROTOCOL,
          `${type} of ${bytes.byteLength} bytes, over ${MAX_MESSAGE_BYTES}`,
          {
            message: type,
            why: 'oversize'
          }
        )
      }
      if (!this.bucket.take()) {
        throw new QuidError(ErrorCodes.RATE_LIMITED, 'too many messages', { message: type })
      }
      if (!this.authenticated) {
        if (type !== 'hello') {
          throw new QuidError(ErrorCodes.AUTH_FAILED, `${type} before hello`, { message: type })
        }
        const hello = decodeMessage('hello', bytes)
        if (!verifyHello(hello, this.conn.handshakeHash, this.conn.remotePublicKey)) {
          throw new QuidError(
            ErrorCodes.AUTH_FAILED,
            'hello signature does not verify for this connection'
          )
        }
        this.id = hello.id
        this.key = toHex(hello.id)
        this.opts.onauthenticated(this)
        return
      }
      if (type === 'hello')
        throw new QuidError(ErrorCodes.PROTOCOL, 'a second hello', { message: type })
      const body = decodeMessage(type, bytes)
      this.opts.onmessage(this, { type, body } as AnyMessage)
    } catch (err) {
      const e =
        err instanceof QuidError
          ? err
          : new QuidError(ErrorCodes.PROTOCOL, (err as Error).message, { message: type })
      this.opts.onmisbehave(this, e)
      this.destroy(e)
    }
  }

  /** Closes the connection (and with it every channel on it). Idempotent. */
  destroy(err?: Error): void {
    if (this.closed) return
    this.closed = true
    this.conn.destroy(err)
    this.emit('close', err)
  }
}
