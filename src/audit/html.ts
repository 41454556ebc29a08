/**
 * The audit report as one self-contained HTML page: inline CSS, SVG drawn here, a few lines of
 * inline script for filtering; it fetches nothing. Sections: the who-owes-whom graph, each
 * issuer's obligations against its capacity, usage per guest over time, and the violations.
 */
import { RESOURCES, formatAmount, type Resource } from '../ledger/amounts.js'
import type { AuditReport, GuestSummary } from './report.js'

const esc = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string
  )

const short = (id: string): string => id.slice(0, 8)
type Label = (id: string) => string

export interface HtmlOptions {
  /** People's names for participant ids (the demo's): shown instead of the ids' first digits. */
  names?: Record<string, string>
  /** HTML placed after the status line, as given (the caller escapes it). */
  preface?: string
}
const fmt = (r: Resource, v: string): string => formatAmount(r, BigInt(v))
const MAX_NODES = 40
const MAX_EDGES = 160
const MAX_ROWS = 1000
const NODE_R = 22
const COLORS: Record<Resource, string> = { cpu: '#d9480f', disk: '#1971c2', net: '#2f9e44' }

/** Participants on a circle, an arrow issuer -> holder per resource, wider for larger debts. */
function graph(report: AuditReport, label: Label): string {
  // A big audit shows the participants in the most debts; the JSON report has them all.
  const weight = new Map<string, number>()
  for (const d of report.debts)
    for (const id of [d.issuer, d.holder]) weight.set(id, (weight.get(id) ?? 0) + 1)
  const ids = report.participants
    .map((p) => p.id)
    .sort((a, b) => (weight.get(b) ?? 0) - (weight.get(a) ?? 0))
    .slice(0, MAX_NODES)
    .sort()
  // The circle grows with the participants, so that their nodes do not overlap.
  const size = Math.max(520, Math.ceil((ids.length * 64) / Math.PI) + 140)
  const c = size / 2
  const radius = ids.length > 1 ? size / 2 - 70 : 0
  const at = new Map(
    ids.map((id, i) => [
      id,
      {
        x: c + radius * Math.cos((2 * Math.PI * i) / ids.length - Math.PI / 2),
        y: c + radius * Math.sin((2 * Math.PI * i) / ids.length - Math.PI / 2)
      }
    ])
  )
  const culprits = new Set(report.violations.map((v) => v.culprit).filter((x): x is string => !!x))
  const shown = report.debts.filter((d) => at.has(d.issuer) && at.has(d.holder))
  const max: Record<Resource, bigint> = { cpu: 1n, disk: 1n, net: 1n }
  for (const d of shown) if (BigInt(d.amount) > max[d.resource]) max[d.resource] = BigInt(d.amount)
  // The largest debts, relative to the largest of their resource, when there are too many to read.
  const share = (d: (typeof shown)[number]): number =>
    Number((BigInt(d.amount) * 1000n) / max[d.resource])
  const drawn =
    shown.length > MAX_EDGES
      ? [...shown].sort((x, y) => share(y) - share(x)).slice(0, MAX_EDGES)
      : shown
  const edges = drawn
    .map((d) => {
      const a = at.get(d.issuer) as { x: number; y: number }
      const b = at.get(d.holder) as { x: number; y: number }
      // Resources get their own bend, so three debts between one pair stay apart.
      const bend = (RESOURCES.indexOf(d.resource) - 1) * 28 + 18
      const len = Math.hypot(b.x - a.x, b.y - a.y) || 1
      const mx = (a.x + b.x) / 2 - ((b.y - a.y) / len) * bend
      const my = (a.y + b.y) / 2 + ((b.x - a.x) / len) * bend
      // Start and end on the nodes' rims, so that the arrowhead shows.
      const rim = (p: { x: number; y: number }): { x: number; y: number } => {
        const l = Math.hypot(mx - p.x, my - p.y) || 1
        return { x: p.x + ((mx - p.x) / l) * NODE_R, y: p.y + ((my - p.y) / l) * NODE_R }
      }
      const s = rim(a)
      const e = rim(b)
      const width = 1 + Number((BigInt(d.amount) * 4n) / max[d.resource])
      const title = `${label(d.issuer)} owes ${label(d.holder)} ${fmt(d.resource, d.amount)} ${d.resource}`
      return `<path class="edge" d="M${s.x.toFixed(1)},${s.y.toFixed(1)} Q${mx.toFixed(1)},${my.toFixed(1)} ${e.x.toFixed(1)},${e.y.toFixed(1)}" stroke="${COLORS[d.resource]}" stroke-width="${width}" fill="none" marker-end="url(#arrow-${d.resource})"><title>${esc(title)}</title></path>`
    })
    .join('')
  const nodes = ids
    .map((id) => {
      const p = at.get(id) as { x: number; y: number }
      const bad = culprits.has(id) ? ' culprit' : ''
      return `<g class="node${bad}" data-id="${esc(id)}"><circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="${NODE_R}"/><text x="${p.x.toFixed(1)}" y="${(p.y + 4).toFixed(1)}">${esc(label(id))}</text><title>${esc(id)}</title></g>`
    })
    .join('')
  const markers = RESOURCES.map(
    (r) =>
      `<marker id="arrow-${r}" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${COLORS[r]}"/></marker>`
  ).join('')
  const legend = RESOURCES.map(
    (r, i) =>
      `<g transform="translate(10,${14 + 16 * i})"><rect width="12" height="4" y="-4" fill="${COLORS[r]}"/><text x="18" y="0" class="legend">${r}</text></g>`
  ).join('')
  const note =
    drawn.length < report.debts.length
      ? `<p>${drawn.length} of ${report.debts.length} debts drawn (the largest, between the ${ids.length} participants in the most debts); the JSON report has them all.</p>`
      : ''
  return `<svg id="graph" viewBox="0 0 ${size} ${size}" width="${size}" height="${size}" role="img" aria-label="who owes whom"><defs>${markers}</defs>${legend}${edges}${nodes}</svg>${note}`
}

/** Per issuer with capacity: a bar per resource, obligations against capacity. */
function obligations(report: AuditReport, label: Label): string {
  const rows = report.participants.filter((p) => p.capacity)
  if (rows.length === 0) return '<p>No participant published capacity.</p>'
  return rows
    .map((p) => {
      const bars = RESOURCES.map((r) => {
        const cap = BigInt(p.capacity?.[r] ?? '0')
        const owed = BigInt(p.owes[r])
        const pct = cap === 0n ? (owed > 0n ? 100 : 0) : Number((owed * 1000n) / cap) / 10
        const over = owed > cap ? ' over' : ''
        return `<div class="bar${over}"><span class="label">${r}</span><svg width="240" height="14"><rect width="240" height="14" class="cap"/><rect width="${Math.min(240, (240 * pct) / 100).toFixed(1)}" height="14" fill="${COLORS[r]}"/></svg><span>${esc(fmt(r, p.owes[r]))} of ${esc(fmt(r, p.capacity?.[r] ?? '0'))} (${pct.toFixed(1)}%)</span></div>`
      }).join('')
      return `<div class="issuer"><h3 title="${esc(p.id)}">${esc(label(p.id))}</h3>${bars}</div>`
    })
    .join('')
}

/** Cumulative usage per guest against time, one small chart per guest and resource used. */
function usage(guests: GuestSummary[], label: Label): string {
  const shown = guests.filter((g) => g.usage.length > 0).slice(0, 50)
  if (shown.length === 0) return '<p>No guest reported usage.</p>'
  const charts = shown.map((g) => {
    const t0 = g.admitted
    const t1 = Math.max(t0 + 1, ...g.usage.map((u) => u.time))
    const lines = RESOURCES.filter((r) => g.reserved[r] !== '0')
      .map((r) => {
        const cap = BigInt(g.reserved[r])
        const pts = [
          { time: t0, v: 0n },
          ...g.usage.map((u) => ({ time: u.time, v: BigInt(u[r]) }))
        ]
        const d = pts
          .map(
            (p, i) =>
              `${i ? 'L' : 'M'}${(((p.time - t0) / (t1 - t0)) * 300).toFixed(1)},${(100 - Number((p.v * 100n) / (cap || 1n))).toFixed(1)}`
          )
          .join(' ')
        return `<path d="${d}" stroke="${COLORS[r]}" fill="none" stroke-width="2"><title>${r}: ${esc(fmt(r, g.usage[g.usage.length - 1]?.[r] ?? '0'))} of ${esc(fmt(r, g.reserved[r]))}</title></path>`
      })
      .join('')
    return `<figure class="guest"><svg width="300" height="100" viewBox="0 -4 300 108"><line x1="0" y1="0" x2="300" y2="0" class="limit"/>${lines}</svg><figcaption>guest ${esc(short(g.id))} on ${esc(label(g.host))} for ${esc(label(g.owner))}${g.ended ? ` (ended: ${esc(g.ended)})` : ''}</figcaption></figure>`
  })
  const more =
    guests.length > shown.length
      ? `<p>${guests.length - shown.length} more guests in the JSON report.</p>`
      : ''
  return charts.join('') + more
}

function violations(report: AuditReport, label: Label): string {
  if (report.violations.length === 0) return '<p class="clean">No violations.</p>'
  const codes = Object.keys(report.byCode).sort()
  const filter = `<label>Show <select id="code-filter"><option value="">all codes</option>${codes.map((c) => `<option>${esc(c)}</option>`).join('')}</select></label>`
  // A page stays readable: the first MAX_ROWS violations; the JSON report has them all.
  const rows = report.violations
    .slice(0, MAX_ROWS)
    .map((v) => {
      const where = [
        ...v.positions.map((p) => `${short(p.log)}#${p.index}`),
        v.where
          ? `${v.where.source}${v.where.offset !== undefined ? ` @${v.where.offset}` : ''}${v.where.field ? ` (${v.where.field})` : ''}`
          : ''
      ].filter(Boolean)
      const evidence = [
        ...v.records.map((r) => `record ${r}`),
        ...(v.claim ? [`claim ${v.claim}`] : []),
        ...(v.heads ?? []).map(
          (h) =>
            `head length ${h.length} fork ${h.fork} tree ${h.treeHash ?? '?'} sig ${h.signature}`
        )
      ]
      return `<tr class="violation" data-code="${esc(v.code)}"><td><code>${esc(v.code)}</code></td><td>${esc(v.message)}</td><td>${v.culprit ? esc(label(v.culprit)) : ''}</td><td>${esc(where.join(', '))}</td><td class="evidence">${evidence.map(esc).join('<br>')}</td></tr>`
    })
    .join('')
  return `${filter}<table id="violations"><thead><tr><th>code</th><th>what</th><th>culprit</th><th>where</th><th>evidence</th></tr></thead><tbody>${rows}</tbody></table>${report.violations.length > MAX_ROWS ? `<p>${MAX_ROWS} of ${report.violations.length} violations shown; the JSON report has them all.</p>` : ''}`
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.4em}h2{border-bottom:1px solid #ccc;margin-top:2em}
.status{padding:.5em 1em;border-radius:4px;display:inline-block}.status.ok{background:#d3f9d8}.status.bad{background:#ffe3e3}
#graph .node circle{fill:#e7f5ff;stroke:#1c7ed6;stroke-width:2}#graph .node.culprit circle{fill:#ffe3e3;stroke:#e03131}
#graph text{font-size:11px;text-anchor:middle;font-family:monospace}#graph .legend{text-anchor:start}
#graph .edge{opacity:.75}#graph .edge:hover{opacity:1}
.issuer{display:inline-block;margin:0 2em 1em 0;vertical-align:top}.issuer h3{font-family:monospace;margin:.2em 0}
.bar{display:flex;gap:.5em;align-items:center;font-size:12px}.bar .label{width:3em}.bar .cap{fill:#eee}.bar.over span{color:#e03131;font-weight:bold}
.guest{display:inline-block;margin:0 1em 1em 0}.guest svg{background:#f8f9fa}.guest .limit{stroke:#adb5bd;stroke-dasharray:4}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #dee2e6;padding:4px 6px;text-align:left;vertical-align:top}
td.evidence{font-family:monospace;font-size:11px;word-break:break-all}
table.logs td{font-family:monospace;font-size:12px}`

const SCRIPT = `(function(){var s=document.getElementById('code-filter');if(!s)return;s.addEventListener('change',function(){var rows=document.querySelectorAll('tr.violation');for(var i=0;i<rows.length;i++){rows[i].style.display=!s.value||rows[i].getAttribute('data-code')===s.value?'':'none'}})})()`

export function renderHtml(report: AuditReport, opts: HtmlOptions = {}): string {
  const label: Label = (id) => opts.names?.[id] ?? short(id)
  const status = report.ok
    ? '<p class="status ok">Clean: every signature verified and every rule holds.</p>'
    : `<p class="status bad">${report.violations.length} violation${report.violations.length === 1 ? '' : 's'}: ${Object.entries(
        report.byCode
      )
        .map(([c, n]) => `${esc(c)} ${n}`)
        .join(', ')}</p>`
  const s = report.stats
  const logs = report.logs
    .map(
      (l) =>
        `<tr><td title="${esc(l.id)}">${esc(label(l.id))}</td><td>${l.length}</td><td>${l.authentic}</td><td>${esc(l.sources.join(', '))}</td></tr>`
    )
    .join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>quid audit</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<style>${CSS}</style></head><body>
<h1>quid audit</h1>
${status}
${opts.preface ?? ''}
<p>${s.copies} copies of ${report.logs.length} logs, ${s.entries} entries (${s.verified} verified now, ${s.cached} from earlier audits) in ${s.ms} ms on ${s.workers || 1} threads; judged at ${esc(new Date(report.now).toISOString())}.</p>
<h2>Participants and logs</h2>
<table class="logs"><thead><tr><th>participant</th><th>entries</th><th>bound to its signed head</th><th>from</th></tr></thead><tbody>${logs}</tbody></table>
<h2>Who owes whom</h2>
${graph(report, label)}
<h2>Obligations against capacity</h2>
${obligations(report, label)}
<h2>Usage per guest over time</h2>
${usage(report.guests, label)}
<h2>Violations</h2>
${violations(report, label)}
<script>${SCRIPT}</script>
</body></html>
`
}
