/**
 * Every bad input refused cleanly (issue 18, point 5): a table of wrong invocations of every
 * `quid` command, each run as a real process, with and without `--json`, against real agents
 * (`quid up`) on a loopback testnet. For each row: the exit code docs/AGENT.md documents, a first
 * line on stderr (after progress lines, which start with `…`) that names the problem, under
 * `--json` one JSON error object with a `code`, no stack trace, and nothing changed in any
 * participant's stored data (a before/after comparison of the files each directory keeps and of
 * what each agent reports: log length, balance, claims, offers, guests, pending proposals).
 */
import { test, type Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { existsSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import z32 from 'z32'
import { tmp } from '../helpers.js'
import { callAgent } from '../../src/agent/control.js'
import { commandTable } from '../../src/agent/commands/table.js'

const BIN = new URL('../../bin/quid.js', import.meta.url).pathname
const ECHO = readFileSync(new URL('../host/guests/echo.js', import.meta.url))
const R = 'cpu=10my,disk=10MB,net=100MB'
const CAPACITY = 'cpu=100my,disk=1GB,net=1GB'
const MARKET = 'bad-input-test'

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** A long-running `quid` (up, testnet): its first JSON line; its stderr kept to show if it dies. */
async function daemon(
  t: Test,
  args: string[]
): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  const child = spawn(process.execPath, [BIN, ...args, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (l) =>
      resolve(JSON.parse(l) as Record<string, unknown>)
    )
    child.once('exit', (code) => reject(new Error(`quid ${args[0]} exited ${code}: ${stderr}`)))
  })
  child.once('exit', (code, signal) => {
    if (!stopping) t.fail(`quid ${args.join(' ')} died (${code ?? signal}): ${stderr}`)
  })
  t.teardown(() => {
    stopping = true
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return { child, ready }
}
let stopping = false

const { QUID_DIR: _unused, ...withoutQuidDir } = process.env

/** `quid` in `cwd` with HOME there too: a command that ignored --dir would show in the listing. */
function quidIn(cwd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...withoutQuidDir, HOME: join(cwd, 'home') },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}

/** Every file a participant directory keeps, hashed; not the Corestore (RocksDB rewrites its own
 * files as it runs: the agents' answers below stand for it), the socket or the operation log
 * (which records refused commands too, by design). */
async function files(root: string, dir = root): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, e.name)
    const rel = relative(root, path)
    if (rel === 'store' || rel === 'control.sock' || rel === 'operations.log') continue
    if (e.isDirectory()) Object.assign(out, await files(root, path))
    else if (e.isFile())
      out[rel] = createHash('sha256')
        .update(await readFile(path))
        .digest('hex')
  }
  return out
}

/** What the running agent of `dir` reports of its stored state; null without an agent. */
async function reported(dir: string, guests: boolean): Promise<unknown> {
  const sock = join(dir, 'control.sock')
  if (!existsSync(sock)) return null
  const ask = (m: string): Promise<unknown> => callAgent(sock, m, {})
  const status = (await ask('status')) as { log: number }
  const offers = (await ask('offers')) as { mine: Array<{ id: string; remaining: unknown }> }
  const g = (await ask('guests')) as {
    deployed: Array<{ guest: string }>
    hosted: Array<{ guest: string }>
  }
  return {
    // With a guest running its host appends usage records and the owner's balance moves:
    // while one runs (phase 2) only the lists of guests are compared for the two of them.
    ...(guests
      ? {}
      : {
          log: status.log,
          balance: await ask('balance'),
          claims: await ask('claims'),
          offers: offers.mine
        }),
    deployed: g.deployed.map((d) => d.guest),
    hosted: g.hosted.map((h) => h.guest),
    // A proposal that timed out stays listed, withdrawn, until its co-signing window ends: it is
    // no longer sent and nothing was signed. The proposals still sent are compared.
    pending: ((await ask('pending')) as Array<{ id: string; withdrawn: boolean }>)
      .filter((p) => !p.withdrawn)
      .map((p) => p.id)
  }
}

interface Row {
  what: string
  args: string[]
  exit: number
  /** The first line of stderr (not counting progress lines) names the problem. */
  first: RegExp
  /** The error's `code` under --json, when the row pins it. */
  code?: string
  /** Runs by itself: while it runs, its agent holds a proposal that other rows would see. */
  alone?: boolean
}

async function check(
  t: Test,
  root: string,
  dirs: Record<string, string>,
  row: Row,
  json: boolean,
  guestPhase: Set<string>
): Promise<void> {
  const snapshot = async (): Promise<unknown> => ({
    top: (await readdir(root)).sort(),
    home: await readdir(join(root, 'home')),
    dirs: Object.fromEntries(
      await Promise.all(
        Object.entries(dirs).map(async ([n, d]) => [
          n,
          { files: await files(d), agent: await reported(d, guestPhase.has(n)) }
        ])
      )
    )
  })
  const name = `quid ${row.args.join(' ')}${json ? ' --json' : ''}: ${row.what}`
  const before = await snapshot()
  const r = await quidIn(root, json ? [...row.args, '--json'] : row.args)
  const after = await snapshot()
  const lines = r.stderr.split('\n').filter((l) => l.length > 0 && !l.startsWith('…'))
  const ok =
    r.code === row.exit &&
    row.first.test(lines[0] ?? '') &&
    !/^\s+at /m.test(r.stderr + r.stdout) &&
    JSON.stringify(after) === JSON.stringify(before)
  t.equal(r.code, row.exit, `${name}: exit ${row.exit}`)
  t.match(lines[0] ?? '', row.first, `${name}: the first line says what is wrong`)
  t.notMatch(r.stderr + r.stdout, /^\s+at /m, `${name}: no stack trace`)
  t.same(after, before, `${name}: nothing stored changed`)
  if (json) {
    const out = r.stdout.trim().split('\n')
    t.equal(out.length, 1, `${name}: one line on stdout`)
    let parsed: { error?: { code?: unknown; message?: unknown; details?: unknown } } = {}
    try {
      parsed = JSON.parse(out[0] as string) as typeof parsed
    } catch {
      t.fail(`${name}: stdout is JSON: ${r.stdout}`)
    }
    t.match(
      parsed,
      { error: { code: String, message: String, details: Object } },
      `${name}: a JSON error object`
    )
    if (row.code) t.equal(parsed.error?.code, row.code, `${name}: code ${row.code}`)
  }
  if (!ok) t.comment(`${name}\n  exit ${r.code}\n  stdout ${r.stdout}\n  stderr ${r.stderr}`)
}

/** Runs rows (each with and without --json) a few at a time: none of them may change anything. */
async function runRows(
  t: Test,
  root: string,
  dirs: Record<string, string>,
  rows: Row[],
  guestPhase = new Set<string>()
): Promise<void> {
  // A row's two runs one after the other: both act on the same directory (one store lock).
  const jobs = rows.map((row) => async () => {
    await check(t, root, dirs, row, false, guestPhase)
    await check(t, root, dirs, row, true, guestPhase)
  })
  const worker = async (): Promise<void> => {
    for (let job = jobs.shift(); job; job = jobs.shift()) await job()
  }
  await Promise.all([worker(), worker(), worker()])
}

test('every command refuses bad input cleanly, and changes nothing', async (t) => {
  const root = await tmp(t, 'quid-bad-')
  await mkdir(join(root, 'home'))
  const dir = (n: string): string => join(root, n)
  const testnet = await daemon(t, ['testnet'])
  const bootstrap = (testnet.ready.bootstrap as string[]).join(',')
  const takenPort = (testnet.ready.bootstrap as string[])[0]!.split(':')[1] as string

  const ids: Record<string, { id: string; z32: string }> = {}
  await Promise.all(
    ['alice', 'bob', 'carol', 'idle', 'idle2', 'lonely'].map(async (n) => {
      const r = await quidIn(root, ['init', '--dir', dir(n), '--json'])
      t.equal(r.code, 0, `init ${n}`)
      ids[n] = JSON.parse(r.stdout) as { id: string; z32: string }
    })
  )
  const up = (n: string, ...extra: string[]): ReturnType<typeof daemon> =>
    daemon(t, ['up', '--dir', dir(n), '--bootstrap', bootstrap, '--market', MARKET, ...extra])
  await Promise.all([
    up('alice', '--host', '--capacity', CAPACITY, '--mips', '1000'),
    up('carol', '--host', '--capacity', CAPACITY, '--mips', '1000'),
    up('bob')
  ])
  const ok = async (args: string[]): Promise<Record<string, unknown>> => {
    const r = await quidIn(root, [...args, '--json'])
    t.equal(r.code, 0, `quid ${args[0]}${r.code ? `: ${r.stderr}` : ''}`)
    return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, unknown>
  }
  await ok(['offer', '--dir', dir('alice'), '--give', R, '--want', R])
  const barter = await ok([
    'barter',
    ids.alice!.id,
    '--dir',
    dir('carol'),
    '--give',
    R,
    '--want',
    R
  ])
  const carolClaims = (await ok(['claims', '--dir', dir('carol')])) as unknown as Array<{
    id: string
    resource: string
  }>
  const cpuClaim = carolClaims.find((c) => c.resource === 'cpu')!.id
  t.ok(barter.settled, 'carol holds IOUs of alice')

  const file = join(root, 'echo.js')
  await writeFile(file, ECHO)
  const note = join(root, 'note.txt')
  await writeFile(note, 'not a program\n')
  const aFile = join(root, 'a-file')
  await writeFile(aFile, 'x')
  const stranger = randomBytes(32).toString('hex')
  const strangerZ = z32.encode(randomBytes(32))
  const noGuest = `${z32.encode(randomBytes(32))}@${ids.alice!.z32}`
  const nowhere = dir('nowhere')
  const A = ['--dir', dir('alice')]
  const B = ['--dir', dir('bob')]
  const C = ['--dir', dir('carol')]
  const I = ['--dir', dir('idle')]

  const rows: Row[] = [
    // init
    { what: 'a positional', args: ['init', 'newp'], exit: 1, first: /unexpected argument "newp"/ },
    { what: 'an empty --dir', args: ['init', '--dir', ''], exit: 1, first: /--dir is empty/ },
    { what: 'a file as --dir', args: ['init', '--dir', aFile], exit: 1, first: /is a file/ },
    {
      what: 'an existing participant',
      args: ['init', ...A],
      exit: 1,
      first: /already exists/,
      code: 'key-file-exists'
    },
    { what: 'an unknown option', args: ['init', '--bogus'], exit: 1, first: /'--bogus'/ },
    // id
    { what: 'a positional', args: ['id', 'x', ...A], exit: 1, first: /unexpected argument "x"/ },
    { what: 'no participant', args: ['id', '--dir', nowhere], exit: 1, first: /no participant/ },
    { what: 'a file as --dir', args: ['id', '--dir', aFile], exit: 1, first: /no participant/ },
    // testnet
    { what: 'a positional', args: ['testnet', '4000'], exit: 1, first: /unexpected argument/ },
    {
      what: 'a port taken',
      args: ['testnet', '--port', takenPort],
      exit: 1,
      first: /--port \d+ is in use/
    },
    { what: 'a port out of range', args: ['testnet', '--port', '0'], exit: 1, first: /--port/ },
    {
      what: 'a host that is no address',
      args: ['testnet', '--host', '999.1.1.1'],
      exit: 1,
      first: /not an IPv4 address/
    },
    {
      what: 'an address of another machine',
      args: ['testnet', '--host', '192.0.2.1'],
      exit: 1,
      first: /not an address of this machine/
    },
    // up
    {
      what: 'a second agent',
      args: ['up', ...A, '--bootstrap', bootstrap],
      exit: 1,
      first: /already running|in use/
    },
    {
      what: '--capacity without --host',
      args: ['up', ...I, '--capacity', 'cpu=1my'],
      exit: 1,
      first: /only make sense with --host/
    },
    { what: '--host alone', args: ['up', ...I, '--host'], exit: 1, first: /needs --capacity/ },
    {
      what: 'a malformed bootstrap',
      args: ['up', ...I, '--bootstrap', 'nothost'],
      exit: 1,
      first: /not host:port/
    },
    {
      what: 'a bootstrap where nothing listens',
      args: ['up', '--dir', dir('lonely'), '--bootstrap', '127.0.0.1:1'],
      exit: 2,
      first: /no DHT node answered at 127\.0\.0\.1:1/,
      code: 'unreachable'
    },
    { what: 'no participant', args: ['up', '--dir', nowhere], exit: 1, first: /no participant/ },
    // status
    { what: 'a positional', args: ['status', 'x', ...A], exit: 1, first: /unexpected argument/ },
    {
      what: 'no agent',
      args: ['status', ...I],
      exit: 3,
      first: /no agent is running/,
      code: 'no-agent'
    },
    // offer
    {
      what: 'no capacity',
      args: ['offer', ...B, '--give', 'cpu=1my', '--want', 'cpu=1my'],
      exit: 2,
      first: /no capacity/,
      code: 'no-capacity'
    },
    {
      what: 'beyond the capacity',
      args: ['offer', ...A, '--give', 'cpu=1000my', '--want', 'cpu=1my'],
      exit: 2,
      first: /gives 1000my of cpu, and your capacity has 90my/,
      code: 'over-capacity'
    },
    {
      what: 'a malformed amount',
      args: ['offer', ...A, '--give', 'cpu=ten', '--want', R],
      exit: 1,
      first: /cpu=ten|amount/
    },
    { what: 'no --want', args: ['offer', ...A, '--give', R], exit: 1, first: /--want is required/ },
    {
      what: 'a bad duration',
      args: ['offer', ...A, '--give', R, '--want', R, '--expires', 'soon'],
      exit: 1,
      first: /duration/
    },
    // offers
    { what: 'a positional', args: ['offers', 'x', ...A], exit: 1, first: /unexpected argument/ },
    { what: 'no agent', args: ['offers', ...I], exit: 3, first: /no agent/ },
    // barter
    { what: 'no peer', args: ['barter', ...A, '--give', R, '--want', R], exit: 1, first: /PEER/ },
    {
      what: 'a malformed peer',
      args: ['barter', 'bob', ...A, '--give', R, '--want', R],
      exit: 1,
      first: /peer/
    },
    {
      what: 'itself',
      args: ['barter', ids.alice!.id, ...A, '--give', R, '--want', R],
      exit: 1,
      first: /this participant itself/
    },
    {
      what: 'a peer never online',
      args: ['barter', stranger, ...A, '--give', R, '--want', R, '--timeout', '1s'],
      exit: 2,
      first: /no result in 1000 ms/,
      code: 'timeout',
      alone: true
    },
    // buy
    { what: 'no offer', args: ['buy', ...C], exit: 1, first: /expected one OFFER/ },
    { what: 'an offer nobody made', args: ['buy', 'fedc', ...C], exit: 1, first: /offer/ },
    {
      what: 'a payment by prefix',
      args: ['buy', 'abcd', ...C, '--paid', 'abcd'],
      exit: 1,
      first: /full transfer id/
    },
    {
      what: 'paid two ways',
      args: ['buy', 'abcd', ...C, '--claim', 'abcd', '--paid', 'ab'.repeat(32)],
      exit: 1,
      first: /not both/
    },
    // transfer
    {
      what: 'more than the claim has free',
      args: ['transfer', cpuClaim, ...C, '--to', ids.bob!.id, '--amount', 'cpu=1000my'],
      exit: 2,
      first: /has 10my of cpu free, and the transfer moves 1000my/,
      code: 'overspent'
    },
    {
      what: "another's claim",
      args: ['transfer', cpuClaim, ...A, '--to', ids.bob!.id, '--amount', 'cpu=1my'],
      exit: 2,
      first: /is not yours/,
      code: 'not-holder'
    },
    {
      what: 'a prefix of no claim',
      args: ['transfer', 'ffff0000', ...C, '--to', ids.bob!.id, '--amount', 'cpu=1my'],
      exit: 1,
      first: /no claim known here starts with ffff0000/,
      code: 'bad-id'
    },
    {
      what: 'no --to',
      args: ['transfer', cpuClaim, ...C, '--amount', 'cpu=1my'],
      exit: 1,
      first: /--to is required/
    },
    // follow
    {
      what: 'a participant never online',
      args: ['follow', stranger, ...B, '--timeout', '1s'],
      exit: 2,
      first: new RegExp(`no log of ${stranger} found here or at any peer`),
      code: 'not-found'
    },
    { what: 'a malformed peer', args: ['follow', 'nope', ...B], exit: 1, first: /peer/ },
    { what: 'no peer', args: ['follow', ...B], exit: 1, first: /expected one PEER/ },
    // balance
    {
      what: 'a positional',
      args: ['balance', 'extra', ...A],
      exit: 1,
      first: /unexpected argument "extra"/
    },
    { what: 'no agent', args: ['balance', ...I], exit: 3, first: /no agent/ },
    { what: 'an unknown option', args: ['balance', ...A, '--frob'], exit: 1, first: /'--frob'/ },
    // claims
    { what: 'a positional', args: ['claims', 'x', ...C], exit: 1, first: /unexpected argument/ },
    { what: 'no agent', args: ['claims', ...I], exit: 3, first: /no agent/ },
    // deploy
    {
      what: 'a missing file',
      args: ['deploy', join(root, 'nope.js'), ...C, '--host', ids.alice!.id, '--give', R],
      exit: 1,
      first: /cannot read/
    },
    {
      what: 'code that does not load',
      args: ['deploy', note, ...C, '--host', ids.alice!.id, '--give', 'cpu=1my,disk=1MB,net=1MB'],
      exit: 2,
      first: /did not load|bad-code/,
      code: 'bad-code'
    },
    {
      what: 'credit on a host it holds none on',
      args: ['deploy', file, ...C, '--host', ids.bob!.id, '--give', 'cpu=1my,disk=1MB,net=1MB'],
      exit: 2,
      first: /you hold 0/,
      code: 'insufficient'
    },
    {
      what: 'no net',
      args: ['deploy', file, ...C, '--host', ids.alice!.id, '--give', 'cpu=1my,disk=1MB'],
      exit: 1,
      first: /names no net/
    },
    {
      what: 'no --host',
      args: ['deploy', file, ...C, '--give', R],
      exit: 1,
      first: /--host is required/
    },
    // guests
    { what: 'a positional', args: ['guests', 'x', ...C], exit: 1, first: /unexpected argument/ },
    { what: 'no agent', args: ['guests', ...I], exit: 3, first: /no agent/ },
    // stop
    {
      what: 'an id never deployed',
      args: ['stop', stranger, ...B],
      exit: 1,
      first: /no guest [0-9a-f]{12} is known here/,
      code: 'bad-id'
    },
    {
      what: 'an address with no guest behind it',
      args: ['stop', noGuest, ...B],
      exit: 2,
      first: /no guest [0-9a-f]{12} on that host/,
      code: 'unknown-guest'
    },
    { what: 'a client address', args: ['stop', ids.alice!.z32, ...B], exit: 1, first: /guest id/ },
    { what: 'no guest', args: ['stop', ...B], exit: 1, first: /expected one GUEST/ },
    // send
    {
      what: 'a malformed address',
      args: ['send', 'nowhere', 'hi', ...B],
      exit: 1,
      first: /address/
    },
    {
      what: 'a guest that does not exist',
      args: ['send', noGuest, 'hi', ...B],
      exit: 2,
      first: /is unreachable \(unknown\)/,
      code: 'unreachable'
    },
    {
      what: 'a participant never online',
      args: ['send', strangerZ, 'hi', ...B],
      exit: 2,
      first: /is unreachable \(no-route\)/,
      code: 'unreachable'
    },
    { what: 'no message', args: ['send', strangerZ, ...B], exit: 1, first: /ADDRESS and MESSAGE/ },
    // inbox
    { what: 'a positional', args: ['inbox', 'x', ...B], exit: 1, first: /unexpected argument/ },
    { what: 'no agent', args: ['inbox', ...I], exit: 3, first: /no agent/ },
    // pending
    { what: 'a positional', args: ['pending', 'x', ...A], exit: 1, first: /unexpected argument/ },
    { what: 'no agent', args: ['pending', ...I], exit: 3, first: /no agent/ },
    // cancel
    { what: 'no proposal', args: ['cancel', ...A], exit: 1, first: /expected one PROPOSAL/ },
    {
      what: 'a prefix of no proposal',
      args: ['cancel', 'abcd', ...A],
      exit: 1,
      first: /no pending proposal known here starts with abcd/,
      code: 'bad-id'
    },
    { what: 'not an id', args: ['cancel', 'xyz', ...A], exit: 1, first: /proposal id/ },
    // outcome
    { what: 'not an operation id', args: ['outcome', 'abc', ...A], exit: 1, first: /operation id/ },
    {
      what: 'an operation never run',
      args: ['outcome', '0123456789abcdef0123', ...A],
      exit: 1,
      first: /no operation 0123456789abcdef0123/
    },
    { what: 'no operation', args: ['outcome', ...A], exit: 1, first: /expected one OP/ },
    // export
    { what: 'a positional', args: ['export', 'x', ...A], exit: 1, first: /unexpected argument/ },
    {
      what: 'no participant',
      args: ['export', '--dir', nowhere],
      exit: 1,
      first: /no participant/
    },
    {
      what: 'an --out in no directory (agent running)',
      args: ['export', ...A, '--out', join(root, 'no', 'x.qlog')],
      exit: 1,
      first: /no directory/
    },
    {
      what: 'an --out in no directory (no agent)',
      args: ['export', ...I, '--out', join(root, 'no', 'x.qlog')],
      exit: 1,
      first: /no directory/
    },
    // backup
    {
      what: 'a running agent',
      args: ['backup', ...A, '--out', join(root, 'a.qbak')],
      exit: 1,
      first: /an agent is running .*stop it first/,
      code: 'locked'
    },
    { what: 'no --out', args: ['backup', ...I], exit: 1, first: /--out FILE/ },
    {
      what: 'a positional',
      args: ['backup', 'x', ...I, '--out', join(root, 'b.qbak')],
      exit: 1,
      first: /unexpected argument/
    },
    // restore
    {
      what: 'no file',
      args: ['restore', '--dir', join(root, 'r1')],
      exit: 1,
      first: /say which backup file/
    },
    {
      what: 'a missing file',
      args: ['restore', join(root, 'no.qbak'), '--dir', join(root, 'r1')],
      exit: 1,
      first: /cannot read/
    },
    {
      what: 'a file that is not a backup',
      args: ['restore', note, '--dir', join(root, 'r1')],
      exit: 1,
      first: /./,
      code: 'backup-invalid'
    },
    // audit
    { what: 'nothing to audit', args: ['audit'], exit: 1, first: /nothing to audit/ },
    {
      what: 'a missing file',
      args: ['audit', join(root, 'no.qlog')],
      exit: 1,
      first: /cannot read/
    },
    { what: 'a malformed id', args: ['audit', '--id', 'nothex', ...B], exit: 1, first: /64 hex/ },
    {
      what: 'a log the agent cannot find',
      args: ['audit', '--id', stranger, ...B, '--timeout', '1s'],
      exit: 2,
      first: new RegExp(`no log of ${stranger} found here or at any peer`),
      code: 'not-found'
    },
    {
      what: 'a log not in the store (no agent)',
      args: ['audit', '--id', stranger, '--dir', dir('idle2'), '--timeout', '1s'],
      exit: 2,
      first: new RegExp(`no log of ${stranger} found here or at any peer`),
      code: 'not-found'
    },
    {
      what: 'a negative --now',
      args: ['audit', join(root, 'no.qlog'), '--now=-5'],
      exit: 1,
      first: /--now must be a non-negative integer/
    },
    // demo
    { what: 'a positional', args: ['demo', 'x'], exit: 1, first: /unexpected argument/ },
    {
      what: '--html in no directory',
      args: ['demo', '--html', join(root, 'no', 'x.html')],
      exit: 1,
      first: /no directory/
    },
    { what: 'an unknown option', args: ['demo', '--bogus'], exit: 1, first: /'--bogus'/ },
    // no such command
    { what: 'an unknown command', args: ['frobnicate'], exit: 1, first: /unknown command/ }
  ]
  const covered = new Set(rows.map((r) => r.args[0]))
  t.same(
    Object.keys(commandTable).filter((c) => !covered.has(c)),
    [],
    'every command has rows'
  )
  const dirs = {
    alice: dir('alice'),
    bob: dir('bob'),
    carol: dir('carol'),
    idle: dir('idle'),
    idle2: dir('idle2'),
    lonely: dir('lonely')
  }
  await runRows(
    t,
    root,
    dirs,
    rows.filter((r) => !r.alone)
  )
  for (const row of rows.filter((r) => r.alone)) await runRows(t, root, dirs, [row])

  // With a guest running: stopping it from anyone but its owner.
  const dep = await ok([
    'deploy',
    file,
    ...C,
    '--host',
    ids.alice!.id,
    '--give',
    'cpu=1my,disk=1MB,net=1MB'
  ])
  const guest = dep.guest as string
  await runRows(
    t,
    root,
    dirs,
    [
      {
        what: "someone else's guest, by address",
        args: ['stop', dep.address as string, ...B],
        exit: 2,
        first: /not your guest/,
        code: 'refused'
      },
      {
        what: "someone else's guest on this host, by id",
        args: ['stop', guest, ...A],
        exit: 2,
        first: /not your guest: [0-9a-f]{12} runs on this host/,
        code: 'refused'
      }
    ],
    new Set(['alice', 'carol'])
  )
  await ok(['stop', guest, ...C])
  t.notOk(existsSync(nowhere), 'no command made the directory it did not find')
  t.ok((await stat(dir('idle'))).isDirectory())
})
