/**
 * The client side of the example remailers and mailbox (examples/guests/, docs/EXAMPLES.md):
 * builds the layered, padded cell a chain of remailers carries, and opens what a mailbox hands out.
 * It uses the host's own guest crypto (src/host/crypto.ts), so what it builds is exactly what the
 * guests' `quid.crypto` opens, and the other way round.
 *
 * Every cell on the wire is CELL bytes:
 *
 *   cell   = box(hop key, layer) · random padding up to CELL
 *   layer  = kind (1 = forward) · next address (128 bytes, UTF-8, zero-padded) · the next box
 *   letter = box(recipient key, length:u16be · message · zero padding)
 *
 * The last hop forwards the letter (padded to CELL like every cell) to the destination, a mailbox.
 * No length is written in clear: a hop, and the recipient, try the few lengths a box can have
 * (CELL - j · STEP), which the authentication tag tells apart.
 */
import { QuidError, ErrorCodes } from '../core/errors.js'
import { randomBytes } from 'node:crypto'
import * as crypto from '../host/crypto.js'

export const CELL = 4096
export const ADDRESS_BYTES = 128
export const HEADER = 1 + ADDRESS_BYTES
/** What a box adds: ephemeral public key 32, nonce 24, tag 16. */
export const BOX_OVERHEAD = 72
/** What one hop's layer adds. */
export const STEP = BOX_OVERHEAD + HEADER
export const MAX_HOPS = 8
const FORWARD = 1
const KEY = 32

const utf8 = new TextEncoder()
const text = new TextDecoder()

export interface Hop {
  /** The remailer's address on the virtual network. */
  address: string
  /** Its X25519 public key (what it answers to "key"). */
  publicKey: Uint8Array
}

/** The longest message a chain of `hops` remailers can carry in one cell. */
export function maxMessage(hops: number): number {
  return CELL - hops * STEP - BOX_OVERHEAD - 2
}

function bad(message: string): QuidError {
  return new QuidError(ErrorCodes.BAD_ARGUMENT, message)
}

function checkKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.byteLength !== KEY)
    throw bad(`${what} must be ${KEY} bytes`)
}

function padded(bytes: Uint8Array, size: number, random: boolean): Uint8Array {
  const out = random ? new Uint8Array(randomBytes(size)) : new Uint8Array(size)
  out.set(bytes, 0)
  return out
}

/**
 * The cell to send to `route[0]`: it reaches `destination` (a mailbox's address) through every hop
 * of `route` in order, carrying `message` sealed to `recipientKey` (the mailbox owner's X25519 key).
 */
export function buildCell(
  route: Hop[],
  destination: string,
  recipientKey: Uint8Array,
  message: Uint8Array | string
): Uint8Array {
  if (route.length < 1 || route.length > MAX_HOPS)
    throw bad(`a route has 1 to ${MAX_HOPS} remailers, not ${route.length}`)
  checkKey(recipientKey, 'the recipient key')
  const body = typeof message === 'string' ? utf8.encode(message) : message
  const max = maxMessage(route.length)
  if (body.byteLength > max)
    throw bad(
      `the message is ${body.byteLength} bytes; through ${route.length} remailers at most ${max}`
    )
  const letterPlain = new Uint8Array(CELL - route.length * STEP - BOX_OVERHEAD)
  letterPlain[0] = body.byteLength >> 8
  letterPlain[1] = body.byteLength & 0xff
  letterPlain.set(body, 2)
  let inner = crypto.box(recipientKey, letterPlain)
  let next = destination
  for (let i = route.length - 1; i >= 0; i--) {
    const hop = route[i] as Hop
    checkKey(hop.publicKey, `the key of remailer ${i + 1}`)
    const layer = new Uint8Array(HEADER + inner.byteLength)
    layer[0] = FORWARD
    layer.set(addressBytes(next), 1)
    layer.set(inner, HEADER)
    inner = crypto.box(hop.publicKey, layer)
    next = hop.address
  }
  return inner // CELL bytes exactly: the layers fill it
}

function addressBytes(address: string): Uint8Array {
  const bytes = utf8.encode(address)
  if (bytes.byteLength === 0 || bytes.byteLength > ADDRESS_BYTES || bytes.includes(0))
    throw bad(`an address must be 1 to ${ADDRESS_BYTES} bytes with no NUL: ${address.slice(0, 40)}`)
  return padded(bytes, ADDRESS_BYTES, false)
}

/** Tries the box lengths a cell can hold (CELL - j · STEP, j ≥ `from`) with one shared key. */
function openAt(secretKey: Uint8Array, cell: Uint8Array, from: number): Uint8Array | null {
  if (cell.byteLength !== CELL) return null
  const key = crypto.sharedKey(secretKey, cell.subarray(0, KEY))
  for (let j = from; j <= MAX_HOPS; j++) {
    const length = CELL - j * STEP
    if (length < BOX_OVERHEAD) break
    const plain = crypto.open(key, cell.subarray(KEY, length))
    if (plain) return plain
  }
  return null
}

/** What a remailer does with a cell (the same steps as examples/guests/remailer.js). */
export function peel(
  secretKey: Uint8Array,
  cell: Uint8Array
): { to: string; cell: Uint8Array } | null {
  checkKey(secretKey, 'the secret key')
  const layer = openAt(secretKey, cell, 0)
  if (!layer || layer[0] !== FORWARD || layer.byteLength < HEADER) return null
  let end = 1
  while (end < HEADER && layer[end] !== 0) end++
  const body = layer.subarray(HEADER)
  return { to: text.decode(layer.subarray(1, end)), cell: padded(body, CELL, true) }
}

/** The message in a letter (a cell the mailbox kept), or null if it is not for `secretKey`. */
export function openLetter(secretKey: Uint8Array, cell: Uint8Array): Uint8Array | null {
  checkKey(secretKey, 'the secret key')
  const plain = openAt(secretKey, cell, 1)
  if (!plain || plain.byteLength < 2) return null
  const n = (plain[0] as number) * 256 + (plain[1] as number)
  return n + 2 <= plain.byteLength ? plain.slice(2, 2 + n) : null
}

/** A mailbox delivery (box(owner key, kept cell)) opened to its message, or null. */
export function openDelivery(secretKey: Uint8Array, delivery: Uint8Array): Uint8Array | null {
  checkKey(secretKey, 'the secret key')
  const cell = crypto.unbox(secretKey, delivery)
  return cell ? openLetter(secretKey, cell) : null
}

/** A cell of random bytes: chaff, which every remailer takes in and drops. */
export function chaff(): Uint8Array {
  return new Uint8Array(randomBytes(CELL))
}
