/**
 * Suite `ledger`: how fast a participant appends to its own log, how fast an auditor replays logs
 * with every rule checked, and how that compares with bare Ed25519 verification on one core.
 *
 * Replay verifies at least one signature per entry, so the raw verify rate bounds it;
 * `replayRatio` says how much of that bound replay keeps (the goal is at least half).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicKey, verify as nodeVerify } from 'node:crypto'
import { createRequire } from 'node:module'
import Corestore from 'corestore'
import { Ledger } from '../../src/ledger/ledger.js'
import { generateKeyPair } from '../../src/crypto/identity.js'
import { signRecord } from '../../src/ledger/sign.js'
import { signFast, verifyNoble, verifySignature, currentEngine } from '../../src/crypto/verify.js'
import { replay } from '../../src/ledger/replay.js'
import * as build from '../../src/ledger/build.js'
import { generateWorkload } from './workload.js'
import { measure, measureAsync, time } from './measure.js'
import type { Figure, Suite, SuiteContext } from './suite.js'

const sodium = createRequire(import.meta.url)('sodium-native') as {
  crypto_sign_verify_detached(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean
}

const LIMITS = { cpu: 10n ** 12n, disk: 10n ** 12n, net: 10n ** 12n }

async function appendRates(ctx: SuiteContext): Promise<Figure[]> {
  const dir = await mkdtemp(join(tmpdir(), 'quid-bench-'))
  const store = new Corestore(dir)
  const kp = generateKeyPair()
  const ledger = new Ledger(store, kp)
  try {
    await ledger.ready()
    // Capacity records: signed by the author alone, valid any number of times, and they touch
    // the state like any record (per-log rules, index), so the figure is the append path itself.
    let mips = 1000
    const record = (): ReturnType<typeof build.capacity> =>
      build.capacity(kp.publicKey, mips++, LIMITS)
    ctx.progress('append, one record at a time')
    const one = await measureAsync(
      async () => {
        await ledger.appendOwn(record())
        return 1
      },
      { minMs: 2000, minOps: 200 }
    )
    ctx.progress('append, batches of 100')
    const batched = await measureAsync(
      async () => {
        await ledger.append(Array.from({ length: 100 }, () => signRecord(record(), [kp])))
        return 100
      },
      { minMs: 2000, minOps: 1000 }
    )
    return [
      {
        name: 'appendPerSec',
        value: one.perSec,
        unit: 'records/s',
        note: `appendOwn: sign, check, append, index; each awaited (${one.ops} on a Corestore on disk)`
      },
      {
        name: 'appendBatchedPerSec',
        value: batched.perSec,
        unit: 'records/s',
        note: `append([100 signed]) per await, signing included (${batched.ops})`
      }
    ]
  } finally {
    await ledger.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

function rawVerifyRates(ctx: SuiteContext): Figure[] {
  const kp = generateKeyPair()
  const msg = new Uint8Array(200).map((_, i) => i)
  const sig = signFast(msg, kp.secretKey)
  const key = createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), kp.publicKey]),
    format: 'der',
    type: 'spki'
  })
  const check = (ok: boolean): void => {
    if (!ok) throw new Error('a valid signature did not verify')
  }
  ctx.progress('raw verify: noble')
  const noble = measure(() => check(verifyNoble(sig, msg, kp.publicKey)), { minOps: 500 })
  ctx.progress('raw verify: node:crypto')
  const node = measure(() => check(nodeVerify(null, msg, key, sig)), { batch: 100 })
  ctx.progress('raw verify: sodium-native')
  const so = measure(() => check(sodium.crypto_sign_verify_detached(sig, msg, kp.publicKey)), {
    batch: 100
  })
  ctx.progress(`quid's verify engine: ${currentEngine()}`)
  const own = measure(() => check(verifySignature(sig, msg, kp.publicKey)), { batch: 100 })
  const note = 'Ed25519 verify of a 200-byte message, one core'
  return [
    {
      name: 'engineVerifyPerSec',
      value: own.perSec,
      unit: 'verifies/s',
      note: `${note}, quid's verifySignature on its ${currentEngine()} engine (not a raw baseline)`
    },
    {
      name: 'rawVerifyPerSec_noble',
      value: noble.perSec,
      unit: 'verifies/s',
      note: `${note}, @noble/ed25519 strict (zip215: false)`
    },
    {
      name: 'rawVerifyPerSec_node',
      value: node.perSec,
      unit: 'verifies/s',
      note: `${note}, node:crypto, reused KeyObject`
    },
    {
      name: 'rawVerifyPerSec_sodium',
      value: so.perSec,
      unit: 'verifies/s',
      note: `${note}, sodium-native crypto_sign_verify_detached`
    }
  ]
}

function replayRate(ctx: SuiteContext): Figure[] {
  const size = ctx.quick ? 10_000 : 100_000
  ctx.progress(`generating ${size} signed entries`)
  const w = generateWorkload({
    entries: size,
    onProgress: (done) => ctx.progress(`generating signed entries: ${done}/${size}`)
  })
  const opts = { now: w.now }
  // Warm up on a prefix of every log (a prefix of a valid history is valid).
  ctx.progress('replay: warm-up')
  const prefix = w.logs.map((l) => ({
    id: l.id,
    entries: l.entries.slice(0, Math.ceil(l.entries.length / 10))
  }))
  replay(prefix, opts)
  let runs = 0
  let total = 0
  // At least two full replays and one second, so one GC pause or hiccup does not decide it.
  while (runs < 2 || total < 1000) {
    ctx.progress(`replay of ${w.entries} entries, run ${runs + 1}`)
    const { ms, result } = time(() => replay(w.logs, opts))
    if (!result.ok)
      throw new Error(
        `the workload should replay clean: ${result.violations.length} violations, first ${JSON.stringify(result.violations[0])}`
      )
    total += ms
    runs++
  }
  const mix = Object.entries(w.counts)
    .filter(([, k]) => k > 0)
    .map(([type, k]) => `${type} ${((k * 100) / w.entries).toFixed(0)}%`)
    .join(', ')
  return [
    {
      name: 'replayPerSec',
      value: (w.entries * runs * 1000) / total,
      unit: 'entries/s',
      note: `replay() of ${w.entries} entries in ${w.logs.length} logs, all signatures and rules; mean of ${runs}`
    },
    {
      name: 'replaySignaturesPerEntry',
      value: w.signatures / w.entries,
      unit: 'sigs/entry',
      note: mix
    }
  ]
}

export const ledger: Suite = {
  name: 'ledger',
  description: 'append to the own log, replay logs, raw Ed25519 verify baselines',
  async run(ctx) {
    const figures = [...(await appendRates(ctx)), ...replayRate(ctx), ...rawVerifyRates(ctx)]
    const value = (name: string): number => figures.find((f) => f.name === name)?.value ?? NaN
    const best = Math.max(
      value('rawVerifyPerSec_noble'),
      value('rawVerifyPerSec_node'),
      value('rawVerifyPerSec_sodium')
    )
    figures.push({
      name: 'replayRatio',
      value: value('replayPerSec') / best,
      unit: 'ratio',
      note: 'replayPerSec / fastest raw verify (goal >= 0.5)'
    })
    figures.push({
      name: 'replayEngineRatio',
      value: value('replayPerSec') / value('engineVerifyPerSec'),
      unit: 'ratio',
      note: "replayPerSec / engineVerifyPerSec: what replay keeps of quid's own verify rate"
    })
    return figures
  }
}
