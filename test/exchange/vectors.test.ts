// The exchange messages' committed hex vectors (test/fixtures/exchange-vectors.json): every message
// type, and malformed messages with the decode code each is refused with.
import { test } from 'tap'
import {
  decodeMessage,
  decodeProposal,
  encodeMessage,
  signHello,
  signOffer,
  type MessageType,
  type Offer
} from '../../src/exchange/messages.js'
import { MAX_MESSAGE_BYTES } from '../../src/exchange/constants.js'
import { encodeEntry } from '../../src/ledger/codecs.js'
import { signRecordAs } from '../../src/ledger/sign.js'
import type { LedgerRecord } from '../../src/ledger/records.js'
import { seed } from '../helpers.js'
import { checkVectors, type BadExample, type Example } from '../vectors.js'

const A = seed(1)
const B = seed(2)
const T = 1_800_000_000_000
const fill = (n: number, byte: number): Uint8Array => new Uint8Array(n).fill(byte)
const ZERO_SIGNATURE = fill(64, 0)

const offerBody = {
  maker: A.publicKey,
  time: T,
  expires: T + 3_600_000,
  nonce: fill(16, 7),
  give: { cpu: 0n, disk: 10_000_000n, net: 0n },
  want: { cpu: 315_576_000n, disk: 0n, net: 0n }
}

/** A co-signed record as proposed: the proposer's signature in slot 0, zeros in slot 1. */
function proposal(r: LedgerRecord): Uint8Array {
  return encodeEntry(r, [signRecordAs(r, A), ZERO_SIGNATURE])
}

const agreement: LedgerRecord = {
  type: 'agreement',
  a: A.publicKey,
  b: B.publicKey,
  time: T,
  expires: T + 86_400_000,
  nonce: fill(16, 7),
  legs: [
    { issuer: 'a', resource: 'cpu', amount: 315_576_000n },
    { issuer: 'b', resource: 'disk', amount: 10_000_000n }
  ]
}

const transfer: LedgerRecord = {
  type: 'transfer',
  sender: A.publicKey,
  receiver: B.publicKey,
  time: T,
  claim: fill(32, 3),
  amount: 1n,
  nonce: fill(16, 7)
}

function examples(): Example[] {
  return [
    { name: 'hello', type: 'hello', value: signHello(A, fill(64, 0x11), fill(32, 0x22)) },
    { name: 'offer', type: 'offer', value: signOffer(offerBody, A) },
    { name: 'propose an agreement', type: 'propose', value: { entry: proposal(agreement) } },
    { name: 'propose a transfer', type: 'propose', value: { entry: proposal(transfer) } },
    {
      name: 'accept',
      type: 'accept',
      value: { record: fill(32, 0xee), signature: fill(64, 0x55) }
    },
    {
      name: 'reject',
      type: 'reject',
      value: { record: fill(32, 0xee), code: 'over-capacity', message: 'no room' }
    },
    {
      name: 'reject, UTF-8 message',
      type: 'reject',
      value: { record: fill(32, 0xee), code: 'refused', message: 'non, merci — ça suffit' }
    },
    {
      name: 'reject, empty message',
      type: 'reject',
      value: { record: fill(32, 1), code: 'x', message: '' }
    },
    { name: 'done', type: 'done', value: { record: fill(32, 0xee) } }
  ]
}

/** `bytes` with `at` overwritten by `b`. */
function patch(bytes: Uint8Array, at: number, b: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(bytes)
  out.set(b, at)
  return out
}

function bad(): BadExample[] {
  const hello = encodeMessage('hello', signHello(A, fill(64, 0x11), fill(32, 0x22)))
  const offer = encodeMessage('offer', signOffer(offerBody, A) as Offer)
  const reject = (code: number[], message: number[]): Uint8Array =>
    Uint8Array.from([...fill(32, 0xee), code.length, ...code, message.length, ...message])
  const ascii = (s: string): number[] => [...Buffer.from(s)]
  return [
    {
      name: 'hello of version 2',
      type: 'hello',
      bytes: patch(hello, 0, [2]),
      code: 'decode-unknown-version'
    },
    {
      name: 'hello, one byte short',
      type: 'hello',
      bytes: hello.subarray(0, 96),
      code: 'decode-truncated'
    },
    {
      name: 'hello and a trailing byte',
      type: 'hello',
      bytes: Uint8Array.from([...hello, 0]),
      code: 'decode-trailing-bytes'
    },
    {
      name: 'offer of version 2',
      type: 'offer',
      bytes: patch(offer, 0, [2]),
      code: 'decode-unknown-version'
    },
    {
      name: 'offer, time beyond 2^53 - 1',
      type: 'offer',
      bytes: patch(offer, 33, fill(8, 0xff)),
      code: 'decode-invalid-field'
    },
    {
      name: 'offer that expires at its time',
      type: 'offer',
      bytes: patch(offer, 41, offer.subarray(33, 41)),
      code: 'decode-invalid-field'
    },
    {
      name: 'offer that gives nothing',
      type: 'offer',
      bytes: patch(offer, 65, fill(24, 0)),
      code: 'decode-invalid-field'
    },
    {
      name: 'accept, one byte short',
      type: 'accept',
      bytes: fill(95, 0xee),
      code: 'decode-truncated'
    },
    {
      name: 'reject, code with a capital',
      type: 'reject',
      bytes: reject(ascii('Refused'), []),
      code: 'decode-invalid-field'
    },
    {
      name: 'reject, code of 33 bytes',
      type: 'reject',
      bytes: reject(ascii('a'.repeat(33)), []),
      code: 'decode-oversize'
    },
    {
      name: 'reject, message that is not UTF-8',
      type: 'reject',
      bytes: reject(ascii('refused'), [0xc3, 0x28]),
      code: 'decode-invalid-field'
    },
    {
      name: 'reject, message length 201',
      type: 'reject',
      bytes: reject(ascii('refused'), [...fill(201, 0x61)]),
      code: 'decode-oversize'
    },
    {
      name: 'done and a trailing byte',
      type: 'done',
      bytes: fill(33, 0xee),
      code: 'decode-trailing-bytes'
    },
    {
      name: 'propose of 4097 bytes',
      type: 'propose',
      bytes: fill(MAX_MESSAGE_BYTES + 1, 0),
      code: 'decode-oversize'
    },
    {
      name: 'propose of an entry with a trailing byte',
      type: 'propose',
      bytes: Uint8Array.from([...proposal(agreement), 0]),
      code: 'decode-trailing-bytes'
    },
    {
      name: 'propose of a record not co-signed over the exchange',
      type: 'propose',
      bytes: encodeEntry(
        { type: 'checkpoint', author: A.publicKey, time: T, length: 42, state: fill(32, 10) },
        [ZERO_SIGNATURE]
      ),
      code: 'decode-unknown-type'
    }
  ]
}

test('exchange messages match their committed hex vectors, and malformed ones are refused', async (t) => {
  checkVectors(
    t,
    new URL('../fixtures/exchange-vectors.json', import.meta.url),
    { format: 'quid exchange messages, protocol version 1', spec: 'docs/PROTOCOL.md section 5' },
    {
      encode: (type, value) => encodeMessage(type as MessageType, value as never),
      decode(type, bytes) {
        const m = decodeMessage(type as MessageType, bytes)
        // A proposal is refused for its entry too, as the exchange refuses it (section 5.3).
        if (type === 'propose') decodeProposal(m as { entry: Uint8Array })
        return m
      },
      codeOf: (err) => {
        t.equal(err.code, 'protocol-violation', 'a malformed message is a protocol violation')
        return String(err.details.why)
      }
    },
    examples(),
    bad()
  )
})
