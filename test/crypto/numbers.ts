/** Ed25519's numbers and encodings, for the verifier tests. */
import { fromHex } from '../../src/core/bytes.js'

export const hex = (s: string): Uint8Array => fromHex(s, s.length / 2, 'vector')
/** The group order and the field prime. */
export const L = 2n ** 252n + 27742317777372353535851937790883648493n
export const P = 2n ** 255n - 19n

/** `n` as 32 little-endian bytes. */
export function le(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn)
    n >>= 8n
  }
  return out
}

export function fromLe(b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] as number)
  return n
}
