/**
 * The commands that talk to the running agent over its control socket. Each one checks its own
 * arguments before it calls (a malformed amount never reaches the agent), prints human text by
 * default and the agent's JSON answer with `--json`, and shows progress on a terminal.
 */
import { resolve as resolvePath } from 'node:path'
import { randomBytes } from 'node:crypto'
import { access, constants } from 'node:fs/promises'
import { QuidError, ErrorCodes } from '../../core/errors.js'
import {
  formatAmount,
  isResource,
  parseAmount,
  parseAmounts,
  RESOURCES
} from '../../ledger/amounts.js'
import { parseId } from '../../crypto/identity.js'
import { fromHex } from '../../core/bytes.js'
import { parseAddress } from '../../vnet/address.js'
import { callAgent, type Json, type JsonObject } from '../control.js'
import { lookupOperation, OP_ID, type Outcome } from '../operations.js'
import { participantDir, paths } from '../dirs.js'
import { parseDuration } from '../duration.js'
import { alike, bothForms, short, vec, vecOf } from './show.js'
import { isIdPrefix } from '../prefix.js'
import type { Command, Io } from './command.js'

/** `--timeout 30s`: how long a command that needs a peer waits for it. */
const timeoutOption = { timeout: { type: 'string' } } as const

function withTimeoutParam(values: Values, params: JsonObject): JsonObject {
  if (values.timeout !== undefined)
    params.timeoutMs = parseDuration(values.timeout as string, '--timeout')
  return params
}

const common = {
  dir: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

type Values = Record<string, unknown>

function need(values: Values, name: string, usage: string): string {
  const v = values[name]
  if (typeof v !== 'string' || v.length === 0)
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, `--${name} is required (usage: ${usage})`)
  return v
}

function positional(positionals: string[], n: number, what: string, usage: string): string[] {
  if (positionals.length !== n)
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, `expected ${what} (usage: ${usage})`)
  return positionals
}

/** Calls the agent of the participant directory the command names; progress goes to a terminal. */
function describe(o: Outcome): string {
  const error = o.error as { code?: string; message?: string } | undefined
  switch (o.state) {
    case 'done':
      return 'done'
    case 'failed':
      return `failed: ${error?.message} [${error?.code}]`
    case 'unanswered':
      return 'not answered yet: the agent is still working on it'
    case 'interrupted':
      return 'interrupted: the agent stopped before answering. A barter or transfer it had proposed resumes when the agent runs again (quid pending lists them; quid cancel withdraws one); check quid claims and quid balance'
  }
}

async function agentAnswers(socket: string): Promise<boolean> {
  try {
    await callAgent(socket, 'status')
    return true
  } catch {
    return false
  }
}

/** Methods that change something: each call gets an operation id that `quid outcome` can look up. */
const CHANGING: ReadonlySet<string> = new Set([
  'offer',
  'barter',
  'buy',
  'transfer',
  'deploy',
  'stop',
  'send',
  'cancel'
])

async function call(
  values: Values,
  io: Io,
  method: string,
  params: JsonObject = {}
): Promise<Json> {
  const root = participantDir(values.dir as string | undefined, io.env)
  const tty = process.stderr.isTTY === true && !values.json
  return callAgent(paths(root).socket, method, params, {
    ...(CHANGING.has(method) ? { op: randomBytes(16).toString('hex') } : {}),
    // On a terminal one line rewritten in place; elsewhere (a script, a log) one line per step,
    // so that a long wait says what it waits for. Nothing under --json.
    onProgress: (p) => {
      if (tty) process.stderr.write(`\r\x1b[K… ${Object.values(p).join(' ')}`)
      else if (!values.json) io.err(`… ${Object.values(p).join(' ')}`)
    }
  }).finally(() => {
    if (tty) process.stderr.write('\r\x1b[K')
  })
}

function print(values: Values, io: Io, result: Json, human: (r: never) => string): number {
  io.out(values.json ? JSON.stringify(bothForms(result, 'text')) : human(result as never))
  return 0
}

interface OfferOut {
  id: string
  maker: string
  give: Record<string, string>
  want: Record<string, string>
  expires: string
  remaining?: Record<string, string>
}

/** What a deploy reserves: `--give cpu=…,disk=…,net=…`, or the old `--cpu A --disk A --net A`. */
function deployAmounts(values: Values, usage: string): Record<'cpu' | 'disk' | 'net', string> {
  const single = RESOURCES.filter((r) => values[r] !== undefined)
  if (values.give !== undefined) {
    if (single.length > 0)
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `give the amounts once: --give or --${single.join('/--')}, not both`
      )
    const text = values.give as string
    const a = parseAmounts(text)
    const missing = RESOURCES.filter((r) => a[r] === undefined)
    if (missing.length > 0)
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `--give ${text} names no ${missing.join(' or ')}: a guest needs an amount of each of cpu, disk and net (e.g. cpu=1my,disk=10MB,net=100MB)`
      )
    const f = (r: 'cpu' | 'disk' | 'net'): string => formatAmount(r, a[r] as bigint)
    return { cpu: f('cpu'), disk: f('disk'), net: f('net') }
  }
  if (single.length === 0)
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, `--give is required (usage: ${usage})`)
  const one = (r: 'cpu' | 'disk' | 'net'): string => {
    const v = need(values, r, usage)
    parseAmount(r, v)
    return v
  }
  return { cpu: one('cpu'), disk: one('disk'), net: one('net') }
}

/** A peer argument: an id (hex or z-base-32) or a hex prefix, which the agent resolves. */
function checkPeer(text: string, what: string): void {
  if (text.length === 52 || !isIdPrefix(text)) parseId(text, what)
}

/** A claim or guest argument: 64 hex characters or a prefix of at least 4. */
function checkHexId(text: string, what: string): void {
  if (!isIdPrefix(text)) fromHex(text, 32, what)
}

function define(c: Omit<Command, 'options'> & { options?: Command['options'] }): Command {
  return { ...c, options: { ...common, ...c.options } }
}

/** A command without arguments that asks the agent `method` and prints the answer. */
function query<T>(method: string, human: (r: T) => string): Command {
  return define({
    usage: `quid ${method} [--dir DIR] [--json]`,
    async run(values, _p, io) {
      return print(values, io, await call(values, io, method), human as (r: never) => string)
    }
  })
}

function freeOf(resource: string, free: string, amount: string): string {
  const [f, a] = isResource(resource) ? alike(resource, [free, amount]) : [free, amount]
  return `${f} free of ${a}`
}

export const remoteCommands: Record<string, Command> = {
  status: query(
    'status',
    (s: {
      id: string
      address: string
      log: number
      peers: string[]
      pending: number
      reaching: string[]
      host: { mips: number; guests: number } | null
    }) =>
      [
        `agent ${s.id}`,
        `  address  ${s.address}`,
        `  log      ${s.log} entries`,
        `  peers    ${s.peers.length}${s.peers.map((p) => `\n    ${p}`).join('')}`,
        `  pending  ${s.pending} proposals (quid pending)`,
        `  reaching ${s.reaching.length} peers not connected that a proposal waits for${s.reaching.map((p) => `\n    ${p}`).join('')}`,
        `  host     ${s.host ? `${s.host.mips} MIPS, ${s.host.guests} guests` : 'no'}`
      ].join('\n')
  ),

  offer: define({
    usage: 'quid offer --give R --want R [--expires 30d] [--dir DIR] [--json]',
    options: { give: { type: 'string' }, want: { type: 'string' }, expires: { type: 'string' } },
    async run(values, _p, io) {
      const give = need(values, 'give', this.usage)
      const want = need(values, 'want', this.usage)
      parseAmounts(give)
      parseAmounts(want)
      const params: JsonObject = { give, want }
      if (values.expires) params.expiresInMs = parseDuration(values.expires as string, '--expires')
      const r = await call(values, io, 'offer', params)
      return print(
        values,
        io,
        r,
        (o: OfferOut) =>
          `offer ${o.id}\n  give ${vec(o.give)}\n  want ${vec(o.want)}\n  until ${o.expires}`
      )
    }
  }),

  offers: query('offers', (o: { mine: OfferOut[]; market: OfferOut[] }) => {
    const line = (x: OfferOut): string =>
      `  ${short(x.id)}  by ${short(x.maker)}  give ${vec(x.give)}  want ${vec(x.want)}  until ${x.expires}`
    return [
      `yours (${o.mine.length})`,
      ...o.mine.map(line),
      `market (${o.market.length})`,
      ...o.market.map(line)
    ].join('\n')
  }),

  barter: define({
    positionals: true,
    usage:
      'quid barter PEER --give R --want R [--expires 30d] [--timeout 60s] [--dir DIR] [--json]',
    options: {
      give: { type: 'string' },
      want: { type: 'string' },
      expires: { type: 'string' },
      ...timeoutOption
    },
    async run(values, positionals, io) {
      const [peer] = positional(positionals, 1, 'one PEER id', this.usage) as [string]
      checkPeer(peer, 'peer')
      const give = need(values, 'give', this.usage)
      const want = need(values, 'want', this.usage)
      parseAmounts(give)
      parseAmounts(want)
      const params: JsonObject = { peer, give, want }
      if (values.expires) params.expiresInMs = parseDuration(values.expires as string, '--expires')
      const r = await call(values, io, 'barter', withTimeoutParam(values, params))
      return print(
        values,
        io,
        r,
        (a: { agreement: string; claims: string[] }) =>
          `${a.agreement}\n  settled in both logs; claims ${a.claims.map(short).join(', ')}`
      )
    }
  }),

  buy: define({
    positionals: true,
    usage:
      'quid buy OFFER [--want R] [--claim CLAIM | --paid TRANSFER] [--timeout 60s] [--dir DIR] [--json]',
    options: {
      want: { type: 'string' },
      claim: { type: 'string' },
      paid: { type: 'string' },
      ...timeoutOption
    },
    async run(values, positionals, io) {
      const [offer] = positional(
        positionals,
        1,
        'one OFFER id (quid offers lists them)',
        this.usage
      ) as [string]
      checkHexId(offer, 'offer id')
      const params: JsonObject = { offer }
      if (values.want !== undefined) {
        parseAmounts(values.want as string)
        params.want = values.want as string
      }
      if (values.claim !== undefined && values.paid !== undefined)
        throw new QuidError(
          ErrorCodes.BAD_ARGUMENT,
          `pay with --claim or with an earlier payment --paid, not both (usage: ${this.usage})`
        )
      if (values.claim !== undefined) {
        checkHexId(values.claim as string, '--claim')
        params.claim = values.claim as string
      }
      if (values.paid !== undefined) {
        if (!/^[0-9a-f]{64}$/i.test(values.paid as string))
          throw new QuidError(
            ErrorCodes.BAD_ARGUMENT,
            `--paid must be the payment's full transfer id, 64 hex digits (usage: ${this.usage})`
          )
        params.paid = (values.paid as string).toLowerCase()
      }
      const r = await call(values, io, 'buy', withTimeoutParam(values, params))
      return print(
        values,
        io,
        r,
        (a: { sale: string; claims: string[]; payment: string; paid: Record<string, string> }) =>
          `${a.sale}\n  bought for ${vec(a.paid)} (payment ${short(a.payment)}); in the maker's log; claims ${a.claims.map(short).join(', ')}`
      )
    }
  }),

  transfer: define({
    positionals: true,
    usage:
      'quid transfer CLAIM [CLAIM ...] --to PEER --amount R [--timeout 60s] [--dir DIR] [--json]',
    options: { to: { type: 'string' }, amount: { type: 'string' }, ...timeoutOption },
    async run(values, positionals, io) {
      if (positionals.length < 1 || positionals.length > 3)
        throw new QuidError(
          ErrorCodes.BAD_ARGUMENT,
          `expected one CLAIM per resource moved, 1 to 3 (usage: ${this.usage})`
        )
      for (const c of positionals) checkHexId(c, 'claim id')
      const to = need(values, 'to', this.usage)
      checkPeer(to, '--to')
      const amount = need(values, 'amount', this.usage)
      parseAmounts(amount)
      const params: JsonObject = { claims: positionals, to, amount }
      const r = await call(values, io, 'transfer', withTimeoutParam(values, params))
      return print(
        values,
        io,
        r,
        (t: {
          to: string
          parts: Array<{ claim: string; transfer: string; amount: string; resource: string }>
        }) =>
          t.parts
            .map(
              (p) =>
                `${p.claim}\n  ${p.resource}=${p.amount} to ${short(t.to)} (transfer ${short(p.transfer)})`
            )
            .join('\n')
      )
    }
  }),

  follow: define({
    positionals: true,
    usage: 'quid follow PEER [--timeout 30s] [--dir DIR] [--json]',
    options: { ...timeoutOption },
    async run(values, positionals, io) {
      const [peer] = positional(positionals, 1, 'one PEER id', this.usage) as [string]
      checkPeer(peer, 'peer')
      const r = await call(values, io, 'follow', withTimeoutParam(values, { peer }))
      return print(
        values,
        io,
        r,
        (f: { id: string; entries: number }) => `following ${f.id}: ${f.entries} entries`
      )
    }
  }),

  balance: query(
    'balance',
    (b: {
      holds: Record<string, string>
      owes: Record<string, string>
      capacity: { mips: number; limits: Record<string, string> } | null
    }) =>
      [
        `holds  ${vec(b.holds)}`,
        `owes   ${vec(b.owes)}`,
        `capacity ${b.capacity ? `${vec(b.capacity.limits)} at ${b.capacity.mips} MIPS` : 'none published'}`
      ].join('\n')
  ),

  claims: query(
    'claims',
    (
      cs: Array<{
        id: string
        issuer: string
        resource: string
        amount: string
        free: string
        expires: string
        status: string
      }>
    ) =>
      cs.length === 0
        ? 'no claims'
        : cs
            .map(
              (c) =>
                `${c.id}\n  ${c.resource} ${freeOf(c.resource, c.free, c.amount)}, on ${short(c.issuer)}, until ${c.expires} [${c.status}]`
            )
            .join('\n')
  ),

  deploy: define({
    positionals: true,
    usage:
      'quid deploy FILE.js --host PEER --give cpu=A,disk=A,net=A [--claims ID,...] [--timeout 60s] [--dir DIR] [--json]',
    options: {
      host: { type: 'string' },
      give: { type: 'string' },
      // The old form, one option per resource; still accepted.
      cpu: { type: 'string' },
      disk: { type: 'string' },
      net: { type: 'string' },
      claims: { type: 'string' },
      ...timeoutOption
    },
    async run(values, positionals, io) {
      const [file] = positional(positionals, 1, 'one FILE', this.usage) as [string]
      try {
        await access(file, constants.R_OK)
      } catch {
        throw new QuidError(ErrorCodes.BAD_ARGUMENT, `cannot read ${file}`)
      }
      const host = need(values, 'host', this.usage)
      checkPeer(host, '--host')
      const { cpu, disk, net } = deployAmounts(values, this.usage)
      const params: JsonObject = { file: resolvePath(file), host, cpu, disk, net }
      if (values.claims) {
        const ids = (values.claims as string).split(',')
        for (const id of ids) checkHexId(id, 'claim id')
        params.claims = ids
      }
      const r = await call(values, io, 'deploy', withTimeoutParam(values, params))
      return print(
        values,
        io,
        r,
        (d: {
          address: string
          guest: string
          paid: Array<{ claim: string; resource: string; amount: string }>
        }) =>
          [
            d.address,
            `  guest ${d.guest}`,
            ...d.paid.map((p) => `  paid ${p.resource}=${p.amount} from claim ${short(p.claim)}`)
          ].join('\n')
      )
    }
  }),

  guests: query(
    'guests',
    (g: {
      deployed: Array<{ address: string; host: string; file: string }>
      hosted: Array<{
        address: string
        owner: string
        used: Record<string, string>
        reserved: Record<string, string>
      }>
    }) =>
      [
        `deployed (${g.deployed.length})`,
        ...g.deployed.map((d) => `  ${d.address}  ${d.file}`),
        `hosted (${g.hosted.length})`,
        ...g.hosted.map(
          (h) => `  ${h.address}  owner ${short(h.owner)}  used ${vecOf(h.used, h.reserved)}`
        )
      ].join('\n')
  ),

  stop: define({
    positionals: true,
    usage: 'quid stop GUEST [--dir DIR] [--json]',
    async run(values, positionals, io) {
      const [guest] = positional(positionals, 1, 'one GUEST (address or id)', this.usage) as [
        string
      ]
      if (guest.includes('@')) parseAddress(guest)
      else checkHexId(guest, 'guest id')
      const r = await call(values, io, 'stop', { guest })
      return print(
        values,
        io,
        r,
        (s: { guest: string; used: Record<string, string> }) =>
          `stopped ${s.guest}\n  used ${vec(s.used)}`
      )
    }
  }),

  send: define({
    positionals: true,
    usage: 'quid send ADDRESS MESSAGE [--dir DIR] [--json]',
    async run(values, positionals, io) {
      const [to, message] = positional(positionals, 2, 'ADDRESS and MESSAGE', this.usage) as [
        string,
        string
      ]
      parseAddress(to)
      const r = (await call(values, io, 'send', { to, message })) as {
        status: string
        reason?: string
        id: string
      }
      // Not delivered is an error like any other: one line naming why, `{"error"}` under --json.
      if (r.status === 'unreachable')
        throw new QuidError(ErrorCodes.UNREACHABLE, `${to} is unreachable (${r.reason})`, {
          reason: r.reason ?? null,
          packet: r.id
        })
      return print(
        values,
        io,
        r,
        (s: { status: string; id: string }) => `${s.status} (packet ${s.id})`
      )
    }
  }),

  pending: query(
    'pending',
    (
      ps: Array<{
        id: string
        kind: string
        peer: string
        at: string
        withdrawn: boolean
        connected: boolean
      }>
    ) =>
      ps.length === 0
        ? 'no pending proposals'
        : ps
            .map(
              (p) =>
                `${short(p.id)}  ${p.kind} to ${short(p.peer)}  since ${p.at}  ${p.withdrawn ? 'withdrawn (a late answer still completes it)' : p.connected ? 'waiting for the peer to answer' : 'waiting for the peer to come online'}`
            )
            .join('\n')
  ),

  cancel: define({
    positionals: true,
    usage: 'quid cancel PROPOSAL [--dir DIR] [--json]',
    async run(values, positionals, io) {
      const [id] = positional(
        positionals,
        1,
        'one PROPOSAL id (from quid pending)',
        this.usage
      ) as [string]
      checkHexId(id, 'proposal id')
      const r = await call(values, io, 'cancel', { id })
      return print(
        values,
        io,
        r,
        (c: { id: string }) =>
          `withdrew ${c.id}\n  it is no longer sent; if the peer had signed it already, its answer still completes it`
      )
    }
  }),

  outcome: define({
    positionals: true,
    usage: 'quid outcome OP [--dir DIR] [--json]',
    async run(values, positionals, io) {
      const [op] = positional(positionals, 1, 'one OP (operation id)', this.usage) as [string]
      if (!OP_ID.test(op))
        throw new QuidError(
          ErrorCodes.BAD_ARGUMENT,
          `${JSON.stringify(op)} is not an operation id (16 to 64 lowercase hex characters)`
        )
      const root = participantDir(values.dir as string | undefined, io.env)
      const found = await lookupOperation(paths(root).operations, op)
      if (!found) throw new QuidError(ErrorCodes.BAD_ARGUMENT, `no operation ${op} in ${root}`)
      // Not answered and no agent running: the agent that took it stopped first.
      if (found.state === 'unanswered' && !(await agentAnswers(paths(root).socket)))
        found.state = 'interrupted'
      return print(values, io, found as unknown as Json, (o: Outcome) =>
        [
          `operation ${o.op}: ${o.method}, started ${o.started}`,
          `  ${describe(o)}`,
          ...o.steps.map((s) => `  step ${Object.values(s).join(' ')}`),
          ...(o.result === undefined ? [] : [`  result ${JSON.stringify(o.result)}`])
        ].join('\n')
      )
    }
  }),

  inbox: query(
    'inbox',
    (
      items: Array<{
        kind: string
        from?: string
        to?: string
        text?: string | null
        base64?: string
        reason?: string
        at: string
      }>
    ) =>
      items.length === 0
        ? 'inbox is empty'
        : items
            .map((i) =>
              i.kind === 'message'
                ? `${i.at}  from ${i.from}\n  ${i.text ?? `(binary) ${i.base64}`}`
                : `${i.at}  could not reach ${i.to}: ${i.reason}`
            )
            .join('\n')
  )
}
