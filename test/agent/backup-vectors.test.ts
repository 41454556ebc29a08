// The backup file's committed hex vectors (test/fixtures/backup-vectors.json): valid files, and
// malformed ones with the field each is refused at. Invalid bodies are sealed with a correct
// checksum, so that each reaches the check it is about.
import { test } from 'tap'
import {
  BACKUP_MAGIC,
  BACKUP_VERSION,
  decodeBackup,
  encodeBackup,
  type Backup
} from '../../src/agent/backup-format.js'
import { encodeExport } from '../../src/audit/export-format.js'
import { blake2b256 } from '../../src/crypto/hash.js'
import { concat } from '../../src/core/bytes.js'
import { checkVectors, type BadExample, type Example } from '../vectors.js'

const T = 1_800_000_000_000
const ID = new Uint8Array(32).fill(1)
const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'))
const EMPTY_LOG = encodeExport({
  id: ID,
  length: 0,
  fork: 0,
  signature: new Uint8Array(64),
  roots: [],
  entries: []
})
const KEY = utf8('{"version":1}\n')

function u32(n: number): Uint8Array {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n)
  return new Uint8Array(b)
}
function u64(n: bigint): Uint8Array {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(n)
  return new Uint8Array(b)
}
const field = (b: Uint8Array): Uint8Array => concat([u32(b.byteLength), b])
const head = (): Uint8Array => concat([ID, u64(BigInt(T)), field(EMPTY_LOG)])
const file = (path: Uint8Array, mode: number, data: Uint8Array): Uint8Array =>
  concat([field(path), u32(mode), field(data)])
/** version · magic · BLAKE2b-256(body) · body. */
const seal = (body: Uint8Array, version = BACKUP_VERSION): Uint8Array =>
  concat([new Uint8Array([version]), BACKUP_MAGIC, blake2b256(body), body])
const oneFile = (path: string, mode = 0o600): Uint8Array =>
  seal(concat([head(), u32(0), u32(1), file(utf8(path), mode, KEY)]))

function examples(): Example[] {
  const minimal: Backup = {
    id: ID,
    created: T,
    log: EMPTY_LOG,
    cores: [],
    files: [{ path: 'identity.key', mode: 0o600, data: KEY }]
  }
  const full: Backup = {
    id: ID,
    created: T,
    log: EMPTY_LOG,
    cores: [
      { name: 'quid-snapshots', blocks: [] },
      { name: 'quid-exchange', blocks: [utf8('{"op":"a"}'), utf8('{"op":"b"}')] }
    ],
    files: [
      { path: 'followed.json', mode: 0o644, data: utf8('[]\n') },
      { path: 'host/guests/g1/code.js', mode: 0o644, data: utf8('export default 1\n') },
      { path: 'identity.key', mode: 0o600, data: KEY }
    ]
  }
  return [
    { name: 'an empty log and the key file', value: minimal },
    { name: 'private cores and nested files', value: full }
  ]
}

function bad(): BadExample[] {
  const good = encodeBackup(examples()[0]!.value as Backup)
  const flipped = new Uint8Array(good)
  flipped[flipped.byteLength - 1]! ^= 1
  const huge = concat([ID, u64(1n << 53n), field(EMPTY_LOG), u32(0), u32(0)])
  const code = (f: string): string => `backup-invalid/${f}`
  return [
    { name: 'empty', bytes: new Uint8Array(0), code: code('magic') },
    { name: 'a quid-log export, not a backup', bytes: EMPTY_LOG, code: code('magic') },
    {
      name: 'version 2',
      bytes: seal(concat([head(), u32(0), u32(0)]), 2),
      code: code('version')
    },
    { name: 'cut inside the checksum', bytes: good.subarray(0, 20), code: code('checksum') },
    { name: 'a flipped byte in the body', bytes: flipped, code: code('checksum') },
    { name: 'truncated by one byte', bytes: good.subarray(0, -1), code: code('checksum') },
    {
      name: 'a byte after the last file, resealed',
      bytes: seal(concat([head(), u32(0), u32(0), new Uint8Array([0])])),
      code: code('end')
    },
    {
      name: 'the log runs past the end, resealed',
      bytes: seal(concat([ID, u64(BigInt(T)), u32(1000)])),
      code: code('log')
    },
    { name: 'created above 2^53 - 1', bytes: seal(huge), code: code('created') },
    { name: 'a path with ..', bytes: oneFile('../outside'), code: code('file 0 path') },
    { name: 'an absolute path', bytes: oneFile('/etc/passwd'), code: code('file 0 path') },
    {
      name: 'a path into the store',
      bytes: oneFile('store/db/CURRENT'),
      code: code('file 0 path')
    },
    { name: 'mode above 777', bytes: oneFile('identity.key', 0o4755), code: code('file 0 mode') },
    {
      name: 'a repeated path',
      bytes: seal(
        concat([head(), u32(0), u32(2), file(utf8('a'), 0o600, KEY), file(utf8('a'), 0o600, KEY)])
      ),
      code: code('file 1 path')
    },
    {
      name: 'a core name that is not UTF-8',
      bytes: seal(concat([head(), u32(1), field(new Uint8Array([0xc3, 0x28])), u32(0), u32(0)])),
      code: code('core 0 name')
    },
    {
      name: 'a repeated core name',
      bytes: seal(
        concat([head(), u32(2), field(utf8('x')), u32(0), field(utf8('x')), u32(0), u32(0)])
      ),
      code: code('core 1 name')
    }
  ]
}

test('backup files match their committed hex vectors, and malformed ones are refused', async (t) => {
  checkVectors(
    t,
    new URL('../fixtures/backup-vectors.json', import.meta.url),
    {
      format: `quid backup file, version ${BACKUP_VERSION}`,
      spec: 'docs/FORMAT.md, "The backup file"'
    },
    {
      encode: (_type, value) => encodeBackup(value as Backup),
      decode: (_type, bytes) => decodeBackup(bytes),
      codeOf: (err) => `${err.code}/${String(err.details.field)}`
    },
    examples(),
    bad()
  )
})

test('a backup decodes to what was encoded', async (t) => {
  for (const e of examples()) t.same(decodeBackup(encodeBackup(e.value as Backup)), e.value, e.name)
})
