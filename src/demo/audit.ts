/**
 * Step 7 of the story: an auditor replays every log and finds nothing wrong; then Mallory, who
 * holds an IOU of Bob's, spends it twice by rewriting her own log, and both the auditor (two
 * signed heads of one log: `fork`) and Bob's host (its ledger follows her log: `fraud`, and the
 * claims on the rewritten range are frozen) catch her.
 */
import type { Agent } from '../agent/agent.js'
import type { Json } from '../agent/control.js'
import { audit } from '../audit/audit.js'
import { exportCore } from '../audit/export.js'
import { encodeExport } from '../audit/export-format.js'
import { fromExport, type LogCopy } from '../audit/copies.js'
import type { AuditReport } from '../audit/report.js'
import type { Violation } from '../ledger/violations.js'
import { generateKeyPair } from '../crypto/identity.js'
import { signDeployRequest, signRecord } from '../ledger/sign.js'
import { encodeDeployRequest } from '../ledger/codecs.js'
import { blake2b256 } from '../crypto/hash.js'
import { isQuidError } from '../core/errors.js'
import { withTimeout } from '../exchange/wait.js'
import { claimId } from '../ledger/state.js'
import { fromHex, toHex } from '../core/bytes.js'
import * as build from '../ledger/build.js'
import { person, who, type StepResult, type Story } from './context.js'
import { CRACKER, NEWBIES } from './crack.js'
import { formatAmount } from '../ledger/amounts.js'
import { short } from './narrator.js'

async function copyOf(agent: Agent, source: string): Promise<LogCopy> {
  const copy = fromExport(encodeExport(await exportCore(agent.ledger.core, agent.id)), source)
  if ('code' in copy) throw new Error(`cannot read the export of ${source}: ${copy.message}`)
  return copy
}

/** A copy of every log of the story, as each participant would export it. */
export async function copies(story: Story): Promise<LogCopy[]> {
  const out: LogCopy[] = []
  for (const p of story.people.values()) out.push(await copyOf(p.agent, `${p.name}.qlog`))
  return out
}

export async function auditAndCheat(story: Story): Promise<StepResult> {
  const { world, say } = story
  say.step(7, 'An auditor replays every log; then Mallory spends one IOU twice')
  const clean = await audit(await copies(story), [], { workers: 0 })
  say.say(
    `audit of ${clean.logs.length} logs: ${clean.violations.length === 0 ? 'clean, no violations' : `${clean.violations.length} violations`}; its balances show step 4's flow:`
  )

  // The economy of step 4 as the auditor sees it: what the cracker, the newbies and Joe owe each
  // other now, from the logs alone.
  const name = new Map([...story.people.values()].map((p) => [p.agent.key, p.name]))
  const economy = new Set([CRACKER, ...NEWBIES, 'joe'])
  const flow = clean.debts
    .map((d) => ({
      issuer: name.get(d.issuer) ?? d.issuer,
      holder: name.get(d.holder) ?? d.holder,
      resource: d.resource,
      amount: d.amount
    }))
    .filter((d) => economy.has(d.issuer) || economy.has(d.holder))
  const step4 = new Set([CRACKER, ...NEWBIES])
  for (const d of flow.filter((x) => step4.has(x.issuer) || step4.has(x.holder)))
    say.say(
      `  ${d.issuer} owes ${d.holder} ${formatAmount(d.resource, BigInt(d.amount))} ${d.resource}`
    )
  const [alice, bob, nina] = [who(story, 'alice'), who(story, 'bob'), who(story, 'nina')]
  const mallory = person('mallory', await world.agent('mallory', { market: null }))
  story.people.set('mallory', mallory)
  const onBob = alice.agent.ledger
    .holdings()
    .find((h) => h.claim.issuer === bob.agent.key && h.claim.resource === 'cpu')
  if (!onBob) throw new Error('alice holds no cpu of bob')
  const got = (await alice.quid('transfer', {
    claim: onBob.claim.id,
    to: mallory.agent.key,
    amount: 'cpu=1my'
  })) as { claim: string }
  await story.wait(() => mallory.agent.ledger.claimStatus(got.claim).ok, 'Mallory to hold the IOU')
  // Bob's host watches whoever holds its IOUs.
  let fraud: Violation | null = null
  bob.agent.ledger.on('fraud', (v: Violation) => (fraud ??= v))
  await bob.agent.ledger.follow(mallory.agent.id)
  say.say(`alice → mallory: cpu 1my of bob's IOU (claim ${short(got.claim)}…)`)

  const first = (await mallory.quid('transfer', {
    claim: got.claim,
    to: nina.agent.key,
    amount: 'cpu=1my'
  })) as { transfer: string }
  const spent = toHex(claimId(fromHex(first.transfer, 32), 0))
  await story.wait(
    () => bob.agent.ledger.claim(spent) !== undefined,
    "Bob's host to see Mallory's transfer to Nina"
  )
  say.say(`mallory → nina: all of it (transfer ${short(first.transfer)}…); bob's host sees it`)
  const before = await copyOf(mallory.agent, 'mallory-as-nina-saw-it.qlog')

  // The double spend: Mallory cuts the transfer off her own log (under her ledger, which never
  // truncates) and signs another history giving the same IOU to a key of her own.
  const core = mallory.agent.ledger.core
  const puppet = generateKeyPair()
  const second = signRecord(
    build.transfer({
      sender: mallory.agent.id,
      receiver: puppet.publicKey,
      claim: fromHex(got.claim, 32),
      amount: 31_557_600n
    }),
    [mallory.agent.keyPair, puppet]
  )
  await core.truncate(core.length - 1)
  await core.append(Buffer.from(second.bytes))
  say.say(
    `mallory rewrites her log: the same IOU now goes to a key of her own (${short(toHex(second.id))}…)`
  )
  await story.wait(() => fraud !== null, "Bob's host to notice the rewrite")
  const frozen = bob.agent.ledger.claimStatus(spent)
  const caught = fraud as unknown as Violation
  say.say(
    `bob's host: ${caught.code} by ${short(caught.culprit ?? '')}…; the IOU nina got from her is ${frozen.ok ? 'still good' : frozen.code}`
  )
  const refused = await deployWith(nina.agent, bob.agent.id, spent)
  say.say(`nina offers that IOU to pay for a guest on bob's machine: refused (${refused})`)
  const after = await copyOf(mallory.agent, 'mallory-now.qlog')
  const others = (await copies(story)).filter((c) => c.id !== mallory.agent.key)
  const report: AuditReport = await audit([...others, before, after], [], { workers: 0 })
  const fork = report.violations.find((v) => v.code === 'fork' && v.culprit === mallory.agent.key)
  say.say(
    `the auditor, given both copies of mallory's log: ${fork ? `fork, with ${fork.heads?.length ?? 0} signed heads as evidence` : 'nothing'}`
  )
  return {
    name: 'audit',
    ok:
      clean.violations.length === 0 &&
      caught.code === 'fork' &&
      caught.culprit === mallory.agent.key &&
      !frozen.ok &&
      frozen.code === 'frozen' &&
      refused === 'frozen' &&
      fork !== undefined &&
      (fork.heads?.length ?? 0) >= 2,
    figures: {
      cleanViolations: clean.violations.length,
      flow,
      logs: clean.logs.length,
      hostCaught: {
        code: caught.code,
        culprit: caught.culprit ?? null,
        claim: frozen.ok ? 'ok' : String(frozen.code),
        deploy: refused
      },
      auditor: fork
        ? ({
            code: fork.code,
            culprit: fork.culprit ?? null,
            heads: fork.heads?.length ?? 0
          } as Json)
        : null,
      violations: report.violations.map((v) => v.code)
    }
  }
}

/**
 * Asks `host` to run a guest paid with `claim`, signed by `agent`, straight to the host (the agent's
 * own `quid deploy` would not even offer a claim its ledger sees as frozen): the host's answer code.
 */
async function deployWith(agent: Agent, host: Uint8Array, claim: string): Promise<string> {
  const info = agent.ledger.claim(claim)
  if (!info) return 'unknown claim'
  const code = new TextEncoder().encode("quid.on('start', () => {})")
  const request = build.deployRequest({
    host,
    owner: agent.id,
    codeHash: blake2b256(code),
    codeSize: code.byteLength,
    claims: [
      { claim: fromHex(claim, 32), root: fromHex(info.root, 32), resource: 'cpu', amount: 1000n }
    ]
  })
  try {
    await withTimeout(
      agent.deploys.deploy(host, {
        request: encodeDeployRequest(request),
        signature: signDeployRequest(request, agent.keyPair),
        code,
        // Not the host itself: it has its own log, and its ledger must never be asked to follow it.
        follow: agent.pathParticipants(info).filter((p) => toHex(p) !== toHex(host))
      }),
      20_000,
      'the deploy'
    )
    return 'admitted'
  } catch (err) {
    return isQuidError(err)
      ? String((err.details as { code?: string } | undefined)?.code ?? err.code)
      : String(err)
  }
}
