/**
 * The script the sandbox runs in a guest's context before the guest's own code: it hardens the
 * realm and builds the one global the guest gets, `quid` (docs/GUESTS.md).
 *
 * Nothing of the host enters the realm but one function, `$0`, an isolated-vm Callback taking and
 * returning primitives only. Guest values never leave the isolate as objects: bytes are turned
 * into a latin1 string here, by this code, with intrinsics captured before the guest could touch
 * them (a guest may redefine any global or prototype, so nothing is looked up at call time). That
 * is why isolated-vm never copies a guest object, the path of the V8 abort described in
 * docs/HOST.md (a resizable ArrayBuffer shrunk under a view, then copied out).
 *
 * `$1` is the guest's address, `$2` its owner's id. It returns the dispatch function the
 * sandbox calls (as a Reference the guest never sees) with `(kind, latin1Data, from, seq)`; it
 * returns '' or a short description of what a handler threw, or undefined when a handler returned a
 * promise, in which case the outcome comes later as `$0('done', seq, outcome)`.
 */
import { HOST_DEFAULTS } from './constants.js'

export const BOOTSTRAP = String.raw`
'use strict'
const host = $0
const self = $1
const owner = $2
// Realm hardening, before any guest code: shrinking or detaching a buffer under a view is what
// aborted V8 in isolated-vm 5, and no guest needs it; blocking waits and WebAssembly memories
// escape the CPU and heap meters.
for (const name of ['resize', 'transfer', 'transferToFixedLength']) delete ArrayBuffer.prototype[name]
delete globalThis.SharedArrayBuffer
delete Atomics.wait
delete Atomics.waitAsync
delete globalThis.WebAssembly

const apply = Reflect.apply
const freeze = Object.freeze
const defineProperty = Object.defineProperty
const create = Object.create
const fromCharCode = String.fromCharCode
const charCodeAt = String.prototype.charCodeAt
const strSlice = String.prototype.slice
const MAX_IN = ${HOST_DEFAULTS.maxValueBytes}
const MAX_PACKET = ${HOST_DEFAULTS.maxPacketBytes}
const jsonParse = JSON.parse
const jsonStringify = JSON.stringify
const StringCtor = String
const U8 = Uint8Array
const ArrayCtor = Array
const TypedArrayProto = Object.getPrototypeOf(Uint8Array.prototype)
const taLength = Object.getOwnPropertyDescriptor(TypedArrayProto, 'length').get
const taTag = Object.getOwnPropertyDescriptor(TypedArrayProto, Symbol.toStringTag).get
const ErrorProto = Error.prototype
const isPrototypeOf = Object.prototype.isPrototypeOf
const CHUNK = 8192

function isBytes(v) {
  return typeof v === 'object' && v !== null && apply(taTag, v, []) === 'Uint8Array'
}

// Bytes to a latin1 string, one char per byte, read from the genuine typed array (apply(taLength)
// throws for anything else, a Proxy included).
function latin1(view) {
  const n = apply(taLength, view, [])
  let out = ''
  for (let i = 0; i < n; i += CHUNK) {
    const m = n - i < CHUNK ? n - i : CHUNK
    const codes = new ArrayCtor(m)
    for (let j = 0; j < m; j++) codes[j] = view[i + j]
    out += apply(fromCharCode, null, codes)
  }
  return out
}

function bytes(s) {
  const n = s.length
  const out = new U8(n)
  for (let i = 0; i < n; i++) out[i] = apply(charCodeAt, s, [i])
  return out
}

// A payload as (kind, latin1): 'b' for bytes, 's' for a string (the host encodes it as UTF-8).
// Sizes are checked here, before anything is copied out of the isolate: a guest cannot make the
// sandbox (shared with other guests) hold more than MAX_IN characters or bytes of it per argument.
function tooLong(n, max, what) {
  if (n > max) throw new RangeError(what + ' is longer than ' + max)
}

function payload(v, what, max = MAX_IN) {
  if (typeof v === 'string') {
    tooLong(v.length, max, what)
    return ['s', v]
  }
  if (isBytes(v)) {
    tooLong(apply(taLength, v, []), max, what)
    return ['b', latin1(v)]
  }
  throw new TypeError(what + ' must be a Uint8Array or a string')
}

function text(v, what, max = MAX_IN) {
  if (typeof v !== 'string') throw new TypeError(what + ' must be a string')
  tooLong(v.length, max, what)
  return v
}

function describe(v) {
  try {
    if (typeof v === 'symbol') return 'a symbol'
    if (typeof v !== 'object' && typeof v !== 'function') return typeof v + ' ' + StringCtor(v)
    if (v !== null && apply(isPrototypeOf, ErrorProto, [v])) return StringCtor(v.name) + ': ' + StringCtor(v.message)
    return jsonStringify(v) || typeof v
  } catch {
    return 'an unprintable ' + typeof v
  }
}

function logLine(args) {
  let line = ''
  for (let i = 0; i < args.length && line.length < 1000; i++) {
    const a = args[i]
    const plain = typeof a === 'string' || typeof a === 'number' || typeof a === 'boolean' || typeof a === 'bigint' || a === undefined
    line += (i ? ' ' : '') + apply(strSlice, plain ? StringCtor(a) : describe(a), [0, 1000])
  }
  return line
}

const handlers = create(null)
handlers.start = []
handlers.message = []
handlers.stop = []
handlers.timer = []
handlers.unreachable = []

function call(op, a, b, c) {
  return host(op, a, b, c)
}

function result(r) {
  // The host answers with undefined, or a kind-tagged latin1 string.
  if (r === undefined) return undefined
  return r[0] === 's' ? apply(strSlice, r, [1]) : bytes(apply(strSlice, r, [1]))
}

const store = freeze(create(null, {
  get: { value: freeze(function get(key) { return result(call('get', text(key, 'key'))) }) },
  put: { value: freeze(function put(key, value) { const p = payload(value, 'value'); call('put', text(key, 'key'), p[0], p[1]) }) },
  del: { value: freeze(function del(key) { return call('del', text(key, 'key')) === 'y' }) },
  keys: { value: freeze(function keys() { return jsonParse(call('keys')) }) }
}))

function bytesArg(v, what) {
  if (!isBytes(v)) throw new TypeError(what + ' must be a Uint8Array')
  tooLong(apply(taLength, v, []), MAX_IN, what)
  return latin1(v)
}

const crypto = freeze(create(null, {
  keyPair: { value: freeze(function keyPair() {
    const r = call('crypto.keyPair')
    return freeze({ publicKey: bytes(apply(strSlice, r, [0, 32])), secretKey: bytes(apply(strSlice, r, [32])) })
  }) },
  sharedKey: { value: freeze(function sharedKey(secretKey, publicKey) { return result(call('crypto.sharedKey', bytesArg(secretKey, 'secretKey'), bytesArg(publicKey, 'publicKey'))) }) },
  seal: { value: freeze(function seal(key, data) { const p = payload(data, 'data'); return result(call('crypto.seal', bytesArg(key, 'key'), p[0], p[1])) }) },
  open: { value: freeze(function open(key, sealed) { const r = result(call('crypto.open', bytesArg(key, 'key'), bytesArg(sealed, 'sealed'))); return r === undefined ? null : r }) },
  box: { value: freeze(function box(publicKey, data) { const p = payload(data, 'data'); return result(call('crypto.box', bytesArg(publicKey, 'publicKey'), p[0], p[1])) }) },
  unbox: { value: freeze(function unbox(secretKey, boxed) { const r = result(call('crypto.unbox', bytesArg(secretKey, 'secretKey'), bytesArg(boxed, 'boxed'))); return r === undefined ? null : r }) },
  hash: { value: freeze(function hash(data) { const p = payload(data, 'data'); return result(call('crypto.hash', p[0], p[1])) }) }
}))

const quid = freeze(create(null, {
  self: { value: self, enumerable: true },
  owner: { value: owner, enumerable: true },
  on: { value: freeze(function on(event, handler) {
    if (event !== 'start' && event !== 'message' && event !== 'stop' && event !== 'timer' && event !== 'unreachable') throw new TypeError('event must be start, message, stop, timer or unreachable')
    if (typeof handler !== 'function') throw new TypeError('handler must be a function')
    const list = handlers[event]
    list[list.length] = handler
  }) },
  send: { value: freeze(function send(to, data) { const p = payload(data, 'data', MAX_PACKET); call('send', text(to, 'to', 128), p[0], p[1]) }) },
  now: { value: freeze(function now() { return call('now') }) },
  after: { value: freeze(function after(ms, note) {
    if (typeof ms !== 'number' || ms !== (ms | 0) || ms < 0 || ms > 3600000) throw new RangeError('ms must be an integer from 0 to 3600000')
    call('after', ms, note === undefined ? undefined : text(note, 'note', 256))
  }) },
  encode: { value: freeze(function encode(s) { return result(call('utf8.encode', text(s, 'text'))) }) },
  decode: { value: freeze(function decode(b) { return result(call('utf8.decode', bytesArg(b, 'bytes'))) }) },
  log: { value: freeze(function log(...args) { call('log', logLine(args)) }) },
  random: { value: freeze(function random(n) {
    if (typeof n !== 'number' || !(n >= 0 && n <= 65536) || n !== (n | 0)) throw new RangeError('n must be an integer from 0 to 65536')
    return result(call('random', n))
  }) },
  dropped: { value: freeze(function dropped() { return jsonParse(call('dropped')) }) },
  store: { value: store, enumerable: true },
  crypto: { value: crypto, enumerable: true }
}))
defineProperty(globalThis, 'quid', { value: quid, writable: false, enumerable: false, configurable: false })

function failure(err) {
  return apply(strSlice, describe(err), [0, 300]) || 'error'
}

// Runs the handlers for one event. When there is one handler and it returns no promise (the usual
// case), the call is over when it returns, and dispatch returns its outcome: '' or what it threw.
// Otherwise it returns undefined, and the outcome goes to the host as call('done', seq, outcome)
// once every handler has settled, each awaited in turn (the microtasks that get there run before
// the sandbox's call returns). seq is the call's number, so that an outcome is never taken for
// another call's.
function dispatch(kind, data, from, seq) {
  const list = handlers[kind]
  if (list.length === 0) return ''
  // For 'unreachable', from is the address that could not be reached and data the reason (ASCII).
  const args = kind === 'message' ? [bytes(data), from] : kind === 'timer' ? [from] : kind === 'unreachable' ? [from, data] : []
  let r
  try {
    r = apply(list[0], undefined, args)
  } catch (err) {
    return failure(err)
  }
  if (list.length === 1 && (typeof r !== 'object' || r === null) && typeof r !== 'function') return ''
  settle(seq, list, args, r)
  return undefined
}

async function settle(seq, list, args, first) {
  let outcome = ''
  try {
    await first
    for (let i = 1; i < list.length; i++) await apply(list[i], undefined, args)
  } catch (err) {
    outcome = failure(err)
  }
  try {
    call('done', seq, outcome)
  } catch {
    // The call is over (the guest was ended): nobody waits for this outcome.
  }
}
return dispatch
`
