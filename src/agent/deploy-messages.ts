/**
 * Messages of the `quid/deploy` channel (docs/PROTOCOL.md section 12; hex vectors in
 * test/fixtures/deploy-vectors.json): an owner's agent asks a host's agent to run a guest, or to
 * stop one early, and gets one answer per request.
 *
 *   every message = version:u8 (2) · rid:uint · body
 *   deploy   = request:buffer (an encoded DeployRequest) · signature:64 · code:buffer
 *              · follow:uint count (≤ 32) · 32 bytes each
 *   stop     = guest:32 · signature:64
 *   deployed = guest:32
 *   stopped  = cpu:amount · disk:amount · net:amount   (the guest's final usage)
 *   error    = code:string (≤ 32 bytes) · message:string (≤ 200 bytes)
 *   path     = transfer:32 · count:uint (≤ 32) · 32 bytes each
 *              (no answer: after a transfer, the sender names whose logs prove the claim's path)
 *
 * `uint` is compact-encoding's variable-length unsigned integer, minimal form only; `buffer` and
 * `string` are a `uint` length and that many bytes; `amount` is compact-encoding's `biguint` (a
 * `uint` count of 64-bit words, 0 or 1 here, then the words). Version 1 had no version byte.
 * Decoding is strict: truncated, trailing, oversize or non-canonical input is a protocol
 * violation whose `why` is the `decode-*` code of the refusal.
 */
import { QuidError, ErrorCodes } from '../core/errors.js'
import {
  bytes,
  decodeError,
  decodeExactly,
  encode,
  encodeError,
  fixed,
  list,
  need,
  struct,
  text,
  uint,
  versioned,
  type Encoder
} from '../core/codec.js'
import { MAX_AMOUNT } from '../ledger/constants.js'
import type { ResourceVector } from '../ledger/records.js'

export const DEPLOY_PROTOCOL = 'quid/deploy'
/** The first byte of every message; version 1 (before this byte existed) was not versioned. */
export const DEPLOY_VERSION = 2
/** The largest code bundle the channel carries; a host may accept less (HostOptions.maxCodeBytes). */
export const MAX_DEPLOY_CODE = 4 * 1024 * 1024
export const MAX_FOLLOW = 32
const MAX_REQUEST = 4096
const MAX_CODE_CHARS = 32
const MAX_MESSAGE_BYTES = 200

export interface DeployMsg {
  rid: number
  request: Uint8Array
  signature: Uint8Array
  code: Uint8Array
  follow: Uint8Array[]
}
export interface StopMsg {
  rid: number
  guest: Uint8Array
  signature: Uint8Array
}
export interface DeployedMsg {
  rid: number
  guest: Uint8Array
}
export interface StoppedMsg {
  rid: number
  used: ResourceVector
}
/** A transfer's sender tells the receiver whose logs prove the transferred claim's path. */
export interface PathMsg {
  rid: number
  transfer: Uint8Array
  ids: Uint8Array[]
}
export interface ErrorMsg {
  rid: number
  code: string
  message: string
}

export const DEPLOY_MESSAGES = ['deploy', 'stop', 'deployed', 'stopped', 'error', 'path'] as const
export type DeployMessageType = (typeof DEPLOY_MESSAGES)[number]
export interface DeployMessageOf {
  deploy: DeployMsg
  stop: StopMsg
  deployed: DeployedMsg
  stopped: StoppedMsg
  error: ErrorMsg
  path: PathMsg
}

/** A refusal of bytes a peer sent: a protocol violation, `why` naming the decode code. */
function violation(type: string, err: QuidError): QuidError {
  return new QuidError(ErrorCodes.PROTOCOL, `bad ${type} message: ${err.message}`, {
    ...err.details,
    message: type,
    why: err.code
  })
}

/** An amount as compact-encoding's `biguint`, at most 2^64 - 1: no words for 0, else one. */
function amount(field: string): Encoder<bigint> {
  const words = uint(field)
  return {
    preencode(state, n) {
      if (typeof n !== 'bigint' || n < 0n || n > MAX_AMOUNT)
        throw encodeError(field, `${n} is not in 0..2^64-1`)
      state.end += n === 0n ? 1 : 9
    },
    encode(state, n) {
      words.encode(state, n === 0n ? 0 : 1)
      if (n === 0n) return
      const b = state.buffer as Uint8Array
      new DataView(b.buffer, b.byteOffset, b.byteLength).setBigUint64(state.start, n, true)
      state.start += 8
    },
    decode(state) {
      const n = words.decode(state)
      if (n === 0) return 0n
      if (n > 1) throw decodeError(ErrorCodes.DECODE_INVALID, field, 'beyond 2^64 - 1')
      need(state, 8, field)
      const b = state.buffer as Uint8Array
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(state.start, true)
      if (v === 0n) throw decodeError(ErrorCodes.DECODE_NONCANONICAL, field, '0 written as a word')
      state.start += 8
      return v
    }
  }
}

const rid = uint('rid')
const id32 = (field: string): Encoder<Uint8Array> => fixed(32, field)
const signature = fixed(64, 'signature')

const used = struct<ResourceVector>([
  ['cpu', amount('cpu')],
  ['disk', amount('disk')],
  ['net', amount('net')]
])

const ENCODERS: { [K in DeployMessageType]: Encoder<DeployMessageOf[K]> } = {
  deploy: struct<DeployMsg>([
    ['rid', rid],
    ['request', bytes(MAX_REQUEST, 'request')],
    ['signature', signature],
    ['code', bytes(MAX_DEPLOY_CODE, 'code')],
    ['follow', list(id32('follow'), MAX_FOLLOW, 'follow')]
  ]),
  stop: struct<StopMsg>([
    ['rid', rid],
    ['guest', id32('guest')],
    ['signature', signature]
  ]),
  deployed: struct<DeployedMsg>([
    ['rid', rid],
    ['guest', id32('guest')]
  ]),
  stopped: struct<StoppedMsg>([
    ['rid', rid],
    ['used', used]
  ]),
  error: struct<ErrorMsg>([
    ['rid', rid],
    ['code', text(MAX_CODE_CHARS, 'code', { prefix: 'uint' })],
    ['message', text(MAX_MESSAGE_BYTES, 'message', { prefix: 'uint' })]
  ]),
  path: struct<PathMsg>([
    ['rid', rid],
    ['transfer', id32('transfer')],
    ['ids', list(id32('ids'), MAX_FOLLOW, 'ids')]
  ])
}

const VERSIONED = Object.fromEntries(
  DEPLOY_MESSAGES.map((t) => [
    t,
    versioned(DEPLOY_VERSION, 'deploy channel', ENCODERS[t] as Encoder<unknown>)
  ])
) as unknown as typeof ENCODERS

/** An error answer cut to the channel's limits: an answer is sent even when its text is long. */
function fitted(e: ErrorMsg): ErrorMsg {
  const code = e.code.slice(0, MAX_CODE_CHARS)
  let message = e.message
  if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES)
    message = message.slice(0, MAX_MESSAGE_BYTES / 4)
  return { rid: e.rid, code, message }
}

export function encodeDeployMessage<K extends DeployMessageType>(
  type: K,
  m: DeployMessageOf[K]
): Uint8Array {
  const body = type === 'error' ? (fitted(m as ErrorMsg) as DeployMessageOf[K]) : m
  return encode(VERSIONED[type] as Encoder<DeployMessageOf[K]>, body)
}

export function decodeDeployMessage<K extends DeployMessageType>(
  type: K,
  input: Uint8Array
): DeployMessageOf[K] {
  try {
    // Re-encoding proves the one encoding (a uint written longer than needed is refused).
    return decodeExactly(VERSIONED[type] as Encoder<DeployMessageOf[K]>, input, type)
  } catch (err) {
    throw err instanceof QuidError ? violation(type, err) : err
  }
}
