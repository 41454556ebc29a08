// BLAKE2b-256: the libsodium fast path gives the same bytes as @noble/hashes, the reference, on
// every input, and ids handed out never share or change bytes.
import { test } from 'tap'
import { randomBytes } from 'node:crypto'
import {
  blake2b256,
  blake2b256Noble,
  blake2b256Sodium,
  signable,
  namespace
} from '../../src/crypto/hash.js'
import { toHex } from '../../src/core/bytes.js'

const hex = (b: Uint8Array): string => toHex(b)

test('known answers (BLAKE2b with a 32-byte output)', async (t) => {
  const enc = new TextEncoder()
  for (const f of [blake2b256, blake2b256Noble, blake2b256Sodium]) {
    t.equal(
      hex(f(new Uint8Array(0))),
      '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8',
      `${f.name}: empty`
    )
    t.equal(
      hex(f(enc.encode('abc'))),
      'bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319',
      `${f.name}: abc`
    )
  }
})

test('libsodium equals noble on random inputs of every size up to 1 KiB, around block edges, and long', async (t) => {
  const sizes: number[] = []
  for (let n = 0; n <= 1024; n++) sizes.push(n)
  // BLAKE2b works in 128-byte blocks; the last block is treated apart, so edges matter.
  for (const b of [1, 2, 3, 8, 64]) for (const d of [-1, 0, 1]) sizes.push(128 * b + d)
  sizes.push(65_537, 1 << 20, (1 << 20) + 3)
  for (let i = 0; i < 500; i++) sizes.push(Math.floor(Math.random() * 4096))
  let mismatches = 0
  for (const n of sizes) {
    const data = new Uint8Array(randomBytes(n))
    const want = hex(blake2b256Noble(data))
    if (hex(blake2b256Sodium(data)) !== want || hex(blake2b256(data)) !== want) {
      mismatches++
      t.fail(`differs on ${n} bytes: ${hex(data.subarray(0, 32))}...`)
    }
  }
  t.equal(mismatches, 0, `${sizes.length} inputs agree`)
})

test('inputs that are views at an offset into a larger buffer hash as their own bytes', async (t) => {
  const big = new Uint8Array(randomBytes(4096))
  for (let i = 0; i < 200; i++) {
    const start = Math.floor(Math.random() * 2048)
    const view = big.subarray(start, start + Math.floor(Math.random() * 2048))
    t.equal(
      hex(blake2b256Sodium(view)),
      hex(blake2b256Noble(new Uint8Array(view))),
      `view ${start}+${view.byteLength}`
    )
  }
})

test('every hash and signable message owns its bytes: later calls never overwrite earlier ones', async (t) => {
  const inputs = Array.from({ length: 2000 }, (_, i) => new Uint8Array([i & 255, i >> 8]))
  const outs = inputs.map((x) => blake2b256(x))
  const msgs = outs.map((id) => signable('issue', id))
  t.ok(
    inputs.every((x, i) => hex(outs[i] as Uint8Array) === hex(blake2b256Noble(x))),
    'each id still holds its own hash'
  )
  t.ok(
    msgs.every((m, i) => hex(m) === hex(namespace('issue')) + hex(outs[i] as Uint8Array)),
    'each message is namespace · id'
  )
  t.equal(new Set(outs.map(hex)).size, outs.length, 'distinct inputs, distinct ids')
  ;(outs[0] as Uint8Array).fill(0)
  t.equal(
    hex(outs[1] as Uint8Array),
    hex(blake2b256Noble(inputs[1] as Uint8Array)),
    'writing one id leaves the next alone'
  )
})
