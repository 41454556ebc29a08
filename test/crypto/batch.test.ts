// Batch verification (verifyMany, native verifyBatch): every signature gets the rule's verdict,
// whether it sits in a batch of good ones or not, and a batch accepts only when every signature
// in it satisfies the rule.
import { test } from 'tap'
import { readFileSync } from 'node:fs'
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import {
  BATCH_SIZE,
  signFast,
  verifyMany,
  verifyNoble,
  type SignatureCheck
} from '../../src/crypto/verify.js'
import { native } from '../../src/crypto/native.js'
import { keyPairFromSeed } from '../../src/crypto/identity.js'
import { fromLe, hex, L, le, P } from './numbers.js'

/** Good signatures from a few keys: the company an odd one keeps in a batch. */
function goodOnes(n: number, keys = 3): SignatureCheck[] {
  const kps = Array.from({ length: keys }, (_, i) =>
    keyPairFromSeed(new Uint8Array(32).fill(i + 1))
  )
  return Array.from({ length: n }, (_, i) => {
    const kp = kps[i % keys] as (typeof kps)[number]
    const msg = new Uint8Array(64).fill(i & 255)
    msg[0] = i >> 8
    return { sig: signFast(msg, kp.secretKey), msg, pub: kp.publicKey }
  })
}

/** Each odd check at position `at` of a batch of good ones: verifyMany must give the rule's verdict. */
function amongGood(odd: SignatureCheck[], at: number): { want: boolean[]; got: boolean[] } {
  const want: boolean[] = []
  const got: boolean[] = []
  const good = goodOnes(BATCH_SIZE - 1)
  for (const c of odd) {
    const batch = [...good.slice(0, at), c, ...good.slice(at)]
    const v = verifyMany(batch)
    want.push(verifyNoble(c.sig, c.msg, c.pub))
    got.push(v[at] as boolean)
    if (v.some((x, i) => i !== at && !x)) got[got.length - 1] = !want[want.length - 1]
  }
  return { want, got }
}

test(
  'a batch of good signatures from several keys is accepted, in one call',
  { skip: !native },
  async (t) => {
    const checks = goodOnes(3 * BATCH_SIZE + 5, 7)
    t.ok(
      verifyMany(checks).every((x) => x),
      'all accepted'
    )
    t.ok(
      verifyMany(goodOnes(BATCH_SIZE, BATCH_SIZE)).every((x) => x),
      'a batch of distinct keys'
    )
  }
)

test('Wycheproof: every vector, in a batch of good signatures, gets its expected verdict', async (t) => {
  const data = JSON.parse(
    readFileSync(new URL('../fixtures/wycheproof-ed25519_test.json', import.meta.url), 'utf8')
  ) as {
    testGroups: Array<{
      publicKey: { pk: string }
      tests: Array<{ tcId: number; msg: string; sig: string; result: string }>
    }>
  }
  const odd: SignatureCheck[] = []
  const expect: boolean[] = []
  for (const group of data.testGroups) {
    for (const v of group.tests) {
      odd.push({
        sig: v.sig.length % 2 === 0 ? new Uint8Array(Buffer.from(v.sig, 'hex')) : new Uint8Array(0),
        msg: new Uint8Array(Buffer.from(v.msg, 'hex')),
        pub: hex(group.publicKey.pk)
      })
      expect.push(v.result === 'valid')
    }
  }
  for (const at of [0, 17, BATCH_SIZE - 1]) {
    const { want, got } = amongGood(odd, at)
    t.same(want, expect, 'the rule gives the expected verdicts')
    t.same(got, expect, `at position ${at} of a batch: the same verdicts`)
  }
})

test('malleated S, non-canonical R, small-order R and mixed-order R: the rule decides', async (t) => {
  const seed = new Uint8Array(32).fill(5)
  const kp = keyPairFromSeed(seed)
  const msg = new Uint8Array(64).fill(42)
  const sig = signFast(msg, kp.secretKey)
  const s = fromLe(sig.subarray(32))
  const withS = (v: bigint): Uint8Array => {
    const out = new Uint8Array(sig)
    out.set(le(v), 32)
    return out
  }
  const withR = (r: Uint8Array): Uint8Array => {
    const out = new Uint8Array(sig)
    out.set(r, 0)
    return out
  }
  // R' = rB + T with T of order 8, S = r + k·a: only the cofactored equation accepts it.
  const ext = ed.utils.getExtendedPublicKey(seed)
  const T = ed.Point.fromBytes(
    hex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa')
  )
  const r = 987654321n
  const Rp = ed.Point.BASE.multiply(r).add(T).toBytes()
  const k = fromLe(sha512(new Uint8Array([...Rp, ...ext.pointBytes, ...msg]))) % L
  const mixed = new Uint8Array(64)
  mixed.set(Rp, 0)
  mixed.set(le((r + k * ext.scalar) % L), 32)
  const negZero = le(1n)
  negZero[31] = (negZero[31] as number) | 0x80
  const cases: Array<[string, Uint8Array]> = [
    ['S + L', withS(s + L)],
    ['S = L', withS(L)],
    ['S = 2^256 - 1', withS(2n ** 256n - 1n)],
    ['R with y = p + 3', withR(le(P + 3n))],
    ['R with x = 0 and the sign bit', withR(negZero)],
    ['R the identity', withR(le(1n))],
    ['R not on the curve', withR(le(2n))],
    ['mixed-order R', mixed],
    ['the original', sig]
  ]
  const odd = cases.map(([, sig]) => ({ sig, msg, pub: kp.publicKey }))
  for (const at of [0, 30]) {
    const { want, got } = amongGood(odd, at)
    cases.forEach(([what], i) =>
      t.equal(got[i], want[i], `${what} at ${at}: the rule's verdict (${want[i]})`)
    )
  }
  t.ok(verifyNoble(mixed, msg, kp.publicKey), 'the rule accepts the mixed-order R')
  t.ok(verifyMany([mixed, sig].map((x) => ({ sig: x, msg, pub: kp.publicKey }))).every(Boolean))
})

test(
  'native verifyBatch refuses a batch with any one signature broken, wherever it is',
  { skip: !native },
  async (t) => {
    const good = goodOnes(BATCH_SIZE, 4)
    const byKey = new Map<string, number>()
    const tablesOf: Uint8Array[] = []
    // Tables as verify.ts builds them: through a first verifyMany per key.
    verifyMany(good)
    const addon = native as NonNullable<typeof native>
    // Build the inputs the way verify.ts does, independently (noble's hash and reduction).
    const keyOf = new Uint32Array(good.length)
    const sigs = new Uint8Array(64 * good.length)
    const ks = new Uint8Array(32 * good.length)
    good.forEach((c, i) => {
      const id = Buffer.from(c.pub).toString('hex')
      let k = byKey.get(id)
      if (k === undefined) {
        k = tablesOf.length
        byKey.set(id, k)
        const { x, y } = ed.Point.fromBytes(c.pub, false).toAffine()
        const table = new Uint8Array(new ArrayBuffer(addon.tableBytes))
        addon.table(table, le(x), le(y))
        tablesOf.push(table)
      }
      keyOf[i] = k
      sigs.set(c.sig, 64 * i)
      ks.set(
        le(fromLe(sha512(new Uint8Array([...c.sig.subarray(0, 32), ...c.pub, ...c.msg]))) % L),
        32 * i
      )
    })
    const zs = (): Uint8Array =>
      new Uint8Array(
        Buffer.from(Array.from({ length: 16 * good.length }, () => Math.floor(Math.random() * 256)))
      )
    t.ok(addon.verifyBatch(tablesOf, keyOf, sigs, ks, zs()), 'the good batch passes')
    let refused = 0
    for (let i = 0; i < good.length; i += 7) {
      for (const at of [5, 40]) {
        const bad = new Uint8Array(sigs)
        bad[64 * i + at] = (bad[64 * i + at] as number) ^ 1
        if (!addon.verifyBatch(tablesOf, keyOf, bad, ks, zs())) refused++
        else t.fail(`a flip in byte ${at} of signature ${i} passed the batch`)
      }
      const wrongK = new Uint8Array(ks)
      wrongK[32 * i] = (wrongK[32 * i] as number) ^ 1
      if (!addon.verifyBatch(tablesOf, keyOf, sigs, wrongK, zs())) refused++
      else t.fail(`a wrong k for signature ${i} passed the batch`)
      const otherKey = new Uint32Array(keyOf)
      otherKey[i] = ((otherKey[i] as number) + 1) % tablesOf.length
      if (!addon.verifyBatch(tablesOf, otherKey, sigs, ks, zs())) refused++
      else t.fail(`signature ${i} under another key passed the batch`)
    }
    t.equal(refused, 4 * Math.ceil(good.length / 7), 'every broken batch is refused')
    t.throws(
      () => addon.verifyBatch(tablesOf, new Uint32Array(0), sigs, ks, zs()),
      'an empty batch is a usage error'
    )
    t.throws(
      () => addon.verifyBatch(tablesOf, keyOf, sigs.subarray(1), ks, zs()),
      'short signatures are a usage error'
    )
  }
)

test('random corruptions in long runs: verifyMany equals the rule on every signature', async (t) => {
  const good = goodOnes(400, 5)
  const checks = good.map((c, i) => {
    if (i % 9 !== 4) return c
    const sig = new Uint8Array(c.sig)
    sig[(i * 31) % 64] = (sig[(i * 31) % 64] as number) ^ (1 << i % 8)
    return { ...c, sig }
  })
  const got = verifyMany(checks)
  const want = checks.map((c) => verifyNoble(c.sig, c.msg, c.pub))
  t.same(got, want, 'the same verdict on each of 400')
  t.ok(want.filter((x) => !x).length >= 40, 'and many are refused')
})
