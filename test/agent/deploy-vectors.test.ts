// The deploy channel's committed hex vectors (test/fixtures/deploy-vectors.json): every message
// type, and malformed messages with the decode code each is refused with.
import { test } from 'tap'
import {
  decodeDeployMessage,
  encodeDeployMessage,
  DEPLOY_VERSION,
  type DeployMessageType
} from '../../src/agent/deploy-messages.js'
import { encodeDeployRequest } from '../../src/ledger/codecs.js'
import { signDeployRequest } from '../../src/ledger/sign.js'
import type { DeployRequest } from '../../src/ledger/records.js'
import { seed } from '../helpers.js'
import { checkVectors, type BadExample, type Example } from '../vectors.js'

const A = seed(1)
const B = seed(2)
const T = 1_800_000_000_000
const fill = (n: number, byte: number): Uint8Array => new Uint8Array(n).fill(byte)
const V = DEPLOY_VERSION
const CODE = new Uint8Array(Buffer.from("quid.on('start', () => {})"))

const request: DeployRequest = {
  host: A.publicKey,
  owner: B.publicKey,
  time: T,
  codeHash: fill(32, 9),
  codeSize: CODE.byteLength,
  resources: { cpu: 5n, disk: 1000n, net: 0n },
  claims: [
    { claim: fill(32, 3), root: fill(32, 4), resource: 'cpu', amount: 5n },
    { claim: fill(32, 5), root: fill(32, 6), resource: 'disk', amount: 1000n }
  ],
  nonce: fill(16, 7)
}

function examples(): Example[] {
  return [
    {
      name: 'deploy',
      type: 'deploy',
      value: {
        rid: 1,
        request: encodeDeployRequest(request),
        signature: signDeployRequest(request, B),
        code: CODE,
        follow: [fill(32, 0xa1), fill(32, 0xa2)]
      }
    },
    {
      name: 'stop',
      type: 'stop',
      value: { rid: 2, guest: fill(32, 8), signature: fill(64, 0x55) }
    },
    { name: 'deployed', type: 'deployed', value: { rid: 1, guest: fill(32, 8) } },
    {
      name: 'deployed, rid 300 (3-byte uint)',
      type: 'deployed',
      value: { rid: 300, guest: fill(32, 8) }
    },
    {
      name: 'stopped',
      type: 'stopped',
      value: { rid: 2, used: { cpu: 0n, disk: 1000n, net: (1n << 64n) - 1n } }
    },
    {
      name: 'error',
      type: 'error',
      value: { rid: 1, code: 'insufficient', message: 'not enough credit — ça coûte' }
    },
    {
      name: 'path',
      type: 'path',
      value: { rid: 0, transfer: fill(32, 0xee), ids: [fill(32, 0xa1)] }
    },
    { name: 'path, no ids', type: 'path', value: { rid: 0, transfer: fill(32, 0xee), ids: [] } }
  ]
}

function bad(): BadExample[] {
  const deployed = encodeDeployMessage('deployed', { rid: 1, guest: fill(32, 8) })
  const head = (...b: number[]): number[] => [V, ...b]
  const bytes = (...b: ArrayLike<number>[]): Uint8Array =>
    Uint8Array.from(b.flatMap((x) => Array.from(x)))
  return [
    { name: 'no bytes', type: 'deployed', bytes: new Uint8Array(), code: 'decode-truncated' },
    {
      name: 'version 1 (no version byte): rid first',
      type: 'deployed',
      bytes: bytes([1], fill(32, 8)),
      code: 'decode-unknown-version'
    },
    {
      name: 'rid 1 written in 3 bytes',
      type: 'deployed',
      bytes: bytes(head(0xfd, 1, 0), fill(32, 8)),
      code: 'decode-non-canonical'
    },
    {
      name: 'a trailing byte',
      type: 'deployed',
      bytes: bytes(deployed, [0]),
      code: 'decode-trailing-bytes'
    },
    {
      name: 'cut in the guest id',
      type: 'deployed',
      bytes: deployed.subarray(0, deployed.byteLength - 1),
      code: 'decode-truncated'
    },
    {
      name: 'a request of 4097 bytes',
      type: 'deploy',
      bytes: bytes(head(1, 0xfd, 0x01, 0x10)),
      code: 'decode-oversize'
    },
    {
      name: '33 logs to follow',
      type: 'deploy',
      bytes: bytes(head(1, 0), fill(64, 0), [0, 33]),
      code: 'decode-oversize'
    },
    {
      name: 'stopped, an amount of two words',
      type: 'stopped',
      bytes: bytes(head(2, 0, 0, 2), fill(16, 1)),
      code: 'decode-invalid-field'
    },
    {
      name: 'stopped, 0 written as a word',
      type: 'stopped',
      bytes: bytes(head(2, 0, 0, 1), fill(8, 0)),
      code: 'decode-non-canonical'
    },
    {
      name: 'error, a code of 33 bytes',
      type: 'error',
      bytes: bytes(head(1, 33), fill(33, 0x61), [0]),
      code: 'decode-oversize'
    },
    {
      name: 'error, a message that is not UTF-8',
      type: 'error',
      bytes: bytes(head(1, 1, 0x61, 2, 0xc3, 0x28)),
      code: 'decode-invalid-field'
    },
    {
      name: 'path, 33 ids',
      type: 'path',
      bytes: bytes(head(0), fill(32, 0xee), [33]),
      code: 'decode-oversize'
    }
  ]
}

test('deploy messages match their committed hex vectors, and malformed ones are refused', async (t) => {
  checkVectors(
    t,
    new URL('../fixtures/deploy-vectors.json', import.meta.url),
    {
      format: `quid deploy channel messages, version ${DEPLOY_VERSION}`,
      spec: 'docs/PROTOCOL.md section 12'
    },
    {
      encode: (type, value) => encodeDeployMessage(type as DeployMessageType, value as never),
      decode: (type, bytes) => decodeDeployMessage(type as DeployMessageType, bytes),
      codeOf: (err) => {
        t.equal(err.code, 'protocol-violation', 'a malformed message is a protocol violation')
        return String(err.details.why)
      }
    },
    examples(),
    bad()
  )
})
