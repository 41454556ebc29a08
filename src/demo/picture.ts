/**
 * The story as a picture (`quid demo --html FILE`): the auditor's report of every log at the end
 * of the story — the who-owes-whom graph, each host's obligations, the guests' usage — drawn with
 * the people's names, after a table of the story's payments (who paid whom what, on whose
 * machine, and the signed record that says so).
 */
import { audit } from '../audit/audit.js'
import { renderHtml } from '../audit/html.js'
import type { Json } from '../agent/control.js'
import { copies } from './audit.js'
import type { StepResult, Story } from './context.js'

export interface Payment {
  from: string
  to: string
  amount: string
  /** Whose IOUs were paid (whose machine they are good on). */
  issuer: string
  /** The signed record: an agreement (both sides at once) or a transfer. */
  record: string
}

const esc = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string
  )

/** Every payment the steps reported in their `payments` figures, in the story's order. */
export function payments(steps: StepResult[]): Payment[] {
  return steps.flatMap(
    (s) => (s.figures.payments as Json[] | undefined) ?? []
  ) as unknown as Payment[]
}

export async function picture(story: Story, steps: StepResult[]): Promise<string> {
  const report = await audit(await copies(story), [], { workers: 0 })
  const names: Record<string, string> = {}
  for (const p of story.people.values()) names[p.agent.key] = p.name
  const rows = payments(steps)
    .map(
      (p) =>
        `<tr class="payment" data-from="${esc(p.from)}" data-to="${esc(p.to)}"><td>${esc(p.from)}</td><td>${esc(p.to)}</td><td>${esc(p.amount)}</td><td>${esc(p.issuer)}'s</td><td title="${esc(p.record)}"><code>${esc(p.record.slice(0, 16))}…</code></td></tr>`
    )
    .join('')
  const preface = `<h2>The story's payments</h2>
<p>Carl buys cpu from the newbies with IOUs for traffic on his machine (one agreement each, both sides at once); the newbies pay Joe with those IOUs for their remailer cards (a transfer each way). Every line is a record signed by both sides, in their logs.</p>
<table id="payments"><thead><tr><th>from</th><th>to</th><th>what</th><th>on whose machine</th><th>record</th></tr></thead><tbody>${rows}</tbody></table>`
  return renderHtml(report, { names, preface })
}
