// The `quid` command as a user runs it: the real bin/quid.js (built by `npm test`) in a child process.
import { test } from 'tap'
import { execFile } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { tmp } from '../helpers.js'

const BIN = new URL('../../bin/quid.js', import.meta.url).pathname

function quid(
  args: string[],
  env: NodeJS.ProcessEnv = {}
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (err as unknown as { code: number }).code : 0, stdout, stderr })
      }
    )
  })
}

test('init creates a participant; id prints it, in text and --json', async (t) => {
  const dir = join(await tmp(t), 'alice')
  const init = await quid(['init', '--dir', dir, '--json'])
  t.equal(init.code, 0, init.stderr)
  const made = JSON.parse(init.stdout) as { id: string; z32: string; dir: string; log: string }
  t.match(made.id, /^[0-9a-f]{64}$/)
  t.equal((await stat(join(dir, 'identity.key'))).mode & 0o777, 0o600, 'key file is private')
  const id = await quid(['id', '--json'], { QUID_DIR: dir })
  t.equal(id.code, 0)
  t.same(
    JSON.parse(id.stdout),
    { id: made.id, z32: made.z32, log: made.log },
    '$QUID_DIR picks the directory'
  )
  const human = await quid(['id', '--dir', dir])
  t.match(human.stdout, made.id)
})

test('init refuses to overwrite an existing participant, which stays intact', async (t) => {
  const dir = join(await tmp(t), 'bob')
  t.equal((await quid(['init', '--dir', dir])).code, 0)
  const before = await readFile(join(dir, 'identity.key'), 'utf8')
  const again = await quid(['init', '--dir', dir])
  t.equal(again.code, 1)
  t.match(again.stderr, /already exists; refusing to overwrite a key \[key-file-exists\]/)
  t.equal(await readFile(join(dir, 'identity.key'), 'utf8'), before, 'the key is untouched')
})

test('bad usage: unknown command, unknown option, missing participant; --help works', async (t) => {
  const dir = await tmp(t)
  const unknown = await quid(['frobnicate'])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /unknown command "frobnicate"/)
  const opt = await quid(['id', '--bogus'])
  t.equal(opt.code, 1)
  t.match(opt.stderr, /Unknown option '--bogus'/)
  const none = await quid(['id', '--dir', join(dir, 'nobody'), '--json'])
  t.equal(none.code, 1)
  t.equal((JSON.parse(none.stdout) as { error: { code: string } }).error.code, 'bad-argument')
  t.match(none.stderr, /no participant in .*nobody: run quid init/)
  const help = await quid(['init', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /usage: quid init/)
  t.match((await quid(['--version'])).stdout, /^\d+\.\d+\.\d+/)
})
