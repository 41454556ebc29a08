import { test } from 'tap'
import { decodePacket, encodePacket, MAX_PAYLOAD, type Packet } from '../../src/vnet/packet.js'
import { clientAddress, guestAddress } from '../../src/vnet/address.js'
import { ErrorCodes } from '../../src/core/errors.js'

const key = (n: number): Uint8Array => new Uint8Array(32).fill(n)

function packet(size: number): Packet {
  return {
    kind: 'data',
    id: new Uint8Array(16).fill(7),
    from: guestAddress(key(1), key(2)),
    to: clientAddress(key(3)),
    payload: new Uint8Array(size).fill(5)
  }
}

/** The packet's bytes with its payload length written as `prefix` instead. */
function withPrefix(size: number, prefix: number[]): Uint8Array {
  const bytes = encodePacket(packet(size))
  const canonical = size < 0xfd ? 1 : size <= 0xffff ? 3 : 5
  const head = bytes.subarray(0, bytes.byteLength - size - canonical)
  return Uint8Array.from([...head, ...prefix, ...bytes.subarray(bytes.byteLength - size)])
}

test('packets: the payload length has one encoding; every longer form is refused', async (t) => {
  // The shortest forms decode, at each width's edges.
  for (const size of [0, 3, 0xfc, 0xfd, 300, 0xffff, MAX_PAYLOAD]) {
    t.same(decodePacket(encodePacket(packet(size))), packet(size), `${size} bytes round-trips`)
  }
  const forms: Array<[string, number, number[]]> = [
    ['3 in 3 bytes', 3, [0xfd, 3, 0]],
    ['3 in 5 bytes', 3, [0xfe, 3, 0, 0, 0]],
    ['3 in 9 bytes', 3, [0xff, 3, 0, 0, 0, 0, 0, 0, 0]],
    ['300 in 5 bytes', 300, [0xfe, 44, 1, 0, 0]],
    ['300 in 9 bytes', 300, [0xff, 44, 1, 0, 0, 0, 0, 0, 0]],
    ['65536 in 9 bytes', MAX_PAYLOAD, [0xff, 0, 0, 1, 0, 0, 0, 0, 0]]
  ]
  for (const [what, size, prefix] of forms) {
    t.throws(
      () => decodePacket(withPrefix(size, prefix)),
      { code: ErrorCodes.DECODE_NONCANONICAL },
      what
    )
  }
  // The canonical forms written by hand decode (the helper splices correctly).
  t.same(decodePacket(withPrefix(300, [0xfd, 44, 1])), packet(300))
  t.same(decodePacket(withPrefix(MAX_PAYLOAD, [0xfe, 0, 0, 1, 0])), packet(MAX_PAYLOAD))
  // An oversize length is refused as oversize, whatever its width.
  t.throws(() => decodePacket(withPrefix(3, [0xfe, 1, 0, 1, 0])), {
    code: ErrorCodes.DECODE_OVERSIZE
  })
})
