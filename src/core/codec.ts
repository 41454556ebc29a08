/**
 * Building blocks of quid's wire formats: the exchange's messages (exchange/messages.ts), the
 * deploy channel's (agent/deploy-messages.ts) and the virtual network's packets (vnet/packet.ts).
 * The ledger's records follow the same rules in ledger/codecs.ts.
 *
 * Each block is a compact-encoding codec. Encoding refuses (`bad-argument`) a value it cannot
 * write exactly, so nobody sends or signs bytes that say something else. Decoding refuses, with a
 * `decode-*` code, bytes that are not the one encoding of a value: short, oversize, out of range,
 * of an unknown version, or written longer than needed. Decoded byte fields are copies, so a value
 * outlives the buffer it came from.
 */
import c from 'compact-encoding'
import type { Encoder, State } from 'compact-encoding'
import { QuidError, ErrorCodes, type ErrorCode } from './errors.js'
import { equal } from './bytes.js'

export type { Encoder, State }

export function decodeError(code: ErrorCode, field: string, why: string): QuidError {
  return new QuidError(code, `${field}: ${why}`, { field })
}

export function encodeError(field: string, why: string): QuidError {
  return new QuidError(ErrorCodes.BAD_ARGUMENT, `cannot encode ${field}: ${why}`, { field })
}

/** Refuses to read `n` bytes that are not there. */
export function need(state: State, n: number, field: string): void {
  if (state.end - state.start < n)
    throw decodeError(ErrorCodes.DECODE_TRUNCATED, field, 'the bytes end before it does')
}

/** Bytes `start` to `end` of `buffer`, copied into an array of their own. */
function own(buffer: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(buffer.subarray(start, end))
}

/** A one-byte field. */
export function u8(field: string): Encoder<number> {
  return {
    preencode(state, n) {
      if (!Number.isInteger(n) || n < 0 || n > 0xff)
        throw encodeError(field, `${n} is not an integer in 0..255`)
      state.end += 1
    },
    encode: c.uint8.encode,
    decode(state) {
      need(state, 1, field)
      return (state.buffer as Uint8Array)[state.start++] as number
    }
  }
}

/** Exactly `n` bytes. */
export function fixed(n: number, field: string): Encoder<Uint8Array> {
  return {
    preencode(state, b) {
      if (!(b instanceof Uint8Array) || b.byteLength !== n)
        throw encodeError(field, `must be ${n} bytes`)
      state.end += n
    },
    encode(state, b) {
      ;(state.buffer as Uint8Array).set(b, state.start)
      state.start += n
    },
    decode(state) {
      need(state, n, field)
      const out = own(state.buffer as Uint8Array, state.start, state.start + n)
      state.start += n
      return out
    }
  }
}

function u32At(b: Uint8Array, i: number): number {
  return (
    ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16)) +
    (b[i + 3] as number) * 0x1000000
  )
}

/** An 8-byte little-endian integer at `i`, or -1 past 2^53 - 1 (what a JS number holds exactly). */
function u53At(b: Uint8Array, i: number): number {
  const hi = u32At(b, i + 4)
  // 2^53 - 1 is hi = 2^21 - 1 with every low bit set: anything with hi >= 2^21 is beyond it.
  return hi >= 0x200000 ? -1 : hi * 0x100000000 + u32At(b, i)
}

/** Bytes of compact-encoding's shortest `uint` for `n`. */
function uintBytes(n: number): number {
  return n <= 0xfc ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9
}

/**
 * compact-encoding's variable-length `uint` (one byte up to 252; else 0xfd, 0xfe or 0xff and then
 * 2, 4 or 8 bytes little-endian), up to 2^53 - 1, and only in its shortest form.
 */
export function uint(field: string): Encoder<number> {
  return {
    preencode(state, n) {
      if (!Number.isSafeInteger(n) || n < 0)
        throw encodeError(field, `${n} is not an integer in 0..2^53-1`)
      state.end += uintBytes(n)
    },
    encode: c.uint.encode,
    decode(state) {
      need(state, 1, field)
      const b = state.buffer as Uint8Array
      const first = b[state.start] as number
      if (first <= 0xfc) {
        state.start += 1
        return first
      }
      const width = first === 0xfd ? 3 : first === 0xfe ? 5 : 9
      need(state, width, field)
      const at = state.start + 1
      const n =
        width === 3
          ? (b[at] as number) | ((b[at + 1] as number) << 8)
          : width === 5
            ? u32At(b, at)
            : u53At(b, at)
      if (n < 0) throw decodeError(ErrorCodes.DECODE_INVALID, field, 'beyond 2^53 - 1')
      if (uintBytes(n) !== width)
        throw decodeError(ErrorCodes.DECODE_NONCANONICAL, field, 'written longer than needed')
      state.start += width
      return n
    }
  }
}

/** Milliseconds since the epoch as a u64, up to 2^53 - 1. */
export function time(field: string): Encoder<number> {
  return {
    preencode(state, n) {
      if (!Number.isSafeInteger(n) || n < 0)
        throw encodeError(field, `${n} is not an integer in 0..2^53-1`)
      state.end += 8
    },
    encode: c.uint64.encode,
    decode(state) {
      need(state, 8, field)
      const n = u53At(state.buffer as Uint8Array, state.start)
      if (n < 0) throw decodeError(ErrorCodes.DECODE_INVALID, field, 'beyond 2^53 - 1')
      state.start += 8
      return n
    }
  }
}

/** Bytes with a `uint` length prefix, at most `max` of them. */
export function bytes(max: number, field: string): Encoder<Uint8Array> {
  const length = uint(field)
  return {
    preencode(state, b) {
      if (!(b instanceof Uint8Array)) throw encodeError(field, 'must be bytes')
      if (b.byteLength > max) throw encodeError(field, `${b.byteLength} bytes, at most ${max}`)
      length.preencode(state, b.byteLength)
      state.end += b.byteLength
    },
    encode(state, b) {
      length.encode(state, b.byteLength)
      ;(state.buffer as Uint8Array).set(b, state.start)
      state.start += b.byteLength
    },
    decode(state) {
      const n = length.decode(state)
      if (n > max)
        throw decodeError(ErrorCodes.DECODE_OVERSIZE, field, `${n} bytes, at most ${max}`)
      need(state, n, field)
      const out = own(state.buffer as Uint8Array, state.start, state.start + n)
      state.start += n
      return out
    }
  }
}

// ignoreBOM keeps a leading U+FEFF as text: stripping it would decode two byte strings to one.
const utf8In = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const utf8Out = new TextEncoder()

/**
 * UTF-8 text of at most `max` bytes, after a length prefix that is one byte (`u8`) or a `uint`;
 * with `pattern`, only text that matches it. Bytes that are not UTF-8 are refused.
 */
export function text(
  max: number,
  field: string,
  opts: { prefix: 'u8' | 'uint'; pattern?: RegExp }
): Encoder<string> {
  const length = opts.prefix === 'u8' ? u8(field) : uint(field)
  const check = (s: string): string | null =>
    opts.pattern && !opts.pattern.test(s) ? `${JSON.stringify(s)} is not allowed` : null
  return {
    preencode(state, s) {
      if (typeof s !== 'string') throw encodeError(field, 'must be a string')
      const n = Buffer.byteLength(s)
      if (n > max) throw encodeError(field, `${n} bytes, at most ${max}`)
      const why = check(s)
      if (why) throw encodeError(field, why)
      length.preencode(state, n)
      state.end += n
    },
    encode(state, s) {
      const b = utf8Out.encode(s)
      length.encode(state, b.byteLength)
      ;(state.buffer as Uint8Array).set(b, state.start)
      state.start += b.byteLength
    },
    decode(state) {
      const n = length.decode(state)
      if (n > max)
        throw decodeError(ErrorCodes.DECODE_OVERSIZE, field, `${n} bytes, at most ${max}`)
      need(state, n, field)
      let s: string
      try {
        s = utf8In.decode((state.buffer as Uint8Array).subarray(state.start, state.start + n))
      } catch {
        throw decodeError(ErrorCodes.DECODE_INVALID, field, 'not UTF-8')
      }
      const why = check(s)
      if (why) throw decodeError(ErrorCodes.DECODE_INVALID, field, why)
      state.start += n
      return s
    }
  }
}

/** Items after a `uint` count, at most `max` of them; a larger count is refused before any item. */
export function list<T>(item: Encoder<T>, max: number, field: string): Encoder<T[]> {
  const count = uint(field)
  return {
    preencode(state, items) {
      if (!Array.isArray(items)) throw encodeError(field, 'must be a list')
      if (items.length > max) throw encodeError(field, `${items.length} items, at most ${max}`)
      count.preencode(state, items.length)
      for (const x of items) item.preencode(state, x)
    },
    encode(state, items) {
      count.encode(state, items.length)
      for (const x of items) item.encode(state, x)
    },
    decode(state) {
      const n = count.decode(state)
      if (n > max)
        throw decodeError(ErrorCodes.DECODE_OVERSIZE, field, `${n} items, at most ${max}`)
      const out: T[] = []
      for (let i = 0; i < n; i++) out.push(item.decode(state))
      return out
    }
  }
}

/** The fields of `T`, each with its codec, in the order they are written. */
export type Fields<T> = ReadonlyArray<{ [K in keyof T]: readonly [K, Encoder<T[K]>] }[keyof T]>

/** A record of named fields, written one after the other in the order given. */
export function struct<T extends object>(typed: Fields<T>): Encoder<T> {
  const fields = typed as ReadonlyArray<readonly [keyof T, Encoder<unknown>]>
  return {
    preencode(state, v) {
      for (const [name, enc] of fields) enc.preencode(state, v[name])
    },
    encode(state, v) {
      for (const [name, enc] of fields) enc.encode(state, v[name])
    },
    decode(state) {
      const out = {} as T
      for (const [name, enc] of fields) out[name] = enc.decode(state) as T[keyof T]
      return out
    }
  }
}

/**
 * A version byte that must be `version`. Another version is refused before anything after it is
 * read: its layout is unknown, so nothing after the first byte can be trusted to mean anything.
 */
export function version(expected: number, what: string): Encoder<number> {
  return {
    preencode(state, v) {
      if (v !== expected) throw encodeError(`${what} version`, `${v} is not ${expected}`)
      state.end += 1
    },
    encode: c.uint8.encode,
    decode(state) {
      need(state, 1, 'version')
      const v = (state.buffer as Uint8Array)[state.start] as number
      if (v !== expected) {
        throw new QuidError(ErrorCodes.DECODE_VERSION, `${what} version ${v} is not ${expected}`, {
          field: 'version',
          version: v
        })
      }
      state.start += 1
      return v
    }
  }
}

/** `version:u8` and then `body`, for a value that does not carry its version itself. */
export function versioned<T>(expected: number, what: string, body: Encoder<T>): Encoder<T> {
  const v = version(expected, what)
  return {
    preencode(state, x) {
      v.preencode(state, expected)
      body.preencode(state, x)
    },
    encode(state, x) {
      v.encode(state, expected)
      body.encode(state, x)
    },
    decode(state) {
      v.decode(state)
      return body.decode(state)
    }
  }
}

/** The one encoding of `v`, in an array of its own. */
export function encode<T>(enc: Encoder<T>, v: T): Uint8Array {
  const state: State = { start: 0, end: 0, buffer: null }
  enc.preencode(state, v)
  state.buffer = new Uint8Array(state.end)
  enc.encode(state, v)
  return state.buffer
}

/**
 * Decodes `bytes` as exactly one value of `enc`: an error that is not a field's own typed refusal
 * (compact-encoding's "Out of bounds") is truncation, bytes left over are refused, and with
 * `reencode` (the default) the value must encode back to these very bytes, the complete proof
 * that they are its only encoding. A format whose every field is checked for its one form may pass
 * `reencode: false` to save the second pass.
 */
export function decodeExactly<T>(
  enc: Encoder<T>,
  input: Uint8Array,
  what: string,
  opts: { reencode?: boolean } = {}
): T {
  const state: State = { start: 0, end: input.byteLength, buffer: input }
  let v: T
  try {
    v = enc.decode(state)
  } catch (err) {
    if (err instanceof QuidError) throw err
    throw new QuidError(ErrorCodes.DECODE_TRUNCATED, `${what} ends before its last field`)
  }
  if (state.start !== state.end) {
    throw new QuidError(
      ErrorCodes.DECODE_TRAILING,
      `${what} has ${state.end - state.start} trailing bytes`
    )
  }
  if (opts.reencode !== false && !encodesTo(enc, v, input)) {
    throw new QuidError(ErrorCodes.DECODE_NONCANONICAL, `${what} is not in its canonical encoding`)
  }
  return v
}

function encodesTo<T>(enc: Encoder<T>, v: T, input: Uint8Array): boolean {
  try {
    return equal(encode(enc, v), input)
  } catch (err) {
    if (err instanceof QuidError) return false
    throw err
  }
}
