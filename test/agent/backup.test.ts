/**
 * `quid backup` and `quid restore` as a person runs them, on real stores: the restored participant
 * continues its log with no fork, damaged files and occupied targets are refused with nothing
 * written, a plain file copy gets `store-copied` with nothing changed, and a running agent is not
 * backed up beside it.
 */
import { test, type Test } from 'tap'
import { cp, mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises'
import { createHash, randomBytes } from 'node:crypto'
import { join, relative } from 'node:path'
import Corestore from 'corestore'
import { Ledger } from '../../src/ledger/ledger.js'
import { generateKeyPair, writeKeyFile, type KeyPair } from '../../src/crypto/identity.js'
import { logKey } from '../../src/ledger/logs.js'
import { equal } from '../../src/core/bytes.js'
import * as build from '../../src/ledger/build.js'
import { startTestnet } from '../../src/exchange/testnet.js'
import { tmp } from '../helpers.js'
import { quid, daemon, exited } from './procs.js'

/** Records before the checkpoint (which is stamped now), so that later ones are stamped now. */
const T0 = Date.now() - 3_600_000

/** A stopped participant with `n` capacity records, a checkpoint, and some local files. */
async function participantWithRecords(dir: string, n: number): Promise<KeyPair> {
  const kp = generateKeyPair()
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeKeyFile(join(dir, 'identity.key'), kp)
  const store = new Corestore(join(dir, 'store'))
  const ledger = new Ledger(store, kp)
  await ledger.ready()
  for (let i = 0; i < n; i++)
    await ledger.appendOwn(build.capacity(kp.publicKey, 1000 + i, { cpu: 100n }, T0 + i * 1000))
  await ledger.checkpoint()
  await ledger.close()
  await store.close()
  await writeFile(join(dir, 'followed.json'), '[]\n')
  await mkdir(join(dir, 'host', 'guests', 'g1'), { recursive: true })
  await writeFile(join(dir, 'host', 'guests', 'g1', 'code.js'), 'export default 1\n')
  return kp
}

/** A ledger on a directory's store; `close` (idempotent, also at teardown) releases both. */
async function openLedger(
  t: Test,
  dir: string,
  kp: KeyPair
): Promise<{ ledger: Ledger; close: () => Promise<void> }> {
  const store = new Corestore(join(dir, 'store'))
  const ledger = new Ledger(store, kp)
  await ledger.ready()
  const close = async (): Promise<void> => {
    await ledger.close()
    await store.close()
  }
  t.teardown(close)
  return { ledger, close }
}

async function entries(ledger: Ledger): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for (let i = 0; i < ledger.length; i++) out.push((await ledger.core.get(i)) as Uint8Array)
  return out
}

/** Every file under `dir` with a hash of its bytes, its mode and its mtime. */
async function fingerprint(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = join(d, e.name)
      if (e.isDirectory()) await walk(full)
      else {
        const st = await stat(full)
        const hash = createHash('sha256')
          .update(await readFile(full))
          .digest('hex')
        out[relative(dir, full)] = `${hash} ${st.mode} ${st.mtimeMs}`
      }
    }
  }
  await walk(dir)
  return out
}

const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false
  )

interface AuditReport {
  violations: Array<{ code: string }>
  logs: Array<{ length: number; head: { fork: number } }>
}

function jsonError(stdout: string): { code: string } {
  return (JSON.parse(stdout.trim().split('\n').pop() as string) as { error: { code: string } })
    .error
}

test('a restored participant continues its log: same key, length + 1, old entries, no fork', async (t) => {
  const root = await tmp(t, 'quid-bak-')
  const a = join(root, 'a')
  const kp = await participantWithRecords(a, 3)
  const file = join(root, 'a.qbak')
  const made = await quid(['backup', '--dir', a, '--out', file, '--json'])
  t.equal(made.code, 0, made.stderr)
  const summary = JSON.parse(made.stdout) as { entries: number; files: number }
  t.equal(summary.entries, 4, 'three capacity records and a checkpoint')
  t.equal((await stat(file)).mode & 0o777, 0o600, 'the backup file is private: it holds the key')
  const again = await quid(['backup', '--dir', a, '--out', file, '--json'])
  t.equal(again.code, 1, 'an existing --out is not overwritten')
  const inside = await quid(['backup', '--dir', a, '--out', join(a, 'x.qbak'), '--json'])
  t.equal(jsonError(inside.stdout).code, 'bad-argument', 'nor written inside the directory')

  const b = join(root, 'elsewhere', 'b')
  const restored = await quid(['restore', file, '--dir', b, '--json'])
  t.equal(restored.code, 0, restored.stderr)
  t.same(
    (await readdir(join(root, 'elsewhere'))).sort(),
    ['b'],
    'no temporary directory left beside it'
  )
  t.equal(
    await readFile(join(b, 'host', 'guests', 'g1', 'code.js'), 'utf8'),
    'export default 1\n',
    "the host's files come back"
  )
  t.equal((await stat(join(b, 'identity.key'))).mode & 0o777, 0o600, 'the key file stays 0600')

  const before = await quid(['export', '--dir', a, '--out', join(root, 'before.qlog')])
  t.equal(before.code, 0, before.stderr)
  const original = await openLedger(t, a, kp)
  const old = await entries(original.ledger)
  const state = original.ledger.obligations()
  await original.close()

  const { ledger, close } = await openLedger(t, b, kp)
  t.ok(equal(ledger.core.key, logKey(kp.publicKey)), 'the same log key')
  t.equal(ledger.length, 4, 'the same length')
  t.same(await entries(ledger), old, 'the same entries')
  t.same(ledger.obligations(), state, 'the same state')
  await ledger.appendOwn(build.capacity(kp.publicKey, 2000, { cpu: 200n }, Date.now()))
  t.equal(ledger.length, 5, 'the next append extends it')
  await close()

  const after = await quid(['export', '--dir', b, '--out', join(root, 'after.qlog')])
  t.equal(after.code, 0, after.stderr)
  const audit = await quid(['audit', join(root, 'before.qlog'), join(root, 'after.qlog'), '--json'])
  t.equal(audit.code, 0, `the old and the continued exports audit clean: ${audit.stdout}`)
  const report = JSON.parse(audit.stdout) as AuditReport
  t.same(report.violations, [], 'no violation, so no fork')
  t.same(
    report.logs.map((l) => [l.length, l.head.fork]),
    [[5, 0]],
    'one log of five entries, both files agree on it'
  )

  // The control: had the original gone on too, the audit would see it.
  const orig = await openLedger(t, a, kp)
  await orig.ledger.appendOwn(build.capacity(kp.publicKey, 3000, { cpu: 300n }, Date.now()))
  await orig.close()
  const forked = await quid(['export', '--dir', a, '--out', join(root, 'forked.qlog')])
  t.equal(forked.code, 0, forked.stderr)
  const caught = await quid([
    'audit',
    join(root, 'forked.qlog'),
    join(root, 'after.qlog'),
    '--json'
  ])
  t.equal(caught.code, 4, 'two copies that both appended are a fork the audit reports')
  t.ok(
    (JSON.parse(caught.stdout) as AuditReport).violations.some((v) => v.code === 'fork'),
    'a fork violation'
  )
})

test('a damaged, truncated, empty, random or foreign file is refused and nothing is written', async (t) => {
  const root = await tmp(t, 'quid-bak-')
  const a = join(root, 'a')
  await participantWithRecords(a, 2)
  const file = join(root, 'a.qbak')
  t.equal((await quid(['backup', '--dir', a, '--out', file])).code, 0)
  const good = await readFile(file)
  const flip = (at: number): Buffer => {
    const b = Buffer.from(good)
    b[at] = (b[at] as number) ^ 0x01
    return b
  }
  const cases: Record<string, Buffer> = {
    'a flipped byte in the log': flip(good.byteLength >> 1),
    'a flipped byte in the last file': flip(good.byteLength - 1),
    'a flipped byte in the checksum': flip(20),
    'another version': flip(0),
    truncated: good.subarray(0, good.byteLength - 7),
    'cut in the header': good.subarray(0, 20),
    empty: Buffer.alloc(0),
    random: randomBytes(2000),
    'an export file, not a backup': await (async () => {
      await quid(['export', '--dir', a, '--out', join(root, 'a.qlog')])
      return readFile(join(root, 'a.qlog'))
    })()
  }
  const target = join(root, 'target')
  for (const [name, bytes] of Object.entries(cases)) {
    const bad = join(root, 'bad.qbak')
    await writeFile(bad, bytes)
    const listed = (await readdir(root)).sort()
    const r = await quid(['restore', bad, '--dir', target, '--json'])
    t.equal(r.code, 1, `${name}: exit 1`)
    t.equal(jsonError(r.stdout).code, 'backup-invalid', `${name}: backup-invalid`)
    t.notMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`)
    t.notOk(await exists(target), `${name}: nothing written`)
    t.same((await readdir(root)).sort(), listed, `${name}: nothing beside it either`)
  }
  const missing = await quid(['restore', join(root, 'nope.qbak'), '--dir', target, '--json'])
  t.equal(missing.code, 1, 'a missing file: exit 1')
  t.equal(jsonError(missing.stdout).code, 'bad-argument')
})

test('restore refuses a non-empty directory and fills an empty one', async (t) => {
  const root = await tmp(t, 'quid-bak-')
  const a = join(root, 'a')
  await participantWithRecords(a, 1)
  const file = join(root, 'a.qbak')
  t.equal((await quid(['backup', '--dir', a, '--out', file])).code, 0)
  const full = join(root, 'full')
  await mkdir(full)
  await writeFile(join(full, 'notes.txt'), 'mine\n')
  const prints = await fingerprint(full)
  const r = await quid(['restore', file, '--dir', full, '--json'])
  t.equal(r.code, 1)
  t.equal(jsonError(r.stdout).code, 'target-not-empty')
  t.same(await fingerprint(full), prints, 'the directory is as it was')
  const over = await quid(['restore', file, '--dir', a, '--json'])
  t.equal(jsonError(over.stdout).code, 'target-not-empty', 'nor over the participant itself')
  const empty = join(root, 'empty')
  await mkdir(empty)
  const ok = await quid(['restore', file, '--dir', empty])
  t.equal(ok.code, 0, ok.stderr)
  t.ok(await exists(join(empty, 'identity.key')))
})

test('a plain file copy gets store-copied with what to do instead; neither copy is changed', async (t) => {
  const root = await tmp(t, 'quid-bak-')
  const a = join(root, 'a')
  await participantWithRecords(a, 2)
  const copy = join(root, 'copy')
  await cp(a, copy, { recursive: true })
  const prints = { a: await fingerprint(a), copy: await fingerprint(copy) }
  for (const args of [
    ['up', '--dir', copy, '--bootstrap', '127.0.0.1:1'],
    ['export', '--dir', copy, '--out', join(root, 'x.qlog')],
    ['backup', '--dir', copy, '--out', join(root, 'x.qbak')]
  ]) {
    const r = await quid([...args, '--json'])
    t.equal(r.code, 1, `${args[0]}: exit 1`)
    t.equal(jsonError(r.stdout).code, 'store-copied', `${args[0]}: store-copied`)
    t.match(r.stderr, /quid backup .* quid restore/, `${args[0]}: says what to do instead`)
    t.notMatch(r.stderr, /Invalid device file/, `${args[0]}: not Corestore's words`)
  }
  t.same(await fingerprint(copy), prints.copy, 'the copy is unchanged')
  t.same(await fingerprint(a), prints.a, 'the original is unchanged')
  // A move within one file system keeps the store's inode: the moved directory just works.
  const moved = join(root, 'moved')
  await rename(a, moved)
  const r = await quid(['export', '--dir', moved, '--out', join(root, 'moved.qlog')])
  t.equal(r.code, 0, `a stopped participant moved with mv opens: ${r.stderr}`)
})

test('backup refuses while the agent runs, and says to stop it first', async (t) => {
  const root = await tmp(t, 'quid-bak-')
  const a = join(root, 'a')
  await participantWithRecords(a, 1)
  const testnet = await startTestnet()
  t.teardown(() => testnet.close())
  const up = await daemon(t, ['up', '--dir', a, '--bootstrap', testnet.bootstrap.join(',')])
  const r = await quid(['backup', '--dir', a, '--out', join(root, 'a.qbak'), '--json'])
  t.equal(r.code, 1)
  t.equal(jsonError(r.stdout).code, 'locked')
  t.match(r.stderr, /stop it first/)
  t.notOk(await exists(join(root, 'a.qbak')), 'no file written')
  up.child.kill('SIGINT')
  await exited(up.child)
  const later = await quid(['backup', '--dir', a, '--out', join(root, 'a.qbak')])
  t.equal(later.code, 0, `once it stopped, the backup is taken: ${later.stderr}`)
})

test('an agent started on the restored directory has its log and its open offer back', async (t) => {
  const root = await tmp(t, 'quid-bak-')
  const a = join(root, 'a')
  const b = join(root, 'b')
  t.equal((await quid(['init', '--dir', a])).code, 0)
  const testnet = await startTestnet()
  t.teardown(() => testnet.close())
  const up = (dir: string): string[] => [
    'up',
    '--dir',
    dir,
    '--bootstrap',
    testnet.bootstrap.join(','),
    '--market',
    'quid-backup-test',
    '--host',
    '--capacity',
    'cpu=10my,disk=1GB,net=1GB'
  ]
  const first = await daemon(t, up(a))
  const offer = await quid([
    'offer',
    '--give',
    'cpu=1my',
    '--want',
    'disk=1MB',
    '--dir',
    a,
    '--json'
  ])
  t.equal(offer.code, 0, offer.stderr)
  const status = async (dir: string): Promise<{ log: number }> =>
    JSON.parse((await quid(['status', '--dir', dir, '--json'])).stdout) as { log: number }
  const offers = async (dir: string): Promise<unknown[]> =>
    (JSON.parse((await quid(['offers', '--dir', dir, '--json'])).stdout) as { mine: unknown[] })
      .mine
  const before = { status: await status(a), mine: await offers(a) }
  t.equal(before.mine.length, 1, 'one open offer')
  t.ok(before.status.log > 0, 'the host published its capacity')
  first.child.kill('SIGINT')
  await exited(first.child)

  const file = join(root, 'a.qbak')
  t.equal((await quid(['backup', '--dir', a, '--out', file])).code, 0)
  t.equal((await quid(['restore', file, '--dir', b])).code, 0)
  const second = await daemon(t, up(b))
  t.teardown(() => second.child.kill('SIGKILL'))
  const after = await status(b)
  t.ok(after.log >= before.status.log, `the log is all there (${after.log})`)
  t.same(await offers(b), before.mine, "the exchange journal's open offer is back")
  second.child.kill('SIGINT')
  await exited(second.child)
})
