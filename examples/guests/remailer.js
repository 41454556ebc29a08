/**
 * A remailer (a mix): one hop of an anonymous chain. Deploy several on different hosts and send
 * through them with the client helper in src/client/onion.ts (docs/EXAMPLES.md).
 *
 * Every message it takes in and every message it sends out is one cell of exactly CELL bytes:
 *
 *   cell  = box(this remailer's public key, layer) · random padding up to CELL
 *   layer = kind (1 = forward) · next address (128 bytes, UTF-8, zero-padded) · next cell's box
 *
 * The box starts with the sender's ephemeral public key, so the shared key is computed once; the
 * box's length is not written anywhere (a length would tell a host how far along the chain a
 * cell is), so the remailer tries the few lengths a layer can have (CELL - j · STEP). It removes
 * its layer, pads what is left back to CELL with random bytes and sends it to the next address
 * after a random delay. It keeps no log of who sent what: nothing of the sender is stored or
 * logged, and a cell waiting for its delay is kept with its next address only.
 *
 * Requests that are not cells:
 *   "key"  → answers the sender with this remailer's X25519 public key (32 bytes).
 *
 * Delay: with host timers (`quid.after`), each cell waits DELAY_MIN … DELAY_MAX ms. Without them
 * the remailer is a pool mix: each cell waits in the pool until the next cell arrives (anything of
 * CELL bytes, undecryptable chaff included, flushes the pool in random order).
 *
 * Store: `secret` and `public` (its key pair, made at the first start), `p/<id>` the cells waiting.
 */
/* global quid */
'use strict'
const CELL = 4096
const HEADER = 129 // kind (1) + address (128)
const STEP = 72 + HEADER // a box adds 32 (ephemeral key) + 24 (nonce) + 16 (tag)
const MAX_HOPS = 8
const DELAY_MIN = 20
const DELAY_MAX = 300
const timers = typeof quid.after === 'function'

quid.on('start', () => {
  if (!quid.store.get('secret')) {
    const kp = quid.crypto.keyPair()
    quid.store.put('secret', kp.secretKey)
    quid.store.put('public', kp.publicKey)
  }
  // Cells that were waiting when the host restarted: the timers are gone, send them now.
  if (timers) for (const key of quid.store.keys()) if (key.startsWith('p/')) flush(key)
})

quid.on('message', (data, from) => {
  if (data.length !== CELL) {
    if (data.length === 3 && quid.decode(data) === 'key') quid.send(from, quid.store.get('public'))
    return
  }
  const next = peel(data)
  if (!timers) {
    // Pool mix: what waited goes out now, in random order; this cell waits for the next one.
    const waiting = quid.store.keys().filter((k) => k.startsWith('p/'))
    shuffle(waiting)
    for (const key of waiting) flush(key)
  }
  if (!next) return // chaff, or not for us: nothing to forward
  const id = 'p/' + hex(quid.random(8))
  quid.store.put(id, pack(next.to, next.cell))
  if (timers) {
    const span = DELAY_MAX - DELAY_MIN
    quid.after(DELAY_MIN + (uint32(quid.random(4)) % (span + 1)), id)
  }
})

if (timers) quid.on('timer', (id) => flush(id))

/** Removes this hop's layer: the next address and the next cell, or null. */
function peel(cell) {
  const key = quid.crypto.sharedKey(quid.store.get('secret'), cell.subarray(0, 32))
  for (let j = 0; j < MAX_HOPS; j++) {
    const length = CELL - j * STEP
    if (length < STEP) break
    const layer = quid.crypto.open(key, cell.subarray(32, length))
    if (!layer) continue
    if (layer[0] !== 1 || layer.length < HEADER) return null
    let end = 1
    while (end < HEADER && layer[end] !== 0) end++
    const to = quid.decode(layer.subarray(1, end))
    const out = new Uint8Array(CELL)
    const body = layer.subarray(HEADER)
    out.set(body, 0)
    out.set(quid.random(CELL - body.length), body.length)
    return { to, cell: out }
  }
  return null
}

function flush(id) {
  const packed = quid.store.get(id)
  if (!packed) return
  quid.store.del(id)
  const n = packed[0]
  try {
    quid.send(quid.decode(packed.subarray(1, 1 + n)), packed.subarray(1 + n))
  } catch {
    // A bad next address: the cell is dropped, as a mix must (no error goes back to anyone).
  }
}

function pack(to, cell) {
  const address = quid.encode(to).subarray(0, 255)
  const out = new Uint8Array(1 + address.length + cell.length)
  out[0] = address.length
  out.set(address, 1)
  out.set(cell, 1 + address.length)
  return out
}

function shuffle(list) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = uint32(quid.random(4)) % (i + 1)
    const t = list[i]
    list[i] = list[j]
    list[j] = t
  }
}

function uint32(b) {
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0
}

function hex(bytes) {
  let s = ''
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16)
  return s
}
