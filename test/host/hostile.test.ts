/**
 * Hostile guests, each contained and evicted or refused, while a witness guest on the same host
 * keeps answering: with guests in the host's process (the default) and in sandbox processes
 * (where the witness shares a sandbox with some of them).
 */
import t, { type Test } from 'tap'
import { participant } from '../helpers.js'
import { ErrorCodes } from '../../src/core/errors.js'
import { startHost, deployGuest, guestCode, recorder, fund, spend, deployOf } from './helpers.js'
import { PACKET_OVERHEAD_BYTES } from '../../src/host/prices.js'
import type { EvictEvent, Packet } from '../../src/host/host.js'
import { ISOLATIONS } from '../../src/host/place.js'

for (const isolation of ISOLATIONS)
  t.test(`hostile guests, isolation ${isolation}`, async (t) => {
    const packets: Packet[] = []
    let deliver: (p: Packet) => void = () => {}
    const s = await startHost(t, {
      isolation,
      mips: 1000,
      callWallMs: 3000,
      memoryLimitMb: 32,
      router: { send: (p) => deliver(p) }
    })
    deliver = (p) => {
      packets.push(p)
      void s.host.deliverTo(p.to, p.from, p.data).catch(() => {})
    }
    const rec = recorder(s.host)
    const evicted = new Map<string, EvictEvent>()
    s.host.on('evict', (e: EvictEvent) => evicted.set(e.guest, e))
    const owner = await participant(t, 'owner')
    const witness = await deployGuest(s, owner, guestCode('echo'), {
      cpu: 1_000_000n,
      disk: 10_000n,
      net: 1_000_000n
    })
    let round = 0
    const witnessAnswers = async (t: Test): Promise<void> => {
      const before = packets.length
      const msg = `ping ${round++}`
      t.equal(
        await s.host.deliverTo(witness.id, 'tester', new TextEncoder().encode(msg)),
        true,
        'the witness takes a message'
      )
      const from = (): Packet | undefined =>
        packets.slice(before).find((p) => p.from === witness.address)
      await rec.wait(() => from() !== undefined)
      const reply = from()
      t.equal(reply && new TextDecoder().decode(reply.data), 'echo:' + msg, 'and answers it')
    }
    const linesOf = (id: string): string[] =>
      rec.logs.filter((l) => l.guest === id).map((l) => l.line)

    const expectEvicted = async (
      t: Test,
      name: string,
      reason: string | string[],
      credit = { cpu: 2000n },
      trigger?: (id: string) => Promise<unknown>
    ) => {
      let id = ''
      try {
        const g = await deployGuest(s, owner, guestCode(name), credit)
        id = g.id
        if (trigger) await trigger(g.id)
      } catch (err) {
        t.equal(
          (err as { code?: string }).code,
          ErrorCodes.GUEST_EVICTED,
          `${name}: deploy reports the eviction`
        )
        id = (err as { details: { guest: string } }).details.guest
      }
      const ev = evicted.get(id)
      t.comment(`${name}: ${ev?.reason} ${ev?.detail ?? ''}`)
      t.ok(ev, `${name} was evicted`)
      t.ok([reason].flat().includes(ev?.reason as string), `${name}: ${reason}`)
      t.equal(s.host.guest(id), undefined, `${name} is gone`)
      await witnessAnswers(t)
      return id
    }

    t.test('endless loop at the top level', (t) =>
      expectEvicted(t, 'loop', 'cpu-exhausted', { cpu: 200n }).then(() => t.end())
    )
    t.test('endless loop in a handler', (t) =>
      expectEvicted(
        t,
        'loop-handler',
        'cpu-exhausted',
        { cpu: 200n, net: 1000n } as { cpu: bigint },
        (id) => s.host.deliverTo(id, 'x', new Uint8Array([1]))
      ).then(() => t.end())
    )
    t.test('a promise that never settles', (t) =>
      expectEvicted(t, 'never-settles', 'misbehaved', { cpu: 100_000n }).then(() => t.end())
    )
    t.test('an endless chain of microtasks', async (t) => {
      // The chain holds every promise it made: it runs out of memory or of cpu, whichever first.
      const id = await expectEvicted(t, 'microtasks', ['cpu-exhausted', 'memory-exceeded'], {
        cpu: 200n
      })
      t.ok(evicted.get(id))
    })
    t.test('memory bomb: arrays', (t) =>
      expectEvicted(t, 'bomb-arrays', 'memory-exceeded', { cpu: 100_000n }).then(() => t.end())
    )
    t.test('memory bomb: strings', (t) =>
      expectEvicted(t, 'bomb-strings', 'memory-exceeded', { cpu: 100_000n }).then(() => t.end())
    )
    t.test('memory bomb: ArrayBuffers with the RangeError caught', async (t) => {
      const id = await expectEvicted(t, 'bomb-buffers', 'memory-exceeded', { cpu: 100_000n })
      t.ok(
        linesOf(id).some((l) => l.startsWith('caught RangeError')),
        'the guest caught the RangeError'
      )
    })
    t.test('the resizable ArrayBuffer pattern that aborted isolated-vm 5', async (t) => {
      const g = await deployGuest(s, owner, guestCode('resizable'), {
        cpu: 100_000n,
        disk: 1000n,
        net: 1000n
      })
      await rec.wait(() => linesOf(g.id).some((l) => l.startsWith('got')))
      t.ok(
        linesOf(g.id).includes('resize is undefined transfer is undefined'),
        'resize and transfer are gone from the realm'
      )
      t.ok(
        linesOf(g.id).some((l) => l.startsWith('resize failed TypeError')),
        'calling resize throws in the guest'
      )
      t.ok(s.host.guest(g.id), 'the guest still runs')
      await witnessAnswers(t)
    })
    t.test('deep recursion', async (t) => {
      const g = await deployGuest(s, owner, guestCode('recursion'), { cpu: 100_000n })
      t.ok(linesOf(g.id).includes('caught RangeError'), 'the guest caught its stack overflow')
      t.ok(
        linesOf(g.id).some((l) => l.includes('Maximum call stack')),
        'the uncaught one is logged'
      )
      t.ok(s.host.guest(g.id), 'the guest still runs')
      await witnessAnswers(t)
    })
    t.test('a flood of sends', async (t) => {
      const before = packets.length
      const g = await deployGuest(s, owner, guestCode('flood'), { cpu: 100_000n, net: 1_000_000n })
      const count = (): number => packets.slice(before).filter((p) => p.from === g.address).length
      await rec.wait(() => count() >= 256)
      const sent = count()
      t.equal(sent, 256, 'at most maxSendsPerCall packets leave one call')
      t.ok(linesOf(g.id).includes('sent 256'))
      t.equal(
        s.host.guest(g.id)?.used.net,
        256n * (1n + BigInt(PACKET_OVERHEAD_BYTES)),
        'each packet sent is billed its wire size'
      )
      await witnessAnswers(t)
    })
    t.test('writing past the disk quota', async (t) => {
      const id = await expectEvicted(t, 'disk', 'disk-exceeded', { cpu: 100_000n, disk: 1050n } as {
        cpu: bigint
      })
      t.ok(id)
    })
    t.test('reaching for require, process, import(), fetch, host objects', async (t) => {
      const g = await deployGuest(s, owner, guestCode('escape'), { cpu: 100_000n })
      t.same(linesOf(g.id), ['found:'], 'nothing of the host is reachable')
      await witnessAnswers(t)
    })
    t.test('prototype pollution through the API', async (t) => {
      const g = await deployGuest(s, owner, guestCode('pollute'), {
        cpu: 100_000n,
        disk: 1000n,
        net: 1000n
      })
      await rec.wait(() => linesOf(g.id).some((l) => l.startsWith('message')))
      t.ok(linesOf(g.id).includes('stored value keys 1'), 'the API works on a polluted realm')
      t.ok(linesOf(g.id).includes('message 3'), 'bytes cross intact')
      t.equal(
        (Object.prototype as Record<string, unknown>).polluted,
        undefined,
        "the host's prototypes are untouched"
      )
      await witnessAnswers(t)
    })
    t.test('throwing values that are not Errors', async (t) => {
      const g = await deployGuest(s, owner, guestCode('throws'), { cpu: 100_000n, net: 10_000n })
      for (let i = 0; i < 4; i++) await s.host.deliverTo(g.id, 'x', new Uint8Array(0))
      const lines = linesOf(g.id)
      t.ok(lines.includes('handler threw: number 42'))
      t.ok(lines.includes('handler threw: a symbol'))
      t.ok(lines.includes('handler threw: null'))
      t.ok(lines.includes('still here'), 'the guest runs on')
      await witnessAnswers(t)
    })
    t.test('a 10 MB code bundle is refused before anything is reserved', async (t) => {
      const claims = await fund(s.hp, owner, { cpu: 1000n })
      const length = s.hp.ledger.length
      const big = 'x'.repeat(10 * 1024 * 1024)
      await t.rejects(
        s.host.deploy(deployOf(s.hp, owner, big, [spend(claims.cpu, 'cpu', 1000n)])),
        {
          code: ErrorCodes.CODE_TOO_LARGE
        }
      )
      t.equal(s.hp.ledger.length, length, 'nothing appended')
      t.equal(s.hp.ledger.free(claims.cpu), 1000n, 'nothing reserved')
      await witnessAnswers(t)
    })
    t.test('a syntax error', async (t) => {
      const claims = await fund(s.hp, owner, { cpu: 1000n })
      const length = s.hp.ledger.length
      const d = deployOf(s.hp, owner, "quid.on('start', () => {", [spend(claims.cpu, 'cpu', 1000n)])
      const err = (await s.host.deploy(d).catch((e) => e)) as { code: string; message: string }
      t.equal(err.code, ErrorCodes.BAD_CODE)
      t.match(err.message, /does not compile/)
      // Refused before anything was signed or appended: no admit, no evict, nothing charged.
      t.equal(s.hp.ledger.length, length, 'nothing appended')
      t.equal(s.hp.ledger.free(claims.cpu), 1000n, 'nothing reserved or charged')
      await witnessAnswers(t)
    })
  })
