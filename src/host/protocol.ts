/**
 * Messages between the host and a sandbox process (Node IPC with the structured-clone
 * serialization, so bigints and Uint8Arrays cross as themselves). The host sends one request at a
 * time that runs guest code, so when a sandbox dies the guest that was running is known.
 */
import type { EvictReason } from '../ledger/records.js'

export interface GuestSpec {
  id: string
  /** The guest's address on the virtual network (`quid.self`). */
  self: string
  /** Its owner's id, hex (`quid.owner`). */
  owner: string
  /** Directory of its store (created if missing). */
  storeDir: string
  code: string
  diskQuota: number
  memoryLimitMb: number
  /** `quid.send` refuses anything but a virtual-network address (HostOptions.strictAddresses). */
  strictAddresses?: boolean
}

/** What one call may still consume; the sandbox ends the guest when a figure runs out. */
export interface Budget {
  cpuNs: bigint
  net: number
  wallMs: number
  sliceMs: number
  maxSends: number
  maxLogs: number
  maxPacket: number
  /** What the host has dropped for the guest so far (`quid.dropped()`). */
  dropped?: Record<string, number>
}

export const CALL_KINDS = ['start', 'message', 'stop', 'timer', 'unreachable'] as const
export type CallKind = (typeof CALL_KINDS)[number]

/** A handler call: the one request on a guest message's path (it travels as text, see below). */
export interface CallRequest {
  op: 'call'
  id: number
  guest: string
  kind: CallKind
  data?: Uint8Array
  from?: string
  budget: Budget
}

export type Request =
  /** Loads the guest and, with `start`, runs its start handler in the same request. */
  | { op: 'create'; id: number; guest: GuestSpec; budget: Budget; start?: boolean }
  | CallRequest
  | { op: 'dispose'; id: number; guest: string }
  | { op: 'calibrate'; id: number; runs: number }
  /** A bare isolate (benchmark yardstick); with `calls`, `code` is a function called that many times. */
  | { op: 'bare'; id: number; code: string; memoryLimitMb: number; calls?: number }
  | { op: 'stats'; id: number }

/** What a call cost and how it ended. */
export interface CallResult {
  /** CPU time of the call: the isolate's thread CPU time, or the sandbox process's if it was disposed. */
  cpuNs: bigint
  wallNs: bigint
  netOut: number
  disk: number
  memory: number
  /** What the guest's code threw, described by the bootstrap (the guest keeps running). */
  error?: string
  /** Set when the sandbox ended the guest; its isolate is gone. */
  ended?: EvictReason
  /** Why, for people (e.g. the syntax error). */
  detail?: string
}

export type Reply =
  | {
      re: number
      ok: true
      result?: CallResult
      /** The start handler's call, for a `create` with `start`. */
      started?: CallResult
      mips?: number
      samples?: number[]
      bareNs?: number
      rss?: number
      guests?: number
    }
  | { re: number; ok: false; error: string }

export type Event =
  | { event: 'send'; guest: string; to: string; data: Uint8Array }
  | { event: 'log'; guest: string; line: string }
  /** `quid.after(ms, note)`: call the guest's `timer` handlers with `note` in `ms`. */
  | { event: 'timer'; guest: string; ms: number; note: string }
  | { event: 'ready' }

/**
 * What the child posts: one message, or a batch (an array) holding the events of a guest call
 * followed by its reply, handled in order (child.ts).
 */
export type ChildMessage = Reply | Event

/*
 * Handler calls and their replies travel as one string each rather than as objects: Node's
 * `advanced` IPC serialization pays for every object, field and typed array it writes and reads,
 * about 10 µs a message on each side here, several times the cost of one string of the same
 * bytes (docs/HOST.md, "What a call costs"). A message is a tag character, the decimal lengths of
 * its fields separated by commas, a semicolon, then the fields one after the other. Payloads are
 * latin1 text, one char per byte. Everything else between host and sandbox stays an object.
 */

function pack(tag: string, fields: string[]): string {
  let head = tag
  for (let i = 0; i < fields.length; i++) head += (i ? ',' : '') + (fields[i] as string).length
  return head + ';' + fields.join('')
}

function unpack(s: string): string[] {
  const semi = s.indexOf(';')
  const lengths = s.slice(1, semi).split(',')
  const out: string[] = []
  let at = semi + 1
  for (const l of lengths) {
    const end = at + Number(l)
    out.push(s.slice(at, end))
    at = end
  }
  return out
}

/** Bytes as latin1 text, one char per byte. */
export const latin1 = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1')

/** Latin1 text back to bytes, in a buffer of their own (never a view of a shared pool). */
export function fromLatin1(s: string): Uint8Array {
  const b = Buffer.allocUnsafeSlow(s.length)
  b.write(s, 'latin1')
  return new Uint8Array(b.buffer, 0, s.length)
}

/** Whether an IPC message is a call or a call's reply in this text form. */
export function isPacked(m: unknown): m is string {
  return typeof m === 'string'
}

export function encodeCall(r: CallRequest): string {
  const b = r.budget
  return pack('C', [
    String(r.id),
    String(CALL_KINDS.indexOf(r.kind)),
    String(b.cpuNs),
    String(b.net),
    String(b.wallMs),
    String(b.sliceMs),
    String(b.maxSends),
    String(b.maxLogs),
    String(b.maxPacket),
    r.guest,
    r.from ?? '',
    r.data ? latin1(r.data) : '',
    b.dropped ? JSON.stringify(b.dropped) : ''
  ])
}

/** A call as the sandbox runs it: `from` '' when none, the payload as latin1 text ('' when none). */
export interface CallIn {
  id: number
  guest: string
  kind: CallKind
  from: string
  data: string
  budget: Budget
}

export function decodeCall(s: string): CallIn {
  const f = unpack(s)
  return {
    id: Number(f[0]),
    kind: CALL_KINDS[Number(f[1])] as CallKind,
    budget: {
      cpuNs: BigInt(f[2] as string),
      net: Number(f[3]),
      wallMs: Number(f[4]),
      sliceMs: Number(f[5]),
      maxSends: Number(f[6]),
      maxLogs: Number(f[7]),
      maxPacket: Number(f[8]),
      ...(f[12] ? { dropped: JSON.parse(f[12]) as Record<string, number> } : {})
    },
    guest: f[9] as string,
    from: f[10] as string,
    data: f[11] as string
  }
}

/** A call's events (in order) and its reply, as one message. `''` stands for an absent text. */
export function encodeCallReply(guest: string, events: Event[], re: number, r: CallResult): string {
  const fields = [
    String(re),
    guest,
    String(r.cpuNs),
    String(r.wallNs),
    String(r.netOut),
    String(r.disk),
    String(r.memory),
    r.ended ?? '',
    r.error ?? '',
    r.detail ?? ''
  ]
  for (const e of events) {
    if (e.event === 'send') fields.push('s', e.to, latin1(e.data))
    else if (e.event === 'log') fields.push('l', e.line, '')
    else if (e.event === 'timer') fields.push('t', String(e.ms), e.note)
  }
  return pack('R', fields)
}

const REPLY_FIELDS = 10

/** The messages `encodeCallReply` packed: the events, then the reply. */
export function decodeCallReply(s: string): ChildMessage[] {
  const f = unpack(s)
  const guest = f[1] as string
  const out: ChildMessage[] = []
  for (let i = REPLY_FIELDS; i + 2 < f.length; i += 3) {
    const tag = f[i]
    const a = f[i + 1] as string
    const b = f[i + 2] as string
    if (tag === 's') out.push({ event: 'send', guest, to: a, data: fromLatin1(b) })
    else if (tag === 'l') out.push({ event: 'log', guest, line: a })
    else out.push({ event: 'timer', guest, ms: Number(a), note: b })
  }
  const result: CallResult = {
    cpuNs: BigInt(f[2] as string),
    wallNs: BigInt(f[3] as string),
    netOut: Number(f[4]),
    disk: Number(f[5]),
    memory: Number(f[6])
  }
  if (f[7]) result.ended = f[7] as EvictReason
  if (f[8]) result.error = f[8]
  if (f[9]) result.detail = f[9]
  out.push({ re: Number(f[0]), ok: true, result })
  return out
}
