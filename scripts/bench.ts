/**
 * Benchmarks: `npm run bench -- [suite ...] [--json] [--quick]`.
 *
 * Runs the named suites (all by default), prints a table per suite on stdout and, with --json,
 * one JSON object `{"<suite>": {"<figure>": number}}` as the last line of stdout so that scripts
 * can take it with `tail -n 1`. Progress goes to stderr, and only when stderr is a terminal, so
 * redirected output holds nothing but results.
 */
import { suites } from './bench/suites.js'
import type { Figure, Suite, SuiteContext } from './bench/suite.js'

interface Args {
  names: string[]
  json: boolean
  quick: boolean
}

function usage(): string {
  const list = suites.map((s) => `  ${s.name.padEnd(12)} ${s.description}`).join('\n')
  return `usage: npm run bench -- [suite ...] [--json] [--quick]\n\nsuites:\n${list}\n`
}

function parseArgs(argv: string[]): Args | string {
  const args: Args = { names: [], json: false, quick: false }
  for (const a of argv) {
    if (a === '--json') args.json = true
    else if (a === '--quick') args.quick = true
    else if (a === '--help' || a === '-h') return ''
    else if (a.startsWith('-')) return `unknown option ${a}`
    else if (!suites.some((s) => s.name === a)) return `unknown suite ${JSON.stringify(a)}`
    else if (!args.names.includes(a)) args.names.push(a)
  }
  return args
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v)
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US')
  return v.toFixed(Math.abs(v) >= 10 ? 1 : 3)
}

function table(suite: Suite, figures: Figure[], quick: boolean): string {
  const rows = figures.map((f) => [f.name, formatValue(f.value), f.unit, f.note ?? ''])
  const head = ['figure', 'value', 'unit', 'how']
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 1 ? c.padStart(width[i] as number) : c.padEnd(width[i] as number)))
      .join('  ')
      .trimEnd()
  const title = `## ${suite.name}${quick ? ' (--quick)' : ''}: ${suite.description}`
  return [title, line(head), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

function progressReporter(): (message: string) => void {
  if (!process.stderr.isTTY) return () => {}
  // One line, rewritten in place; an empty message clears it before results are printed.
  return (message) => {
    const cols = process.stderr.columns || 80
    process.stderr.write('\r\x1b[K' + message.slice(0, cols - 1))
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2))
  if (typeof args === 'string') {
    if (args) process.stderr.write(`bench: ${args}\n\n`)
    process.stderr.write(usage())
    return args ? 1 : 0
  }
  const chosen = args.names.length ? suites.filter((s) => args.names.includes(s.name)) : suites
  const progress = progressReporter()
  const results: Record<string, Record<string, number>> = {}
  for (const suite of chosen) {
    const ctx: SuiteContext = {
      quick: args.quick,
      progress: (m) => progress(`${suite.name}: ${m}`)
    }
    const figures = await suite.run(ctx)
    progress('')
    process.stdout.write(table(suite, figures, args.quick) + '\n\n')
    results[suite.name] = Object.fromEntries(figures.map((f) => [f.name, f.value]))
  }
  if (args.json) process.stdout.write(JSON.stringify(results) + '\n')
  return 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(
      `bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`
    )
    process.exitCode = 1
  }
)
