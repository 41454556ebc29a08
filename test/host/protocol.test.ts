/**
 * The text form of handler calls and their replies between host and sandbox (protocol.ts): every
 * field comes back as it went, whatever characters or bytes it holds.
 */
import { test } from 'tap'
import {
  CALL_KINDS,
  decodeCall,
  decodeCallReply,
  encodeCall,
  encodeCallReply,
  fromLatin1,
  latin1,
  type Budget,
  type CallResult,
  type Event
} from '../../src/host/protocol.js'

const budget: Budget = {
  cpuNs: 2n ** 70n + 3n,
  net: 2 ** 53 - 1,
  wallMs: 5000,
  sliceMs: 10,
  maxSends: 256,
  maxLogs: 64,
  maxPacket: 65536
}
const every = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) % 256)
const awkward = 'a;b,c\u0000;1,2;é∑🙂'

test('a call: every field round-trips', async (t) => {
  for (const kind of CALL_KINDS) {
    const back = decodeCall(
      encodeCall({
        op: 'call',
        id: 4242,
        guest: 'ab'.repeat(32),
        kind,
        data: every,
        from: awkward,
        budget
      })
    )
    t.same(
      back,
      { id: 4242, guest: 'ab'.repeat(32), kind, from: awkward, data: latin1(every), budget },
      kind
    )
    t.same(fromLatin1(back.data), every, 'the payload bytes, all 256 values')
  }
  const bare = decodeCall(encodeCall({ op: 'call', id: 1, guest: 'g', kind: 'stop', budget }))
  t.equal(bare.data, '', 'no payload: empty')
  t.equal(bare.from, '', 'no sender: empty')
})

test("a call's reply: the events in order, then the reply", async (t) => {
  const events: Event[] = [
    { event: 'send', guest: 'g1', to: awkward, data: every },
    { event: 'log', guest: 'g1', line: awkward },
    { event: 'send', guest: 'g1', to: 'x', data: new Uint8Array(0) },
    { event: 'timer', guest: 'g1', ms: 3_600_000, note: '' },
    { event: 'timer', guest: 'g1', ms: 0, note: awkward }
  ]
  const full: CallResult = {
    cpuNs: 2n ** 64n + 1n,
    wallNs: 123n,
    netOut: 512,
    disk: 2 ** 40,
    memory: 7,
    error: awkward,
    ended: 'net-exhausted',
    detail: 'net credit exhausted; really'
  }
  const out = decodeCallReply(encodeCallReply('g1', events, 99, full))
  t.same(out, [...events, { re: 99, ok: true, result: full }])
  const sent = out[0] as Extract<Event, { event: 'send' }>
  t.ok(sent.data instanceof Uint8Array, 'payloads come back as bytes')
  t.equal(sent.data.buffer.byteLength, every.byteLength, 'in a buffer of their own')

  const plain: CallResult = { cpuNs: 0n, wallNs: 1n, netOut: 0, disk: 0, memory: 0 }
  t.same(decodeCallReply(encodeCallReply('g2', [], 1, plain)), [{ re: 1, ok: true, result: plain }])
})
