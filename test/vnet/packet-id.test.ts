import { test } from 'tap'
import { newPacketId, PACKET_ID_BYTES } from '../../src/vnet/packet.js'
import { toHex } from '../../src/core/bytes.js'

test('packet ids: fresh random bytes for every packet, past pool refills, each its own buffer', async (t) => {
  // Five pools' worth: ids cut before and after a refill must not repeat.
  const ids = Array.from({ length: 5 * 256 + 3 }, () => newPacketId())
  t.ok(
    ids.every((id) => id.byteLength === PACKET_ID_BYTES),
    `every id is ${PACKET_ID_BYTES} bytes`
  )
  t.equal(new Set(ids.map(toHex)).size, ids.length, 'no id repeats')
  t.ok(
    ids.every((id) => id.byteOffset === 0 && id.buffer.byteLength === PACKET_ID_BYTES),
    'no id is a view of the shared pool'
  )
  const first = toHex(ids[0] as Uint8Array)
  newPacketId().fill(0)
  t.equal(toHex(ids[0] as Uint8Array), first, 'changing one id changes no other')
  t.ok(
    ids.every((id) => id.some((b) => b !== 0)),
    'no id is all zeros (the pool is filled before use)'
  )
})
