/**
 * `quid audit`: check export files and/or participants' logs, print what they owe and every
 * violation; `--json` for the full report, `--html FILE` for a page to read. Exit 4 on violations.
 */
import { writeFile } from 'node:fs/promises'
import { parseId } from '../../ledger/identity.js'
import { CorestoreLogs } from '../../ledger/logs.js'
import { QuidError, ErrorCodes } from '../../ledger/errors.js'
import { formatAmount, RESOURCES } from '../../ledger/amounts.js'
import { audit, type AuditProgress } from '../../audit/audit.js'
import { AuditCache } from '../../audit/cache.js'
import { loadFiles, loadLogs, type LogCopy } from '../../audit/copies.js'
import { renderHtml } from '../../audit/html.js'
import type { AuditReport, Vector } from '../../audit/report.js'
import type { AuditViolation } from '../../audit/violation.js'
import { participantDir, paths } from '../dirs.js'
import { openParticipant, openStore } from './participant.js'
import { progressBar } from './progress.js'
import type { Command, Io } from '../cli.js'

export const auditCommand: Command = {
  summary:
    "verify export files and participants' logs, replay every rule, report violations (exit 4)",
  usage:
    'quid audit [FILE ...] [--id ID ...] [--dir DIR] [--json] [--html FILE] [--cache FILE] [--now MS] [--workers N] [--timeout MS]',
  options: {
    id: { type: 'string', multiple: true },
    dir: { type: 'string' },
    json: { type: 'boolean' },
    html: { type: 'string' },
    cache: { type: 'string' },
    now: { type: 'string' },
    workers: { type: 'string' },
    timeout: { type: 'string' },
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
    const timeout = integer(values.timeout, 'timeout') ?? 10_000
    const bar = progressBar(values.json ? null : process.stderr)
    const loaded = await loadFiles(positionals)
    const copies: LogCopy[] = [...loaded.copies]
    if (ids.length > 0)
      copies.push(...(await fromStore(values.dir as string | undefined, io, ids, timeout, bar)))
    const cache = values.cache ? await AuditCache.open(values.cache as string) : AuditCache.none()
    const report = await audit(copies, loaded.problems, {
      now,
      cache,
      ...(workers === undefined ? {} : { workers }),
      onProgress: (p: AuditProgress) => bar(p.phase, p.done, p.total)
    })
    bar(null, 0, 0)
    if (values.html) await writeFile(values.html as string, renderHtml(report))
    if (values.json) io.out(JSON.stringify(report))
    else io.out(summary(report, values.html as string | undefined))
    return report.ok ? 0 : 4
  }
}

/** Logs held in (replicated into) the participant's Corestore. */
async function fromStore(
  dir: string | undefined,
  io: Io,
  ids: Uint8Array[],
  timeout: number,
  bar: ReturnType<typeof progressBar>
): Promise<LogCopy[]> {
  const root = participantDir(dir, io.env)
  await openParticipant(root)
  const store = await openStore(paths(root).store)
  try {
    return await loadLogs(new CorestoreLogs(store, { timeout }), ids, (p) =>
      bar(`fetch ${p.id.slice(0, 8)}`, p.done, p.total)
    )
  } finally {
    await store.close()
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
    `audited ${r.logs.length} log${r.logs.length === 1 ? '' : 's'} from ${s.copies} cop${s.copies === 1 ? 'y' : 'ies'}: ${s.entries} entries, ${s.verified} verified now, ${s.cached} from earlier audits, ${s.ms} ms`,
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
