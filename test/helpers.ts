/** Test helpers: temp dirs, participants on real Corestores, in-process replication. All own teardown. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream'
import Corestore from 'corestore'
import type { Test } from 'tap'
import { Ledger, type LedgerOptions } from '../src/ledger/ledger.js'
import { generateKeyPair, keyPairFromSeed, type KeyPair } from '../src/crypto/identity.js'
import { signRecord } from '../src/ledger/sign.js'
import { claimId } from '../src/ledger/state.js'
import { toHex } from '../src/core/bytes.js'
import * as build from '../src/ledger/build.js'
import type { Amounts } from '../src/ledger/amounts.js'
import type { LedgerRecord, SignedRecord } from '../src/ledger/records.js'

export async function tmp(t: Test, prefix = 'quid-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

export interface Participant {
  name: string
  kp: KeyPair
  key: string
  dir: string
  store: Corestore
  ledger: Ledger
}

/** A participant with its own Corestore on disk and an open ledger; closed in teardown. */
export async function participant(
  t: Test,
  name: string,
  opts: LedgerOptions & { dir?: string; kp?: KeyPair } = {}
): Promise<Participant> {
  const dir = opts.dir ?? (await tmp(t, `quid-${name}-`))
  const kp = opts.kp ?? generateKeyPair()
  const store = new Corestore(dir)
  const ledger = new Ledger(store, kp, opts)
  await ledger.ready()
  t.teardown(async () => {
    await ledger.close()
    await store.close()
  })
  return { name, kp, key: toHex(kp.publicKey), dir, store, ledger }
}

/** Replicates two participants' Corestores over a real Hypercore replication stream pair. */
export function connect(t: Test, a: Participant, b: Participant): () => void {
  const s1 = a.store.replicate(true)
  const s2 = b.store.replicate(false)
  pipeline(s1, s2, s1, () => {})
  const close = (): void => {
    s1.destroy()
    s2.destroy()
  }
  t.teardown(close)
  return close
}

export const seed = (n: number): KeyPair => keyPairFromSeed(new Uint8Array(32).fill(n))

/** Signs a co-signed record by both parties, the way two agents would after an exchange. */
export function cosign(record: LedgerRecord, x: KeyPair, y: KeyPair): SignedRecord {
  return signRecord(record, [x, y])
}

/** Publishes generous capacity for a participant (an issuer must before issuing). */
export async function publishCapacity(
  p: Participant,
  limits: Amounts = { cpu: 10n ** 12n, disk: 10n ** 12n, net: 10n ** 12n },
  time?: number
): Promise<void> {
  await p.ledger.appendOwn(build.capacity(p.kp.publicKey, 1000, limits, time))
}

/** A barters with B: both sign, both append. Returns the agreement and its claim ids (hex, by leg). */
export async function barter(
  a: Participant,
  b: Participant,
  give: Amounts,
  want: Amounts,
  opts: { time?: number; expires?: number } = {}
): Promise<{ signed: SignedRecord; claims: string[] }> {
  const record = build.agreement({ a: a.kp.publicKey, b: b.kp.publicKey, give, want, ...opts })
  const signed = cosign(record, a.kp, b.kp)
  await a.ledger.append(signed)
  await b.ledger.append(signed)
  return { signed, claims: record.legs.map((_, i) => toHex(claimId(signed.id, i))) }
}

export function legClaim(signed: SignedRecord, leg: number): string {
  return toHex(claimId(signed.id, leg))
}
