// The record format: round trips, committed hex vectors, strict decoding, and a fuzz of 10,000
// random and mutated inputs that must each end in a typed error and never in an accepted record.
import { test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { decodeEntry, encodeEntry, encodeBody, recordId } from '../../src/ledger/codecs.js'
import { signRecord, checkSignatures } from '../../src/ledger/sign.js'
import { toHex, fromHex } from '../../src/core/bytes.js'
import { QuidError } from '../../src/core/errors.js'
import { RECORD_TYPES, type LedgerRecord, type SignedRecord } from '../../src/ledger/records.js'
import { seed } from '../helpers.js'

const A = seed(1)
const B = seed(2)
const T = 1_800_000_000_000
const nonce = new Uint8Array(16).fill(7)
const h = (n: number): Uint8Array => new Uint8Array(32).fill(n)

/** One fixed example of every record type: the committed vectors pin their bytes. */
export function examples(): SignedRecord[] {
  const req = {
    host: A.publicKey,
    owner: B.publicKey,
    time: T,
    codeHash: h(9),
    codeSize: 1234,
    resources: { cpu: 5n, disk: 1000n, net: 0n },
    claims: [
      { claim: h(3), root: h(4), resource: 'cpu' as const, amount: 5n },
      { claim: h(5), root: h(6), resource: 'disk' as const, amount: 1000n }
    ],
    nonce
  }
  const records: Array<[LedgerRecord, (typeof A)[]]> = [
    [
      {
        type: 'capacity',
        host: A.publicKey,
        time: T,
        mips: 2500,
        limits: { cpu: 31557600n * 10n, disk: 10_000_000n, net: 100_000_000n }
      },
      [A]
    ],
    [
      {
        type: 'agreement',
        a: A.publicKey,
        b: B.publicKey,
        time: T,
        expires: T + 86_400_000,
        nonce,
        legs: [
          { issuer: 'a', resource: 'cpu', amount: 315576000n },
          { issuer: 'b', resource: 'disk', amount: 10_000_000n }
        ]
      },
      [A, B]
    ],
    [
      {
        type: 'issue',
        issuer: A.publicKey,
        holder: B.publicKey,
        time: T,
        expires: T + 1,
        nonce,
        legs: [{ resource: 'net', amount: (1n << 64n) - 1n }]
      },
      [A, B]
    ],
    [
      {
        type: 'transfer',
        sender: A.publicKey,
        receiver: B.publicKey,
        time: T,
        claim: h(3),
        amount: 1n,
        nonce
      },
      [A, B]
    ],
    [
      {
        type: 'admit',
        host: A.publicKey,
        time: T,
        request: req,
        ownerSignature: new Uint8Array(64).fill(1)
      },
      [A]
    ],
    [
      {
        type: 'usage',
        host: A.publicKey,
        time: T,
        guest: h(8),
        used: { cpu: 1n, disk: 2n, net: 3n }
      },
      [A]
    ],
    [
      {
        type: 'evict',
        host: A.publicKey,
        time: T,
        guest: h(8),
        used: { cpu: 1n, disk: 0n, net: 3n },
        reason: 'cpu-exhausted'
      },
      [A]
    ],
    [{ type: 'checkpoint', author: A.publicKey, time: T, length: 42, state: h(10) }, [A]]
  ]
  return records.map(([r, kps]) => {
    // The admit's owner signature is a placeholder here: these vectors pin layout, not validity.
    if (r.type === 'admit') {
      const id = recordId(r)
      const sig = signRecord(
        {
          type: 'usage',
          host: A.publicKey,
          time: T,
          guest: id,
          used: { cpu: 0n, disk: 0n, net: 0n }
        },
        [A]
      ).signatures[0] as Uint8Array
      return decodeEntry(encodeEntry(r, [sig]))
    }
    return signRecord(r, kps)
  })
}

const VECTORS = new URL('../fixtures/record-vectors.json', import.meta.url)

test('every record type round-trips and matches its committed hex vector', async (t) => {
  const ex = examples()
  t.same(
    ex.map((s) => s.record.type),
    [...RECORD_TYPES],
    'one example per type'
  )
  if (process.env.QUID_WRITE_VECTORS) {
    writeFileSync(
      VECTORS,
      JSON.stringify(
        ex.map((s) => ({ type: s.record.type, id: toHex(s.id), hex: toHex(s.bytes) })),
        null,
        2
      ) + '\n'
    )
  }
  const vectors = JSON.parse(readFileSync(VECTORS, 'utf8')) as Array<{
    type: string
    id: string
    hex: string
  }>
  for (const [i, s] of ex.entries()) {
    const v = vectors[i] as { type: string; id: string; hex: string }
    t.equal(toHex(s.bytes), v.hex, `${v.type}: bytes unchanged`)
    t.equal(toHex(s.id), v.id, `${v.type}: id unchanged`)
    const back = decodeEntry(fromHex(v.hex, v.hex.length / 2))
    t.same(back.record, s.record, `${v.type}: decode(encode(x)) = x`)
    t.same(encodeBody(back.record), encodeBody(s.record))
  }
})

test('strict decoding: trailing bytes, unknown version and type, oversize, truncation', async (t) => {
  const s = examples()[1] as SignedRecord
  const err = (b: Uint8Array): string | undefined => {
    try {
      decodeEntry(b)
      return undefined
    } catch (e) {
      t.ok(e instanceof QuidError, 'typed error')
      return (e as QuidError).code
    }
  }
  t.equal(err(new Uint8Array([...s.bytes, 0])), 'decode-trailing-bytes')
  t.equal(err(new Uint8Array([2, ...s.bytes.subarray(1)])), 'decode-unknown-version')
  t.equal(err(new Uint8Array([1, 99, ...s.bytes.subarray(2)])), 'decode-unknown-type')
  t.equal(err(s.bytes.subarray(0, s.bytes.length - 1)), 'decode-truncated')
  t.equal(err(s.bytes.subarray(0, 20)), 'decode-truncated')
  t.equal(err(new Uint8Array(5000)), 'decode-oversize')
  // legs count byte just after the 16-byte nonce: 1+1+32+32+8+8+16 = 98
  const many = new Uint8Array(s.bytes)
  many[98] = 200
  t.equal(err(many), 'decode-oversize')
  const zero = new Uint8Array(s.bytes)
  // first leg amount (after side + resource bytes) set to 0
  zero.fill(0, 101, 109)
  t.equal(err(zero), 'decode-invalid-field')
  const side = new Uint8Array(s.bytes)
  side[99] = 7
  t.equal(err(side), 'decode-invalid-field')
})

test('fuzz: 10,000 random and mutated byte strings never crash and are never accepted', async (t) => {
  const ex = examples().filter((s) => s.record.type !== 'admit')
  const codes = new Map<string, number>()
  let accepted = 0
  for (let i = 0; i < 10_000; i++) {
    let input: Uint8Array
    if (i % 2 === 0) {
      input = new Uint8Array(randomBytes(1 + (i % 300)))
      if (i % 4 === 0) input[0] = 1 // right version, random rest
      if (i % 8 === 0) input[1] = 1 + (i % 8)
    } else {
      const base = ex[i % ex.length] as SignedRecord
      input = new Uint8Array(base.bytes)
      const flips = 1 + (i % 3)
      for (let f = 0; f < flips; f++) {
        const at = (i * 7919 + f * 104729) % input.length
        input[at] = (input[at] as number) ^ (1 << (i + f) % 8)
      }
      if (i % 5 === 0) input = input.subarray(0, (i * 31) % input.length)
    }
    let code: string
    try {
      const d = decodeEntry(input)
      const bad = checkSignatures(d)
      if (!bad) {
        accepted++
        continue
      }
      code = bad.code
    } catch (e) {
      if (!(e instanceof QuidError)) throw e
      code = e.code
    }
    codes.set(code, (codes.get(code) ?? 0) + 1)
  }
  t.equal(accepted, 0, 'no mutated or random input decodes with valid signatures')
  t.ok(codes.size >= 5, `many kinds of refusal: ${JSON.stringify([...codes])}`)
})

test('encoding refuses values it cannot represent exactly, so nobody signs bytes that say something else', async (t) => {
  const ex = examples()
  const transfer = ex[3]?.record as Extract<LedgerRecord, { type: 'transfer' }>
  const capacity = ex[0]?.record as Extract<LedgerRecord, { type: 'capacity' }>
  const agreement = ex[1]?.record as Extract<LedgerRecord, { type: 'agreement' }>
  const usage = ex[5]?.record as Extract<LedgerRecord, { type: 'usage' }>
  const refused = (r: LedgerRecord, field: RegExp): void => {
    t.throws(() => encodeBody(r), { code: 'bad-argument', message: field }, field.source)
  }
  refused(
    { ...transfer, amount: (1n << 64n) + 5n },
    /amount: 18446744073709551621 is not in 0\.\.2\^64-1/
  )
  refused({ ...capacity, mips: 2500.5 }, /u32 field: 2500\.5 is not an integer/)
  refused({ ...capacity, mips: 2 ** 32 }, /u32 field/)
  refused({ ...capacity, time: -1 }, /time: -1/)
  refused({ ...capacity, time: 1.5 }, /time: 1\.5/)
  refused({ ...capacity, time: 2 ** 53 }, /time/)
  refused({ ...usage, used: { cpu: -1n, disk: 0n, net: 0n } }, /amount: -1/)
  refused({ ...transfer, nonce: new Uint8Array(15) }, /nonce: must be 16 bytes/)
  refused({ ...transfer, claim: new Uint8Array(33) }, /key or id: must be 32 bytes/)
  refused(
    {
      ...agreement,
      legs: [
        { issuer: 'a', resource: 'ram' as never, amount: 1n },
        { issuer: 'b', resource: 'cpu', amount: 1n }
      ]
    },
    /resource: ram/
  )
  t.equal(
    toHex(encodeBody(transfer)),
    toHex(encodeBody(ex[3]?.record as LedgerRecord)),
    'valid records still encode'
  )
})
