/**
 * Messages of the `quid/deploy` channel (docs/PROTOCOL.md, "Deploy channel"): an owner's agent
 * asks a host's agent to run a guest, or to stop one early, and gets one answer per request.
 *
 *   deploy   = rid:uint · request:buffer (an encoded DeployRequest) · signature:64 · code:buffer
 *              · follow:uint count (≤ 32) · 32 bytes each
 *   stop     = rid:uint · guest:32 · signature:64
 *   deployed = rid:uint · guest:32
 *   stopped  = rid:uint · cpu:uint · disk:uint · net:uint   (the guest's final usage)
 *   error    = rid:uint · code:string (≤ 32 chars) · message:string (≤ 200 bytes)
 *   path     = rid:uint · transfer:32 · count:uint (≤ 32) · 32 bytes each
 *              (no answer: after a transfer, the sender names whose logs prove the claim's path)
 *
 * `uint` is compact-encoding's variable-length unsigned integer, minimal form only. Decoding is
 * strict (truncated, trailing or oversize input is a protocol violation).
 */
import c from 'compact-encoding'
import type { State } from 'compact-encoding'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { equal } from '../core/bytes.js'
import { MAX_AMOUNT } from '../ledger/constants.js'
import type { ResourceVector } from '../ledger/records.js'

export const DEPLOY_PROTOCOL = 'quid/deploy'
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

const violation = (type: string, why: string): QuidError =>
  new QuidError(ErrorCodes.PROTOCOL, `bad ${type} message: ${why}`, { message: type, why })

function bytesField(state: State, max: number, type: string, field: string): Uint8Array {
  const len = c.uint.decode(state)
  if (len > max) throw violation(type, `${field} of ${len} bytes is over ${max}`)
  if (state.end - state.start < len) throw violation(type, 'truncated')
  const out = (state.buffer as Uint8Array).slice(state.start, state.start + len)
  state.start += len
  return out
}

function fixed(state: State, n: number, type: string): Uint8Array {
  if (state.end - state.start < n) throw violation(type, 'truncated')
  const out = (state.buffer as Uint8Array).slice(state.start, state.start + n)
  state.start += n
  return out
}

function amount(state: State, type: string): bigint {
  const n = c.biguint.decode(state)
  if (n > MAX_AMOUNT) throw violation(type, 'amount out of range')
  return n
}

function text(state: State, max: number, type: string): string {
  const b = bytesField(state, max, type, 'text')
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b)
  } catch {
    throw violation(type, 'text is not UTF-8')
  }
}

function put(
  parts: Array<
    | [kind: 'uint', v: number]
    | [kind: 'big', v: bigint]
    | [kind: 'bytes', v: Uint8Array]
    | [kind: 'fixed', v: Uint8Array]
  >
): Uint8Array {
  const state = c.state()
  for (const [k, v] of parts) {
    if (k === 'uint') c.uint.preencode(state, v)
    else if (k === 'big') c.biguint.preencode(state, v)
    else if (k === 'bytes') c.uint8array.preencode(state, v)
    else state.end += v.byteLength
  }
  state.buffer = new Uint8Array(state.end)
  for (const [k, v] of parts) {
    if (k === 'uint') c.uint.encode(state, v)
    else if (k === 'big') c.biguint.encode(state, v)
    else if (k === 'bytes') c.uint8array.encode(state, v)
    else {
      state.buffer.set(v, state.start)
      state.start += v.byteLength
    }
  }
  return state.buffer
}

const utf8 = new TextEncoder()

export function encodeDeployMessage<K extends DeployMessageType>(
  type: K,
  m: DeployMessageOf[K]
): Uint8Array {
  switch (type) {
    case 'deploy': {
      const d = m as DeployMsg
      if (d.follow.length > MAX_FOLLOW)
        throw new QuidError(ErrorCodes.BAD_ARGUMENT, `at most ${MAX_FOLLOW} logs to follow`)
      return put([
        ['uint', d.rid],
        ['bytes', d.request],
        ['fixed', d.signature],
        ['bytes', d.code],
        ['uint', d.follow.length],
        ...d.follow.map((f) => ['fixed', f] as ['fixed', Uint8Array])
      ])
    }
    case 'stop': {
      const s = m as StopMsg
      return put([
        ['uint', s.rid],
        ['fixed', s.guest],
        ['fixed', s.signature]
      ])
    }
    case 'deployed': {
      const d = m as DeployedMsg
      return put([
        ['uint', d.rid],
        ['fixed', d.guest]
      ])
    }
    case 'path': {
      const h = m as PathMsg
      if (h.ids.length > MAX_FOLLOW)
        throw new QuidError(ErrorCodes.BAD_ARGUMENT, `at most ${MAX_FOLLOW} ids in a path`)
      return put([
        ['uint', h.rid],
        ['fixed', h.transfer],
        ['uint', h.ids.length],
        ...h.ids.map((f) => ['fixed', f] as ['fixed', Uint8Array])
      ])
    }
    case 'stopped': {
      const s = m as StoppedMsg
      return put([
        ['uint', s.rid],
        ['big', s.used.cpu],
        ['big', s.used.disk],
        ['big', s.used.net]
      ])
    }
    default: {
      const e = m as ErrorMsg
      const code = utf8.encode(e.code.slice(0, MAX_CODE_CHARS))
      let msg = utf8.encode(e.message)
      if (msg.byteLength > MAX_MESSAGE_BYTES)
        msg = utf8.encode(e.message.slice(0, MAX_MESSAGE_BYTES / 4))
      return put([
        ['uint', e.rid],
        ['bytes', code],
        ['bytes', msg]
      ])
    }
  }
}

export function decodeDeployMessage<K extends DeployMessageType>(
  type: K,
  bytes: Uint8Array
): DeployMessageOf[K] {
  const state: State = { start: 0, end: bytes.byteLength, buffer: bytes }
  let out: DeployMessageOf[DeployMessageType]
  try {
    const rid = c.uint.decode(state)
    if (type === 'deploy') {
      const request = bytesField(state, MAX_REQUEST, type, 'request')
      const signature = fixed(state, 64, type)
      const code = bytesField(state, MAX_DEPLOY_CODE, type, 'code')
      const n = c.uint.decode(state)
      if (n > MAX_FOLLOW) throw violation(type, `${n} logs to follow, over ${MAX_FOLLOW}`)
      const follow: Uint8Array[] = []
      for (let i = 0; i < n; i++) follow.push(fixed(state, 32, type))
      out = { rid, request, signature, code, follow }
    } else if (type === 'stop') {
      out = { rid, guest: fixed(state, 32, type), signature: fixed(state, 64, type) }
    } else if (type === 'deployed') {
      out = { rid, guest: fixed(state, 32, type) }
    } else if (type === 'path') {
      const transfer = fixed(state, 32, type)
      const n = c.uint.decode(state)
      if (n > MAX_FOLLOW) throw violation(type, `${n} ids, over ${MAX_FOLLOW}`)
      const ids: Uint8Array[] = []
      for (let i = 0; i < n; i++) ids.push(fixed(state, 32, type))
      out = { rid, transfer, ids }
    } else if (type === 'stopped') {
      out = {
        rid,
        used: { cpu: amount(state, type), disk: amount(state, type), net: amount(state, type) }
      }
    } else {
      const code = text(state, MAX_CODE_CHARS, type)
      const message = text(state, MAX_MESSAGE_BYTES, type)
      out = { rid, code, message }
    }
  } catch (err) {
    if (err instanceof QuidError) throw err
    throw violation(type, 'truncated')
  }
  if (state.start !== state.end) throw violation(type, 'trailing bytes')
  // One message, one encoding (a uint written longer than needed is refused).
  if (!equal(encodeDeployMessage(type, out as DeployMessageOf[K]), bytes))
    throw violation(type, 'not the canonical encoding')
  return out as DeployMessageOf[K]
}
