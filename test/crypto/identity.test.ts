import { test } from 'tap'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tmp } from '../helpers.js'
import {
  generateKeyPair,
  readKeyFile,
  writeKeyFile,
  formatId,
  parseId
} from '../../src/crypto/identity.js'

test('a key file is written 0600 and read back', async (t) => {
  const dir = await tmp(t)
  const path = join(dir, 'sub', 'identity')
  const kp = generateKeyPair()
  await writeKeyFile(path, kp)
  t.equal((await stat(path)).mode & 0o777, 0o600)
  const back = await readKeyFile(path)
  t.same(back.publicKey, kp.publicKey)
  t.same(back.secretKey, kp.secretKey)
})

test('a key file others can read is refused; an existing one is never overwritten', async (t) => {
  const dir = await tmp(t)
  const path = join(dir, 'identity')
  const kp = generateKeyPair()
  await writeKeyFile(path, kp)
  await chmod(path, 0o644)
  await t.rejects(readKeyFile(path), { code: 'key-file-permissions' })
  await chmod(path, 0o600)
  const before = await readFile(path, 'utf8')
  await t.rejects(writeKeyFile(path, generateKeyPair()), { code: 'key-file-exists' })
  t.equal(await readFile(path, 'utf8'), before, 'the existing key is untouched')
})

test('corrupt or mismatched key files are refused with a clear code', async (t) => {
  const dir = await tmp(t)
  const path = join(dir, 'identity')
  await writeFile(path, 'not json', { mode: 0o600 })
  await t.rejects(readKeyFile(path), { code: 'key-file-invalid' })
  const a = generateKeyPair()
  const b = generateKeyPair()
  await writeFile(
    path,
    JSON.stringify({
      version: 1,
      publicKey: Buffer.from(b.publicKey).toString('hex'),
      seed: Buffer.from(a.secretKey.subarray(0, 32)).toString('hex')
    }),
    { mode: 0o600 }
  )
  await t.rejects(readKeyFile(path), { code: 'key-file-invalid' })
  await writeFile(path, JSON.stringify({ version: 1, publicKey: 'ab', seed: 'cd' }), {
    mode: 0o600
  })
  await t.rejects(readKeyFile(path), { code: 'key-file-invalid', message: /64 lowercase hex/ })
})

test('ids print as hex or z-base-32 and parse back; bad ids name the problem', async (t) => {
  const kp = generateKeyPair()
  t.same(parseId(formatId(kp.publicKey)), kp.publicKey)
  t.same(parseId(formatId(kp.publicKey, 'z32')), kp.publicKey)
  t.throws(() => parseId('abc'), { code: 'bad-id' })
  t.throws(() => parseId('z'.repeat(64)), { code: 'bad-id' })
  // z-base-32 of 32 bytes leaves 4 bits of the last character unused: one spelling only.
  const z = formatId(kp.publicKey, 'z32')
  const alphabet = 'ybndrfg8ejkmcpqxot1uwisza345h769'
  const last = alphabet.indexOf(z[51] as string)
  const other = z.slice(0, 51) + alphabet[last ^ 1]
  t.throws(() => parseId(other), { code: 'bad-id' }, 'a non-canonical spelling is refused')
})
