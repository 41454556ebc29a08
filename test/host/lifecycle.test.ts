/** Eviction deletes every file, an owner stops early, a sandbox crash, and restart recovery. */
import t from 'tap'
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { participant, tmp } from '../helpers.js'
import { ErrorCodes } from '../../src/core/errors.js'
import { signStop, type EvictEvent, type Packet } from '../../src/host/host.js'
import { startHost, deployGuest, guestCode, recorder, fund, spend, deployOf } from './helpers.js'
import { PACKET_OVERHEAD_BYTES } from '../../src/host/prices.js'

t.test('eviction deletes every file of the guest, not what a symlink points to', async (t) => {
  const s = await startHost(t, { mips: 1000, sandboxes: 1 })
  const owner = await participant(t, 'owner')
  const outside = await tmp(t, 'quid-outside-')
  writeFileSync(join(outside, 'keep.txt'), 'precious')
  const g = await deployGuest(s, owner, guestCode('echo'), {
    cpu: 100_000n,
    disk: 1000n,
    net: 10_000n
  })
  await s.host.deliverTo(g.id, 'x', new TextEncoder().encode('hi'))
  const dir = join(s.dir, 'guests', g.id)
  t.ok(existsSync(join(dir, 'code.js')), 'the code is kept while the guest runs')
  t.equal(readdirSync(join(dir, 'store')).length, 1, 'one stored key')
  symlinkSync(outside, join(dir, 'store', 'link'))
  mkdirSync(join(dir, 'nested', 'deeper'), { recursive: true })
  writeFileSync(join(dir, 'nested', 'deeper', 'f'), 'x')
  // Net credit 10,000: a packet of 10,000 bytes cannot be covered any more, so the guest is evicted.
  t.equal(await s.host.deliverTo(g.id, 'x', new Uint8Array(10_000)), false)
  t.notOk(existsSync(dir), 'the directory is gone')
  t.equal(readdirSync(outside).join(), 'keep.txt', 'the symlink target is untouched')
  const info = s.hp.ledger.guest(g.id)
  t.equal(info?.ended?.reason, 'net-exhausted')
  t.equal(info?.used.disk, 0n, 'the disk reservation is released')
})

t.test('the owner stops its guest early and unused credit returns', async (t) => {
  const s = await startHost(t, { mips: 1000, sandboxes: 1 })
  const rec = recorder(s.host)
  const owner = await participant(t, 'owner')
  const other = await participant(t, 'other')
  const c = await fund(s.hp, owner, { cpu: 50_000n, disk: 1000n })
  const g = await s.host.deploy(
    deployOf(s.hp, owner, guestCode('counter'), [
      spend(c.cpu, 'cpu', 50_000n),
      spend(c.disk, 'disk', 1000n)
    ])
  )
  t.equal(s.hp.ledger.free(c.cpu), 0n)
  await t.rejects(
    s.host.stop(g.id, signStop(g.id, other.kp)),
    { code: ErrorCodes.BAD_SIGNATURE },
    'only the owner may stop it'
  )
  t.ok(s.host.guest(g.id), 'still running')
  const ev = await s.host.stop(g.id, signStop(g.id, owner.kp))
  t.equal(ev.reason, 'stopped')
  t.ok(
    rec.logs.some((l) => l.guest === g.id && l.line === 'stopping'),
    'its stop handler ran'
  )
  t.equal(s.hp.ledger.free(c.cpu), 50_000n - ev.used.cpu, 'what it did not use is free again')
  t.equal(s.hp.ledger.free(c.disk), 1000n, 'the disk quota is released')
  await t.rejects(s.host.stop(g.id, signStop(g.id, owner.kp)), { code: ErrorCodes.UNKNOWN_GUEST })
})

t.test('a sandbox crash: the running guest is billed and evicted, the others resume', async (t) => {
  const packets: Packet[] = []
  const s = await startHost(t, {
    isolation: 'process',
    mips: 1000,
    sandboxes: 1,
    router: { send: (p) => packets.push(p) }
  })
  const evicted = new Map<string, EvictEvent>()
  s.host.on('evict', (e: EvictEvent) => evicted.set(e.guest, e))
  const rec = recorder(s.host)
  const owner = await participant(t, 'owner')
  const bystander = await deployGuest(s, owner, guestCode('counter'), {
    cpu: 100_000n,
    disk: 1000n,
    net: 1000n
  })
  const looper = await deployGuest(s, owner, guestCode('loop-handler'), {
    cpu: 100_000n,
    net: 1000n
  })
  const sandbox = s.host.sandboxOf(looper.id)
  t.equal(sandbox?.pid, s.host.sandboxOf(bystander.id)?.pid, 'both guests share one sandbox')
  const running = s.host.deliverTo(looper.id, 'x', new Uint8Array([1]))
  const queued = s.host.deliverTo(bystander.id, 'client', new Uint8Array([1]))
  await new Promise((r) => setTimeout(r, 100))
  // Stands in for a V8 abort (docs/HOST.md, "Where guests run"): the process dies at once.
  sandbox?.kill()
  t.equal(await running, false, 'the running call fails')
  t.equal(await queued, true, "the other guest's message is delivered after the restart")
  const ev = evicted.get(looper.id)
  t.equal(ev?.reason, 'crashed')
  t.ok((ev?.used.cpu ?? 0n) > 0n, 'billed for the time it ran')
  t.notOk(evicted.has(bystander.id), 'the bystander was not evicted')
  t.not(s.host.sandboxOf(bystander.id)?.pid, sandbox?.pid, 'it runs in a new sandbox')
  await rec.wait(() => packets.some((p) => p.from === bystander.address))
  const reply = packets.find((p) => p.from === bystander.address)
  t.equal(
    reply && new TextDecoder().decode(reply.data),
    'starts=2',
    'it resumed from its store (start ran again)'
  )
})

t.test(
  'restart after a host crash: guests with credit resume from their store, the rest are evicted, nothing is charged twice',
  async (t) => {
    const hp = await participant(t, 'host')
    const dir = await tmp(t, 'quid-host-')
    const owner = await participant(t, 'owner')
    const first = await startHost(t, { hp, dir, mips: 1000, sandboxes: 1 })
    const keeper = await deployGuest(first, owner, guestCode('counter'), {
      cpu: 100_000n,
      disk: 1000n,
      net: 1000n
    })
    const lost = await deployGuest(first, owner, guestCode('counter'), {
      cpu: 100_000n,
      disk: 1000n
    })
    const now = Date.now()
    const c = await fund(hp, owner, { cpu: 100_000n }, { time: now - 1000, expires: now + 2500 })
    const expiring = await first.host.deploy(
      deployOf(hp, owner, guestCode('echo'), [spend(c.cpu, 'cpu', 100_000n)])
    )
    await first.host.deliverTo(keeper.id, 'client', new Uint8Array([1]))
    await first.host.flushUsage()
    const logged = {
      ...(hp.ledger.guest(keeper.id)?.used as { cpu: bigint; disk: bigint; net: bigint })
    }
    t.equal(
      logged.net,
      1n + 8n + 2n * BigInt(PACKET_OVERHEAD_BYTES),
      "usage was logged before the crash: 1 byte in, 'starts=1' out, each with its wire overhead"
    )
    // More work that no usage record has seen yet, then the crash: the process state is gone, the
    // sandboxes die, nothing is flushed or evicted. (The Host object is abandoned, its timer stopped.)
    await first.host.deliverTo(keeper.id, 'client', new Uint8Array([1, 2, 3]))
    const crashed = first.host as unknown as {
      timer: NodeJS.Timeout
      pool: { close(): Promise<void> }
      guests: Map<string, unknown>
    }
    clearInterval(crashed.timer)
    crashed.guests.clear()
    await crashed.pool.close()
    rmSync(join(dir, 'guests', lost.id), { recursive: true, force: true })
    while (Date.now() < now + 2500) await new Promise((r) => setTimeout(r, 50))

    const second = await startHost(t, { hp, dir, mips: 1000, sandboxes: 1 })
    const info = second.host.guest(keeper.id)
    t.ok(info, 'the guest with credit and files runs again')
    t.equal(
      info?.used.net,
      logged.net,
      'net continues from the log: the unlogged packets are not charged, the logged ones not again'
    )
    t.ok((info?.used.cpu ?? 0n) >= logged.cpu, 'cpu continues from the log')
    t.ok((info?.used.cpu ?? 0n) < logged.cpu + 1000n, 'plus only what loading and start cost now')
    t.equal(info?.used.disk, 7n, "its store is the one it wrote, now 'starts' = '2'")
    t.equal(
      hp.ledger.guest(lost.id)?.ended?.reason,
      'restart',
      'a guest whose files are gone is evicted'
    )
    t.equal(
      hp.ledger.guest(expiring.id)?.ended?.reason,
      'expired',
      'a guest whose claim expired is evicted'
    )
    t.equal(
      hp.ledger.free(c.cpu),
      100_000n - (hp.ledger.guest(expiring.id)?.used.cpu ?? 0n),
      'its unused credit is free again'
    )
    t.equal(await second.host.deliverTo(keeper.id, 'client', new Uint8Array([1])), true)
    await second.host.flushUsage()
    const after = hp.ledger.guest(keeper.id)?.used as { cpu: bigint; net: bigint }
    t.equal(
      after.net,
      logged.net + 1n + 8n + 2n * BigInt(PACKET_OVERHEAD_BYTES),
      'billing goes on from there'
    )
    // Reservations match the log: every guest the log says is running is running here, and only those.
    const running = [...hp.ledger.guests()]
      .filter((g) => g.host === hp.key && !g.ended && !g.void)
      .map((g) => g.id)
    t.same(
      running.sort(),
      second.host
        .list()
        .map((g) => g.id)
        .sort()
    )
    t.same(
      hp.ledger.violations().filter((v) => v.culprit === hp.key),
      [],
      'the log breaks no rule'
    )
  }
)

t.test('a guest whose paying claim expires is evicted at the next tick', async (t) => {
  const s = await startHost(t, { mips: 1000, sandboxes: 1 })
  const owner = await participant(t, 'owner')
  const now = Date.now()
  const c = await fund(s.hp, owner, { cpu: 10_000n }, { time: now - 1000, expires: now + 2000 })
  const g = await s.host.deploy(
    deployOf(s.hp, owner, guestCode('echo'), [spend(c.cpu, 'cpu', 10_000n)])
  )
  await s.host.tick()
  t.ok(s.host.guest(g.id), 'still running before its claim expires')
  while (Date.now() < now + 2000) await new Promise((r) => setTimeout(r, 50))
  await s.host.tick()
  t.notOk(s.host.guest(g.id), 'evicted after')
  t.equal(s.hp.ledger.guest(g.id)?.ended?.reason, 'expired')
})

t.test('a guest whose code cannot be stored is released at once', async (t) => {
  const s = await startHost(t, { mips: 1000, sandboxes: 1 })
  const owner = await participant(t, 'owner')
  const c = await fund(s.hp, owner, { cpu: 1000n })
  rmSync(join(s.dir, 'guests'), { recursive: true, force: true })
  writeFileSync(join(s.dir, 'guests'), 'not a directory')
  const d = deployOf(s.hp, owner, guestCode('echo'), [spend(c.cpu, 'cpu', 1000n)])
  await t.rejects(s.host.deploy(d), { code: ErrorCodes.STORAGE })
  t.equal(s.hp.ledger.free(c.cpu), 1000n, 'the reservation is released')
  t.equal(s.host.list().length, 0)
})
