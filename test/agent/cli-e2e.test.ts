/**
 * The `quid` CLI end to end, as a person runs it: a testnet and three agents in child processes
 * on loopback, every command in `--json` parsed and checked, bad input on each command with its
 * documented exit code, and clean shutdown on SIGTERM. Runs the built CLI (bin/quid.js → dist),
 * which `npm test` builds first.
 */
import { test, type Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { quid } from './procs.js'
import { tmp } from '../helpers.js'
import { parseAmount } from '../../src/ledger/amounts.js'

const here = dirname(fileURLToPath(import.meta.url))
const BIN = join(here, '..', '..', 'bin', 'quid.js')
const ECHO = readFileSync(join(here, '..', 'host', 'guests', 'echo.js'))
const R = 'cpu=10my,disk=10MB,net=100MB'

/** Runs a command with --json and returns its parsed output, failing the test on a non-zero exit. */
async function json<T = Record<string, unknown>>(t: Test, args: string[]): Promise<T> {
  const r = await quid([...args, '--json'])
  t.equal(r.code, 0, `quid ${args[0]} exits 0${r.code ? `: ${r.stderr}` : ''}`)
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as T
}

/** A long-running command (`up`, `testnet`): resolves with its first JSON line; killed in teardown. */
async function daemon(
  t: Test,
  args: string[]
): Promise<{ child: ChildProcess; ready: Record<string, unknown>; lines: string[] }> {
  const child = spawn(process.execPath, [BIN, ...args, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr?.on('data', (d) => (stderr += d))
  const lines: string[] = []
  const rl = createInterface({ input: child.stdout! })
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    rl.on('line', (line) => {
      lines.push(line)
      if (lines.length === 1) resolve(JSON.parse(line) as Record<string, unknown>)
    })
    child.once('exit', (code) =>
      reject(new Error(`quid ${args[0]} exited ${code} before it was ready: ${stderr}`))
    )
  })
  t.teardown(() => stop(child))
  return { child, ready, lines }
}

function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code))
    child.kill('SIGTERM')
  })
}

async function until<T>(fn: () => Promise<T | null>, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== null) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

test('three agents driven by the CLI: barter, transfer, deploy, send, inbox, guests, stop', async (t) => {
  const root = await tmp(t, 'quid-cli-')
  const dir = (n: string): string => join(root, n)
  const testnet = await daemon(t, ['testnet'])
  const bootstrap = (testnet.ready.bootstrap as string[]).join(',')
  t.ok(bootstrap.length > 0, 'the testnet prints its bootstrap')

  const ids: Record<string, string> = {}
  for (const n of ['alice', 'bob', 'carol']) {
    const init = await json<{ id: string; dir: string }>(t, ['init', '--dir', dir(n)])
    t.match(init.id, /^[0-9a-f]{64}$/)
    ids[n] = init.id
  }
  const capacity = 'cpu=100my,disk=1GB,net=1GB'
  const alice = await daemon(t, [
    'up',
    '--dir',
    dir('alice'),
    '--bootstrap',
    bootstrap,
    '--market',
    'cli-test',
    '--host',
    '--capacity',
    capacity,
    '--mips',
    '1000'
  ])
  // Bob keeps his guests in sandbox processes; Alice in her agent's process (the default).
  const bob = await daemon(t, [
    'up',
    '--dir',
    dir('bob'),
    '--bootstrap',
    bootstrap,
    '--market',
    'cli-test',
    '--host',
    '--capacity',
    capacity,
    '--mips',
    '1000',
    '--isolation',
    'process'
  ])
  const carol = await daemon(t, [
    'up',
    '--dir',
    dir('carol'),
    '--bootstrap',
    bootstrap,
    '--market',
    'cli-test'
  ])
  t.same(
    [alice.ready.id, bob.ready.id, carol.ready.id],
    [ids.alice, ids.bob, ids.carol],
    'each agent runs as its participant'
  )
  t.same(carol.ready.host, null, 'carol is a client only')
  t.match(
    [alice.ready.host, bob.ready.host],
    [{ isolation: 'isolate' }, { isolation: 'process' }],
    'each host says where its guests run'
  )

  // A second agent on the same directory is refused.
  const twice = await quid(['up', '--dir', dir('alice'), '--bootstrap', bootstrap])
  t.equal(twice.code, 1, 'a second agent on one directory: exit 1')
  t.match(twice.stderr, /already running/)

  const offer = await json<{ id: string; give: Record<string, string> }>(t, [
    'offer',
    '--dir',
    dir('bob'),
    '--give',
    R,
    '--want',
    R,
    '--expires',
    '1d'
  ])
  t.same(offer.give, { cpu: '10my', disk: '10MB', net: '100MB' })
  const offers = await json<{ mine: Array<{ id: string }> }>(t, ['offers', '--dir', dir('bob')])
  t.same(
    offers.mine.map((o) => o.id),
    [offer.id]
  )

  const barter = await json<{ agreement: string; settled: boolean; claims: string[] }>(t, [
    'barter',
    ids.bob as string,
    '--dir',
    dir('alice'),
    '--give',
    R,
    '--want',
    R
  ])
  t.equal(barter.settled, true, 'the barter returns once settled')
  t.equal(barter.claims.length, 6, 'three legs each way')
  // Each side's status lists the other among its peers, by full id.
  for (const [me, other] of [
    ['alice', 'bob'],
    ['bob', 'alice']
  ] as const) {
    const st = await json<{ peers: string[]; pending: number }>(t, ['status', '--dir', dir(me)])
    t.ok(st.peers.includes(ids[other] as string), `${me}'s status lists ${other}`)
    t.equal(st.pending, 0, `${me} has nothing pending`)
  }
  t.match((await quid(['status', '--dir', dir('alice')])).stdout, new RegExp(`\\n {4}${ids.bob}`))

  const balance = await json<{ holds: Record<string, string>; owes: Record<string, string> }>(t, [
    'balance',
    '--dir',
    dir('alice')
  ])
  t.same(balance.holds, { cpu: '10my', disk: '10MB', net: '100MB' })
  t.same(
    (balance as unknown as { holdsUnits: unknown }).holdsUnits,
    { cpu: '315576000', disk: '10000000', net: '100000000' },
    'beside each amount, its exact base units'
  )
  t.same(balance.owes, { cpu: '10my', disk: '10MB', net: '100MB' })

  const claims = await json<
    Array<{ id: string; issuer: string; resource: string; status: string }>
  >(t, ['claims', '--dir', dir('alice')])
  t.equal(claims.length, 3)
  t.ok(
    claims.every((c) => c.issuer === ids.bob && c.status === 'ok'),
    "alice holds Bob's IOUs"
  )
  // One command passes on part of all three, each claim named by the prefix `quid` prints.
  const tr = await json<{ to: string; parts: Array<{ resource: string; amount: string }> }>(t, [
    'transfer',
    ...claims.map((c) => c.id.slice(0, 12)),
    '--dir',
    dir('alice'),
    '--to',
    ids.carol as string,
    '--amount',
    'cpu=2my,disk=2MB,net=2MB'
  ])
  t.equal(tr.to, ids.carol)
  t.same(
    tr.parts.map((p) => [p.resource, p.amount]),
    [
      ['cpu', '2my'],
      ['disk', '2MB'],
      ['net', '2MB']
    ],
    'three parts moved'
  )
  await until(async () => {
    const r = await quid(['claims', '--dir', dir('carol'), '--json'])
    return (JSON.parse(r.stdout) as unknown[]).length === 3 ? true : null
  }, 'carol to hold three claims')

  const file = join(root, 'echo.js')
  await writeFile(file, ECHO)
  const dep = await json<{ address: string; guest: string }>(t, [
    'deploy',
    file,
    '--dir',
    dir('carol'),
    '--host',
    (ids.bob as string).slice(0, 10),
    '--give',
    'cpu=1my,disk=1MB,net=1MB'
  ])
  t.match(dep.address, /^[a-z0-9]{52}@[a-z0-9]{52}$/)

  const sent = await json<{ status: string }>(t, [
    'send',
    dep.address,
    'hello from carol',
    '--dir',
    dir('carol')
  ])
  t.equal(sent.status, 'sent')
  const inbox = await until(async () => {
    const items = JSON.parse(
      (await quid(['inbox', '--dir', dir('carol'), '--json'])).stdout
    ) as Array<{ kind: string; text: string; from: string }>
    return items.length > 0 ? items : null
  }, 'the echo in carol’s inbox')
  t.same(
    inbox.map((i) => [i.kind, i.text, i.from]),
    [['message', 'echo:hello from carol', dep.address]]
  )

  const mine = await json<{ deployed: Array<{ guest: string }>; hosted: unknown[] }>(t, [
    'guests',
    '--dir',
    dir('carol')
  ])
  t.same(
    mine.deployed.map((d) => d.guest),
    [dep.guest]
  )
  const hosted = await json<{ hosted: Array<{ guest: string; owner: string }> }>(t, [
    'guests',
    '--dir',
    dir('bob')
  ])
  t.same(
    hosted.hosted.map((g) => [g.guest, g.owner]),
    [[dep.guest, ids.carol]]
  )

  const stopped = await json<{ guest: string; used: Record<string, string> }>(t, [
    'stop',
    dep.guest.slice(0, 12),
    '--dir',
    dir('carol')
  ])
  t.equal(stopped.guest, dep.guest)
  t.same(
    (await json<{ hosted: unknown[] }>(t, ['guests', '--dir', dir('bob')])).hosted,
    [],
    'the guest is gone from the host'
  )

  // Human text is the default.
  const human = await quid(['balance', '--dir', dir('alice')])
  t.match(human.stdout, /^holds {2}cpu=/m)

  // Bad input: a clear message, the documented exit code, nothing changed in any log.
  const logLengths = (): Promise<number[]> =>
    Promise.all(
      ['alice', 'bob', 'carol'].map(
        async (n) => (await json<{ log: number }>(t, ['status', '--dir', dir(n)])).log
      )
    )
  const lengthsBefore = await logLengths()
  const stranger = randomBytes(32).toString('hex')
  const bad: Array<[string, string[], number, RegExp]> = [
    [
      'a malformed amount',
      ['offer', '--dir', dir('bob'), '--give', 'cpu=ten', '--want', R],
      1,
      /cpu=ten|amount/
    ],
    [
      'a missing option',
      ['barter', ids.bob as string, '--dir', dir('alice'), '--give', R],
      1,
      /--want is required/
    ],
    ['an unknown option', ['balance', '--dir', dir('alice'), '--frobnicate'], 1, /frobnicate/],
    [
      'a malformed peer',
      ['barter', 'bob', '--dir', dir('alice'), '--give', R, '--want', R],
      1,
      /peer/
    ],
    ['a buy of no offer', ['buy', '--dir', dir('alice')], 1, /expected one OFFER/],
    [
      'a buy paid two ways',
      ['buy', 'abcd', '--dir', dir('alice'), '--claim', 'abcd', '--paid', 'ab'.repeat(32)],
      1,
      /not both/
    ],
    [
      'a buy with a payment given by prefix',
      ['buy', 'abcd', '--dir', dir('alice'), '--paid', 'abcd'],
      1,
      /full transfer id/
    ],
    ['a buy of an offer nobody made', ['buy', 'fedc', '--dir', dir('alice')], 1, /offer/],
    [
      'an unknown peer',
      ['barter', stranger, '--dir', dir('alice'), '--give', R, '--want', R, '--timeout', '2s'],
      2,
      /timeout|no result/
    ],
    [
      'a claim that is not yours',
      [
        'transfer',
        barter.claims[0] as string,
        '--dir',
        dir('alice'),
        '--to',
        ids.carol as string,
        '--amount',
        'cpu=1my'
      ],
      2,
      /not yours/
    ],
    [
      'a missing file',
      [
        'deploy',
        join(root, 'nope.js'),
        '--dir',
        dir('carol'),
        '--host',
        ids.bob as string,
        '--cpu',
        '1my',
        '--disk',
        '1MB',
        '--net',
        '1MB'
      ],
      1,
      /cannot read/
    ],
    [
      'credit it does not hold',
      [
        'deploy',
        file,
        '--dir',
        dir('carol'),
        '--host',
        ids.bob as string,
        '--cpu',
        '5my',
        '--disk',
        '1MB',
        '--net',
        '1MB'
      ],
      2,
      /insufficient|asks for/
    ],
    [
      'a deploy that names no net',
      [
        'deploy',
        file,
        '--dir',
        dir('carol'),
        '--host',
        ids.bob as string,
        '--give',
        'cpu=1my,disk=1MB'
      ],
      1,
      /names no net/
    ],
    [
      'a deploy that gives its amounts twice',
      [
        'deploy',
        file,
        '--dir',
        dir('carol'),
        '--host',
        ids.bob as string,
        '--give',
        'cpu=1my,disk=1MB,net=1MB',
        '--cpu',
        '1my'
      ],
      1,
      /--give or --cpu, not both/
    ],
    [
      'a transfer of several resources, one more than its claim holds',
      [
        'transfer',
        ...claims.map((c) => c.id),
        '--dir',
        dir('alice'),
        '--to',
        ids.carol as string,
        '--amount',
        'cpu=1my,disk=1MB,net=1GB'
      ],
      2,
      /claim [0-9a-f]{12} has 98MB of net free, and the transfer moves 1GB \[overspent\]/
    ],
    [
      'a claim prefix that names no claim held',
      [
        'transfer',
        'ffff0000',
        '--dir',
        dir('alice'),
        '--to',
        ids.carol as string,
        '--amount',
        'cpu=1my'
      ],
      1,
      /no claim known here starts with ffff0000/
    ],
    [
      'an id prefix that is too short',
      [
        'transfer',
        'abc',
        '--dir',
        dir('alice'),
        '--to',
        ids.carol as string,
        '--amount',
        'cpu=1my'
      ],
      1,
      /not 64 hex|prefix|claim id/
    ],
    ['a malformed address', ['send', 'nowhere', 'hi', '--dir', dir('carol')], 1, /address/],
    [
      'an unknown isolation',
      ['up', '--dir', dir('idle-host'), '--host', '--capacity', 'cpu=1my', '--isolation', 'vm'],
      1,
      /--isolation must be one of isolate, process, not "vm"/
    ],
    [
      'a bad duration',
      ['offer', '--dir', dir('bob'), '--give', R, '--want', R, '--expires', 'soon'],
      1,
      /duration/
    ]
  ]
  for (const [what, args, code, message] of bad) {
    const r = await quid(args)
    t.equal(r.code, code, `${what}: exit ${code}`)
    t.match(r.stderr, message, `${what}: the message says why`)
  }
  const jsonErr = await quid([
    'transfer',
    barter.claims[0] as string,
    '--dir',
    dir('alice'),
    '--to',
    ids.carol as string,
    '--amount',
    'cpu=1my',
    '--json'
  ])
  t.equal(
    (JSON.parse(jsonErr.stdout) as { error: { code: string } }).error.code,
    'not-holder',
    '--json errors carry the code'
  )
  const lengthsAfter = await logLengths()
  t.same(lengthsAfter, lengthsBefore, 'no log changed')

  // No agent running: exit 3, said plainly.
  const idle = dir('idle')
  await json(t, ['init', '--dir', idle])
  for (const args of [['balance'], ['inbox'], ['send', `${ids.alice}`, 'x'], ['guests']]) {
    const r = await quid([...args, '--dir', idle])
    t.equal(r.code, 3, `${args[0]} with no agent: exit 3`)
    t.match(r.stderr, /no agent is running/)
  }

  // Following a participant's log by hand.
  const followed = await json<{ id: string; entries: number }>(t, [
    'follow',
    ids.alice as string,
    '--dir',
    dir('carol')
  ])
  t.equal(followed.id, ids.alice)
  t.ok(followed.entries >= 4, "carol holds alice's log")

  // Export and audit while the agents run: the agents hold the stores and do the reading.
  const exported = await json<{ entries: number; file: string }>(t, [
    'export',
    '--dir',
    dir('alice'),
    '--out',
    join(root, 'alice.qlog')
  ])
  t.ok(exported.entries >= 4, "alice's log is exported through her agent")
  const everyone = ['alice', 'bob', 'carol'].flatMap((n) => ['--id', ids[n] as string])
  const audited = await quid(['audit', '--dir', dir('carol'), ...everyone, '--json'])
  t.equal(
    audited.code,
    0,
    `the audit over the swarm is clean${audited.code ? `: ${audited.stdout.slice(0, 2000)} ${audited.stderr}` : ''}`
  )
  const report = JSON.parse(audited.stdout) as {
    ok: boolean
    logs: unknown[]
    participants: unknown[]
    stats: { entries: number }
  }
  t.equal(report.ok, true)
  t.ok(
    (
      report.participants as Array<{
        owes: Record<string, string>
        owesText: Record<string, string>
      }>
    ).some(
      (l) =>
        l.owesText !== undefined &&
        l.owes.cpu !== '0' &&
        parseAmount('cpu', l.owesText.cpu as string).toString() === l.owes.cpu
    ),
    'the audit gives base units and, beside them, the amount syntax'
  )
  t.equal(report.logs.length, 3, 'three logs fetched over the swarm')
  t.ok(report.stats.entries > exported.entries, 'more entries than alice alone')

  // SIGTERM: each agent shuts down cleanly and says so.
  for (const d of [carol, bob, alice]) {
    t.equal(await stop(d.child), 0, 'the agent exits 0')
    t.same(JSON.parse(d.lines[d.lines.length - 1] as string), { stopped: true, signal: 'SIGTERM' })
  }
  t.equal(await stop(testnet.child), 0, 'the testnet exits 0')
})
