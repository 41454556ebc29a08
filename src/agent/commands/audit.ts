/**
 * `quid audit`: check export files and/or participants' logs, print what they owe and every
 * violation; `--json` for the full report, `--html FILE` for a page to read. Exit 4 on violations.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseId, readKeyFile } from '../../crypto/identity.js'
import { toHex } from '../../core/bytes.js'
import { Node } from '../../exchange/node.js'
import { SwarmLogs } from '../../exchange/swarm-logs.js'
import { callAgent } from '../control.js'
import { notFoundLog } from '../missing.js'
import { CorestoreLogs } from '../../ledger/logs.js'
import { QuidError, ErrorCodes } from '../../core/errors.js'
import { formatAmount, RESOURCES } from '../../ledger/amounts.js'
import { audit, type AuditProgress } from '../../audit/audit.js'
import { AuditCache } from '../../audit/cache.js'
import { loadFiles, loadLogs, type LogCopy } from '../../audit/copies.js'
import { renderHtml } from '../../audit/html.js'
import type { AuditReport, Vector } from '../../audit/report.js'
import type { AuditViolation } from '../../audit/violation.js'
import { participantDir, paths } from '../dirs.js'
import { parseDuration } from '../duration.js'
import { openParticipant, openStore } from './participant.js'
import { progressBar } from './progress.js'
import { bothForms } from './show.js'
import type { Command, Io } from './command.js'

export const auditCommand: Command = {
  positionals: true,
  usage:
    'quid audit [FILE ...] [--id ID ...] [--dir DIR] [--json] [--html FILE] [--cache FILE] [--now MS] [--workers N] [--timeout 10s] [--bootstrap H:P,...]',
  options: {
    id: { type: 'string', multiple: true },
    dir: { type: 'string' },
    json: { type: 'boolean' },
    html: { type: 'string' },
    cache: { type: 'string' },
    now: { type: 'string' },
    workers: { type: 'string' },
    timeout: { type: 'string' },
    bootstrap: { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  },
  async run(values, positionals, io) {
    const ids = ((values.id as string[] | undefined) ?? []).map((s) => parseId(s))
    if (positionals.length === 0 && ids.length === 0) {
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        'nothing to audit: name export files and/or --id participants'
      )
    }
    const now = integer(values.now, 'now') ?? Date.now()
    const workers = integer(values.workers, 'workers')
    const timeout =
      values.timeout === undefined
        ? 10_000
        : parseDuration(values.timeout as string, '--timeout', { legacyMs: true })
    // Before anything is read or fetched: a --cache that names the wrong file is refused at once.
    const cache = values.cache ? await AuditCache.open(values.cache as string) : AuditCache.none()
    const bar = progressBar(values.json ? null : process.stderr)
    const loaded = await loadFiles(positionals)
    const copies: LogCopy[] = [...loaded.copies]
    const problems = [...loaded.problems]
    if (ids.length > 0) {
      const bootstrap =
        values.bootstrap === undefined ? undefined : String(values.bootstrap).split(',')
      const got = await fromStore(
        values.dir as string | undefined,
        io,
        ids,
        timeout,
        bar,
        bootstrap
      )
      copies.push(...got.copies)
      problems.push(...got.problems)
    }
    const report = await audit(copies, problems, {
      now,
      cache,
      ...(workers === undefined ? {} : { workers }),
      onProgress: (p: AuditProgress) => bar(p.phase, p.done, p.total)
    })
    bar(null, 0, 0)
    if (values.html) await writeFile(values.html as string, renderHtml(report))
    if (values.json) io.out(JSON.stringify(bothForms(report, 'units')))
    else io.out(summary(report, values.html as string | undefined))
    return report.ok ? 0 : 4
  }
}

/**
 * Participants' logs, by id. With an agent running for the directory, the agent fetches them over
 * the swarm and hands them over as export files (it holds the store). Without one, the logs are
 * read from the directory's Corestore; with `--bootstrap`, a node joins the network first and
 * replicates them into it.
 */
async function fromStore(
  dir: string | undefined,
  io: Io,
  ids: Uint8Array[],
  timeout: number,
  bar: ReturnType<typeof progressBar>,
  bootstrap: string[] | undefined
): Promise<{ copies: LogCopy[]; problems: AuditViolation[] }> {
  const root = participantDir(dir, io.env)
  await openParticipant(root)
  const p = paths(root)
  const viaAgent = await throughAgent(p.socket, ids, timeout, bar)
  if (viaAgent) return viaAgent
  const store = await openStore(p.store)
  let node: Node | null = null
  try {
    if (bootstrap) {
      node = new Node({
        keyPair: await readKeyFile(p.keyFile),
        store,
        bootstrap,
        firewalled: false,
        market: null
      })
      await node.ready()
    }
    const source = node ? new SwarmLogs(node, { timeout }) : new CorestoreLogs(store, { timeout })
    const copies = await loadLogs(source, ids, (q) =>
      bar(`fetch ${q.id.slice(0, 8)}`, q.done, q.total)
    )
    // An empty copy would audit as clean: a log that is not here is not a clean log.
    const own = toHex((await readKeyFile(p.keyFile)).publicKey)
    for (const id of ids) {
      const key = toHex(id)
      if (key !== own && !copies.some((c) => c.id === key && c.entries.length > 0))
        throw notFoundLog(key)
    }
    return { copies, problems: [] }
  } finally {
    await node?.close()
    await store.close()
  }
}

/** Asks a running agent for the logs; null when no agent runs for the directory. */
async function throughAgent(
  socket: string,
  ids: Uint8Array[],
  timeout: number,
  bar: ReturnType<typeof progressBar>
): Promise<{ copies: LogCopy[]; problems: AuditViolation[] } | null> {
  const tmp = await mkdtemp(join(tmpdir(), 'quid-audit-'))
  try {
    let files: Array<{ file: string }>
    try {
      files = (await callAgent(
        socket,
        'exportLogs',
        { ids: ids.map((id) => toHex(id)), dir: tmp, timeoutMs: timeout },
        { onProgress: (q) => bar(String(q.step), Number(q.done), Number(q.total)) }
      )) as Array<{ file: string }>
    } catch (err) {
      if (err instanceof QuidError && err.code === ErrorCodes.NO_AGENT) return null
      throw err
    }
    return await loadFiles(files.map((f) => f.file))
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

function integer(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < 0)
    throw new QuidError(
      ErrorCodes.BAD_ARGUMENT,
      `--${name} must be a non-negative integer, got ${JSON.stringify(v)}`
    )
  return n
}

const amounts = (v: Vector): string =>
  RESOURCES.filter((r) => v[r] !== '0')
    .map((r) => `${r}=${formatAmount(r, BigInt(v[r]))}`)
    .join(',') || 'nothing'

function describe(v: AuditViolation): string {
  const where = [
    ...v.positions.map((p) => `${p.log.slice(0, 8)}#${p.index}`),
    ...(v.where
      ? [
          `${v.where.source}${v.where.offset !== undefined ? ` byte ${v.where.offset}` : ''}${v.where.field ? ` (${v.where.field})` : ''}`
        ]
      : [])
  ]
  const lines = [`  ${v.code.padEnd(16)} ${v.message}`]
  if (where.length) lines.push(`  ${''.padEnd(16)} at ${where.join(', ')}`)
  if (v.culprit) lines.push(`  ${''.padEnd(16)} culprit ${v.culprit}`)
  if (v.records.length) lines.push(`  ${''.padEnd(16)} records ${v.records.join(' ')}`)
  for (const h of v.heads ?? [])
    lines.push(
      `  ${''.padEnd(16)} signed head length ${h.length} fork ${h.fork} tree ${h.treeHash} signature ${h.signature}`
    )
  return lines.join('\n')
}

function summary(r: AuditReport, html: string | undefined): string {
  const s = r.stats
  const out = [
    `audited ${r.logs.length} log${r.logs.length === 1 ? '' : 's'} from ${s.copies} cop${s.copies === 1 ? 'y' : 'ies'}: ${s.entries} entries, ${s.verified} verified now, ${s.cached} from earlier audits${s.reused ? ' (the same inputs as the cached audit: its report)' : ''}, ${s.ms} ms`,
    '',
    'participants (owes now / can use now / capacity):'
  ]
  for (const p of r.participants.slice(0, 50)) {
    out.push(
      `  ${p.id.slice(0, 16)}  owes ${amounts(p.owes)}  holds ${amounts(p.holds)}  capacity ${p.capacity ? amounts(p.capacity) : 'none'}`
    )
  }
  if (r.participants.length > 50)
    out.push(`  ... ${r.participants.length - 50} more (--json has them all)`)
  out.push('')
  if (r.ok) out.push('no violations')
  else {
    out.push(
      `${r.violations.length} violation${r.violations.length === 1 ? '' : 's'}: ${Object.entries(
        r.byCode
      )
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')}`
    )
    for (const v of r.violations.slice(0, 100)) out.push(describe(v))
    if (r.violations.length > 100)
      out.push(`  ... ${r.violations.length - 100} more (--json has them all)`)
  }
  if (html) out.push('', `report written to ${html}`)
  return out.join('\n')
}
