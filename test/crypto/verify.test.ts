// Every verifier engine against the strict rule (noble, zip215: false): RFC 8032 vectors, all 151
// Wycheproof vectors, malleated S + L, non-canonical encodings, small-order keys, and a mixed-order
// R that only the cofactored equation accepts. A fast engine may only ever accept a subset of what
// the rule accepts; `verifySignature` must give the rule's verdict on every input, on every engine.
import { test, type Test } from 'tap'
import { readFileSync } from 'node:fs'
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import {
  engines,
  useEngine,
  currentEngine,
  verifySignature,
  verifyNoble,
  signFast,
  isStrictKey,
  type Engine
} from '../../src/crypto/verify.js'
import { keyPairFromSeed } from '../../src/crypto/identity.js'
import { toHex } from '../../src/core/bytes.js'
import { fromLe, hex, L, le, P } from './numbers.js'

// RFC 8032, section 7.1: seed, public key, message, signature.
const RFC8032: Array<[string, string, string, string]> = [
  [
    '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    '',
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
  ],
  [
    '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    '72',
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'
  ],
  [
    'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    'af82',
    '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'
  ],
  [
    '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704'
  ]
]

// The eight points of small order (1, 2, 4, 8), canonically encoded.
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '0000000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85'
]

const available = (Object.keys(engines) as Engine[]).filter((e) => engines[e] !== null)

function withS(sig: Uint8Array, s: bigint): Uint8Array {
  const out = new Uint8Array(sig)
  out.set(le(s), 32)
  return out
}

/** Runs `fn` with each engine selected, restoring the default afterwards. */
function eachEngine(fn: (engine: Engine) => void): void {
  const before = currentEngine()
  try {
    for (const e of available) {
      useEngine(e)
      fn(e)
    }
  } finally {
    useEngine(before)
  }
}

/** Asserts the rule's verdict from verifySignature on every engine, and the subset property. */
function judge(
  t: Test,
  sig: Uint8Array,
  msg: Uint8Array,
  pub: Uint8Array,
  expect: boolean,
  what: string
): void {
  t.equal(verifyNoble(sig, msg, pub), expect, `${what}: the rule (noble strict)`)
  eachEngine((e) => {
    t.equal(verifySignature(sig, msg, pub), expect, `${what}: verifySignature on ${e}`)
    const alone = (engines[e] as (s: Uint8Array, m: Uint8Array, p: Uint8Array) => boolean)(
      sig,
      msg,
      pub
    )
    if (alone) t.ok(expect, `${what}: ${e} alone accepts only what the rule accepts`)
  })
}

test('three fast engines are available here besides noble', async (t) => {
  t.ok(engines.node, 'node:crypto')
  t.ok(engines.sodium, 'sodium-native (Hypercore depends on it)')
  if (process.env.QUID_SKIP_NATIVE === '1') {
    t.equal(engines.tables, null, 'the native addon is skipped on request')
    t.equal(currentEngine(), 'sodium', 'libsodium is then the default')
    return
  }
  t.ok(engines.tables, "quid's native addon (built by postinstall)")
  t.equal(currentEngine(), 'tables', 'the fastest one is the default')
})

test('RFC 8032 section 7.1: keys, signatures and verdicts on every engine', async (t) => {
  for (const [seedHex, pubHex, msgHex, sigHex] of RFC8032) {
    const kp = keyPairFromSeed(hex(seedHex))
    t.equal(toHex(kp.publicKey), pubHex, 'public key from seed')
    const msg = msgHex ? hex(msgHex) : new Uint8Array(0)
    t.equal(toHex(signFast(msg, kp.secretKey)), sigHex, 'deterministic signature, byte for byte')
    judge(t, hex(sigHex), msg, kp.publicKey, true, `vector ${pubHex.slice(0, 8)}`)
    const flipped = hex(sigHex)
    flipped[10] = (flipped[10] as number) ^ 1
    judge(t, flipped, msg, kp.publicKey, false, `vector ${pubHex.slice(0, 8)} with R flipped`)
  }
})

test('all 151 Wycheproof vectors give the expected verdict on every engine', async (t) => {
  const data = JSON.parse(
    readFileSync(new URL('../fixtures/wycheproof-ed25519_test.json', import.meta.url), 'utf8')
  ) as {
    testGroups: Array<{
      publicKey: { pk: string }
      tests: Array<{ tcId: number; msg: string; sig: string; result: string }>
    }>
  }
  let n = 0
  const before = currentEngine()
  t.teardown(() => useEngine(before))
  for (const group of data.testGroups) {
    const pub = hex(group.publicKey.pk)
    for (const v of group.tests) {
      n++
      const sig =
        v.sig.length % 2 === 0 ? new Uint8Array(Buffer.from(v.sig, 'hex')) : new Uint8Array(0)
      const msg = new Uint8Array(Buffer.from(v.msg, 'hex'))
      const expect = v.result === 'valid'
      const got: string[] = []
      if (verifyNoble(sig, msg, pub) !== expect) got.push('noble')
      for (const e of available) {
        useEngine(e)
        if (verifySignature(sig, msg, pub) !== expect) got.push(e)
        const alone = (engines[e] as (s: Uint8Array, m: Uint8Array, p: Uint8Array) => boolean)(
          sig,
          msg,
          pub
        )
        if (alone && !expect) got.push(`${e}-alone`)
      }
      if (got.length) t.fail(`tcId ${v.tcId} (${v.result}): wrong verdict from ${got.join(', ')}`)
    }
  }
  t.equal(n, 151, 'every vector was run')
})

test('malleability: S + L and S = L are refused; the original S is accepted', async (t) => {
  const kp = keyPairFromSeed(new Uint8Array(32).fill(9))
  const msg = new TextEncoder().encode('quid: a record id')
  const sig = signFast(msg, kp.secretKey)
  const s = fromLe(sig.subarray(32))
  judge(t, sig, msg, kp.publicKey, true, 'original')
  judge(t, withS(sig, s + L), msg, kp.publicKey, false, 'S + L')
  judge(t, withS(sig, L), msg, kp.publicKey, false, 'S = L')
  judge(t, withS(sig, 2n ** 256n - 1n), msg, kp.publicKey, false, 'S = 2^256 - 1')
})

test('small-order public keys are refused, whatever the signature (noble default ZIP-215 would accept)', async (t) => {
  const msg = new TextEncoder().encode('anything at all')
  for (const enc of SMALL_ORDER) {
    const pub = hex(enc)
    t.notOk(isStrictKey(pub), `${enc.slice(0, 8)} is not a strict key`)
    // R = identity, S = 0: under ZIP-215 this verifies for the identity key and any message.
    const sig = new Uint8Array(64)
    sig.set(hex(SMALL_ORDER[0] as string), 0)
    judge(t, sig, msg, pub, false, `small-order key ${enc.slice(0, 8)}`)
  }
  const identity = hex(SMALL_ORDER[0] as string)
  const forged = new Uint8Array(64)
  forged.set(identity, 0)
  t.ok(
    ed.verify(forged, msg, identity),
    'noble with its default (ZIP-215) rules would accept this forgery'
  )
})

test('non-canonical encodings of A and R are refused', async (t) => {
  const kp = keyPairFromSeed(new Uint8Array(32).fill(3))
  const msg = new TextEncoder().encode('canonical only')
  const sig = signFast(msg, kp.secretKey)
  // y = p + 1 encodes the identity non-canonically (y >= p); as a key it must be refused.
  const yP1 = le(P + 1n)
  t.notOk(isStrictKey(yP1), 'y = p + 1 is not a strict key')
  judge(t, sig, msg, yP1, false, 'key with y >= p')
  // x = 0 with the sign bit set (negative zero) for y = 1.
  const negZero = le(1n)
  negZero[31] = (negZero[31] as number) | 0x80
  judge(t, sig, msg, negZero, false, 'key with x = 0 and sign bit')
  // R replaced by a non-canonical encoding: y >= p.
  const badR = new Uint8Array(sig)
  badR.set(le(P + 3n), 0)
  judge(t, badR, msg, kp.publicKey, false, 'R with y >= p')
  // Wrong lengths.
  judge(t, sig.subarray(0, 63), msg, kp.publicKey, false, '63-byte signature')
  judge(t, sig, msg, kp.publicKey.subarray(0, 31), false, '31-byte key')
})

test('mixed-order R: only the cofactored equation accepts it, and verifySignature follows the rule', async (t) => {
  // R' = rB + T with T of order 8, S = r + k·a where k = H(R' · A · M). Then SB = R' - T + kA: the
  // cofactorless check (libsodium, OpenSSL) fails, the cofactored one (the rule) holds.
  const seed = new Uint8Array(32).fill(5)
  const ext = ed.utils.getExtendedPublicKey(seed)
  const A = ext.pointBytes
  const a = ext.scalar
  const T = ed.Point.fromBytes(hex(SMALL_ORDER[6] as string))
  const r = 123456789n
  const Rp = ed.Point.BASE.multiply(r).add(T).toBytes()
  const msg = new TextEncoder().encode('mixed order')
  const k = fromLe(sha512(new Uint8Array([...Rp, ...A, ...msg]))) % L
  const S = (r + k * a) % L
  const sig = new Uint8Array(64)
  sig.set(Rp, 0)
  sig.set(le(S), 32)
  t.ok(verifyNoble(sig, msg, A), 'the rule accepts (cofactored)')
  t.notOk(engines.sodium?.(sig, msg, A), 'libsodium alone refuses (cofactorless)')
  t.notOk(engines.node?.(sig, msg, A), 'OpenSSL alone refuses (cofactorless)')
  t.notOk(engines.tables?.(sig, msg, A), 'the native tables alone refuse (cofactorless)')
  judge(t, sig, msg, A, true, 'mixed-order R')
})

test('random keys and messages: every engine agrees with the rule on good and bad signatures', async (t) => {
  let checked = 0
  for (let i = 0; i < 50; i++) {
    const kp = keyPairFromSeed(new Uint8Array(32).fill(i + 20))
    const msg = new Uint8Array(200).fill(i)
    const sig = signFast(msg, kp.secretKey)
    const bad = new Uint8Array(sig)
    bad[(i * 13) % 64] = (bad[(i * 13) % 64] as number) ^ (1 << i % 8)
    eachEngine(() => {
      if (verifySignature(sig, msg, kp.publicKey) !== true) t.fail(`good signature ${i} refused`)
      if (verifySignature(bad, msg, kp.publicKey) !== verifyNoble(bad, msg, kp.publicKey))
        t.fail(`bad signature ${i} judged differently`)
      checked++
    })
  }
  t.equal(checked, 50 * available.length)
})
