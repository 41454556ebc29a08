/** Host test helpers: a host on a real ledger, an owner holding IOUs on it, signed deploy requests. */
import { readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { participant, tmp, type Participant } from '../helpers.js'
import { Host, type HostOptions } from '../../src/host/host.js'
import { signRecord, signDeployRequest } from '../../src/ledger/sign.js'
import { claimId } from '../../src/ledger/state.js'
import { blake2b256 } from '../../src/crypto/hash.js'
import { toHex } from '../../src/core/bytes.js'
import { encodeDeployRequest } from '../../src/ledger/codecs.js'
import * as build from '../../src/ledger/build.js'
import type { Amounts, Resource } from '../../src/ledger/amounts.js'
import type { ClaimSpend } from '../../src/ledger/records.js'

const here = dirname(fileURLToPath(import.meta.url))
export const guestCode = (name: string): string =>
  readFileSync(join(here, 'guests', name + '.js'), 'utf8')

export const LIMITS = { cpu: 10n ** 12n, disk: 10n ** 12n, net: 10n ** 12n }

export interface HostSetup {
  hp: Participant
  host: Host
  dir: string
}

/** A host participant with a running Host (closed in teardown, before its ledger). */
export async function startHost(
  t: Test,
  opts: Partial<HostOptions> & { hp?: Participant; dir?: string } = {}
): Promise<HostSetup> {
  const hp = opts.hp ?? (await participant(t, 'host'))
  const dir = opts.dir ?? (await tmp(t, 'quid-host-'))
  const host = new Host({ ledger: hp.ledger, dir, limits: LIMITS, ...opts })
  t.teardown(() => host.close())
  await host.ready()
  return { hp, host, dir }
}

/** The host issues `amounts` to `owner` (a sale): returns the claim id per resource. */
export async function fund(
  hp: Participant,
  owner: Participant,
  amounts: Amounts,
  opts: { expires?: number; time?: number } = {}
): Promise<Record<Resource, string>> {
  const record = build.issue({
    issuer: hp.kp.publicKey,
    holder: owner.kp.publicKey,
    amounts,
    ...opts
  })
  const signed = signRecord(record, [hp.kp, owner.kp])
  await hp.ledger.append(signed)
  const out = {} as Record<Resource, string>
  record.legs.forEach((leg, i) => {
    out[leg.resource] = toHex(claimId(signed.id, i))
  })
  return out
}

export function spend(claim: string, resource: Resource, amount: bigint, root = claim): ClaimSpend {
  return { claim: Buffer.from(claim, 'hex'), root: Buffer.from(root, 'hex'), resource, amount }
}

export interface Deploy {
  request: Uint8Array
  signature: Uint8Array
  code: Uint8Array
}

/** A deploy request signed by `owner` for `code`, paid by `claims`. */
export function deployOf(
  hp: Participant,
  owner: Participant,
  code: string | Uint8Array,
  claims: ClaimSpend[]
): Deploy {
  const bytes = typeof code === 'string' ? new TextEncoder().encode(code) : code
  const request = build.deployRequest({
    host: hp.kp.publicKey,
    owner: owner.kp.publicKey,
    codeHash: blake2b256(bytes),
    codeSize: bytes.byteLength,
    claims
  })
  return {
    request: encodeDeployRequest(request),
    signature: signDeployRequest(request, owner.kp),
    code: bytes
  }
}

/** Funds `owner` and deploys `code` with the given credit; returns the guest. */
export async function deployGuest(
  s: HostSetup,
  owner: Participant,
  code: string,
  credit: { cpu: bigint; disk?: bigint; net?: bigint }
) {
  const amounts: Amounts = {
    cpu: credit.cpu,
    ...(credit.disk ? { disk: credit.disk } : {}),
    ...(credit.net ? { net: credit.net } : {})
  }
  const claims = await fund(s.hp, owner, amounts)
  const spends = (Object.keys(amounts) as Resource[]).map((r) =>
    spend(claims[r], r, amounts[r] as bigint)
  )
  return s.host.deploy(deployOf(s.hp, owner, code, spends))
}

/** Collects the host's log lines and packets sent by guests. */
export function recorder(host: Host): {
  logs: Array<{ guest: string; line: string }>
  wait(pred: () => boolean): Promise<void>
} {
  const logs: Array<{ guest: string; line: string }> = []
  host.on('log', (l: { guest: string; line: string }) => logs.push(l))
  return {
    logs,
    async wait(pred) {
      while (!pred()) await new Promise((r) => setTimeout(r, 5))
    }
  }
}

/** Resolves true once `pred` holds (checked every 10 ms), or false after `ms`. */
export async function until(pred: () => boolean, ms = 20_000): Promise<boolean> {
  const end = Date.now() + ms
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
  return pred()
}
