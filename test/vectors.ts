/**
 * Committed hex vectors of a wire format (test/fixtures/*-vectors.json), checked both ways: each
 * valid vector is encoded from its example, decoded from its hex and encoded again byte for byte,
 * and each invalid one is refused with its code. `QUID_WRITE_VECTORS=1` rewrites the files from
 * the examples; a diff in one is a format change, to be made on purpose and documented.
 */
import type { Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { toHex } from '../src/core/bytes.js'
import { QuidError } from '../src/core/errors.js'

/** Byte fields as hex, amounts as decimal strings: the `fields` of a vector, as JSON. */
export function plain(x: unknown): unknown {
  if (x instanceof Uint8Array) return toHex(x)
  if (typeof x === 'bigint') return String(x)
  if (Array.isArray(x)) return x.map(plain)
  if (x && typeof x === 'object')
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]))
  return x
}

export const unhex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'))

export interface ValidVector {
  name: string
  /** The message type, for formats whose type travels outside the bytes (a Protomux index). */
  type?: string
  fields: unknown
  hex: string
}

export interface InvalidVector {
  name: string
  type?: string
  hex: string
  /** The `decode-*` code the bytes are refused with. */
  code: string
}

export interface VectorFile {
  format: string
  spec: string
  conventions: string
  valid: ValidVector[]
  invalid: InvalidVector[]
}

export interface Example {
  name: string
  type?: string
  value: unknown
}

export interface BadExample {
  name: string
  type?: string
  bytes: Uint8Array
  code: string
}

export interface Codec {
  encode(type: string | undefined, value: unknown): Uint8Array
  decode(type: string | undefined, bytes: Uint8Array): unknown
  /** The decode code of a refusal (a protocol violation carries it as `details.why`). */
  codeOf(err: QuidError): string
}

const CONVENTIONS =
  '`hex` is the whole encoding. In `fields`, byte strings are lowercase hex, amounts decimal ' +
  'strings, other numbers and text as they are. Every valid vector must decode to its fields ' +
  'and encode back to its hex byte for byte; every invalid one must be refused with its code.'

export function checkVectors(
  t: Test,
  file: URL,
  header: { format: string; spec: string },
  codec: Codec,
  examples: Example[],
  bad: BadExample[]
): void {
  if (process.env.QUID_WRITE_VECTORS) {
    const out: VectorFile = {
      ...header,
      conventions: CONVENTIONS,
      valid: examples.map((e) => ({
        name: e.name,
        ...(e.type === undefined ? {} : { type: e.type }),
        fields: plain(e.value),
        hex: toHex(codec.encode(e.type, e.value))
      })),
      invalid: bad.map((b) => ({
        name: b.name,
        ...(b.type === undefined ? {} : { type: b.type }),
        hex: toHex(b.bytes),
        code: b.code
      }))
    }
    writeFileSync(file, JSON.stringify(out, null, 2) + '\n')
  }
  const vectors = JSON.parse(readFileSync(file, 'utf8')) as VectorFile
  t.equal(vectors.format, header.format, 'the file is of this format')
  t.same(
    vectors.valid.map((v) => v.name),
    examples.map((e) => e.name),
    'one committed vector per example'
  )
  for (const [i, v] of vectors.valid.entries()) {
    const e = examples[i] as Example
    t.equal(v.type, e.type, `${v.name}: type`)
    t.equal(
      toHex(codec.encode(e.type, e.value)),
      v.hex,
      `${v.name}: the example encodes to its hex`
    )
    t.same(plain(e.value), v.fields, `${v.name}: the example has its fields`)
    const back = codec.decode(v.type, unhex(v.hex))
    t.same(plain(back), v.fields, `${v.name}: the hex decodes to its fields`)
    t.equal(toHex(codec.encode(v.type, back)), v.hex, `${v.name}: and encodes back byte for byte`)
  }
  t.same(
    vectors.invalid.map((v) => v.name),
    bad.map((b) => b.name),
    'one committed invalid vector per bad example'
  )
  for (const [i, v] of vectors.invalid.entries()) {
    t.equal(v.hex, toHex((bad[i] as BadExample).bytes), `${v.name}: committed as made`)
    let code: string | undefined
    try {
      codec.decode(v.type, unhex(v.hex))
    } catch (err) {
      t.ok(err instanceof QuidError, `${v.name}: a typed error`)
      if (err instanceof QuidError) code = codec.codeOf(err)
    }
    t.equal(code, v.code, `${v.name}: refused as ${v.code}`)
  }
}
