// The native addon (native/ed25519.c) against libsodium, input by input: the base point's table
// against libsodium's scalar multiplication, and the verdicts on good, corrupted and malleated
// signatures from keys used many times (each key's table built once, then reused), as in a replay.
import { test } from 'tap'
import { createRequire } from 'node:module'
import { native } from '../../src/crypto/native.js'
import { verifyTables, verifySodium, verifyNoble } from '../../src/crypto/verify.js'

interface SodiumTest {
  crypto_core_ed25519_scalar_random(out: Buffer): void
  crypto_scalarmult_ed25519_base_noclamp(out: Buffer, s: Buffer): void
  crypto_sign_seed_keypair(pk: Buffer, sk: Buffer, seed: Buffer): void
  crypto_sign_detached(sig: Buffer, msg: Uint8Array, sk: Buffer): void
}
const sodium = createRequire(import.meta.url)('sodium-native') as SodiumTest

const L = 2n ** 252n + 27742317777372353535851937790883648493n
function le(n: bigint): Buffer {
  const out = Buffer.alloc(32)
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 255n)
  return out
}
function fromLe(b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] as number)
  return n
}

// A small deterministic generator, so a failure names an input that can be replayed.
function prng(seed: number): (n: number) => Buffer {
  let x = seed >>> 0
  return (n) => {
    const out = Buffer.alloc(n)
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0
      out[i] = x >>> 24
    }
    return out
  }
}

test('the native addon is built (postinstall) unless QUID_SKIP_NATIVE=1', async (t) => {
  if (process.env.QUID_SKIP_NATIVE === '1') t.equal(native, null, 'skipped on request')
  else t.ok(native, 'native/build/Release/quid_ed25519.node loads')
})

test(
  '[s]B from the base table equals libsodium for edge and random scalars',
  { skip: !native },
  async (t) => {
    const addon = native as NonNullable<typeof native>
    const scalars = [
      0n,
      1n,
      2n,
      7n,
      8n,
      15n,
      16n,
      255n,
      256n,
      2n ** 128n,
      2n ** 252n - 1n,
      2n ** 252n,
      L - 2n,
      L - 1n
    ]
    const random = Buffer.alloc(32)
    for (let i = 0; i < 500; i++) {
      sodium.crypto_core_ed25519_scalar_random(random)
      scalars.push(fromLe(random))
    }
    let same = 0
    for (const s of scalars) {
      const mine = Buffer.alloc(32)
      const theirs = Buffer.alloc(32)
      addon.base(mine, le(s))
      if (s === 0n) {
        t.same(mine, le(1n), '[0]B is the identity, encoded as y = 1')
        same++
        continue
      }
      sodium.crypto_scalarmult_ed25519_base_noclamp(theirs, le(s))
      if (mine.equals(theirs)) same++
      else t.fail(`[${s}]B differs`)
    }
    t.equal(same, scalars.length, `${scalars.length} scalars agree`)
    t.throws(
      () => addon.base(Buffer.alloc(32), le(L)),
      /below L/,
      'a scalar of L or more is refused'
    )
  }
)

test('verdicts equal libsodium on 6,000 signatures from 12 keys', { skip: !native }, async (t) => {
  const rand = prng(7)
  const keys = Array.from({ length: 12 }, () => {
    const pk = Buffer.alloc(32)
    const sk = Buffer.alloc(64)
    sodium.crypto_sign_seed_keypair(pk, sk, rand(32))
    return { pk, sk }
  })
  let accepted = 0
  let differ = 0
  for (let i = 0; i < 6000; i++) {
    const key = keys[i % keys.length] as { pk: Buffer; sk: Buffer }
    const msg = rand(i % 5 === 0 ? 1 + (i % 300) : 64)
    const sig = Buffer.alloc(64)
    sodium.crypto_sign_detached(sig, msg, key.sk)
    switch (i % 6) {
      case 1: // one bit of R or S
        sig[i % 64] = (sig[i % 64] as number) ^ (1 << i % 8)
        break
      case 2: // one bit of the message
        msg[i % msg.length] = (msg[i % msg.length] as number) ^ 1
        break
      case 3: {
        // S + L: the classic malleation, the same point
        sig.set(le(fromLe(sig.subarray(32)) + L), 32)
        break
      }
      case 4: // another key's table
        break
    }
    const pub = i % 6 === 4 ? (keys[(i + 1) % keys.length] as { pk: Buffer }).pk : key.pk
    const mine = verifyTables(sig, msg, pub)
    if (mine !== verifySodium(sig, msg, pub)) {
      differ++
      t.fail(`signature ${i} judged differently from libsodium`)
    }
    if (mine) accepted++
  }
  t.equal(differ, 0, 'no verdict differs')
  t.equal(accepted, 2000, 'exactly the untouched signatures (cases 0 and 5) are accepted')
})

test('keys the rule refuses never get a table and never verify', { skip: !native }, async (t) => {
  const sig = Buffer.alloc(64)
  const msg = Buffer.alloc(64, 1)
  const identity = le(1n) // the neutral point: small order
  t.notOk(verifyTables(sig, msg, identity), 'a small-order key')
  t.notOk(verifyNoble(sig, msg, identity), 'the rule agrees')
  const nonCanonical = le(2n ** 255n - 19n + 1n) // y = p + 1
  t.notOk(verifyTables(sig, msg, nonCanonical), 'a non-canonical key')
  t.notOk(verifyTables(sig.subarray(0, 63), msg, le(9n)), 'a short signature')
})
