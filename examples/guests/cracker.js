/**
 * A key cracker: the CPU-bound work a participant sells its cycles to ("they'd probably even need
 * to sell their cpu-cycles to key crackers"). Given BLAKE2s-256(key) for a key of `bits` bits
 * (written as 4 bytes, big-endian), it tries every key in order and tells its owner how far it got
 * (docs/EXAMPLES.md).
 *
 * The hash is computed here, in the guest's own JavaScript, so every try is guest CPU time the
 * host meters and bills (as it does the crypto it runs for a guest): when the cpu credit ends
 * mid-search, the host evicts the cracker on the spot and deletes its files.
 *
 * A handler may run at most about a second (the host's wall-clock cap), so the search goes in
 * chunks: after each chunk the cracker saves where it is, reports to its owner and continues in a
 * new call (a timer when the host has them, else a message to itself).
 *
 * Commands, JSON text from the owner's client address only:
 *   {"op":"crack","hash":"<64 hex>","bits":1…32,"chunk":<tries per call, default 20000>,
 *    "from":<first key, default 0>,"to":<past the last key, default 2^bits>}
 * `from` and `to` give this cracker a slice of the key space, so an owner can split one search
 * among several hosts. Reports to the owner, JSON text (`tried` counts keys of this slice):
 *   {"op":"progress","tried":n,"of":total}   after each chunk
 *   {"op":"found","key":k,"tried":n}          and the search ends
 *   {"op":"exhausted","tried":n}              every key of the slice tried, none matched
 *
 * Store: `job` (the search and where it is).
 */
/* global quid */
'use strict'
const owner = z32(fromHex(quid.owner))
const timers = typeof quid.after === 'function'

quid.on('start', () => {
  if (quid.store.get('job')) next()
})

quid.on('message', (data, from) => {
  if (from === quid.self) return step()
  if (from !== owner) return
  let cmd
  try {
    cmd = JSON.parse(quid.decode(data))
  } catch {
    return
  }
  if (!cmd || cmd.op !== 'crack') return
  if (
    !/^[0-9a-f]{64}$/.test(cmd.hash) ||
    !(cmd.bits >= 1 && cmd.bits <= 32) ||
    cmd.bits !== (cmd.bits | 0)
  ) {
    return report({ op: 'error', error: 'hash must be 64 hex digits and bits 1 to 32' })
  }
  const chunk =
    Number.isSafeInteger(cmd.chunk) && cmd.chunk > 0 ? Math.min(cmd.chunk, 1000000) : 20000
  const all = 2 ** cmd.bits
  const first = cmd.from === undefined ? 0 : cmd.from
  const past = cmd.to === undefined ? all : cmd.to
  if (
    !Number.isSafeInteger(first) ||
    !Number.isSafeInteger(past) ||
    first < 0 ||
    past > all ||
    first >= past
  )
    return report({ op: 'error', error: 'from and to must be keys with 0 <= from < to <= 2^bits' })
  const job = { hash: cmd.hash, bits: cmd.bits, chunk, from: first, to: past, next: first }
  quid.store.put('job', JSON.stringify(job))
  step()
})

if (timers) quid.on('timer', () => step())

function step() {
  const text = quid.store.get('job')
  if (!text) return
  const job = JSON.parse(text)
  // A job saved before slices existed searches the whole space.
  job.from ??= 0
  job.to ??= 2 ** job.bits
  const target = words(fromHex(job.hash))
  const end = Math.min(job.to, job.next + job.chunk)
  for (let k = job.next; k < end; k++) {
    if (matches(k, target)) {
      quid.store.del('job')
      return report({ op: 'found', key: k, tried: k + 1 - job.from })
    }
  }
  if (end === job.to) {
    quid.store.del('job')
    return report({ op: 'exhausted', tried: job.to - job.from })
  }
  job.next = end
  quid.store.put('job', JSON.stringify(job))
  report({ op: 'progress', tried: end - job.from, of: job.to - job.from })
  next()
}

function next() {
  if (timers) quid.after(0, 'step')
  else quid.send(quid.self, 'step')
}

function report(value) {
  quid.send(owner, JSON.stringify(value))
}

// BLAKE2s-256 (RFC 7693) of one 4-byte message, compared word by word with the target.
const IV = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
]
const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0]
]
const v = new Uint32Array(16)
const m = new Uint32Array(16)

function rotr(x, n) {
  return (x >>> n) | (x << (32 - n))
}

function g(a, b, c, d, x, y) {
  v[a] = v[a] + v[b] + x
  v[d] = rotr(v[d] ^ v[a], 16)
  v[c] = v[c] + v[d]
  v[b] = rotr(v[b] ^ v[c], 12)
  v[a] = v[a] + v[b] + y
  v[d] = rotr(v[d] ^ v[a], 8)
  v[c] = v[c] + v[d]
  v[b] = rotr(v[b] ^ v[c], 7)
}

function matches(k, target) {
  // The key as 4 bytes big-endian is message word 0, read little-endian.
  m[0] =
    ((k >>> 24) & 0xff) |
    (((k >>> 16) & 0xff) << 8) |
    (((k >>> 8) & 0xff) << 16) |
    ((k & 0xff) << 24)
  const h0 = IV[0] ^ 0x01010020 // digest length 32, no key, fanout 1, depth 1
  for (let i = 0; i < 8; i++) v[i] = i === 0 ? h0 : IV[i]
  for (let i = 0; i < 8; i++) v[8 + i] = IV[i]
  v[12] ^= 4 // bytes compressed
  v[14] ^= 0xffffffff // last block
  for (let r = 0; r < 10; r++) {
    const s = SIGMA[r]
    g(0, 4, 8, 12, m[s[0]], m[s[1]])
    g(1, 5, 9, 13, m[s[2]], m[s[3]])
    g(2, 6, 10, 14, m[s[4]], m[s[5]])
    g(3, 7, 11, 15, m[s[6]], m[s[7]])
    g(0, 5, 10, 15, m[s[8]], m[s[9]])
    g(1, 6, 11, 12, m[s[10]], m[s[11]])
    g(2, 7, 8, 13, m[s[12]], m[s[13]])
    g(3, 4, 9, 14, m[s[14]], m[s[15]])
  }
  for (let i = 0; i < 8; i++) {
    const h = ((i === 0 ? h0 : IV[i]) ^ v[i] ^ v[i + 8]) >>> 0
    if (h !== target[i]) return false
  }
  return true
}

function words(bytes) {
  const out = []
  for (let i = 0; i < 32; i += 4)
    out.push((bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) >>> 0)
  return out
}

function fromHex(s) {
  const out = new Uint8Array(s.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16)
  return out
}

// z-base-32, as addresses are written (docs/VNET.md): 5 bits at a time, most significant first.
function z32(bytes) {
  const alphabet = 'ybndrfg8ejkmcpqxot1uwisza345h769'
  let out = ''
  let acc = 0
  let bits = 0
  for (const b of bytes) {
    acc = (acc << 8) | b
    bits += 8
    while (bits >= 5) {
      out += alphabet[(acc >>> (bits - 5)) & 31]
      bits -= 5
    }
    acc &= (1 << bits) - 1
  }
  if (bits > 0) out += alphabet[(acc << (5 - bits)) & 31]
  return out
}
