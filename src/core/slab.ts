/**
 * Small byte arrays carved from shared off-heap slabs.
 *
 * V8 keeps typed arrays of up to 64 bytes inside its heap and moves one out (a copy and an
 * allocation) the first time native code or `.buffer` touches it, and it gives each larger one a
 * backing store of its own, which costs about a microsecond. Replay makes several such arrays per
 * entry (its private copy, its id, claim ids, signed messages) and hands each to native code at
 * once (hashing, verifying, toHex), so they come from a slab instead, as Node's Buffer pool does.
 * Every call gets bytes of its own, never reused; a slab is freed when no array from it is left.
 */
const SLAB_BYTES = 8192
/** Larger requests get an array of their own, so one long-lived array pins at most a slab. */
const MAX_CARVED = SLAB_BYTES / 8

let slab = new ArrayBuffer(SLAB_BYTES)
let used = 0

/** A zero-filled Uint8Array of `n` bytes, usually a view into a shared slab. */
export function fresh(n: number): Uint8Array {
  if (n > MAX_CARVED) return new Uint8Array(n)
  if (used + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES)
    used = 0
  }
  const out = new Uint8Array(slab, used, n)
  // Keep views 8-byte aligned, as the Buffer pool does, so a DataView over one reads fast.
  used += (n + 7) & ~7
  return out
}

/** A copy of `bytes` that owns its bytes (no view of the caller's buffer). */
export function copyOf(bytes: Uint8Array): Uint8Array {
  const out = fresh(bytes.byteLength)
  out.set(bytes)
  return out
}
