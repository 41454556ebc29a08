/**
 * What a guest gets as `quid.crypto`: enough for layered ("onion") encryption, as a remailer needs.
 * Implemented by the host with audited libraries (@noble), never by guest code:
 *
 * - `keyPair()`: an X25519 key pair (RFC 7748).
 * - `sharedKey(secret, public)`: BLAKE2b-256(`quid/v1/guest-dh` · X25519(secret, public)), so the
 *   raw curve point is never used as a key.
 * - `seal(key, plaintext)` / `open(key, sealed)`: XChaCha20-Poly1305 with a random 24-byte nonce
 *   written in front of the ciphertext; `open` returns null when the tag does not verify.
 * - `box(recipientPublic, plaintext)` / `unbox(secret, boxed)`: an anonymous sealed box: a fresh
 *   ephemeral key pair, its public key in front, then `seal(sharedKey(ephemeral, recipient))`.
 * - `hash(data)`: BLAKE2b-256.
 */
import { x25519 } from '@noble/curves/ed25519.js'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { blake2b } from '@noble/hashes/blake2.js'
import { randomBytes } from 'node:crypto'

const DH_LABEL = new TextEncoder().encode('quid/v1/guest-dh')
const NONCE = 24
const KEY = 32

export interface X25519Pair {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

function need(bytes: Uint8Array, size: number, what: string): void {
  if (bytes.byteLength !== size)
    throw new RangeError(`${what} must be ${size} bytes, not ${bytes.byteLength}`)
}

export function keyPair(): X25519Pair {
  const secretKey = new Uint8Array(randomBytes(KEY))
  return { publicKey: x25519.getPublicKey(secretKey), secretKey }
}

export function sharedKey(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  need(secretKey, KEY, 'secret key')
  need(publicKey, KEY, 'public key')
  const point = x25519.getSharedSecret(secretKey, publicKey)
  const input = new Uint8Array(DH_LABEL.byteLength + point.byteLength)
  input.set(DH_LABEL, 0)
  input.set(point, DH_LABEL.byteLength)
  return blake2b(input, { dkLen: 32 })
}

export function seal(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  need(key, KEY, 'key')
  const nonce = new Uint8Array(randomBytes(NONCE))
  const sealed = xchacha20poly1305(key, nonce).encrypt(plaintext)
  const out = new Uint8Array(NONCE + sealed.byteLength)
  out.set(nonce, 0)
  out.set(sealed, NONCE)
  return out
}

export function open(key: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  need(key, KEY, 'key')
  if (sealed.byteLength < NONCE + 16) return null
  try {
    return xchacha20poly1305(key, sealed.subarray(0, NONCE)).decrypt(sealed.subarray(NONCE))
  } catch {
    return null
  }
}

export function box(recipient: Uint8Array, plaintext: Uint8Array): Uint8Array {
  need(recipient, KEY, 'public key')
  const eph = keyPair()
  const sealed = seal(sharedKey(eph.secretKey, recipient), plaintext)
  const out = new Uint8Array(KEY + sealed.byteLength)
  out.set(eph.publicKey, 0)
  out.set(sealed, KEY)
  return out
}

export function unbox(secretKey: Uint8Array, boxed: Uint8Array): Uint8Array | null {
  need(secretKey, KEY, 'secret key')
  if (boxed.byteLength < KEY) return null
  try {
    return open(sharedKey(secretKey, boxed.subarray(0, KEY)), boxed.subarray(KEY))
  } catch {
    return null
  }
}

export function hash(data: Uint8Array): Uint8Array {
  return blake2b(data, { dkLen: 32 })
}
