/**
 * quid's own native addon (native/ed25519.c, built by `postinstall`): Ed25519 verification with a
 * table of multiples per key, about twice libsodium's rate when a key signs many records (an
 * audit, a replay). Loaded once; `null` where it was not built (QUID_SKIP_NATIVE=1, or an install
 * without scripts), and verify.ts then uses libsodium.
 */
import { createRequire } from 'node:module'

export interface NativeEd25519 {
  /** Bytes of one key's table. */
  readonly tableBytes: number
  /** Fills `out` (8-byte aligned) with the multiples of -(x, y), the key's point negated. */
  table(out: Uint8Array, x: Uint8Array, y: Uint8Array): void
  /** Whether R == encode([S]B - [k]A) and S < L, for k = SHA-512(R · A · M) mod L. */
  verify(table: Uint8Array, sig: Uint8Array, k: Uint8Array): boolean
  /**
   * Whether every signature i satisfies the cofactored equation under the key whose table is
   * tables[keyOf[i]], with S < L and R canonical, checked together with the random 128-bit
   * multipliers zs (16 bytes each). `ks` are k = SHA-512(R · A · M) mod L, 32 bytes each. False
   * says only that some signature is not accepted this way: decide each one singly then.
   */
  verifyBatch(
    tables: Uint8Array[],
    keyOf: Uint32Array,
    sigs: Uint8Array,
    ks: Uint8Array,
    zs: Uint8Array
  ): boolean
  /** The most signatures verifyBatch takes at once. */
  readonly batchMax: number
  /** encode([s]B) for s < L: a test hook that checks the base point's table. */
  base(out: Uint8Array, s: Uint8Array): void
}

function load(): NativeEd25519 | null {
  if (process.env.QUID_SKIP_NATIVE === '1') return null
  try {
    return createRequire(import.meta.url)(
      '../../native/build/Release/quid_ed25519.node'
    ) as NativeEd25519
  } catch {
    return null
  }
}

export const native: NativeEd25519 | null = load()
