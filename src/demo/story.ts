/**
 * The 1997 story, run for real on one machine (README, "Run the story"): a loopback network, whole
 * agents in temporary directories, seven steps narrated as they happen, then a summary of balances
 * and usage. `runStory` returns every step's name, outcome and figures; it stops everything it
 * started and removes its directories (unless kept) whatever happens.
 */
import { writeFile } from 'node:fs/promises'
import { RESOURCES, type Resource } from '../ledger/amounts.js'
import { narrator } from './narrator.js'
import { World } from './world.js'
import { until, type StepResult, type Story } from './context.js'
import { barter, passToJoe } from './trade.js'
import { setUp, write, runOut } from './remailers.js'
import { auditAndCheat } from './audit.js'
import { crack } from './crack.js'
import { picture } from './picture.js'
import { statement, type StatementRow } from './statement.js'

export interface StoryOptions {
  out?: (line: string) => void
  keep?: boolean
  /** Where to make the temporary directories. */
  parent?: string
  /** Stops the story early: every agent is stopped and the directories removed (unless kept). */
  signal?: AbortSignal
  /** Writes the auditor's report of the story's logs there, as HTML (picture.ts). */
  html?: string
  /** Called with the story before the world closes (tests look at the hosts' records here). */
  inspect?: (story: Story) => Promise<void> | void
}

export interface StoryResult {
  ok: boolean
  steps: StepResult[]
  /** The agents' directories, when kept. */
  root: string | null
  ms: number
  /** Each participant's balances and its host's usage, exact: base units as decimal strings. */
  summary: StatementRow[]
}

export const STEPS = [barter, passToJoe, setUp, crack, write, runOut, auditAndCheat]

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
  let summary: StatementRow[] = []
  try {
    out(`A loopback network in ${world.root}`)
    for (const step of STEPS) {
      const t0 = Date.now()
      const r = await step(story)
      steps.push({ ...r, ms: Date.now() - t0 })
      if (!r.ok) {
        story.say.say(`step ${r.name} did not come out as it should: stopping here`)
        break
      }
    }
    summary = summarize(story)
    out('')
    out('Balances and usage')
    story.say.table(statement(summary))
    story.say.say('(rounded to six decimals; `--json` has the exact amounts in MI and bytes)')
    if (opts.html) {
      await writeFile(opts.html, await picture(story, steps))
      out('')
      out(`The auditor's report of the story's logs, with the payments: ${opts.html}`)
    }
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

function summarize(story: Story): StatementRow[] {
  const vector = (v: Partial<Record<Resource, bigint>>): Record<Resource, string> =>
    Object.fromEntries(RESOURCES.map((r) => [r, String(v[r] ?? 0n)])) as Record<Resource, string>
  return [...story.people.values()].map((p) => {
    const l = p.agent.ledger
    const hosted = p.agent.host?.list() ?? []
    const used: Partial<Record<Resource, bigint>> = {}
    for (const g of hosted) for (const r of RESOURCES) used[r] = (used[r] ?? 0n) + (g.used[r] ?? 0n)
    return {
      who: p.name,
      holds: vector(l.balance()),
      owes: vector(l.obligations()),
      guests: hosted.length,
      used: vector(used)
    }
  })
}
