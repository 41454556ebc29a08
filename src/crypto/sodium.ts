/**
 * libsodium through sodium-native, which Hypercore already depends on: the fast path for BLAKE2b
 * and Ed25519. Loaded once; `null` where the native addon cannot load, and every caller then
 * falls back to @noble, the reference implementation.
 */
import { createRequire } from 'node:module'

export interface Sodium {
  crypto_generichash(output: Uint8Array, input: Uint8Array): void
  crypto_sign_verify_detached(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean
  crypto_sign_detached(sig: Uint8Array, msg: Uint8Array, sk: Uint8Array): void
  crypto_hash_sha512(output: Uint8Array, input: Uint8Array): void
  crypto_core_ed25519_scalar_reduce(output: Uint8Array, input: Uint8Array): void
}

function load(): Sodium | null {
  try {
    return createRequire(import.meta.url)('sodium-native') as Sodium
  } catch {
    return null
  }
}

export const sodium: Sodium | null = load()
