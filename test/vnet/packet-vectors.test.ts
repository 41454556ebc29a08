// The packet format's committed hex vectors (test/fixtures/packet-vectors.json): each kind and
// reason, each payload-length width, and malformed packets with the decode code each gets.
import { test } from 'tap'
import {
  decodePacket,
  encodePacket,
  UNREACHABLE_REASONS,
  type Packet
} from '../../src/vnet/packet.js'
import { clientAddress, guestAddress } from '../../src/vnet/address.js'
import { QuidError } from '../../src/core/errors.js'
import { checkVectors, type BadExample, type Example } from '../vectors.js'

const fill = (n: number, byte: number): Uint8Array => new Uint8Array(n).fill(byte)
const client = clientAddress(fill(32, 0xa1))
const guest = guestAddress(fill(32, 0xb2), fill(32, 0xc3))
const id = fill(16, 0x07)

function examples(): Example[] {
  const data = (
    name: string,
    from = client,
    to = guest,
    payload: Uint8Array = new Uint8Array()
  ): Example => ({
    name,
    value: { kind: 'data', id, from, to, payload } satisfies Packet
  })
  return [
    data('data, client to guest', client, guest, new Uint8Array(Buffer.from('hello'))),
    data('data, guest to client, empty payload', guest, client),
    data('data, guest to guest, 300 bytes (3-byte length)', guest, guest, fill(300, 0x5a)),
    ...UNREACHABLE_REASONS.map(
      (reason): Example => ({
        name: `unreachable, ${reason}`,
        value: { kind: 'unreachable', id, from: guest, to: client, reason } satisfies Packet
      })
    )
  ]
}

function bad(): BadExample[] {
  const data = encodePacket({ kind: 'data', id, from: client, to: guest, payload: fill(3, 1) })
  const un = encodePacket({ kind: 'unreachable', id, from: guest, to: client, reason: 'gone' })
  // client → guest: 2 + 16 + 33 + 65 = 116 bytes before the payload's length.
  const head = data.subarray(0, 116)
  const set = (b: Uint8Array, at: number, v: number): Uint8Array => {
    const out = new Uint8Array(b)
    out[at] = v
    return out
  }
  return [
    { name: 'no bytes', bytes: new Uint8Array(), code: 'decode-truncated' },
    { name: 'version 2', bytes: set(data, 0, 2), code: 'decode-unknown-version' },
    { name: 'kind 3', bytes: set(data, 1, 3), code: 'decode-unknown-type' },
    { name: 'guest flag 2', bytes: set(data, 2 + 16 + 32, 2), code: 'decode-invalid-field' },
    { name: 'cut in the id', bytes: data.subarray(0, 17), code: 'decode-truncated' },
    {
      name: 'cut in the payload',
      bytes: data.subarray(0, data.byteLength - 1),
      code: 'decode-truncated'
    },
    {
      name: 'a trailing byte',
      bytes: Uint8Array.from([...data, 0]),
      code: 'decode-trailing-bytes'
    },
    {
      name: 'payload length 3 in 3 bytes',
      bytes: Uint8Array.from([...head, 0xfd, 3, 0, 1, 1, 1]),
      code: 'decode-non-canonical'
    },
    {
      name: 'payload length 65537',
      bytes: Uint8Array.from([...head, 0xfe, 1, 0, 1, 0]),
      code: 'decode-oversize'
    },
    { name: 'reason 0', bytes: set(un, un.byteLength - 1, 0), code: 'decode-invalid-field' },
    { name: 'reason 6', bytes: set(un, un.byteLength - 1, 6), code: 'decode-invalid-field' }
  ]
}

test('packets match their committed hex vectors, and malformed ones are refused', async (t) => {
  checkVectors(
    t,
    new URL('../fixtures/packet-vectors.json', import.meta.url),
    { format: 'quid virtual-network packets, version 1', spec: 'docs/VNET.md, "Packets"' },
    {
      encode: (_type, value) => encodePacket(value as Packet),
      decode: (_type, bytes) => decodePacket(bytes),
      codeOf: (err: QuidError) => err.code
    },
    examples(),
    bad()
  )
})
