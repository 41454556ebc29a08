/**
 * Pending proposals (issue 20): a barter with a peer that is offline says what it waits for, ends
 * cleanly at --timeout (withdrawn, not left pending), and `quid pending` / `quid cancel` list and
 * withdraw proposals. `quid status` lists its peers and counts pending proposals. Real processes.
 */
import { test } from 'tap'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { tmp } from '../helpers.js'
import { daemon, quid } from './procs.js'

interface Pending {
  id: string
  kind: string
  peer: string
  withdrawn: boolean
  connected: boolean
}

test('barter --timeout withdraws; pending lists; cancel withdraws; status counts', async (t) => {
  const root = await tmp(t)
  const dir = join(root, 'alice')
  t.equal((await quid(['init', '--dir', dir])).code, 0)
  const testnet = await daemon(t, ['testnet'])
  const bootstrap = (testnet.ready.bootstrap as string[]).join(',')
  await daemon(t, ['up', '--dir', dir, '--bootstrap', bootstrap, '--market', 'quid-pending-test'])
  const offline = randomBytes(32).toString('hex')
  const R = ['--give', 'cpu=1my', '--want', 'cpu=1my']

  const timed = await quid(['barter', offline, '--dir', dir, ...R, '--timeout', '1500ms'])
  t.equal(timed.code, 2, 'a timeout is exit 2')
  t.match(
    timed.stderr,
    /… finding [0-9a-f]{64} waiting for it to come online/,
    'says what it waits for'
  )
  t.match(timed.stderr, /proposal [0-9a-f]{12} withdrawn/, '--timeout ends it cleanly')
  const one = JSON.parse((await quid(['pending', '--dir', dir, '--json'])).stdout) as Pending[]
  t.equal(one.length, 1)
  t.match(one[0], { kind: 'agreement', peer: offline, withdrawn: true, connected: false })

  // No timeout: it waits; cancel withdraws it and the waiting command ends with `cancelled`.
  const waiting = quid(['barter', offline, '--dir', dir, ...R, '--json'])
  let open: Pending | undefined
  for (let i = 0; i < 100 && !open; i++) {
    await new Promise((r) => setTimeout(r, 100))
    const list = JSON.parse((await quid(['pending', '--dir', dir, '--json'])).stdout) as Pending[]
    open = list.find((p) => !p.withdrawn)
  }
  t.ok(open, 'the second barter is pending')
  const human = await quid(['pending', '--dir', dir])
  t.match(human.stdout, /agreement to [0-9a-f]{12} .*waiting for the peer to come online/)
  const status = JSON.parse((await quid(['status', '--dir', dir, '--json'])).stdout) as {
    pending: number
    peers: string[]
    reaching: string[]
  }
  t.equal(status.pending, 2)
  t.same(status.reaching, [offline], 'the peer the open barter is finding')
  t.ok(Array.isArray(status.peers))
  const cancel = await quid(['cancel', (open as Pending).id.slice(0, 12), '--dir', dir])
  t.equal(cancel.code, 0, cancel.stderr)
  t.match(cancel.stdout, /withdrew [0-9a-f]{64}/)
  const ended = await waiting
  t.equal(ended.code, 2)
  t.equal((JSON.parse(ended.stdout) as { error: { code: string } }).error.code, 'cancelled')
  const quiet = JSON.parse((await quid(['status', '--dir', dir, '--json'])).stdout) as {
    reaching: string[]
  }
  t.same(quiet.reaching, [], 'a withdrawn proposal finds no one')
  const after = JSON.parse((await quid(['pending', '--dir', dir, '--json'])).stdout) as Pending[]
  t.ok(
    after.every((p) => p.withdrawn),
    'both withdrawn'
  )
  const again = await quid(['cancel', 'ffff0000', '--dir', dir])
  t.equal(again.code, 1)
  t.match(again.stderr, /no pending proposal known here starts with ffff0000/)
})

test('a barter that times out withdraws its own proposal, not a concurrent one to the same peer', async (t) => {
  const root = await tmp(t)
  const dir = join(root, 'alice')
  t.equal((await quid(['init', '--dir', dir])).code, 0)
  const testnet = await daemon(t, ['testnet'])
  const bootstrap = (testnet.ready.bootstrap as string[]).join(',')
  await daemon(t, ['up', '--dir', dir, '--bootstrap', bootstrap, '--market', 'quid-pending-two'])
  const offline = randomBytes(32).toString('hex')
  const R = ['--give', 'cpu=1my', '--want', 'cpu=1my']
  const list = async (): Promise<Pending[]> =>
    JSON.parse((await quid(['pending', '--dir', dir, '--json'])).stdout) as Pending[]

  // The short one first; the long one starts while it waits, after its proposal was made.
  const short = quid(['barter', offline, '--dir', dir, ...R, '--timeout', '4s', '--json'])
  let mine: Pending | undefined
  for (let i = 0; i < 100 && !mine; i++) {
    await new Promise((r) => setTimeout(r, 100))
    mine = (await list()).find((p) => !p.withdrawn)
  }
  t.ok(mine, 'the short barter is pending')
  const long = quid(['barter', offline, '--dir', dir, ...R, '--json'])
  let first: Pending | undefined
  for (let i = 0; i < 100 && !first; i++) {
    await new Promise((r) => setTimeout(r, 100))
    first = (await list()).find((p) => !p.withdrawn && p.id !== (mine as Pending).id)
  }
  t.ok(first, 'the long barter is pending too')
  const ended = await short
  t.equal(ended.code, 2)
  const err = (
    JSON.parse(ended.stdout) as { error: { code: string; details: { proposal: string } } }
  ).error
  t.equal(err.code, 'timeout')
  t.equal(err.details.proposal, (mine as Pending).id, 'it names its own proposal')
  const after = await list()
  t.equal(after.length, 2)
  t.match(
    after.find((p) => p.id === (first as Pending).id),
    { withdrawn: false },
    'the long barter is still pending'
  )
  t.match(
    after.find((p) => p.id === err.details.proposal),
    { withdrawn: true }
  )
  const cancel = await quid(['cancel', (first as Pending).id.slice(0, 12), '--dir', dir])
  t.equal(cancel.code, 0, cancel.stderr)
  t.equal(
    (JSON.parse((await long).stdout) as { error: { code: string } }).error.code,
    'cancelled',
    'the long one ends only when it is cancelled itself'
  )
})
