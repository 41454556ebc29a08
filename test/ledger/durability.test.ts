// Durability on real disk: reopen, checkpoints, a second process, SIGKILL mid-append, full disk,
// and the rule that quid never truncates its own log.
import { test, type Test } from 'tap'
import { spawn, execFileSync } from 'node:child_process'
import { mkdir, writeFile, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import Corestore from 'corestore'
import { participant, tmp, publishCapacity, barter, connect, type Participant } from '../helpers.js'
import { Ledger } from '../../src/ledger/ledger.js'
import { generateKeyPair, type KeyPair } from '../../src/crypto/identity.js'
import { toHex } from '../../src/core/bytes.js'
import { decodeEntry } from '../../src/ledger/codecs.js'
import { checkSignatures, signRecord } from '../../src/ledger/sign.js'
import type { SignedRecord } from '../../src/ledger/records.js'
import { replay } from '../../src/ledger/replay.js'
import { encodeSnapshot } from '../../src/ledger/snapshot.js'
import * as build from '../../src/ledger/build.js'
import { claimId } from '../../src/ledger/state.js'

async function entries(ledger: Ledger): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for (let i = 0; i < ledger.length; i++) out.push((await ledger.core.get(i)) as Uint8Array)
  return out
}

test('reopen gives the same state; a checkpoint lets reopen skip old entries and is verified', async (t) => {
  const dir = await tmp(t)
  const kp = generateKeyPair()
  const peer = await participant(t, 'peer')
  await publishCapacity(peer)
  let store = new Corestore(dir)
  let ledger = new Ledger(store, kp)
  await ledger.ready()
  const me = { name: 'me', kp, key: toHex(kp.publicKey), dir, store, ledger }
  await publishCapacity(me)
  await barter(me, peer, { cpu: 100n }, { cpu: 100n })
  await ledger.checkpoint()
  await barter(me, peer, { disk: 5n }, { net: 7n })
  const before = encodeSnapshot(ledger.state)
  const bal = ledger.obligations()
  await ledger.close()
  await store.close()

  store = new Corestore(dir)
  ledger = new Ledger(store, kp)
  await ledger.ready()
  t.same(
    encodeSnapshot(ledger.state),
    before,
    'identical state after reopen (snapshot + 1 entry replayed)'
  )
  t.same(ledger.obligations(), bal)
  await ledger.close()
  await store.close()

  // Tamper with nothing in the log but corrupt the stored snapshot: its hash no longer matches the
  // signed checkpoint, so reopen replays from the start and still reaches the same state.
  store = new Corestore(dir)
  const snaps = store.get({ name: 'quid-snapshots' })
  await snaps.ready()
  await snaps.append([
    Buffer.from('{"format":1}'),
    Buffer.from(JSON.stringify({ at: 2, chunks: 1 }))
  ])
  await snaps.close()
  ledger = new Ledger(store, kp)
  await ledger.ready()
  t.same(
    encodeSnapshot(ledger.state),
    before,
    'a snapshot the checkpoint does not vouch for is ignored'
  )
  await ledger.close()
  await store.close()
})

test('a second process opening the same directory gets a clear lock error', async (t) => {
  const p = await participant(t, 'locked')
  const code = `
    import Corestore from 'corestore'
    import { Ledger } from './src/ledger/ledger.ts'
    import { generateKeyPair } from './src/crypto/identity.ts'
    const l = new Ledger(new Corestore(${JSON.stringify(p.dir)}), generateKeyPair())
    try { await l.ready(); console.log('opened') } catch (e) { console.log(e.code) }`
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', code],
    { cwd: process.cwd(), encoding: 'utf8' }
  )
  t.equal(out.trim(), 'locked')
  t.equal(p.ledger.length, 0)
  await publishCapacity(p)
  t.equal(p.ledger.length, 1, 'the owner goes on working')
})

test('SIGKILL mid-append: every resolved append survives, the log verifies, appending goes on', async (t) => {
  const dir = await tmp(t)
  const kp = generateKeyPair()
  for (const batch of ['1', '50']) {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/fixtures/append-loop.ts',
        join(dir, batch),
        toHex(kp.secretKey.subarray(0, 32)),
        batch
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] }
    )
    let acked = 0
    let buf = ''
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString()
        const lines = buf.split('\n')
        buf = lines.pop() as string
        for (const l of lines) acked = Math.max(acked, Number(l))
        if (acked >= 300) child.kill('SIGKILL')
      })
      child.on('exit', (_code, signal) => {
        t.equal(signal, 'SIGKILL', `batch ${batch}: the writer was killed, not crashed`)
        resolve()
      })
    })
    t.ok(acked >= 300, `batch ${batch}: ${acked} appends acknowledged before the kill`)
    const store = new Corestore(join(dir, batch))
    const ledger = new Ledger(store, kp)
    await ledger.ready()
    t.ok(ledger.length >= acked, `batch ${batch}: ${ledger.length} entries, ${acked} acknowledged`)
    const all = await entries(ledger)
    t.equal(
      all.filter((b) => checkSignatures(decodeEntry(b)) !== null).length,
      0,
      'every entry decodes and verifies'
    )
    t.same(
      replay([{ id: kp.publicKey, entries: all }], { now: Date.now() }).violations,
      [],
      'the log replays clean'
    )
    await ledger.appendOwn(build.capacity(kp.publicKey, 1, {}, Date.now()))
    t.equal(ledger.length, all.length + 1, 'appending goes on')
    await ledger.close()
    await store.close()
  }
})

test('a full disk during append leaves no partial record and a readable log', async (t) => {
  const mnt = await tmp(t, 'quid-fulldisk-')
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mnt], { stdio: 'ignore' })
  } catch {
    t.plan(0, 'needs root to mount a small tmpfs')
    return
  }
  t.teardown(() => execFileSync('umount', ['-l', mnt]))
  const kp = generateKeyPair()
  const dir = join(mnt, 'p')
  await mkdir(dir)
  let store = new Corestore(dir)
  let ledger = new Ledger(store, kp)
  await ledger.ready()
  await publishCapacity({ name: 'x', kp, key: toHex(kp.publicKey), dir, store, ledger })
  // Leave very little room, then append until the disk refuses.
  const free = (await statfs(mnt)).bavail * (await statfs(mnt)).bsize
  await writeFile(join(mnt, 'filler'), Buffer.alloc(Math.max(0, free - 256 * 1024)))
  let acked = ledger.length
  let failure: unknown = null
  for (let i = 0; i < 100_000 && !failure; i++) {
    try {
      await ledger.append(Array.from({ length: 20 }, () => signCap(kp, i)))
      acked = ledger.length
    } catch (err) {
      failure = err
    }
  }
  t.ok(failure, 'the disk filled up and append failed')
  t.equal(ledger.length, acked, 'the failed batch is not in the log')
  await ledger.close().catch(() => {})
  await store.close().catch(() => {})
  execFileSync('mount', ['-o', 'remount,size=64m', mnt])
  store = new Corestore(dir)
  ledger = new Ledger(store, kp)
  await ledger.ready()
  t.ok(ledger.length >= acked, 'every acknowledged entry is there')
  const all = await entries(ledger)
  t.same(
    replay([{ id: kp.publicKey, entries: all }], { now: Date.now() }).violations,
    [],
    'readable and clean'
  )
  await ledger.appendOwn(build.capacity(kp.publicKey, 1, {}, Date.now()))
  await ledger.close()
  await store.close()
})

/** A barters with B and follows B's log over a replication stream; B's IOU is good from A's view. */
async function followingBarter(
  t: Test,
  name: string
): Promise<{ A: Participant; B: Participant; signed: SignedRecord; bLeg: string }> {
  const A = await participant(t, 'honest')
  const B = await participant(t, name)
  await publishCapacity(A)
  await publishCapacity(B)
  const { signed } = await barter(A, B, { cpu: 10n }, { cpu: 10n })
  connect(t, A, B)
  await A.ledger.follow(B.kp.publicKey)
  const bLeg = toHex(claimId(signed.id, 1))
  t.ok(A.ledger.claimStatus(bLeg).ok, "B's IOU is good while A has seen one history of B's log")
  return { A, B, signed, bLeg }
}

function signCap(kp: KeyPair, i: number): SignedRecord {
  return signRecord(build.capacity(kp.publicKey, 1 + i, { cpu: BigInt(i) }, Date.now()), [kp])
}

test('quid never truncates its own log; a peer that does is flagged and its claims frozen', async (t) => {
  const { A, B, signed, bLeg } = await followingBarter(t, 'rewriter')
  t.notOk(
    Object.getOwnPropertyNames(Ledger.prototype).includes('truncate'),
    'Ledger has no truncate'
  )

  // B's raw core is rewritten underneath its ledger: truncate to 1 and append something else.
  const raw = B.ledger.core
  await raw.truncate(1)
  const flagged = new Promise<void>((resolve) => A.ledger.once('fraud', () => resolve()))
  await raw.append(signCap(B.kp, 99).bytes)
  await flagged
  const fork = A.ledger.violations().find((v) => v.code === 'fork')
  t.ok(fork, 'A flags B')
  t.equal(fork?.culprit, B.key)
  t.ok(fork?.records.includes(toHex(signed.id)), 'the rewritten agreement is kept as evidence')
  t.equal(
    A.ledger.claimStatus(bLeg).code,
    'frozen',
    'claims depending on the rewritten range are frozen'
  )
})

test('two signed histories of one log: the replica sees a conflict, keeps the evidence, freezes the claims', async (t) => {
  const { A, B, signed, bLeg } = await followingBarter(t, 'equivocator')

  // B's key signs a second, different history in another directory (a copy of B gone rogue).
  const twin = await participant(t, 'twin', { kp: B.kp })
  for (let i = 0; i < 4; i++)
    await twin.ledger.appendOwn(build.capacity(B.kp.publicKey, 500 + i, {}, Date.now()))
  const conflict = new Promise<void>((resolve) => A.ledger.once('fraud', () => resolve()))
  connect(t, A, twin)
  await A.ledger.sync(B.kp.publicKey).catch(() => {})
  await conflict
  const fork = A.ledger.violations().find((v) => v.code === 'fork')
  t.ok(fork, 'A flags B')
  t.equal(fork?.culprit, B.key)
  t.ok(fork?.records.includes(toHex(signed.id)), 'the agreement A saw is kept as evidence')
  t.ok((fork?.heads ?? []).length >= 2, 'both signed heads are kept (the portable proof)')
  t.not(
    fork?.heads?.[0]?.signature,
    fork?.heads?.[1]?.signature,
    'two different signatures by one key'
  )
  t.equal(
    A.ledger.claimStatus(bLeg).code,
    'frozen',
    'claims depending on the equivocated range are frozen'
  )
})

test('a refused batch appends nothing and leaves the state exactly as it was', async (t) => {
  const A = await participant(t, 'careful')
  const B = await participant(t, 'other')
  await publishCapacity(A, { cpu: 100n, disk: 100n, net: 100n })
  await publishCapacity(B)
  const { claims } = await barter(A, B, { cpu: 60n }, { cpu: 60n })
  connect(t, A, B)
  await A.ledger.follow(B.kp.publicKey)
  await A.ledger.checkpoint()
  await publishCapacity(B, { cpu: 10n ** 9n }) // B's log grows past A's checkpoint
  await A.ledger.sync(B.kp.publicKey)
  t.ok(A.ledger.claimStatus(claims[1] as string).ok, "B's IOU is settled from A's view")
  const length = A.ledger.length
  const state = encodeSnapshot(A.ledger.state)
  const fits = signRecord(
    build.issue({ issuer: A.kp.publicKey, holder: B.kp.publicKey, amounts: { cpu: 30n } }),
    [A.kp, B.kp]
  )
  const tooMuch = signRecord(
    build.issue({ issuer: A.kp.publicKey, holder: B.kp.publicKey, amounts: { cpu: 20n } }),
    [A.kp, B.kp]
  )
  await t.rejects(A.ledger.append([fits, tooMuch]), {
    code: 'over-capacity',
    message: /cpu: owes 90 and would owe 110, capacity 100/
  })
  t.equal(A.ledger.length, length, 'neither record is in the log')
  t.same(encodeSnapshot(A.ledger.state), state, 'the state is unchanged, followed logs included')
  t.ok(A.ledger.claimStatus(claims[1] as string).ok, "B's IOU is still settled")
  await A.ledger.append(fits)
  t.equal(A.ledger.length, length + 1, 'the record that fits alone goes in')
})
