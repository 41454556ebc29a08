/**
 * Ed25519 signing and strict verification, with one rule and several engines.
 *
 * The rule is @noble/ed25519's strict branch (`zip215: false`), the reference implementation:
 *   - A (public key) and R (first half of the signature) must be canonical encodings (y < p, and
 *     x = 0 never with the sign bit set);
 *   - S must be below the group order L (so S + L, the classic malleation, is refused);
 *   - A must not be of small order (the eight points of order 1, 2, 4 or 8 are refused as keys,
 *     whatever the signature); R may be of any order;
 *   - the cofactored equation [8][S]B = [8]R + [8][k]A holds.
 *
 * Noble verifies about 1,100 signatures a second here, far too slow for replay, so a faster engine
 * answers first: quid's native addon ("tables": per-key tables of multiples, native/ed25519.c),
 * libsodium (sodium-native, which Hypercore already ships) or OpenSSL (node:crypto). The addon
 * decides exactly as libsodium does, on keys the rule accepts, about twice as fast once a key's
 * table is built; it is the default when it was built.
 * All accept only a subset of what the rule accepts: each requires S < L and a canonical R (it
 * compares R's bytes with the canonical encoding of the point it computes), each checks the
 * cofactorless equation, which implies the cofactored one, and libsodium also refuses small-order
 * and non-canonical keys. OpenSSL does not refuse small-order keys, so a key is first checked once
 * with noble (and cached). An acceptance by the fast engine is therefore final; a refusal is
 * confirmed by noble, so the verdict is the rule's on every input. Refusals are rare on honest
 * data, so the hot path never touches noble. test/crypto/verify.test.ts holds every engine to the
 * reference on RFC 8032, Wycheproof, malleated, non-canonical and small-order inputs.
 */
import { createPublicKey, randomBytes, verify as nodeVerify, type KeyObject } from 'node:crypto'
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import { sodium } from './sodium.js'
import { native } from './native.js'
import { remember } from '../core/remember.js'

ed.hashes.sha512 = sha512

export type Engine = 'tables' | 'sodium' | 'node' | 'noble'

/** The Ed25519 public key of a 32-byte seed. */
export function publicKeyOf(seed: Uint8Array): Uint8Array {
  return ed.getPublicKey(seed)
}

/** The strict rule itself: noble, strict branch. Slow; the reference for every other engine. */
export function verifyNoble(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  if (sig.byteLength !== 64 || pub.byteLength !== 32) return false
  try {
    return ed.verify(sig, msg, pub, { zip215: false })
  } catch {
    return false
  }
}

/** Whether a public key is acceptable under the rule: canonical and not of small order. */
export function isStrictKey(pub: Uint8Array): boolean {
  if (pub.byteLength !== 32) return false
  try {
    return !ed.Point.fromBytes(pub, false).isSmallOrder()
  } catch {
    return false
  }
}

// Keys are checked and imported into OpenSSL once; a participant signs many records.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const KEY_CACHE_MAX = 4096
const nodeKeys = new Map<string, KeyObject | null>()

/** `remember` keyed by a public key's bytes. */
function perKey<T>(cache: Map<string, T>, max: number, pub: Uint8Array, make: () => T): T {
  const k = Buffer.from(pub.buffer, pub.byteOffset, pub.byteLength).toString('latin1')
  return remember(cache, max, k, make)
}

function nodeKey(pub: Uint8Array): KeyObject | null {
  return perKey(nodeKeys, KEY_CACHE_MAX, pub, () =>
    isStrictKey(pub)
      ? createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' })
      : null
  )
}

/** libsodium's verdict alone (accepts a subset of the rule). */
export function verifySodium(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  if (!sodium) throw new Error('sodium-native is not available')
  if (sig.byteLength !== 64 || pub.byteLength !== 32) return false
  return sodium.crypto_sign_verify_detached(sig, msg, pub)
}

/** OpenSSL's verdict, behind the one-time key check (accepts a subset of the rule). */
export function verifyNode(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  if (sig.byteLength !== 64 || pub.byteLength !== 32) return false
  const key = nodeKey(pub)
  if (key === null) return false
  try {
    return nodeVerify(null, msg, key, sig)
  } catch {
    return false
  }
}

// Tables: 40 KiB per key, built the first time a key is used (about three verifies' worth of
// work) and kept for the next; the oldest goes first when the cache is full.
const TABLE_CACHE_MAX = 1024
const tables = new Map<string, Uint8Array | null>()
const hashIn = Buffer.alloc(128)
const digest = Buffer.alloc(64)
const reduced = Buffer.alloc(32)

function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 255n)
  return out
}

function keyTable(pub: Uint8Array): Uint8Array | null {
  return perKey(tables, TABLE_CACHE_MAX, pub, () => {
    if (!isStrictKey(pub)) return null
    const addon = native as NonNullable<typeof native>
    const { x, y } = ed.Point.fromBytes(pub, false).toAffine()
    // A fresh ArrayBuffer is 8-byte aligned, as the addon requires.
    const table = new Uint8Array(new ArrayBuffer(addon.tableBytes))
    addon.table(table, le32(x), le32(y))
    return table
  })
}

/**
 * The native addon's verdict (accepts a subset of the rule): the cofactorless equation, S < L, R
 * compared with a canonical encoding, on keys the rule accepts (checked once, with the table).
 */
export function verifyTables(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  if (!native) throw new Error('the native addon is not available')
  if (sig.byteLength !== 64 || pub.byteLength !== 32) return false
  const table = keyTable(pub)
  if (table === null) return false
  // k = SHA-512(R · A · M) mod L, by libsodium (which the addon does not link).
  const input = msg.byteLength === 64 ? hashIn : Buffer.alloc(64 + msg.byteLength)
  input.set(sig.subarray(0, 32), 0)
  input.set(pub, 32)
  input.set(msg, 64)
  const s = sodium as NonNullable<typeof sodium>
  s.crypto_hash_sha512(digest, input)
  s.crypto_core_ed25519_scalar_reduce(reduced, digest)
  return native.verify(table, sig, reduced)
}

/** One signature to check: `sig` over `msg` by `pub`. */
export interface SignatureCheck {
  sig: Uint8Array
  msg: Uint8Array
  pub: Uint8Array
}

/** Signatures per native batch: the shared work (128 doublings, [s]B, one [c]A per key) is spread
 * over them, and one bad signature sends only its batch to the single path. */
export const BATCH_SIZE = 64

/**
 * The rule's verdict on each check, as verifySignature would give it, faster when many come at
 * once: on the tables engine, up to BATCH_SIZE signatures are checked together (native
 * verifyBatch, the cofactored equation with random multipliers). A batch that passes accepts
 * each of its signatures under the rule: S < L, R canonical, the key strict (it has a table), and
 * the cofactored equation. A batch that fails is decided signature by signature.
 */
export function verifyMany(checks: readonly SignatureCheck[]): boolean[] {
  const out = new Array<boolean>(checks.length).fill(false)
  if (engine !== 'tables' || !native) {
    checks.forEach((c, i) => (out[i] = verifySignature(c.sig, c.msg, c.pub)))
    return out
  }
  for (let start = 0; start < checks.length; start += BATCH_SIZE)
    verifyBatch(checks, start, Math.min(checks.length, start + BATCH_SIZE), out)
  return out
}

function verifyBatch(
  checks: readonly SignatureCheck[],
  start: number,
  end: number,
  out: boolean[]
): void {
  const addon = native as NonNullable<typeof native>
  const s = sodium as NonNullable<typeof sodium>
  const batch: number[] = []
  const tablesOf = new Map<Uint8Array, number>()
  const tableList: Uint8Array[] = []
  const keyOf = new Uint32Array(end - start)
  const sigs = new Uint8Array(64 * (end - start))
  const ks = Buffer.alloc(32 * (end - start))
  for (let i = start; i < end; i++) {
    const c = checks[i] as SignatureCheck
    const table = c.sig.byteLength === 64 && c.pub.byteLength === 32 ? keyTable(c.pub) : null
    if (table === null) {
      out[i] = verifySignature(c.sig, c.msg, c.pub)
      continue
    }
    let k = tablesOf.get(table)
    if (k === undefined) {
      k = tableList.length
      tablesOf.set(table, k)
      tableList.push(table)
    }
    const j = batch.length
    keyOf[j] = k
    sigs.set(c.sig, 64 * j)
    const input = c.msg.byteLength === 64 ? hashIn : Buffer.alloc(64 + c.msg.byteLength)
    input.set(c.sig.subarray(0, 32), 0)
    input.set(c.pub, 32)
    input.set(c.msg, 64)
    s.crypto_hash_sha512(digest, input)
    s.crypto_core_ed25519_scalar_reduce(ks.subarray(32 * j, 32 * j + 32), digest)
    batch.push(i)
  }
  if (batch.length === 0) return
  const n = batch.length
  const zs = randomBytes(16 * n)
  const passed = addon.verifyBatch(
    tableList,
    keyOf.subarray(0, n),
    sigs.subarray(0, 64 * n),
    ks.subarray(0, 32 * n),
    zs
  )
  for (const i of batch) {
    const c = checks[i] as SignatureCheck
    out[i] = passed || verifySignature(c.sig, c.msg, c.pub)
  }
}

export const engines: Readonly<
  Record<Engine, ((sig: Uint8Array, msg: Uint8Array, pub: Uint8Array) => boolean) | null>
> = {
  tables: native && sodium ? verifyTables : null,
  sodium: sodium ? verifySodium : null,
  node: verifyNode,
  noble: verifyNoble
}

let engine: Engine = native && sodium ? 'tables' : sodium ? 'sodium' : 'node'

/** Chooses the fast engine (tests and benchmarks run each one); noble alone is always exact. */
export function useEngine(name: Engine): void {
  if (!engines[name]) throw new Error(`verifier engine ${name} is not available here`)
  engine = name
}

export function currentEngine(): Engine {
  return engine
}

/** Strict RFC 8032 verification as defined above, on the fastest engine that agrees with it. */
export function verifySignature(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  const fast = engines[engine] as (sig: Uint8Array, msg: Uint8Array, pub: Uint8Array) => boolean
  if (engine !== 'noble' && fast(sig, msg, pub)) return true
  return verifyNoble(sig, msg, pub)
}

/**
 * Signs `msg` with a 64-byte secret key (seed · public key). Ed25519 signing is deterministic, so
 * libsodium and noble produce the same bytes; libsodium is used when present for speed.
 */
export function signFast(msg: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (secretKey.byteLength !== 64)
    throw new TypeError('secret key must be 64 bytes (seed and public key)')
  if (sodium) {
    const sig = Buffer.alloc(64)
    sodium.crypto_sign_detached(sig, msg, secretKey)
    return new Uint8Array(sig.buffer, sig.byteOffset, 64)
  }
  return ed.sign(msg, secretKey.subarray(0, 32))
}
