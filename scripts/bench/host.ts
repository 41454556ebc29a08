/**
 * Suite `host`: what admission costs next to starting an isolate, what metering costs next to a
 * bare isolate, and how many idle guests fit in a GiB; for guests in the host's process (the
 * default, isolation `isolate`) and, under names starting with `process`, in sandbox processes.
 *
 * - admitP50Ms / admitP99Ms: a signed deploy request handed to Host.deploy until the guest's
 *   `start` handler has run (signature and claim checks, the `admit` append, the code written to
 *   disk, the isolate created, the realm built, the code run, `start` called).
 * - rawIsolateP50Ms: a bare isolate created, given a context, an eval and disposed, in the bench's
 *   own process, interleaved with the deploys. admitRatio = admitP50Ms / rawIsolateP50Ms
 *   (goal <= 1.5).
 * - meteringRatio: a CPU-bound handler under full metering (delivery, the call, the thread clock,
 *   accounting) vs the same loop warm in a bare isolate in the bench's process, best run of each
 *   (the machine is noisy; the fastest run is the one least disturbed); goal <= 1.02.
 * - idleGuestsPerGiB: growth of the resident memory of the processes holding the guests (the
 *   bench's own, or the sandboxes) over the admitted (idle) guests; goal >= 2,000.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import { Ledger } from '../../src/ledger/ledger.js'
import { generateKeyPair } from '../../src/crypto/identity.js'
import { signRecord, signDeployRequest } from '../../src/ledger/sign.js'
import { claimId } from '../../src/ledger/state.js'
import { blake2b256 } from '../../src/crypto/hash.js'
import { encodeDeployRequest } from '../../src/ledger/codecs.js'
import * as build from '../../src/ledger/build.js'
import { Host } from '../../src/host/host.js'
import { bare } from '../../src/host/calibrate.js'
import { containment } from './containment.js'
import type { Isolation } from '../../src/host/place.js'
import type { Figure, Suite, SuiteContext } from './suite.js'

const LIMITS = { cpu: 10n ** 15n, disk: 10n ** 12n, net: 10n ** 12n }
const GUEST = "quid.on('start', () => {})"
// Short, so that the bench's idle guests hibernate within it; the default is 30 s.
const HIBERNATE_MS = 500
// About 0.1 s of CPU.
const LOOP = 'let x = 0; for (let i = 0; i < 5e7; i++) { x = (x + i * 7) ^ (x >>> 3) }'

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number
}
const median = (xs: number[]): number => percentile(xs, 50)

async function measure(ctx: SuiteContext, isolation: Isolation): Promise<Figure[]> {
  const deploys = ctx.quick ? 100 : 1000
  const dir = await mkdtemp(join(tmpdir(), 'quid-bench-host-'))
  const store = new Corestore(join(dir, 'store'))
  const hostKp = generateKeyPair()
  const ownerKp = generateKeyPair()
  const ledger = new Ledger(store, hostKp)
  const host = new Host({
    ledger,
    dir: join(dir, 'host'),
    limits: LIMITS,
    maxGuests: deploys + 10,
    isolation,
    hibernateAfterMs: HIBERNATE_MS,
    // A loaded machine must not turn the metering loop into an eviction for running too long.
    callWallMs: 10_000
  })
  try {
    ctx.progress(`${isolation}: calibrating the host`)
    await host.ready()
    const record = build.issue({
      issuer: hostKp.publicKey,
      holder: ownerKp.publicKey,
      amounts: { cpu: 10n ** 14n, net: 10n ** 12n }
    })
    const signed = signRecord(record, [hostKp, ownerKp])
    await ledger.append(signed)
    const claim = claimId(signed.id, 0)
    const netClaim = claimId(signed.id, 1)
    // Every packet pays its wire size, an empty one too (docs/GUESTS.md): each guest gets some net.
    const net = { claim: netClaim, root: netClaim, resource: 'net' as const, amount: 100_000n }
    const code = new TextEncoder().encode(GUEST)
    const codeHash = blake2b256(code)
    const request = (): { request: Uint8Array; signature: Uint8Array; code: Uint8Array } => {
      const r = build.deployRequest({
        host: hostKp.publicKey,
        owner: ownerKp.publicKey,
        codeHash,
        codeSize: code.byteLength,
        claims: [{ claim, root: claim, resource: 'cpu', amount: 1_000_000n }, net]
      })
      return { request: encodeDeployRequest(r), signature: signDeployRequest(r, ownerKp), code }
    }

    // Metering first, on an empty host: its figure is the cost of metering, not of co-tenants.
    ctx.progress(`${isolation}: metering, a CPU-bound guest vs a bare isolate`)
    const spin = new TextEncoder().encode(`quid.on('message', () => { ${LOOP} })`)
    const sr = build.deployRequest({
      host: hostKp.publicKey,
      owner: ownerKp.publicKey,
      codeHash: blake2b256(spin),
      codeSize: spin.byteLength,
      claims: [{ claim, root: claim, resource: 'cpu', amount: 10n ** 9n }, net]
    })
    const g = await host.deploy({
      request: encodeDeployRequest(sr),
      signature: signDeployRequest(sr, ownerKp),
      code: spin
    })
    const metered: number[] = []
    const plain: number[] = []
    const rounds = ctx.quick ? 3 : 7
    // Warm, as the bare side is (its last of 5 calls is timed).
    const spinOnce = async (): Promise<void> => {
      // A figure from a guest that was evicted would be the time of a refusal: stop instead.
      if (!(await host.deliverTo(g.id, 'bench', new Uint8Array(0))))
        throw new Error(`${isolation}: the metering guest was evicted`)
    }
    for (let i = 0; i < 3; i++) await spinOnce()
    for (let i = 0; i < rounds; i++) {
      const t0 = process.hrtime.bigint()
      await spinOnce()
      metered.push(Number(process.hrtime.bigint() - t0) / 1e6)
      plain.push(bare(`(function () { ${LOOP} })`, 64, 5) / 1e6)
    }

    const rssBefore = (await host.stats()).reduce((a, s) => a + s.rss, 0)
    const admitMs: number[] = []
    const rawMs: number[] = []
    for (let i = 0; i < deploys; i++) {
      if (i % 50 === 0) ctx.progress(`${isolation}: deploy ${i}/${deploys}`)
      const d = request()
      const t0 = process.hrtime.bigint()
      await host.deploy(d)
      admitMs.push(Number(process.hrtime.bigint() - t0) / 1e6)
      // The yardstick, interleaved so both see the same machine state.
      rawMs.push(bare('let x = 1 + 1; x', 64) / 1e6)
    }
    // Idle guests hibernate (docs/GUESTS.md): the memory figure is taken once they all have.
    ctx.progress(`${isolation}: waiting for ${deploys} idle guests to hibernate`)
    while (host.list().some((g) => !g.asleep)) await new Promise((r) => setTimeout(r, 50))
    const stats = await host.stats()
    const rssAfter = stats.reduce((a, s) => a + s.rss, 0)
    const perGuest = (rssAfter - rssBefore) / deploys
    // Waking one: a message to a hibernating guest until its handler ran (load, start, message).
    ctx.progress(`${isolation}: waking hibernating guests`)
    const wakeMs: number[] = []
    for (const g of host.list().slice(0, ctx.quick ? 50 : 200)) {
      const t0 = process.hrtime.bigint()
      await host.deliverTo(g.id, 'bench', new Uint8Array(0))
      wakeMs.push(Number(process.hrtime.bigint() - t0) / 1e6)
    }

    const admitP50 = median(admitMs)
    const rawP50 = median(rawMs)
    return [
      {
        name: 'admitP50Ms',
        value: admitP50,
        unit: 'ms',
        note: `signed request in -> start ran, ${deploys} deploys`
      },
      { name: 'admitP99Ms', value: percentile(admitMs, 99), unit: 'ms' },
      {
        name: 'rawIsolateP50Ms',
        value: rawP50,
        unit: 'ms',
        note: "isolate + context + eval + dispose, in the bench's process"
      },
      { name: 'admitRatio', value: admitP50 / rawP50, unit: 'ratio', note: 'goal <= 1.5' },
      {
        name: 'meteringRatio',
        value: Math.min(...metered) / Math.min(...plain),
        unit: 'ratio',
        note: 'best of each: metered handler / bare isolate, same loop; goal <= 1.02'
      },
      {
        name: 'idleGuestsPerGiB',
        value: Math.floor(2 ** 30 / perGuest),
        unit: 'guests',
        note: `RSS growth of the ${isolation === 'isolate' ? "bench's process" : 'sandboxes'} over ${deploys} idle (hibernating) guests; goal >= 2,000`
      },
      {
        name: 'wakeP50Ms',
        value: median(wakeMs),
        unit: 'ms',
        note: 'a message to a hibernating guest until its handler ran (load, start, message)'
      },
      { name: 'wakeP99Ms', value: percentile(wakeMs, 99), unit: 'ms' },
      { name: 'mips', value: host.mips, unit: 'MI/s', note: 'calibrated rating' }
    ]
  } finally {
    await host.close()
    await ledger.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

async function run(ctx: SuiteContext): Promise<Figure[]> {
  const own = await measure(ctx, 'isolate')
  // The sandbox-process mode's figures, beside the default's under their own names.
  const sandboxed = (await measure(ctx, 'process'))
    .filter((f) => f.name !== 'mips')
    .map((f) => ({ ...f, name: 'process' + f.name[0]?.toUpperCase() + f.name.slice(1) }))
  return [...own, ...sandboxed, ...(await containment(ctx))]
}

export const hostSuite: Suite = {
  name: 'host',
  description:
    'admission vs a bare isolate, metering overhead, idle guests per GiB (in-process, then sandbox processes)',
  run
}
