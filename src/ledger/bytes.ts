/** Byte helpers used across quid: hex, comparison, concatenation. */
import { QuidError, ErrorCodes } from './errors.js'

const HEX = /^[0-9a-f]*$/

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

/** Parses lowercase or uppercase hex of an exact length in bytes, or throws BAD_ID naming `what`. */
export function fromHex(text: string, bytes: number, what = 'id'): Uint8Array {
  const s = text.toLowerCase()
  if (s.length !== bytes * 2 || !HEX.test(s)) {
    throw new QuidError(
      ErrorCodes.BAD_ID,
      `${what} must be ${bytes * 2} hex characters, got ${JSON.stringify(text.slice(0, 80))}`,
      { what }
    )
  }
  return new Uint8Array(Buffer.from(s, 'hex'))
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

export function compare(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}

export function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts))
}
