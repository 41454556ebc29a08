// The HTML report in a real headless Chromium: it renders without console errors or requests, and
// shows the participants, the who-owes-whom graph and a violation.
import { test } from 'tap'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { tmp } from '../helpers.js'
import { renderHtml } from '../../src/audit/html.js'
import { auditWriters, cleanWorld, issue, transfer, leg, T0 } from './fixtures.js'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

test('the report renders in Chromium with the graph, the participants and a violation', async (t) => {
  const { A, B, C } = await cleanWorld(t)
  // C passes on more than it has left: one overspent violation with C as culprit.
  const sale = issue(A, C, { cpu: 100n }, T0 + 1100)
  await A.put(sale)
  await C.put(transfer(C, B, leg(sale), 80n, T0 + 2100), transfer(C, A, leg(sale), 50n, T0 + 2200))
  const report = await auditWriters([A, B, C])
  t.same(
    report.violations.map((v) => v.code),
    ['overspent']
  )
  const file = join(await tmp(t), 'report.html')
  await writeFile(file, renderHtml(report))

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  const problems: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`)
  })
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) problems.push(`fetched ${r.url()}`)
  })
  await page.goto(pathToFileURL(file).href)
  t.equal(await page.title(), 'quid audit')
  t.equal(await page.locator('#graph .node').count(), 3, 'one node per participant')
  t.ok((await page.locator('#graph .edge').count()) >= 4, 'an edge per debt')
  for (const w of [A, B, C])
    t.equal(await page.locator(`#graph .node[data-id="${w.key}"]`).count(), 1, `${w.name} is drawn`)
  t.equal(
    await page.locator(`#graph .node.culprit[data-id="${C.key}"]`).count(),
    1,
    'the culprit is marked'
  )
  const row = page.locator('tr.violation')
  t.equal(await row.count(), 1)
  t.match(await row.first().innerText(), /overspent/)
  const box = await page.locator('#graph').boundingBox()
  t.ok(box && box.width > 100 && box.height > 100, 'the graph is laid out')
  t.ok((await page.locator('.issuer').count()) >= 2, 'obligations against capacity per issuer')
  t.equal(await page.locator('figure.guest').count(), 1, 'usage of the one guest over time')
  // The filter hides rows of other codes.
  await page.selectOption('#code-filter', 'overspent')
  t.equal(await row.first().isVisible(), true)
  t.same(problems, [], 'no console errors, no requests beyond the file')
})

test('names from outside (file names) are escaped, never markup', async (t) => {
  const { A, B, C } = await cleanWorld(t)
  const report = await auditWriters([A, B, C])
  const evil = '<img src=x onerror=alert(1)>.qlog'
  report.ok = false
  report.byCode = { 'export-invalid': 1 }
  report.violations = [
    {
      code: 'export-invalid',
      message: `${evil}: byte 0 (magic): bad`,
      records: [],
      positions: [],
      where: { source: evil, offset: 0, field: 'magic' }
    }
  ]
  const html = renderHtml(report)
  t.notMatch(html, /<img/)
  t.match(html, /&lt;img src=x onerror=alert\(1\)&gt;\.qlog/)
})
