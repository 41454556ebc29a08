/**
 * BLAKE2b-256 (RFC 7693) and the namespaces that separate what quid hashes and signs.
 *
 * Every signature quid makes covers `namespace(kind) || id`, where the namespace is a hash of a
 * fixed ASCII label. A record signed as one type can therefore never verify as another, nor as
 * anything else the same key signs (Hypercore's own tree signatures use their own namespace).
 */
import { blake2b } from '@noble/hashes/blake2.js'

export function blake2b256(data: Uint8Array): Uint8Array {
  return blake2b(data, { dkLen: 32 })
}

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
  const out = new Uint8Array(64)
  out.set(namespace(kind), 0)
  out.set(id, 32)
  return out
}
