// The wire-format blocks (src/core/codec.ts), and a fuzz of the three formats built from them:
// any bytes either decode to a value that encodes back to exactly those bytes, or are refused with
// a typed decode code; nothing else.
import { test } from 'tap'
import { readFileSync } from 'node:fs'
import {
  decodeExactly,
  encode,
  text,
  uint,
  versioned,
  fixed,
  type Encoder
} from '../../src/core/codec.js'
import { QuidError } from '../../src/core/errors.js'
import { toHex } from '../../src/core/bytes.js'
import { decodeMessage, encodeMessage, MESSAGE_TYPES } from '../../src/exchange/messages.js'
import {
  decodeDeployMessage,
  encodeDeployMessage,
  DEPLOY_MESSAGES
} from '../../src/agent/deploy-messages.js'
import { decodePacket, encodePacket } from '../../src/vnet/packet.js'
import { unhex, type VectorFile } from '../vectors.js'

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn()
    return undefined
  } catch (err) {
    if (!(err instanceof QuidError)) throw err
    return err.code === 'protocol-violation' ? String(err.details.why) : err.code
  }
}

test('uint: every width decodes in its shortest form only', async (t) => {
  const u = uint('n')
  for (const n of [0, 252, 253, 0xffff, 0x10000, 0xffffffff, 2 ** 32, 2 ** 53 - 1]) {
    const b = encode(u, n)
    t.equal(decodeExactly(u, b, 'n'), n, `${n} round-trips in ${b.byteLength} bytes`)
  }
  const refused: Array<[string, number[], string]> = [
    ['252 in 3 bytes', [0xfd, 252, 0], 'decode-non-canonical'],
    ['0xffff in 5 bytes', [0xfe, 0xff, 0xff, 0, 0], 'decode-non-canonical'],
    ['2^32 - 1 in 9 bytes', [0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], 'decode-non-canonical'],
    ['2^53 in 9 bytes', [0xff, 0, 0, 0, 0, 0, 0, 0x20, 0], 'decode-invalid-field'],
    ['a cut 3-byte form', [0xfd, 1], 'decode-truncated'],
    ['nothing', [], 'decode-truncated']
  ]
  for (const [what, bytes, code] of refused) {
    t.equal(
      codeOf(() => decodeExactly(u, Uint8Array.from(bytes), 'n')),
      code,
      what
    )
  }
  t.throws(() => encode(u, -1), { code: 'bad-argument' })
  t.throws(() => encode(u, 1.5), { code: 'bad-argument' })
  t.throws(() => encode(u, 2 ** 53), { code: 'bad-argument' })
})

test('text: UTF-8 only, a leading BOM kept, lengths and patterns checked both ways', async (t) => {
  const s = text(8, 's', { prefix: 'u8', pattern: /^[a-z\uFEFF]*$/ })
  const bom = Uint8Array.from([3, 0xef, 0xbb, 0xbf])
  t.equal(decodeExactly(s, bom, 's'), '\uFEFF', 'a BOM is text, not stripped')
  t.equal(toHex(encode(s, '\uFEFF')), toHex(bom))
  t.equal(
    codeOf(() => decodeExactly(s, Uint8Array.from([1, 0xff]), 's')),
    'decode-invalid-field'
  )
  t.equal(
    codeOf(() => decodeExactly(s, Uint8Array.from([1, 0x41]), 's')),
    'decode-invalid-field'
  )
  t.equal(
    codeOf(() => decodeExactly(s, Uint8Array.from([9]), 's')),
    'decode-oversize'
  )
  t.throws(() => encode(s, 'A'), { code: 'bad-argument' }, 'nobody sends what the other refuses')
  t.throws(() => encode(s, 'abcdefghi'), { code: 'bad-argument' })
})

test('versioned: another version is refused before the body is read', async (t) => {
  const v: Encoder<Uint8Array> = versioned(3, 'thing', fixed(2, 'body'))
  t.equal(toHex(encode(v, Uint8Array.from([1, 2]))), '030102')
  t.equal(
    codeOf(() => decodeExactly(v, Uint8Array.from([4]), 'thing')),
    'decode-unknown-version'
  )
  t.equal(
    codeOf(() => decodeExactly(v, Uint8Array.from([3, 1]), 'thing')),
    'decode-truncated'
  )
  t.equal(
    codeOf(() => decodeExactly(v, Uint8Array.from([3, 1, 2, 3]), 'thing')),
    'decode-trailing-bytes'
  )
})

/** A small deterministic generator, so a failure reproduces. */
function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let x = s
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32
  }
}

function vectors(name: string): VectorFile {
  return JSON.parse(
    readFileSync(new URL(`../fixtures/${name}-vectors.json`, import.meta.url), 'utf8')
  ) as VectorFile
}

interface Format {
  name: string
  types: readonly string[]
  decode(type: string, b: Uint8Array): unknown
  encode(type: string, v: unknown): Uint8Array
}

const FORMATS: Format[] = [
  {
    name: 'exchange',
    types: MESSAGE_TYPES,
    decode: (type, b) => decodeMessage(type as never, b),
    encode: (type, v) => encodeMessage(type as never, v as never)
  },
  {
    name: 'deploy',
    types: DEPLOY_MESSAGES,
    decode: (type, b) => decodeDeployMessage(type as never, b),
    encode: (type, v) => encodeDeployMessage(type as never, v as never)
  },
  {
    name: 'packet',
    types: ['packet'],
    decode: (_type, b) => decodePacket(b),
    encode: (_type, v) => encodePacket(v as never)
  }
]

test('fuzz: mutated and random bytes are canonical values or typed refusals', async (t) => {
  const rand = prng(16)
  for (const f of FORMATS) {
    const bases = vectors(f.name).valid.map((v) => ({
      type: v.type ?? 'packet',
      bytes: unhex(v.hex)
    }))
    const codes = new Map<string, number>()
    let accepted = 0
    let noncanonical = 0
    for (let i = 0; i < 4000; i++) {
      const base = bases[i % bases.length] as { type: string; bytes: Uint8Array }
      // A base's bytes read as another type too: types share no framing but the Protomux index.
      const type =
        i % 7 === 0 ? (f.types[Math.floor(rand() * f.types.length)] as string) : base.type
      let input: Uint8Array
      if (i % 5 === 0) {
        input = new Uint8Array(Math.floor(rand() * 200))
        for (let j = 0; j < input.length; j++) input[j] = Math.floor(rand() * 256)
      } else {
        input = new Uint8Array(base.bytes)
        const flips = 1 + Math.floor(rand() * 3)
        for (let k = 0; k < flips && input.length > 0; k++) {
          const at = Math.floor(rand() * input.length)
          input[at] = (input[at] as number) ^ (1 << Math.floor(rand() * 8))
        }
        if (i % 3 === 0) input = input.subarray(0, Math.floor(rand() * (input.length + 1)))
        if (i % 11 === 0) input = Uint8Array.from([...input, Math.floor(rand() * 256)])
      }
      let value: unknown
      try {
        value = f.decode(type, input)
      } catch (err) {
        if (!(err instanceof QuidError)) throw err
        const code = err.code === 'protocol-violation' ? String(err.details.why) : err.code
        if (!code.startsWith('decode-')) t.fail(`${f.name}: refused with ${code}`)
        codes.set(code, (codes.get(code) ?? 0) + 1)
        continue
      }
      accepted++
      if (toHex(f.encode(type, value)) !== toHex(input)) noncanonical++
    }
    t.equal(noncanonical, 0, `${f.name}: every accepted input is its value's one encoding`)
    t.ok(codes.size >= 4, `${f.name}: ${accepted} accepted, refusals ${JSON.stringify([...codes])}`)
  }
})
