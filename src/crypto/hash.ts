/**
 * BLAKE2b-256 (RFC 7693) and the namespaces that separate what quid hashes and signs.
 *
 * Every signature quid makes covers `namespace(kind) || id`, where the namespace is a hash of a
 * fixed ASCII label. A record signed as one type can therefore never verify as another, nor as
 * anything else the same key signs (Hypercore's own tree signatures use their own namespace).
 */
import { blake2b } from '@noble/hashes/blake2.js'
import { fresh } from '../core/slab.js'
import { sodium } from './sodium.js'

// libsodium's crypto_generichash is BLAKE2b (RFC 7693) too, unkeyed here, with the output length
// as parameter, so it gives the same bytes as noble; it is about ten times faster, and replay
// hashes every entry and every claim. Noble stays as the fallback where the addon cannot load.

/** BLAKE2b-256 by @noble/hashes: the reference the fast path is tested against. */
export function blake2b256Noble(data: Uint8Array): Uint8Array {
  return blake2b(data, { dkLen: 32 })
}

/** BLAKE2b-256 by libsodium; throws if sodium-native is not available. */
export function blake2b256Sodium(data: Uint8Array): Uint8Array {
  if (!sodium) throw new Error('sodium-native is not available')
  // From a slab: an id goes to native code at once (toHex, signing), see slab.ts.
  const out = fresh(32)
  sodium.crypto_generichash(out, data)
  return out
}

export const blake2b256: (data: Uint8Array) => Uint8Array = sodium
  ? blake2b256Sodium
  : blake2b256Noble

const encoder = new TextEncoder()
const cache = new Map<string, Uint8Array>()

/** BLAKE2b-256 of the label `quid/v1/<name>`, computed once per name. */
export function namespace(name: string): Uint8Array {
  let ns = cache.get(name)
  if (ns === undefined) {
    ns = blake2b256(encoder.encode('quid/v1/' + name))
    cache.set(name, ns)
  }
  return ns
}

/** The 64 bytes an Ed25519 signature covers: `namespace(kind) || id`. */
export function signable(kind: string, id: Uint8Array): Uint8Array {
  // From a slab: this goes straight to libsodium (see slab.ts).
  const out = fresh(64)
  out.set(namespace(kind), 0)
  out.set(id, 32)
  return out
}
