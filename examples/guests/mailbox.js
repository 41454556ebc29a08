/**
 * A mailbox: keeps the messages sent to it for its owner, within its disk quota, and hands them
 * out when the owner's client (or the reader the owner named) asks, each sealed to the owner's
 * X25519 key, so only that key's holder can read what the host stored or sent (docs/EXAMPLES.md).
 *
 * Commands are JSON text, taken only from the owner's client address (quid.owner's address) or,
 * for `fetch`, from the reader the owner named:
 *   {"op":"setup","key":"<64 hex: X25519 public key>","reader":"<client address>","quota":<bytes>}
 *       from the owner only: the key deliveries are sealed to, who may fetch besides the owner,
 *       and the disk quota the guest was deployed with (the guest cannot ask the host for it).
 *       Answers {"op":"ready"}.
 *   {"op":"fetch"}
 *       sends each kept message as box(key, message) (binary) to the asker, oldest first, at most
 *       200 per request, deleting each, then {"op":"fetched","count":n,"left":m,"dropped":d}.
 * Anything else, from anyone else, is a message to keep (at most 8 KiB). When keeping one would
 * pass the quota it is dropped and counted, never stored (a put past the quota would evict the
 * guest). The mailbox keeps no record of who sent a message.
 *
 * Store: `key`, `reader`, `quota`, `seq`, `dropped`, `m/<seq>` the messages (the disk it uses is
 * every key's length plus every value's).
 */
/* global quid */
'use strict'
const MAX_MESSAGE = 8192
const MAX_PER_FETCH = 200
// Room kept for the settings and counters, so updating them never passes the quota.
const RESERVE = 512
const owner = z32(fromHex(quid.owner))
let used = 0

quid.on('start', () => {
  used = 0
  for (const k of quid.store.keys()) used += cost(k, quid.store.get(k))
})

quid.on('message', (data, from) => {
  const reader = quid.store.get('reader')
  if (from === owner || (reader && from === reader)) {
    const cmd = command(data)
    if (cmd) return run(cmd, from)
  }
  keep(data)
})

function run(cmd, from) {
  if (cmd.op === 'setup' && from === owner) {
    if (!/^[0-9a-f]{64}$/.test(cmd.key))
      return reply(from, { op: 'error', error: 'key must be 64 hex digits' })
    if (!Number.isSafeInteger(cmd.quota) || cmd.quota < RESERVE)
      return reply(from, {
        op: 'error',
        error: 'quota must be a whole number of bytes, at least ' + RESERVE
      })
    put('key', fromHex(cmd.key))
    if (typeof cmd.reader === 'string') put('reader', cmd.reader)
    put('quota', String(cmd.quota))
    return reply(from, { op: 'ready' })
  }
  if (cmd.op === 'fetch') {
    const key = quid.store.get('key')
    if (!key) return reply(from, { op: 'error', error: 'no key yet: the owner sends setup first' })
    const kept = quid.store.keys().filter((k) => k.startsWith('m/'))
    const now = kept.slice(0, MAX_PER_FETCH)
    for (const k of now) {
      quid.send(from, quid.crypto.box(key, quid.store.get(k)))
      del(k)
    }
    return reply(from, {
      op: 'fetched',
      count: now.length,
      left: kept.length - now.length,
      dropped: Number(quid.store.get('dropped') || 0)
    })
  }
  reply(from, { op: 'error', error: 'unknown command' })
}

function keep(data) {
  if (data.length === 0 || data.length > MAX_MESSAGE) return
  const seq = Number(quid.store.get('seq') || 0) + 1
  const k = 'm/' + String(seq).padStart(12, '0')
  const quota = Number(quid.store.get('quota') || 0)
  if (used + cost(k, data) > quota - RESERVE) {
    put('dropped', String(Number(quid.store.get('dropped') || 0) + 1))
    return
  }
  put('seq', String(seq))
  put(k, data)
}

function put(k, v) {
  const old = quid.store.get(k)
  quid.store.put(k, v)
  used += cost(k, v) - (old === undefined ? 0 : cost(k, old))
}

function del(k) {
  const old = quid.store.get(k)
  if (quid.store.del(k)) used -= cost(k, old)
}

function cost(k, v) {
  return utf8Length(k) + (typeof v === 'string' ? utf8Length(v) : v.length)
}

function utf8Length(s) {
  return quid.encode(s).length
}

function command(data) {
  if (data.length > 2048 || data[0] !== 0x7b) return null
  try {
    const v = JSON.parse(quid.decode(data))
    return v && typeof v.op === 'string' ? v : null
  } catch {
    return null
  }
}

function reply(to, value) {
  quid.send(to, JSON.stringify(value))
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
