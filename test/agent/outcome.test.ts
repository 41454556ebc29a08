/**
 * Outcome unknown (issue 20): a changing command whose agent dies before answering exits 5 with
 * an operation id, and `quid outcome OP` says what the agent's operation log holds, before and
 * after a restart. Real `quid testnet` / `quid up` processes; the operation log in-process too.
 */
import { test } from 'tap'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { tmp } from '../helpers.js'
import { daemon, exited, quid } from './procs.js'
import { Operations, lookupOperation } from '../../src/agent/operations.js'
import { ControlServer, callAgent } from '../../src/agent/control.js'
import { QuidError, ErrorCodes } from '../../src/core/errors.js'

test('a barter whose agent is killed mid-request: exit 5, and quid outcome OP after a restart', async (t) => {
  const root = await tmp(t)
  const dir = join(root, 'alice')
  t.equal((await quid(['init', '--dir', dir])).code, 0)
  const testnet = await daemon(t, ['testnet'])
  const bootstrap = (testnet.ready.bootstrap as string[]).join(',')
  const up = ['up', '--dir', dir, '--bootstrap', bootstrap, '--market', 'quid-outcome-test']
  const agent = await daemon(t, up)
  // A peer nobody runs: the agent keeps trying to reach it, so the request is in flight.
  const stranger = randomBytes(32).toString('hex')
  const running = quid([
    'barter',
    stranger,
    '--dir',
    dir,
    '--give',
    'cpu=1my',
    '--want',
    'cpu=1my',
    '--json'
  ])
  await new Promise((r) => setTimeout(r, 1500))
  agent.child.kill('SIGKILL')
  await exited(agent.child)
  const r = await running
  t.equal(r.code, 5, `exit 5, outcome unknown: ${r.stderr}`)
  t.match(
    r.stderr,
    /the outcome is unknown; ask with quid outcome [0-9a-f]{32} \[outcome-unknown\]/
  )
  const err = (JSON.parse(r.stdout) as { error: { code: string; details: { op: string } } }).error
  t.equal(err.code, 'outcome-unknown')
  const op = err.details.op
  t.match(op, /^[0-9a-f]{32}$/)

  const dead = await quid(['outcome', op, '--dir', dir, '--json'])
  t.equal(dead.code, 0, dead.stderr)
  const o = JSON.parse(dead.stdout) as {
    state: string
    method: string
    steps: Array<{ step: string }>
  }
  t.equal(o.method, 'barter')
  t.equal(o.state, 'interrupted', 'no agent runs: it was interrupted')
  t.same(
    o.steps.map((s) => s.step),
    ['finding'],
    'the steps it had reached'
  )

  await daemon(t, up)
  const after = await quid(['outcome', op, '--dir', dir])
  t.equal(after.code, 0, after.stderr)
  t.match(after.stdout, /barter, started .*\n {2}interrupted: the agent stopped before answering/)
  const unknown = await quid(['outcome', 'ab'.repeat(16), '--dir', dir])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /no operation abab/)
  t.equal((await quid(['outcome', 'nope', '--dir', dir])).code, 1)
})

test('the operation log: start, steps and end are written before the answer', async (t) => {
  const dir = await tmp(t)
  const ops = new Operations(join(dir, 'operations.log'))
  await ops.session(1)
  const server = new ControlServer(
    join(dir, 'c.sock'),
    {
      async ok(_p, ctx) {
        ctx.progress({ step: 'half' })
        return { fine: true }
      },
      async bad() {
        throw new QuidError(ErrorCodes.INSUFFICIENT, 'not enough')
      },
      async hang(_p, ctx) {
        await new Promise((r) => ctx.signal.addEventListener('abort', r))
        return null
      }
    },
    { operations: ops }
  )
  await server.ready()
  t.teardown(() => server.close())
  const sock = join(dir, 'c.sock')
  const a = 'a'.repeat(32)
  const b = 'b'.repeat(32)
  const c = 'c'.repeat(32)
  t.same(await callAgent(sock, 'ok', {}, { op: a }), { fine: true })
  await t.rejects(callAgent(sock, 'bad', {}, { op: b }), { code: 'insufficient' })
  const hanging = callAgent(sock, 'hang', {}, { op: c })
  await new Promise((r) => setTimeout(r, 100))
  const file = join(dir, 'operations.log')
  t.match(await lookupOperation(file, a), {
    state: 'done',
    method: 'ok',
    steps: [{ step: 'half' }],
    result: { fine: true }
  })
  t.match(await lookupOperation(file, b), { state: 'failed', error: { code: 'insufficient' } })
  t.match(await lookupOperation(file, c), { state: 'unanswered', method: 'hang' })
  await ops.session(2)
  t.match(await lookupOperation(file, c), { state: 'interrupted' }, 'a later session: interrupted')
  t.equal(await lookupOperation(file, 'd'.repeat(32)), null)
  await server.close()
  await hanging.catch(() => null)
  // An agent that dies after reading a request: the caller cannot know whether it was done.
  const dying = createServer((s) => s.once('data', () => s.destroy()))
  const dsock = join(dir, 'd.sock')
  await new Promise<void>((r) => dying.listen(dsock, () => r()))
  t.teardown(() => new Promise<void>((r) => dying.close(() => r())))
  await t.rejects(
    callAgent(dsock, 'transfer', {}, { op: c }),
    { code: 'outcome-unknown', details: { op: c, method: 'transfer' } },
    'the connection closed after the request was sent'
  )
  await t.rejects(
    callAgent(sock, 'ok', {}, { op: a }),
    { code: 'no-agent' },
    'nothing to connect to'
  )
})
