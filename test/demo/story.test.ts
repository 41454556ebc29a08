/**
 * The whole story end to end, as `npm start` runs it: every step's outcome and figures, the
 * cheater caught with the violation code and its evidence, nothing left behind; and `quid demo
 * --json` printing one JSON object as its last line.
 */
import { test } from 'tap'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { existsSync } from 'node:fs'
import { runStory, STEPS } from '../../src/demo/story.js'
import { REMAILER_A_CPU } from '../../src/demo/remailers.js'
import { main } from '../../src/agent/cli.js'
import { tmp } from '../helpers.js'

test('the story: seven steps, each as the issue tells it', async (t) => {
  const parent = await tmp(t, 'quid-story-')
  const lines: string[] = []
  let root = ''
  let running = false
  let pids: number[] = []
  const r = await runStory({
    out: (l) => lines.push(l),
    parent,
    inspect: async (story) => {
      root = story.world.root
      pids = [...story.world.agents.values()].flatMap((a) => a.host?.sandboxPids() ?? [])
      // Every agent still runs here; afterwards none may.
      running = [...story.world.agents.values()].every((a) => a.opened && !a.closed)
    }
  })
  t.ok(r.ok, 'every step ok')
  t.same(
    r.steps.map((s) => [s.name, s.ok]),
    [
      ['barter', true],
      ['transfer', true],
      ['deploy', true],
      ['crack', true],
      ['messages', true],
      ['eviction', true],
      ['audit', true]
    ]
  )
  t.equal(STEPS.length, 7)
  const [barter, transfer, deploy, crack, messages, eviction, audit] = r.steps.map(
    (s) => s.figures
  ) as Array<
    Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  >

  // 1. Both hold and owe what they bartered.
  t.same(barter!.alice.holds, { cpu: '10my', disk: '10MB', net: '100MB' })
  t.same(barter!.alice.owes, { cpu: '10my', disk: '10MB', net: '100MB' })
  t.equal(barter!.claims.length, 6, 'six IOUs, three each way')
  // 2. Joe holds 2my, 2MB, 20MB on each machine.
  t.equal(transfer!.transfers.length, 6)
  t.same(transfer!.joe, { cpu: '4my', disk: '4MB', net: '40MB' })
  // 3. Three guests, on the hosts the claims are on.
  t.same(deploy!.hosted, { alice: 1, bob: 2 })
  t.equal(deploy!.claimSpends, 9, 'cpu, disk and net paid for each guest')
  // 4. Carl buys cpu on both newbies' machines and the key turns up on Ned's half; both crackers
  // are stopped, billed for the keys they tried, their directories deleted.
  t.equal(crack!.key, 45_001, 'the key')
  t.equal(crack!.tried, 2 ** 15 + (45_001 - 2 ** 15 + 1), "all of Nina's half, Ned's up to the key")
  t.same(
    crack!.perHost.map((h: any) => [h.host, h.result, h.reason, h.after]), // eslint-disable-line @typescript-eslint/no-explicit-any
    [
      ['nina', 'exhausted', 'stopped', []],
      ['ned', 'found', 'stopped', []]
    ]
  )
  for (const h of crack!.perHost) {
    t.same(h.before, [h.guest], `${h.host}'s guest directory held the cracker`)
    t.ok(BigInt(h.cpu) > 0n && BigInt(h.cpu) < 5000n, `${h.host} billed ${h.cpu} MI of 5000MI`)
  }
  t.equal(
    crack!.cpuBilled,
    String(crack!.perHost.reduce((s: bigint, h: { cpu: string }) => s + BigInt(h.cpu), 0n))
  )
  t.same(
    crack!.payments.map((p: { from: string; to: string; amount: string; issuer: string }) => [
      p.from,
      p.to,
      p.amount,
      p.issuer
    ]),
    [
      ['bob', 'carl', 'net=10MB', 'bob'],
      ['carl', 'bob', 'net=10MB', 'carl'],
      ['carl', 'nina', 'net=1MB', 'bob'],
      ['nina', 'carl', 'cpu=5000MI,disk=4kB,net=64kB', 'nina'],
      ['carl', 'ned', 'net=1MB', 'bob'],
      ['ned', 'carl', 'cpu=5000MI,disk=4kB,net=64kB', 'ned']
    ],
    "who paid whom: carl's credit first, then both offers bought with part of it"
  )
  // 5. The newbies pay Joe with the part of Bob's IOU Carl paid them, and Joe sells them their cards;
  // both letters arrive and are read.
  t.same(
    messages!.payments.map((p: { from: string; to: string; issuer: string }) => [
      p.from,
      p.to,
      p.issuer
    ]),
    [
      ['nina', 'joe', 'bob'],
      ['joe', 'nina', 'alice'],
      ['ned', 'joe', 'bob'],
      ['joe', 'ned', 'alice']
    ],
    'each card paid for with what carl paid'
  )
  t.same([messages!.sent, messages!.read, messages!.cell], [2, 2, 4096])
  t.same(
    messages!.seen,
    { alice: { senders: 2, recipient: false }, bob: { senders: 0, recipient: true } },
    'no host saw both a newbie and the recipient'
  )
  // 6. The remailer on Alice's machine is evicted for cpu, with exactly its credit used, and its
  // directory is gone.
  t.equal(eviction!.reason, 'cpu-exhausted')
  // Its last call is stopped at its credit's worth of wall time; on a busy machine its thread may
  // not have run all of it, and then it pays only what it used (docs/HOST.md, "Metering").
  const credit = BigInt(REMAILER_A_CPU.replace(/MI$/, ''))
  const usedCpu = BigInt(eviction!.used.cpu)
  t.ok(
    usedCpu <= credit && usedCpu * 10n >= credit * 9n,
    `its cpu credit billed: ${usedCpu} MI of ${credit}`
  )
  t.same(eviction!.before, [eviction!.guest], 'the guest directory before: the remailer')
  t.same(eviction!.after, [], 'and after: nothing')
  // 7. Clean audit, then the double spend caught twice.
  t.equal(audit!.cleanViolations, 0, 'the honest world audits clean')
  const owes = (issuer: string, holder: string, resource: string): bigint =>
    BigInt(
      audit!.flow.find(
        (d: { issuer: string; holder: string; resource: string }) =>
          d.issuer === issuer && d.holder === holder && d.resource === resource
      )?.amount ?? '0'
    )
  for (const n of ['nina', 'ned']) {
    const left = 5000n - BigInt(crack!.perHost.find((h: { host: string }) => h.host === n).cpu)
    t.equal(owes(n, 'carl', 'cpu'), left, `the auditor: ${n} owes carl the cpu he did not use`)
    t.equal(owes('alice', n, 'net'), 1_000_000n, `the auditor: ${n} holds her card`)
  }
  t.equal(owes('bob', 'carl', 'net'), 8_000_000n, "the auditor: carl holds the rest of bob's IOU")
  t.equal(owes('carl', 'bob', 'net'), 10_000_000n, 'and owes bob what he sold him')
  t.equal(owes('bob', 'nina', 'net'), 0n, 'the newbies passed on all they were paid')
  t.equal(owes('carl', 'nina', 'net'), 0n, 'carl issued the newbies nothing: he paid with credit')
  t.match(
    audit!.hostCaught,
    { code: 'fork', claim: 'frozen', deploy: 'frozen' },
    "Bob's host: fork, the claims frozen, a guest paid with one refused"
  )
  t.match(audit!.auditor, { code: 'fork', heads: 2 }, 'the auditor: fork with both signed heads')
  t.equal(audit!.hostCaught.culprit, audit!.auditor.culprit, 'both name the same culprit')

  // The summary table: one row per participant, with what each holds and owes.
  t.same(
    r.summary.map((row) => row.who),
    ['alice', 'bob', 'joe', 'rita', 'carl', 'nina', 'ned', 'mallory']
  )
  t.match(
    r.summary.find((row) => row.who === 'nina'),
    { holds: { net: '1000000' } },
    "nina's card, exact in bytes"
  )
  const text = lines.join('\n')
  for (const n of [1, 2, 3, 4, 5, 6, 7])
    t.match(text, new RegExp(`^${n}\\. `, 'm'), `step ${n} narrated`)
  t.match(text, /Balances and usage/)
  t.match(text, /holds cpu \(my\)/, 'each column names its unit')
  t.notMatch(text, /\d+MI +\d+my|\d+my +\d+MI/, 'no MI beside my in a row')
  t.match(text, /ls .*alice\/host\/guests/, 'the guest directory is listed')

  t.ok(running, 'the agents ran until the end of the story')
  // Guests run in their agents' processes by default (docs/HOST.md): no sandbox process at all.
  t.same(pids, [], 'the hosts ran their guests in their own processes')
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  // A child just killed may linger as a zombie until reaped: give it a moment.
  for (let i = 0; i < 100 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 50))
  t.same(pids.filter(alive), [], 'no sandbox process is left running')
  t.notOk(existsSync(root), 'the temporary directories are removed')
  t.same(await readdir(parent), [], 'nothing left behind')
  t.equal(r.root, null)
})

test('quid demo --json --keep --html: one JSON object as the last line, the directories kept, the picture in Chromium', async (t) => {
  const out: string[] = []
  const html = join(await tmp(t, 'quid-story-html-'), 'story.html')
  const code = await main(['demo', '--json', '--keep', '--html', html], {
    out: (s) => out.push(...s.split('\n')),
    err: (s) => out.push(s),
    env: process.env
  })
  t.equal(code, 0)
  const last = JSON.parse(out.at(-1) as string) as {
    ok: boolean
    root: string
    steps: Array<{ name: string; ok: boolean; figures: Record<string, unknown> }>
  }
  t.equal(last.ok, true)
  t.same(
    last.steps.map((s) => s.name),
    ['barter', 'transfer', 'deploy', 'crack', 'messages', 'eviction', 'audit']
  )
  t.ok(
    last.steps.every((s) => s.ok && typeof s.figures === 'object'),
    'each step with its figures'
  )
  t.teardown(() => rm(last.root, { recursive: true, force: true }))
  t.match(out.join('\n'), `The agents' directories are kept in ${last.root}`)
  t.same(
    (await readdir(last.root)).sort(),
    ['alice', 'bob', 'carl', 'joe', 'mallory', 'ned', 'nina', 'rita'],
    "every participant's directory is kept"
  )
  t.ok(existsSync(join(last.root, 'alice', 'identity.key')))
  t.equal(await main(['demo', '--bogus'], { out: () => {}, err: () => {}, env: {} }), 1)
  const refused: string[] = []
  t.equal(
    await main(['demo', '--json', '--html', join(html, 'no', 'such.html')], {
      out: (s) => refused.push(s),
      err: () => {},
      env: {}
    }),
    1,
    'an --html file in no directory: bad usage, before the story starts'
  )
  t.match(JSON.parse(refused.at(-1) as string), { error: { code: 'bad-argument' } })

  // The picture, as a person sees it: Chromium renders the page, and its graph, its payments and
  // its people name the cracker, the newbies and Joe.
  t.match(out.join('\n'), `The auditor's report of the story's logs, with the payments: ${html}`)
  // As test/audit/html.test.ts: Debian's chromium, headless.
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu']
  })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(pathToFileURL(html).href)
  const nodes = await page.$$eval('#graph .node text', (ns) => ns.map((n) => n.textContent))
  for (const name of ['carl', 'nina', 'ned', 'joe', 'alice', 'bob'])
    t.ok(nodes.includes(name), `${name} is a node of the graph`)
  const edges = await page.$$eval('#graph .edge title', (ns) => ns.map((n) => n.textContent ?? ''))
  for (const n of ['nina', 'ned']) {
    t.ok(
      edges.some((e) => e.startsWith(`${n} owes carl `) && e.endsWith(' cpu')),
      `${n} owes carl cpu: what he bought`
    )
    t.ok(
      edges.some((e) => e.startsWith(`alice owes ${n} 1MB net`)),
      `${n} holds her card`
    )
  }
  t.ok(
    edges.some((e) => e.startsWith('bob owes joe ') && e.endsWith(' net')),
    "joe holds bob's IOUs for net: alice's and the newbies' payments"
  )
  t.ok(edges.includes('bob owes carl 8MB net'), 'carl holds the rest of his credit')
  const payments = await page.$$eval('#payments tr.payment', (rs) =>
    rs.map((r) => [...r.querySelectorAll('td')].slice(0, 4).map((c) => c.textContent))
  )
  t.same(
    payments,
    [
      ['bob', 'carl', 'net=10MB', "bob's"],
      ['carl', 'bob', 'net=10MB', "carl's"],
      ['carl', 'nina', 'net=1MB', "bob's"],
      ['nina', 'carl', 'cpu=5000MI,disk=4kB,net=64kB', "nina's"],
      ['carl', 'ned', 'net=1MB', "bob's"],
      ['ned', 'carl', 'cpu=5000MI,disk=4kB,net=64kB', "ned's"],
      ['nina', 'joe', 'net=1MB', "bob's"],
      ['joe', 'nina', 'net=1MB', "alice's"],
      ['ned', 'joe', 'net=1MB', "bob's"],
      ['joe', 'ned', 'net=1MB', "alice's"]
    ],
    'the payments table: who paid whom what, on whose machine'
  )
  const hosts = await page.$$eval('.issuer h3', (hs) => hs.map((h) => h.textContent))
  t.ok(
    ['nina', 'ned', 'carl'].every((n) => hosts.includes(n)),
    "the newbies' and carl's capacity"
  )
  const usage = await page.$$eval('figure.guest figcaption', (fs) =>
    fs.map((f) => f.textContent ?? '')
  )
  for (const n of ['nina', 'ned'])
    t.ok(
      usage.some((u) => u.includes(`on ${n} for carl (ended: stopped)`)),
      `the cracker's usage on ${n}'s machine`
    )
  t.same(errors, [], 'the page runs without errors')
})
