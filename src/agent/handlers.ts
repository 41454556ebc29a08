/**
 * What the running agent does for each `quid` command (the control socket's methods).
 *
 * Every handler validates its parameters itself (the socket is the owner's, but a bad request
 * still gets a clear error, never a half-done action), and answers with plain JSON: ids in hex,
 * amounts as strings in quid's amount syntax.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join, resolve as resolvePath } from 'node:path'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { formatId, parseId } from '../crypto/identity.js'
import { logKey, updateFromPeers } from '../ledger/logs.js'
import { equal, fromHex, toHex } from '../core/bytes.js'
import {
  RESOURCES,
  formatAmount,
  parseAmount,
  parseAmounts,
  type Amounts,
  type Resource
} from '../ledger/amounts.js'
import { claimId } from '../ledger/state.js'
import { blake2b256 } from '../crypto/hash.js'
import { encodeDeployRequest } from '../ledger/codecs.js'
import { signDeployRequest } from '../ledger/sign.js'
import * as build from '../ledger/build.js'
import type {
  ClaimSpend,
  IssueRecord,
  ResourceVector,
  SignedRecord,
  TransferRecord
} from '../ledger/records.js'
import type { ClaimInfo } from '../ledger/claims.js'
import { offerId, type Offer } from '../exchange/messages.js'
import { priceOf, toVector } from '../exchange/offers.js'
import { paymentNonce, priceResource } from '../exchange/purchase.js'
import { signStop } from '../host/host.js'
import { withTimeout } from '../exchange/wait.js'
import type { OnProposed } from '../exchange/exchange.js'
import { exportCore } from '../audit/export.js'
import { encodeExport } from '../audit/export-format.js'
import { formatAddress, guestAddress, parseAddress } from '../vnet/address.js'
import type { AgentContext } from './context.js'
import { isIdPrefix, resolveId } from './prefix.js'
import { notFoundLog } from './missing.js'
import type { ControlHandler, Json, JsonObject } from './control.js'
import { settled } from '../core/settle.js'

const utf8 = new TextEncoder()

function str(params: JsonObject, name: string, required = true): string | undefined {
  const v = params[name]
  if (v === undefined || v === null) {
    if (required) throw new QuidError(ErrorCodes.BAD_ARGUMENT, `missing ${name}`)
    return undefined
  }
  if (typeof v !== 'string')
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, `${name} must be a string`)
  return v
}

function strings(params: JsonObject, name: string): string[] {
  const v = params[name]
  if (!Array.isArray(v) || v.length === 0 || v.length > 3 || !v.every((x) => typeof x === 'string'))
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, `${name} must be a list of 1 to 3 strings`)
  return v as string[]
}

function num(params: JsonObject, name: string): number | undefined {
  const v = params[name]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, `${name} must be a positive whole number`)
  }
  return v
}

/**
 * Waits at most `timeoutMs` (a parameter) for a step that involves a peer. A proposal that times
 * out stays pending in the exchange's journal and completes if the peer answers later.
 */
function within<T>(params: JsonObject, p: Promise<T>, what: string): Promise<T> {
  const ms = num(params, 'timeoutMs')
  return ms === undefined ? p : withTimeout(p, ms, `${what} (the peer may answer later)`)
}

function vectorJson(v: ResourceVector | Amounts): JsonObject {
  const out: JsonObject = {}
  for (const r of RESOURCES) out[r] = formatAmount(r, v[r] ?? 0n)
  return out
}

function offerJson(id: string, o: Offer, remaining?: ResourceVector): JsonObject {
  return {
    id,
    maker: toHex(o.maker),
    give: vectorJson(o.give),
    want: vectorJson(o.want),
    expires: new Date(o.expires).toISOString(),
    ...(remaining ? { remaining: vectorJson(remaining) } : {})
  }
}

function claimJson(c: ClaimInfo, free: bigint, status: string): JsonObject {
  return {
    id: c.id,
    issuer: c.issuer,
    holder: c.holder,
    resource: c.resource,
    amount: formatAmount(c.resource, c.amount),
    free: formatAmount(c.resource, free),
    expires: new Date(c.expires).toISOString(),
    origin: c.origin,
    status
  }
}

/** Every participant this agent knows of, hex: peers, offer makers, issuers of what it holds, hosts. */
function knownParticipants(agent: AgentContext): string[] {
  return [
    ...agent.node.connected().map((p) => p.key as string),
    ...agent.exchange.book.list().map((e) => toHex(e.offer.maker)),
    ...agent.ledger.holdings().map((h) => h.claim.issuer),
    ...agent.deployments.map((d) => d.host)
  ].filter((k) => k !== agent.key)
}

/** The claims this participant holds, hex. */
const heldClaims = (agent: AgentContext): string[] => agent.ledger.holdings().map((h) => h.claim.id)

/**
 * The participant behind a peer argument: an id, in hex or z-base-32, or a unique hex prefix of
 * one this agent knows of.
 */
function peerId(agent: AgentContext, text: string, what = 'peer'): Uint8Array {
  // A 52-character z-base-32 id can be all hex digits too: a whole id is read first.
  const id =
    text.length === 52 || !isIdPrefix(text)
      ? parseId(text, what)
      : fromHex(resolveId(text, knownParticipants(agent), what), 32)
  if (toHex(id) === agent.key)
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, `the ${what} is this participant itself`)
  return id
}

/** Claims of ours on `host` that pay `amount` of `resource`: the soonest to expire first. */
function pickClaims(
  agent: AgentContext,
  host: string,
  resource: Resource,
  amount: bigint,
  only: string[] | null
): ClaimSpend[] {
  if (amount === 0n) return []
  let held = agent.ledger
    .holdings()
    .filter((h) => h.claim.issuer === host && h.claim.resource === resource && h.free > 0n)
  if (only) held = held.filter((h) => only.includes(h.claim.id))
  held = held
    .filter((h) => agent.ledger.claimStatus(h.claim.id).ok)
    .sort((x, y) => x.claim.expires - y.claim.expires)
  const out: ClaimSpend[] = []
  let left = amount
  for (const h of held) {
    if (left === 0n) break
    const take = h.free < left ? h.free : left
    out.push({
      claim: fromHex(h.claim.id, 32),
      root: fromHex(h.claim.root, 32),
      resource,
      amount: take
    })
    left -= take
  }
  if (left > 0n) {
    const have = amount - left
    throw new QuidError(
      ErrorCodes.INSUFFICIENT,
      `you hold ${formatAmount(resource, have)} of ${resource} on host ${host.slice(0, 12)} that is free to spend, and the guest asks for ${formatAmount(resource, amount)}`,
      { resource, host }
    )
  }
  return out
}

/**
 * Runs a proposal to `peer` within the request's timeout. A timeout ends it cleanly: the proposal
 * is withdrawn rather than left pending (a late answer from the peer still completes it).
 */
async function proposed(
  agent: AgentContext,
  params: JsonObject,
  propose: (onProposed: OnProposed) => Promise<SignedRecord>,
  what: string
): Promise<SignedRecord> {
  const ex = agent.exchange
  // This call's own proposal: a concurrent command's to the same peer is not ours to withdraw.
  let mine: string | null = null
  const pending = propose((id) => {
    mine = id
  })
  try {
    return await within(params, pending, what)
  } catch (err) {
    if (!(err instanceof QuidError) || err.code !== ErrorCodes.TIMEOUT) throw err
    const id = mine as string | null
    try {
      if (id) await ex.withdraw(id)
    } catch (w) {
      // The peer's answer came while we timed out: the proposal is being appended, so it ends
      // as a success after all.
      if (w instanceof QuidError && w.code === ErrorCodes.BAD_ARGUMENT) return await pending
      throw w
    }
    throw new QuidError(
      ErrorCodes.TIMEOUT,
      `${err.message}; ${id ? `proposal ${id.slice(0, 12)} withdrawn (a late answer from the peer still completes it)` : 'nothing was proposed'}`,
      { ...err.details, ...(id ? { proposal: id } : {}) }
    )
  }
}

/** An agreement we appended, once the peer's log shows it too: its id and the claims it made. */
async function settledAgreement(
  agent: AgentContext,
  ctx: { progress(p: JsonObject): void },
  signed: SignedRecord
): Promise<JsonObject> {
  const id = toHex(signed.id)
  ctx.progress({ step: 'appended', agreement: id })
  if (!(await agent.exchange.waitSettled(id))) {
    throw new QuidError(
      ErrorCodes.TIMEOUT,
      `agreement ${id.slice(0, 12)} is in our log but not yet seen in the peer's`,
      { agreement: id }
    )
  }
  const record = signed.record as { legs: Array<{ resource: Resource }> }
  const claims = record.legs.map((_l, i) => toHex(claimId(signed.id, i)))
  return { agreement: id, settled: true, claims }
}

/**
 * The claim we pay `amount` of `resource` with: the one named, else the good claim of ours with
 * enough free that expires soonest (a payment is one transfer of one claim).
 */
function payingClaim(
  agent: AgentContext,
  resource: Resource,
  amount: bigint,
  maker: string,
  named: string | undefined
): ClaimInfo {
  const held = agent.ledger.holdings()
  const fits = (h: { claim: ClaimInfo; free: bigint }): boolean =>
    h.claim.resource === resource && h.free >= amount
  if (named !== undefined) {
    const id = resolveId(named, heldClaims(agent), 'claim')
    const h = held.find((x) => x.claim.id === id) as { claim: ClaimInfo; free: bigint }
    if (h.claim.resource !== resource)
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `the offer wants ${resource}, and claim ${id.slice(0, 12)} is ${h.claim.resource}`
      )
    if (!fits(h))
      throw new QuidError(
        ErrorCodes.OVERSPENT,
        `claim ${id.slice(0, 12)} has ${formatAmount(resource, h.free)} of ${resource} free, and the offer asks ${formatAmount(resource, amount)}`,
        { claim: id }
      )
    return h.claim
  }
  // The maker's own IOUs would pay it with its own debt: used only when named.
  const pick = held
    .filter((h) => fits(h) && h.claim.issuer !== maker)
    .sort((x, y) => x.claim.expires - y.claim.expires)[0]
  if (!pick)
    throw new QuidError(
      ErrorCodes.INSUFFICIENT,
      `you hold no claim with ${formatAmount(resource, amount)} of ${resource} free to pay with (quid claims lists yours)`,
      { resource }
    )
  return pick.claim
}

/** Checks that `payment` is a transfer in our log to the offer's maker, naming that offer. */
async function earlierPayment(
  agent: AgentContext,
  payment: Uint8Array,
  offer: Offer
): Promise<void> {
  const info = agent.ledger.claim(toHex(claimId(payment, 0)))
  const t =
    info && info.origin === 'transfer' && info.position.log === agent.key
      ? ((await agent.ledger.record(info.position)).record as TransferRecord)
      : undefined
  if (!t || !equal(t.receiver, offer.maker) || !equal(t.nonce, paymentNonce(offerId(offer))))
    throw new QuidError(
      ErrorCodes.BAD_ARGUMENT,
      `transfer ${toHex(payment).slice(0, 12)} is no payment of ours to this offer's maker for this offer`,
      { payment: toHex(payment) }
    )
}

/**
 * An offer gives the maker's own IOUs: refused before it is published when the maker has no
 * published capacity, or when it gives more of a resource than the capacity not yet owed (it
 * could never be honoured in full; docs/FORMAT.md, capacity rules).
 */
function checkCanIssue(agent: AgentContext, give: Amounts): void {
  const cap = agent.ledger.capacity()
  if (!cap)
    throw new QuidError(
      ErrorCodes.NO_CAPACITY,
      'you have published no capacity, so you can issue no IOUs: start the agent with quid up --host --capacity R to offer some'
    )
  const owes = agent.ledger.obligations()
  for (const r of RESOURCES) {
    const want = give[r] ?? 0n
    const left = (cap.limits[r] ?? 0n) - (owes[r] ?? 0n)
    if (want > left)
      throw new QuidError(
        ErrorCodes.OVER_CAPACITY,
        `the offer gives ${formatAmount(r, want)} of ${r}, and your capacity has ${formatAmount(r, left > 0n ? left : 0n)} of it not yet owed`,
        { resource: r }
      )
  }
}

/**
 * How long `send` waits for the receiving agent's `unreachable` notice before it reports `sent`:
 * a round trip, on a loopback or a LAN some milliseconds, across the internet a few hundred.
 */
const SEND_NOTICE_MS = 500

/** How long `follow` looks for a log nobody may have, without `--timeout`. */
const FIND_LOG_MS = 10_000

/**
 * Whether a participant's log has at least one entry here or at a peer, looked for over the
 * swarm until `ms` passes. Our own log always counts.
 */
async function haveLog(agent: AgentContext, id: Uint8Array, ms: number): Promise<boolean> {
  const key = toHex(id)
  if (key === agent.key || agent.ledger.logLength(key) > 0) return true
  const log = agent.node.logs.open(id)
  const deadline = Date.now() + ms
  try {
    await log.ready()
    for (;;) {
      // A try that fails or times out is tried again until the deadline, which then says no.
      await settled(
        withTimeout(log.update(), Math.max(1, deadline - Date.now()), 'finding the log')
      )
      if (((await log.head())?.length ?? 0) > 0) return true
      if (Date.now() >= deadline) return false
      await new Promise((r) => setTimeout(r, Math.min(250, Math.max(0, deadline - Date.now()))))
    }
  } finally {
    await log.close()
  }
}

export function controlHandlers(agent: AgentContext): Record<string, ControlHandler> {
  const ex = (): typeof agent.exchange => agent.exchange
  const handlers: Record<string, ControlHandler> = {
    async status() {
      return {
        id: agent.key,
        z32: formatId(agent.id, 'z32'),
        address: formatAddress(agent.address),
        dir: agent.dir,
        log: agent.ledger.length,
        peers: agent.node.connected().map((p) => p.key as string),
        pending: ex().pending().length,
        // Peers a proposal waits for that are not connected (yet): what a barter is finding.
        reaching: [
          ...new Set(
            ex()
              .proposals()
              .filter((p) => !p.connected && !p.withdrawn)
              .map((p) => p.peer)
          )
        ],
        host: agent.host ? { mips: agent.host.mips, guests: agent.host.list().length } : null
      }
    },

    async offer(params) {
      const give = parseAmounts(str(params, 'give') as string)
      const want = parseAmounts(str(params, 'want') as string)
      const ms = num(params, 'expiresInMs')
      checkCanIssue(agent, give)
      const offer = await ex().offer({ give, want, ...(ms ? { expires: Date.now() + ms } : {}) })
      return offerJson(toHex(offerId(offer)), offer)
    },

    async offers() {
      return {
        mine: ex()
          .myOffers()
          .map((o) => offerJson(o.id, o.offer, o.remaining)),
        market: ex()
          .book.list()
          .map((e) => offerJson(e.id, e.offer))
      }
    },

    async barter(params, ctx) {
      const peer = peerId(agent, str(params, 'peer') as string)
      const give = parseAmounts(str(params, 'give') as string)
      const want = parseAmounts(str(params, 'want') as string)
      const ms = num(params, 'expiresInMs')
      const connected = agent.node.peer(peer) !== null
      ctx.progress({
        step: connected ? 'proposing to' : 'finding',
        peer: toHex(peer),
        ...(connected ? {} : { waiting: 'waiting for it to come online' })
      })
      const signed = await proposed(
        agent,
        params,
        (onProposed) =>
          ex().barter(peer, {
            give,
            want,
            onProposed,
            ...(ms ? { expires: Date.now() + ms } : {})
          }),
        'the barter'
      )
      return settledAgreement(agent, ctx, signed)
    },

    /**
     * Buys from an offer on the market with credit we hold (exchange/purchase.ts): pays its maker
     * with part of one claim of the resource it wants, then proposes the agreement that payment
     * buys. With `paid`, buys with a payment made earlier for the same offer instead.
     */
    async buy(params, ctx) {
      const offerHex = resolveId(
        str(params, 'offer') as string,
        ex()
          .book.list()
          .map((e) => e.id),
        'offer'
      )
      const offer = ex().book.get(offerHex) as Offer
      const maker = toHex(offer.maker)
      const wantText = str(params, 'want', false)
      const take = wantText === undefined ? undefined : parseAmounts(wantText)
      const price = priceOf(offer, take ? toVector(take) : offer.give)
      if (!price)
        throw new QuidError(
          ErrorCodes.BAD_ARGUMENT,
          `--want asks for more than the offer gives (${Object.entries(vectorJson(offer.give))
            .map(([r, a]) => `${r}=${a}`)
            .join(',')})`
        )
      const resource = priceResource(price)
      const cost = formatAmount(resource, price[resource])
      const paidText = str(params, 'paid', false)
      let payment: Uint8Array
      if (paidText !== undefined) {
        payment = fromHex(paidText, 32, 'paid')
        await earlierPayment(agent, payment, offer)
      } else {
        const info = payingClaim(
          agent,
          resource,
          price[resource],
          maker,
          str(params, 'claim', false)
        )
        ctx.progress({ step: 'paying', amount: `${resource}=${cost}`, claim: info.id.slice(0, 12) })
        const paid = await within(params, ex().pay(offer, info.id, take), 'the payment')
        // The maker learns whose logs prove the path above the claim it is paid with.
        agent.deploys.hint(offer.maker, paid.id, agent.pathParticipants(info))
        payment = paid.id
      }
      const transfer = toHex(payment)
      ctx.progress({ step: 'buying', offer: offerHex.slice(0, 12), payment: transfer.slice(0, 12) })
      let signed: SignedRecord
      try {
        signed = await proposed(
          agent,
          params,
          (onProposed) => ex().purchase(offer, payment, take, onProposed),
          'the purchase'
        )
      } catch (err) {
        const e = err instanceof QuidError ? err : new QuidError(ErrorCodes.INTERNAL, String(err))
        throw new QuidError(
          e.code,
          `${e.message}; the payment (transfer ${transfer.slice(0, 12)}) stays with the maker and buys from this offer only: quid buy ${offerHex.slice(0, 12)} --paid ${transfer} tries again with it`,
          { ...e.details, payment: transfer }
        )
      }
      const sale = toHex(signed.id)
      // The sale is in the maker's log only: `purchase` resolved once our copy of it showed it.
      if (!agent.ledger.has(sale, maker))
        throw new QuidError(
          ErrorCodes.TIMEOUT,
          `sale ${sale.slice(0, 12)} is signed and in the maker's log, not yet in our copy of it`,
          { sale, payment: transfer }
        )
      const claims = (signed.record as IssueRecord).legs.map((_l, i) =>
        toHex(claimId(signed.id, i))
      )
      return { sale, settled: true, claims, payment: transfer, paid: { [resource]: cost } }
    },

    /**
     * Moves parts of claims we hold: one claim per resource named in `amount`. Every part is
     * checked before the first moves; they then move one after another, and a part that fails
     * stops the rest, with `details` saying which parts moved, which failed and which were not
     * tried (a transfer is one record, co-signed per claim: several cannot be one atomic step).
     */
    async transfer(params, ctx) {
      const texts =
        params.claims === undefined ? [str(params, 'claim') as string] : strings(params, 'claims')
      const to = peerId(agent, str(params, 'to') as string, 'receiver')
      const claims = texts.map((t) => resolveId(t, heldClaims(agent), 'claim'))
      const infos = claims.map((id) => {
        const info = agent.ledger.claim(id)
        if (!info || info.holder !== agent.key)
          throw new QuidError(ErrorCodes.NOT_HOLDER, `claim ${id.slice(0, 12)} is not yours`, {
            claim: id
          })
        return info
      })
      const text = str(params, 'amount') as string
      const amounts = parseAmounts(text)
      const named = RESOURCES.filter((r) => amounts[r] !== undefined)
      const parts = named.map((r) => {
        const of = infos.filter((c) => c.resource === r)
        if (of.length !== 1)
          throw new QuidError(
            ErrorCodes.BAD_ARGUMENT,
            of.length === 0
              ? `--amount names ${r}, and no claim named is ${r} (the claims are ${infos.map((c) => c.resource).join(', ')})`
              : `two claims named are ${r}: name one claim per resource`
          )
        const info = of[0] as ClaimInfo
        const amount = amounts[r] as bigint
        const free = agent.ledger.free(info.id)
        if (free < amount)
          throw new QuidError(
            ErrorCodes.OVERSPENT,
            `claim ${info.id.slice(0, 12)} has ${formatAmount(r, free)} of ${r} free, and the transfer moves ${formatAmount(r, amount)}`,
            { claim: info.id }
          )
        return { info, amount }
      })
      const unused = infos.filter((c) => amounts[c.resource] === undefined)
      if (unused.length > 0)
        throw new QuidError(
          ErrorCodes.BAD_ARGUMENT,
          `the claim is ${unused[0]!.resource}: give the amount as ${unused[0]!.resource}=…`
        )
      const done: JsonObject[] = []
      for (const [k, { info, amount }] of parts.entries()) {
        ctx.progress({
          step: 'transferring',
          resource: info.resource,
          part: `${k + 1}/${parts.length}`
        })
        let signed
        try {
          signed = await within(
            params,
            ex().transfer(to, fromHex(info.id, 32), amount),
            'the transfer'
          )
        } catch (err) {
          if (parts.length === 1) throw err
          const e = err instanceof QuidError ? err : new QuidError(ErrorCodes.INTERNAL, String(err))
          const rest = parts.slice(k + 1).map((p) => p.info.resource)
          throw new QuidError(
            e.code,
            `${done.length ? `moved ${done.map((d) => d.resource).join(', ')}; ` : 'nothing moved; '}${info.resource} failed: ${e.message}${rest.length ? `; not tried: ${rest.join(', ')}` : ''}`,
            { done, failed: { resource: info.resource, claim: info.id }, notTried: rest }
          )
        }
        // The receiver learns whose logs prove the path above the claim it now holds.
        agent.deploys.hint(to, signed.id, agent.pathParticipants(info))
        done.push({
          resource: info.resource,
          from: info.id,
          transfer: toHex(signed.id),
          claim: toHex(claimId(signed.id, 0)),
          amount: formatAmount(info.resource, amount)
        })
      }
      const first = done[0] as JsonObject
      const out: JsonObject =
        parts.length === 1
          ? {
              transfer: first.transfer as string,
              claim: first.claim as string,
              to: toHex(to),
              amount: first.amount as string,
              parts: done
            }
          : { to: toHex(to), parts: done }
      return out
    },

    /**
     * Fetches a participant's log over the swarm and keeps it up to date (a claim's path). A log
     * that neither this store nor any peer has, within the timeout, is `not-found`, and is not
     * followed: following it would only add an id nobody knows to followed.json.
     */
    async follow(params) {
      const id = peerId(agent, str(params, 'peer') as string)
      const key = toHex(id)
      if (!(await haveLog(agent, id, num(params, 'timeoutMs') ?? FIND_LOG_MS)))
        throw new QuidError(ErrorCodes.NOT_FOUND, `${notFoundLog(key).message}; nothing followed`, {
          id: key
        })
      await within(params, agent.ledger.follow(id), 'fetching the log')
      return { id: key, entries: agent.ledger.logLength(key) }
    },

    /** Our proposals the peer has not answered yet (barters and transfers). */
    async pending() {
      return ex()
        .proposals()
        .map((p) => ({ ...p, at: new Date(p.at).toISOString() }))
    },

    /** Withdraws a pending proposal (exchange.withdraw says what that can and cannot undo). */
    async cancel(params) {
      const id = resolveId(
        str(params, 'id') as string,
        ex()
          .proposals()
          .map((p) => p.id),
        'pending proposal'
      )
      await ex().withdraw(id)
      return { id, withdrawn: true }
    },

    async balance() {
      const cap = agent.ledger.capacity()
      return {
        id: agent.key,
        holds: vectorJson(agent.ledger.balance()),
        owes: vectorJson(agent.ledger.obligations()),
        capacity: cap ? { mips: cap.mips, limits: vectorJson(cap.limits) } : null
      }
    },

    async claims() {
      return agent.ledger.holdings().map((h) => {
        const s = agent.ledger.claimStatus(h.claim.id)
        return claimJson(h.claim, h.free, s.ok ? 'ok' : (s.code as string))
      })
    },

    async deploy(params, ctx) {
      const file = resolvePath(str(params, 'file') as string)
      const host = peerId(agent, str(params, 'host') as string, 'host')
      const hostKey = toHex(host)
      let code: Buffer
      try {
        code = await readFile(file)
      } catch (err) {
        throw new QuidError(
          ErrorCodes.BAD_ARGUMENT,
          `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`
        )
      }
      const ask = {
        cpu: parseAmount('cpu', str(params, 'cpu') as string),
        disk: parseAmount('disk', str(params, 'disk') as string),
        net: parseAmount('net', str(params, 'net') as string)
      }
      const only =
        params.claims === undefined || params.claims === null
          ? null
          : (params.claims as Json[]).map((c) => resolveId(String(c), heldClaims(agent), 'claim'))
      ctx.progress({ step: 'checking claims' })
      // Holding no claim on that host at all, there is nothing to pay with: refused before its
      // log is followed (which would add it to followed.json for nothing).
      if (!agent.ledger.holdings().some((h) => h.claim.issuer === hostKey))
        for (const r of RESOURCES) pickClaims(agent, hostKey, r, ask[r], only)
      // The host's capacity and our claims on it must be known; fetch its log first.
      // What is known of it is checked below either way; the user hears why it may be stale.
      await agent.ledger.follow(host).catch((err: unknown) =>
        ctx.progress({
          step: "the host's log could not be brought up to date",
          detail: (err as Error).message
        })
      )
      const claims = RESOURCES.flatMap((r) => pickClaims(agent, hostKey, r, ask[r], only))
      const follow = new Map<string, Uint8Array>()
      for (const c of claims)
        for (const p of agent.pathParticipants(agent.ledger.claim(toHex(c.claim)) as ClaimInfo))
          if (toHex(p) !== hostKey) follow.set(toHex(p), p)
      const request = build.deployRequest({
        host,
        owner: agent.id,
        codeHash: blake2b256(code),
        codeSize: code.byteLength,
        claims
      })
      const signature = signDeployRequest(request, agent.keyPair)
      ctx.progress({ step: 'sending to host', host: hostKey })
      const sending = agent.deploys.deploy(host, {
        request: encodeDeployRequest(request),
        signature,
        code,
        follow: [...follow.values()]
      })
      const guest = await within(params, sending, 'the deploy')
      const address = formatAddress(guestAddress(host, guest))
      await agent.recordDeployment({
        guest: toHex(guest),
        host: hostKey,
        address,
        file,
        resources: vectorJson(ask) as { cpu: string; disk: string; net: string },
        at: Date.now()
      })
      return {
        guest: toHex(guest),
        address,
        host: hostKey,
        paid: claims.map((c) => ({
          claim: toHex(c.claim),
          resource: c.resource,
          amount: formatAmount(c.resource, c.amount)
        }))
      }
    },

    async guests() {
      return {
        deployed: agent.deployments.map((d) => ({ ...d })) as unknown as Json,
        hosted: (agent.host?.list() ?? []).map((g) => ({
          guest: g.id,
          address: g.address,
          owner: g.owner,
          reserved: vectorJson(g.reserved),
          used: vectorJson(g.used)
        }))
      }
    },

    /**
     * Stops a guest this participant deployed. A guest named by id must be one of ours
     * (deployments.json); one named by address, not among ours, is asked of its host, whose
     * refusal is told as what it means: `unknown-guest` that the host runs no such guest,
     * `bad-signature` that the guest is not ours (only its owner's signature can stop it).
     */
    async stop(params) {
      const text = str(params, 'guest') as string
      const mine = agent.deployments
      let guest: Uint8Array
      let host: Uint8Array
      if (!text.includes('@') && !/^[0-9a-f]{4,64}$/i.test(text))
        throw new QuidError(
          ErrorCodes.BAD_ARGUMENT,
          `${JSON.stringify(text.slice(0, 120))} is neither a guest id (hex) nor a guest address (guest@host)`
        )
      const d = text.includes('@')
        ? mine.find((x) => x.address === text)
        : mine.find(
            (x) =>
              x.guest ===
              resolveId(
                text,
                mine.map((y) => y.guest),
                'guest'
              )
          )
      if (d) {
        guest = fromHex(d.guest, 32, 'guest id')
        host = fromHex(d.host, 32, 'host id')
      } else if (!text.includes('@')) {
        // A full id that is none of ours (a prefix that begins none of ours is refused above).
        const id = text.toLowerCase()
        const hosted = agent.host?.list().find((g) => g.id === id)
        if (hosted)
          throw new QuidError(
            ErrorCodes.REFUSED,
            `not your guest: ${id.slice(0, 12)} runs on this host for ${hosted.owner.slice(0, 12)}, and only the participant who deployed a guest can stop it`,
            { guest: id, owner: hosted.owner }
          )
        throw new QuidError(
          ErrorCodes.BAD_ID,
          `no guest ${id.slice(0, 12)} is known here: you deployed no such guest (quid guests lists yours)`,
          { input: text }
        )
      } else {
        const a = parseAddress(text)
        if (!a.guest)
          throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'that is a client address, not a guest')
        guest = a.guest
        host = a.agent
      }
      let used: Awaited<ReturnType<typeof agent.deploys.stop>>
      try {
        used = await agent.deploys.stop(host, {
          guest,
          signature: signStop(toHex(guest), agent.keyPair)
        })
      } catch (err) {
        const g = toHex(guest).slice(0, 12)
        if (err instanceof QuidError && err.code === ErrorCodes.BAD_SIGNATURE)
          throw new QuidError(
            ErrorCodes.REFUSED,
            `not your guest: the host says guest ${g} belongs to someone else (only its owner can stop it)`,
            { guest: toHex(guest), cause: err.code }
          )
        if (err instanceof QuidError && err.code === ErrorCodes.UNKNOWN_GUEST)
          throw new QuidError(
            ErrorCodes.UNKNOWN_GUEST,
            `no guest ${g} on that host: the host runs no such guest`,
            {
              guest: toHex(guest)
            }
          )
        throw err
      }
      await agent.forgetDeployment(toHex(guest))
      return { guest: toHex(guest), used: vectorJson(used) }
    },

    async send(params): Promise<JsonObject> {
      const to = parseAddress(str(params, 'to') as string)
      const message = str(params, 'message') as string
      // A packet handed to another agent is `sent`; if that agent answers at once that it holds
      // no such address (a guest that never ran or has stopped), the packet was not delivered,
      // and saying `sent` would mislead. The notice is listened for from before the send.
      const notices = new Map<string, string>()
      const onNotice = (n: { id: Uint8Array; reason: string }): void => {
        notices.set(toHex(n.id), n.reason)
      }
      agent.router.on('unreachable', onNotice)
      try {
        const res = await agent.router.send(agent.address, to, utf8.encode(message))
        const id = toHex(res.id)
        if (res.status === 'unreachable') return { id, status: res.status, reason: res.reason }
        if (res.status === 'sent') {
          const deadline = Date.now() + SEND_NOTICE_MS
          while (!notices.has(id) && Date.now() < deadline)
            await new Promise((r) => setTimeout(r, 20))
          const reason = notices.get(id)
          if (reason !== undefined) return { id, status: 'unreachable', reason }
        }
        return { id, status: res.status }
      } finally {
        agent.router.off('unreachable', onNotice)
      }
    },

    async inbox() {
      return agent.inbox.drain().map((i): JsonObject => {
        if (i.kind === 'unreachable')
          return { kind: i.kind, to: i.to, reason: i.reason, at: new Date(i.at).toISOString() }
        let text: string | null = null
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(i.payload)
        } catch {
          text = null
        }
        return {
          kind: i.kind,
          from: i.from,
          at: new Date(i.at).toISOString(),
          text,
          base64: Buffer.from(i.payload).toString('base64')
        }
      })
    },

    /**
     * Brings other participants' logs up to date over the swarm and writes each as an export file
     * into `dir`, for `quid audit --id` while this agent holds the store.
     */
    async exportLogs(params, ctx) {
      const dir = resolvePath(str(params, 'dir') as string)
      const list = params.ids
      if (!Array.isArray(list) || list.length === 0 || list.length > 10_000) {
        throw new QuidError(
          ErrorCodes.BAD_ARGUMENT,
          'ids must be a list of 1 to 10,000 participant ids'
        )
      }
      const out: Json[] = []
      for (const text of list) {
        const id = parseId(String(text))
        const key = toHex(id)
        const log = agent.node.logs.open(id)
        try {
          await log.ready()
          await updateFromPeers(log)
          const head = await log.head()
          const length = head ? head.length : 0
          for (let i = 0; i < length; i++) {
            await log.get(i)
            if (i % 256 === 255 || i === length - 1)
              ctx.progress({ step: `fetch ${key.slice(0, 8)}`, done: i + 1, total: length })
          }
        } finally {
          await log.close()
        }
        const core = key === agent.key ? agent.ledger.core : agent.store.get({ key: logKey(id) })
        try {
          const exported = await exportCore(core, id)
          // An empty copy would audit as clean: a log that is not here is not a clean log.
          // Our own log exists even when empty (a participant that never issued anything).
          if (exported.length === 0 && key !== agent.key) throw notFoundLog(key)
          const file = join(dir, `${key}.qlog`)
          await writeFile(file, encodeExport(exported))
          out.push({ id: key, file, entries: exported.length })
        } finally {
          if (core !== agent.ledger.core) await core.close()
        }
      }
      return out
    },

    async export(params) {
      const out = resolvePath(str(params, 'out') as string)
      const log = await exportCore(agent.ledger.core, agent.id)
      const bytes = encodeExport(log)
      await writeFile(out, bytes)
      return { id: agent.key, file: out, entries: log.length, bytes: bytes.byteLength }
    }
  }
  return handlers
}
