/**
 * The 1997 story, run for real on one machine (README, "Run the story"): a loopback network, whole
 * agents in temporary directories, six steps narrated as they happen, then a summary of balances
 * and usage. `runStory` returns every step's name, outcome and figures; it stops everything it
 * started and removes its directories (unless kept) whatever happens.
 */
import type { Json } from '../agent/control.js'
import { RESOURCES, formatAmount } from '../ledger/amounts.js'
import { narrator } from './narrator.js'
import { World } from './world.js'
import { until, type StepResult, type Story } from './context.js'
import { barter, passToJoe } from './trade.js'
import { setUp, write, runOut } from './remailers.js'
import { auditAndCheat } from './audit.js'

export interface StoryOptions {
  out?: (line: string) => void
  keep?: boolean
  /** Where to make the temporary directories. */
  parent?: string
  /** Stops the story early: every agent is stopped and the directories removed (unless kept). */
  signal?: AbortSignal
  /** Called with the story before the world closes (tests look at the hosts' records here). */
  inspect?: (story: Story) => Promise<void> | void
}

export interface StoryResult {
  ok: boolean
  steps: StepResult[]
  /** The agents' directories, when kept. */
  root: string | null
  ms: number
  summary: Array<Record<string, Json>>
}

export const STEPS = [barter, passToJoe, setUp, write, runOut, auditAndCheat]

export async function runStory(opts: StoryOptions = {}): Promise<StoryResult> {
  const started = Date.now()
  const out = opts.out ?? (() => {})
  const world = await World.open({
    keep: opts.keep ?? false,
    ...(opts.parent ? { parent: opts.parent } : {})
  })
  const story: Story = {
    world,
    say: narrator(out),
    people: new Map(),
    seen: new Map(),
    logs: new Map(),
    wait: (fn, what, ms) => until(fn, what, ms, opts.signal)
  }
  const steps: StepResult[] = []
  const stop = (): void => void world.close()
  opts.signal?.addEventListener('abort', stop, { once: true })
  let summary: Array<Record<string, Json>> = []
  try {
    out(`A loopback network in ${world.root}`)
    for (const step of STEPS) {
      const r = await step(story)
      steps.push(r)
      if (!r.ok) {
        story.say.say(`step ${r.name} did not come out as it should: stopping here`)
        break
      }
    }
    summary = summarize(story)
    out('')
    out('Balances and usage')
    story.say.table(table(summary))
    await opts.inspect?.(story)
  } finally {
    opts.signal?.removeEventListener('abort', stop)
    await world.close()
  }
  const ok = steps.length === STEPS.length && steps.every((s) => s.ok)
  out('')
  out(
    opts.keep
      ? `The agents' directories are kept in ${world.root}`
      : 'Every agent stopped; the temporary directories are removed.'
  )
  return { ok, steps, root: opts.keep ? world.root : null, ms: Date.now() - started, summary }
}

function summarize(story: Story): Array<Record<string, Json>> {
  const rows: Array<Record<string, Json>> = []
  for (const p of story.people.values()) {
    const l = p.agent.ledger
    const holds = l.balance()
    const owes = l.obligations()
    const row: Record<string, Json> = { who: p.name }
    for (const r of RESOURCES) {
      row[`holds ${r}`] = formatAmount(r, holds[r] ?? 0n)
      row[`owes ${r}`] = formatAmount(r, owes[r] ?? 0n)
    }
    const hosted = p.agent.host?.list() ?? []
    row.guests = hosted.length
    row['guest cpu used'] = formatAmount(
      'cpu',
      hosted.reduce((s, g) => s + (g.used.cpu ?? 0n), 0n)
    )
    row['guest net used'] = formatAmount(
      'net',
      hosted.reduce((s, g) => s + (g.used.net ?? 0n), 0n)
    )
    rows.push(row)
  }
  return rows
}

function table(rows: Array<Record<string, Json>>): string[][] {
  const head = Object.keys(rows[0] ?? {})
  return [head, ...rows.map((r) => head.map((h) => String(r[h])))]
}
