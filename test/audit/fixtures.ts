/**
 * Builds participants' logs on disk for audit tests, bypassing the ledger's own checks, so that a
 * log can hold what an honest ledger would refuse: each violation class the auditor must find.
 * Every log is a real Hypercore signed with its participant's key; exports are real export files.
 */
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import type { Test } from 'tap'
import { tmp } from '../helpers.js'
import { generateKeyPair, type KeyPair } from '../../src/crypto/identity.js'
import { signRecord, signDeployRequest } from '../../src/ledger/sign.js'
import { claimId } from '../../src/ledger/state.js'
import { deployRequestId } from '../../src/ledger/codecs.js'
import { toHex } from '../../src/core/bytes.js'
import * as build from '../../src/ledger/build.js'
import { exportCore } from '../../src/audit/export.js'
import { encodeExport } from '../../src/audit/export-format.js'
import { fromExport, type LogCopy } from '../../src/audit/copies.js'
import { audit, type AuditOptions } from '../../src/audit/audit.js'
import type { AuditReport } from '../../src/audit/report.js'
import type { LedgerRecord, SignedRecord } from '../../src/ledger/records.js'
import type { Amounts } from '../../src/ledger/amounts.js'

export const T0 = 1_800_000_000_000
export const NOW = T0 + 60_000
export const LIMITS = { cpu: 10_000n, disk: 10_000n, net: 10_000n }

/** A participant whose log is a raw Hypercore: it appends whatever it is given. */
export class Writer {
  readonly key: string
  constructor(
    readonly name: string,
    readonly kp: KeyPair,
    readonly core: Hypercore
  ) {
    this.key = toHex(kp.publicKey)
  }

  async put(...entries: Array<SignedRecord | Uint8Array>): Promise<void> {
    for (const e of entries)
      await this.core.append(Buffer.from(e instanceof Uint8Array ? e : e.bytes))
  }

  async exported(): Promise<Uint8Array> {
    return encodeExport(await exportCore(this.core, this.kp.publicKey))
  }

  async copy(): Promise<LogCopy> {
    return fromExport(await this.exported(), `${this.name}.qlog`) as LogCopy
  }
}

/** A participant with a log in a Corestore of its own on disk (closed in teardown). */
export async function writer(
  t: Test,
  name: string,
  kp: KeyPair = generateKeyPair()
): Promise<Writer> {
  const store = new Corestore(await tmp(t, `quid-audit-${name}-`))
  t.teardown(() => store.close())
  const core = store.get({
    keyPair: { publicKey: Buffer.from(kp.publicKey), secretKey: Buffer.from(kp.secretKey) }
  })
  await core.ready()
  return new Writer(name, kp, core)
}

export function sign(record: LedgerRecord, ...kps: KeyPair[]): SignedRecord {
  return signRecord(record, kps)
}

export function capacity(w: Writer, limits: Amounts = LIMITS, time = T0): SignedRecord {
  return sign(build.capacity(w.kp.publicKey, 1000, limits, time), w.kp)
}

export function issue(
  from: Writer,
  to: Writer,
  amounts: Amounts,
  time = T0 + 1000,
  expires = T0 + 86_400_000
): SignedRecord {
  return sign(
    build.issue({ issuer: from.kp.publicKey, holder: to.kp.publicKey, amounts, time, expires }),
    from.kp,
    to.kp
  )
}

export function transfer(
  from: Writer,
  to: Writer,
  claim: Uint8Array,
  amount: bigint,
  time = T0 + 2000
): SignedRecord {
  return sign(
    build.transfer({ sender: from.kp.publicKey, receiver: to.kp.publicKey, claim, amount, time }),
    from.kp,
    to.kp
  )
}

export function agreement(
  a: Writer,
  b: Writer,
  give: Amounts,
  want: Amounts,
  time = T0 + 1500
): SignedRecord {
  return sign(
    build.agreement({
      a: a.kp.publicKey,
      b: b.kp.publicKey,
      give,
      want,
      time,
      expires: T0 + 86_400_000
    }),
    a.kp,
    b.kp
  )
}

/** Host admits a guest of `owner` paid with `claim` (descending from `root`), cpu only. */
export function admit(
  host: Writer,
  owner: Writer,
  claim: Uint8Array,
  root: Uint8Array,
  cpu: bigint,
  time = T0 + 3000
): { admit: SignedRecord; guest: Uint8Array } {
  const request = build.deployRequest({
    host: host.kp.publicKey,
    owner: owner.kp.publicKey,
    codeHash: new Uint8Array(32).fill(9),
    codeSize: 100,
    claims: [{ claim, root, resource: 'cpu', amount: cpu }],
    time
  })
  const record = build.admit(request, signDeployRequest(request, owner.kp), time)
  return { admit: sign(record, host.kp), guest: deployRequestId(request) }
}

export function usage(
  host: Writer,
  guest: Uint8Array,
  cpu: bigint,
  time = T0 + 4000
): SignedRecord {
  return sign(build.usage(host.kp.publicKey, guest, { cpu, disk: 0n, net: 0n }, time), host.kp)
}

export function evict(
  host: Writer,
  guest: Uint8Array,
  cpu: bigint,
  time = T0 + 5000
): SignedRecord {
  return sign(
    build.evict(host.kp.publicKey, guest, { cpu, disk: 0n, net: 0n }, 'stopped', time),
    host.kp
  )
}

export const leg = (s: SignedRecord, i = 0): Uint8Array => claimId(s.id, i)

/**
 * A small clean world: A and B barter (in both logs), A sells C cpu, C passes part of it to B,
 * and B runs a guest on A paid with it, which uses some and ends.
 */
export async function cleanWorld(
  t: Test
): Promise<{ A: Writer; B: Writer; C: Writer; writers: Writer[] }> {
  const [A, B, C] = await Promise.all([writer(t, 'A'), writer(t, 'B'), writer(t, 'C')])
  const ag = agreement(A, B, { disk: 100n }, { net: 100n })
  const sale = issue(A, C, { cpu: 1000n })
  const pass = transfer(C, B, leg(sale), 400n)
  const g = admit(A, B, leg(pass), leg(sale), 300n)
  await A.put(capacity(A), sale, ag, g.admit, usage(A, g.guest, 100n), evict(A, g.guest, 250n))
  await B.put(capacity(B), ag)
  await C.put(pass)
  return { A, B, C, writers: [A, B, C] }
}

export async function auditWriters(
  writers: Writer[],
  opts: AuditOptions = {}
): Promise<AuditReport> {
  return audit(await Promise.all(writers.map((w) => w.copy())), [], {
    now: NOW,
    workers: 0,
    ...opts
  })
}

export const codes = (r: AuditReport): string[] => r.violations.map((v) => v.code)
