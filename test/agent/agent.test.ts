/**
 * Whole agents on a loopback testnet, driven through the handlers of their control sockets: the
 * barter → transfer → deploy → message → stop path, and bad input on each step leaving every log
 * as it was.
 */
import { test, type Test } from 'tap'
import { writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { controlHandlers } from '../../src/agent/handlers.js'
import type { CallContext, Json, JsonObject } from '../../src/agent/control.js'
import type { Agent } from '../../src/agent/agent.js'
import { toHex } from '../../src/core/bytes.js'
import { formatAddress, guestAddress } from '../../src/vnet/address.js'
import { ErrorCodes } from '../../src/core/errors.js'
import { agentNet, until } from './helpers.js'
import { PACKET_OVERHEAD_BYTES } from '../../src/host/prices.js'

const here = dirname(fileURLToPath(import.meta.url))
const ECHO = readFileSync(join(here, '..', 'host', 'guests', 'echo.js'))
const BIG = { cpu: 10n ** 15n, disk: 10n ** 12n, net: 10n ** 12n }
const R = 'cpu=10my,disk=10MB,net=100MB'

function ctx(): CallContext & { steps: JsonObject[] } {
  const steps: JsonObject[] = []
  return { steps, progress: (p) => steps.push(p), signal: new AbortController().signal }
}

/** Calls a control method the way the socket would. */
function client(agent: Agent): (method: string, params?: JsonObject) => Promise<Json> {
  const h = controlHandlers(agent)
  return (method, params = {}) => (h[method] as NonNullable<(typeof h)[string]>)(params, ctx())
}

const lengths = (agents: Agent[]): number[] => agents.map((a) => a.ledger.length)

/** Alice and Bob, both hosts, after a barter (Bob offered, Alice took it); Bob's host's log lines. */
async function bartered(t: Test) {
  const net = await agentNet(t)
  const alice = await net.agent('alice', { host: { capacity: BIG, mips: 1000 } })
  const bob = await net.agent('bob', { host: { capacity: BIG, mips: 1000 } })
  const [a, b] = [client(alice), client(bob)]
  await b('offer', { give: R, want: R })
  await a('barter', { peer: bob.key, give: R, want: R })
  const lines: string[] = []
  bob.host!.on('log', (l: { line: string }) => lines.push(l.line))
  return { net, alice, bob, a, b, lines }
}

test('barter, transfer to a client, deploy on a host, message the guest, stop it', async (t) => {
  const net = await agentNet(t)
  const alice = await net.agent('alice', { host: { capacity: BIG, mips: 1000 } })
  const bob = await net.agent('bob', { host: { capacity: BIG, mips: 1000 } })
  // Carol has no host and is on no market: a client, reached by her participant topic only.
  const carol = await net.agent('carol', { market: null })
  const [a, b, c] = [client(alice), client(bob), client(carol)]

  await b('offer', { give: R, want: R })
  const barter = (await a('barter', { peer: bob.key, give: R, want: R })) as {
    agreement: string
    claims: string[]
  }
  t.ok(alice.exchange.settled(barter.agreement), 'settled as Alice sees it')
  await until(() => bob.exchange.settled(barter.agreement), 'Bob to see it settled')
  t.same((await a('balance')) as JsonObject, {
    id: alice.key,
    holds: { cpu: '10my', disk: '10MB', net: '100MB' },
    owes: { cpu: '10my', disk: '10MB', net: '100MB' },
    capacity: { mips: 1000, limits: { cpu: '1000000000000000MI', disk: '1000GB', net: '1000GB' } }
  })

  // Alice passes part of each IOU Bob issued her to Carol.
  const held = (await a('claims')) as Array<{ id: string; issuer: string; resource: string }>
  const onBob = held.filter((h) => h.issuer === bob.key)
  t.equal(onBob.length, 3, 'three IOUs of Bob')
  const parts: Record<string, string> = { cpu: 'cpu=2my', disk: 'disk=2MB', net: 'net=2MB' }
  for (const h of onBob) {
    const r = (await a('transfer', {
      claim: h.id,
      to: carol.key,
      amount: parts[h.resource] as string
    })) as { claim: string }
    t.match(r.claim, /^[0-9a-f]{64}$/)
  }
  await until(() => carol.ledger.holdings().length === 3, 'Carol to see her three claims')

  // Carol deploys the echo guest on Bob's host, paid with the claims she got from Alice.
  const file = join(net.root, 'echo.js')
  await writeFile(file, ECHO)
  const dep = (await c('deploy', { file, host: bob.key, cpu: '1my', disk: '1MB', net: '1MB' })) as {
    address: string
    guest: string
    paid: unknown[]
  }
  t.equal(dep.paid.length, 3, 'one claim per resource pays')
  t.ok(
    dep.address.endsWith('@' + ((await b('status')) as { z32: string }).z32),
    'the guest lives at Bob'
  )
  const hosted = ((await b('guests')) as { hosted: Array<{ guest: string; owner: string }> }).hosted
  t.same(
    hosted.map((g) => [g.guest, g.owner]),
    [[dep.guest, carol.key]],
    "Bob's host runs Carol's guest"
  )
  t.same(
    ((await c('guests')) as { deployed: Array<{ guest: string }> }).deployed.map((d) => d.guest),
    [dep.guest]
  )

  // A message to the guest and its reply in Carol's inbox.
  const sent = (await c('send', { to: dep.address, message: 'hello' })) as { status: string }
  t.equal(sent.status, 'sent')
  let inbox: Array<{ kind: string; text?: string; from?: string }> = []
  await until(
    async () => (inbox = inbox.concat((await c('inbox')) as typeof inbox)).length > 0,
    'the echo'
  )
  t.same(
    inbox.map((i) => [i.kind, i.text, i.from]),
    [['message', 'echo:hello', dep.address]]
  )

  // Carol stops it: the host evicts it, and later messages come back `gone`.
  const stopped = (await c('stop', { guest: dep.address })) as { used: Record<string, string> }
  // One message in and one out, each its payload plus the wire overhead (docs/GUESTS.md).
  const bytes = Number(/^(\d+)B$/.exec(stopped.used.net ?? '')?.[1])
  t.ok(
    bytes >= 2 * PACKET_OVERHEAD_BYTES + 10 && bytes < 2 * PACKET_OVERHEAD_BYTES + 20,
    `the net bytes of one message in and one out (${stopped.used.net})`
  )
  t.same(((await b('guests')) as { hosted: unknown[] }).hosted, [], 'no guest on the host any more')
  await c('send', { to: dep.address, message: 'anyone?' })
  let notices: Array<{ kind: string; reason?: string }> = []
  await until(
    async () => (notices = notices.concat((await c('inbox')) as typeof notices)).length > 0,
    'the gone notice'
  )
  t.same(
    notices.map((n) => [n.kind, n.reason]),
    [['unreachable', 'gone']]
  )
})

test('bad input on every command: a clear error with its code, and no log changes', async (t) => {
  const net = await agentNet(t)
  const alice = await net.agent('alice', {
    host: { capacity: BIG, mips: 1000 },
    timeouts: { reachMs: 1500, completeMs: 2500, syncMs: 2500 }
  })
  const bob = await net.agent('bob', { host: { capacity: BIG, mips: 1000 } })
  const [a, b] = [client(alice), client(bob)]
  await b('offer', { give: R, want: R })
  const barter = (await a('barter', { peer: bob.key, give: R, want: R })) as { claims: string[] }
  const bobsOwn = barter.claims[0] as string // leg 0: what Alice issued to Bob — Bob's, not Alice's
  await until(
    () =>
      bob.exchange.settled(
        toHex(Buffer.from((barter as unknown as { agreement: string }).agreement, 'hex'))
      ),
    'settled at Bob'
  )
  const before = lengths([alice, bob])
  const file = join(net.root, 'echo.js')
  await writeFile(file, ECHO)
  const stranger = toHex(randomBytes(32))

  const cases: Array<[string, string, JsonObject, string]> = [
    ['a malformed amount', 'offer', { give: 'cpu=ten', want: R }, ErrorCodes.BAD_AMOUNT],
    [
      'an unknown resource',
      'barter',
      { peer: bob.key, give: 'gpu=1', want: R },
      ErrorCodes.BAD_RESOURCE
    ],
    ['a malformed peer id', 'barter', { peer: 'bob', give: R, want: R }, ErrorCodes.BAD_ID],
    ['oneself as peer', 'barter', { peer: alice.key, give: R, want: R }, ErrorCodes.BAD_ARGUMENT],
    [
      'a claim that is not yours',
      'transfer',
      { claim: bobsOwn, to: bob.key, amount: 'cpu=1my' },
      ErrorCodes.NOT_HOLDER
    ],
    [
      'an unknown claim',
      'transfer',
      { claim: toHex(randomBytes(32)), to: bob.key, amount: 'cpu=1my' },
      ErrorCodes.NOT_HOLDER
    ],
    [
      'a missing file',
      'deploy',
      { file: join(net.root, 'nope.js'), host: bob.key, cpu: '1my', disk: '1MB', net: '1MB' },
      ErrorCodes.BAD_ARGUMENT
    ],
    [
      'more credit than held',
      'deploy',
      { file, host: bob.key, cpu: '11my', disk: '1MB', net: '1MB' },
      ErrorCodes.INSUFFICIENT
    ],
    [
      'no credit on that host',
      'deploy',
      { file, host: stranger, cpu: '1my', disk: '1MB', net: '1MB' },
      ErrorCodes.INSUFFICIENT
    ],
    [
      'a malformed address',
      'send',
      { to: 'nobody@nowhere', message: 'x' },
      ErrorCodes.BAD_ARGUMENT
    ],
    ['a missing parameter', 'send', { to: alice.key }, ErrorCodes.BAD_ARGUMENT],
    [
      'stopping a guest that is not ours',
      'stop',
      { guest: 'not-an-address' },
      ErrorCodes.BAD_ARGUMENT
    ]
  ]
  for (const [what, method, params, code] of cases) {
    await t.rejects(a(method, params), { code }, what)
  }
  // The transfer with a claim of the wrong resource is refused before anything is signed.
  const mine = ((await a('claims')) as Array<{ id: string; resource: string }>).find(
    (c) => c.resource === 'cpu'
  )!
  await t.rejects(
    a('transfer', { claim: mine.id, to: bob.key, amount: 'disk=1MB' }),
    { code: ErrorCodes.BAD_ARGUMENT },
    'wrong resource'
  )
  await t.rejects(
    a('transfer', { claim: mine.id, to: bob.key, amount: 'cpu=11my' }),
    { code: ErrorCodes.OVERSPENT },
    'more than held'
  )
  // An unknown peer cannot be reached: the barter times out and nothing is appended.
  await t.rejects(
    a('barter', { peer: stranger, give: R, want: R }),
    { code: ErrorCodes.TIMEOUT },
    'unknown peer'
  )
  t.same(lengths([alice, bob]), before, 'no log changed')
})

test('a guest cannot name anything outside the virtual network', async (t) => {
  const { net, bob, a, lines } = await bartered(t)
  const owner = (await a('status')) as { address: string }
  const file = join(net.root, 'reacher.js')
  await writeFile(
    file,
    `quid.on('start', () => {
      for (const to of ['example.com', '127.0.0.1', '10.0.0.1:80', 'https://example.com/', 'localhost', '::1']) {
        try { quid.send(to, 'out') ; quid.log('sent to ' + to) } catch (e) { quid.log('refused ' + to) }
      }
      quid.send(${JSON.stringify(owner.address)}, 'only this')
    })`
  )
  const dep = (await a('deploy', { file, host: bob.key, cpu: '1my', disk: '1MB', net: '1MB' })) as {
    guest: string
  }
  t.same(
    lines.filter((l) => l.startsWith('refused') || l.startsWith('sent')),
    ['example.com', '127.0.0.1', '10.0.0.1:80', 'https://example.com/', 'localhost', '::1'].map(
      (to) => 'refused ' + to
    ),
    'every outside name is refused inside the guest'
  )
  let inbox: Array<{ text?: string }> = []
  await until(
    async () => (inbox = inbox.concat((await a('inbox')) as typeof inbox)).length > 0,
    'the one message'
  )
  t.same(
    inbox.map((i) => i.text),
    ['only this']
  )
  t.equal(
    bob.host!.guest(dep.guest)?.used.net,
    9n + BigInt(PACKET_OVERHEAD_BYTES),
    'only the one real send of 9 bytes was sent, and billed its wire size'
  )
})

test('a guest learns when an address it sent to is unknown or gone', async (t) => {
  const { net, alice, bob, a, lines } = await bartered(t)
  // A guest on Bob's host that writes to a guest address on Alice's host that does not exist.
  const nowhere = formatAddress(guestAddress(alice.id, randomBytes(32)))
  const file = join(net.root, 'asker.js')
  await writeFile(
    file,
    `quid.on('start', () => quid.send(${JSON.stringify(nowhere)}, 'hello?'))
     quid.on('unreachable', (to, reason) => quid.log('unreachable ' + reason + ' ' + (to === ${JSON.stringify(nowhere)})))`
  )
  await a('deploy', { file, host: bob.key, cpu: '1my', disk: '1MB', net: '1MB' })
  await until(() => lines.some((l) => l.startsWith('unreachable')), 'the notice')
  t.same(
    lines.filter((l) => l.startsWith('unreachable')),
    ['unreachable unknown true']
  )
})

test('a claim passed on twice is usable: each sender names the logs on its path', async (t) => {
  const net = await agentNet(t)
  const alice = await net.agent('alice', { host: { capacity: BIG, mips: 1000 } })
  const bob = await net.agent('bob', { host: { capacity: BIG, mips: 1000 } })
  const carol = await net.agent('carol', { market: null })
  const dave = await net.agent('dave', { market: null })
  const [a, b, c, d] = [client(alice), client(bob), client(carol), client(dave)]
  await b('offer', { give: R, want: R })
  await a('barter', { peer: bob.key, give: R, want: R })
  const onBob = (
    (await a('claims')) as Array<{ id: string; issuer: string; resource: string }>
  ).filter((h) => h.issuer === bob.key)
  for (const h of onBob)
    await a('transfer', {
      claim: h.id,
      to: carol.key,
      amount: `${h.resource}=${{ cpu: '2my', disk: '2MB', net: '2MB' }[h.resource]}`
    })
  await until(() => carol.ledger.holdings().length === 3, "carol's three claims")
  for (const h of (await c('claims')) as Array<{ id: string; resource: string }>) {
    await c('transfer', {
      claim: h.id,
      to: dave.key,
      amount: `${h.resource}=${{ cpu: '1my', disk: '1MB', net: '1MB' }[h.resource]}`
    })
  }
  // Dave never heard of Alice: Carol's hints name her (and Bob), so Dave's claims become good.
  await until(
    () => dave.ledger.holdings().length === 3,
    "dave's three claims, two hops from the barter"
  )
  t.ok(dave.ledger.holdings().every((h) => dave.ledger.claimStatus(h.claim.id).ok))
  const file = join(net.root, 'echo.js')
  await writeFile(file, ECHO)
  const dep = (await d('deploy', { file, host: bob.key, cpu: '1my', disk: '1MB', net: '1MB' })) as {
    guest: string
  }
  t.ok(bob.host!.guest(dep.guest), "Bob's host admits a guest paid two hops down")
})

test('deployments recorded at once are all kept: writes of the list never overlap', async (t) => {
  const net = await agentNet(t)
  const carol = await net.agent('carol')
  const d = (i: number) => ({
    guest: i.toString(16).padStart(64, '0'),
    host: 'h',
    address: `g${i}`,
    file: 'x.js',
    resources: { cpu: '1MI', disk: '1B', net: '1B' },
    at: i
  })
  // Twenty at once: before, two writes shared one temporary file and one rename failed (ENOENT).
  await Promise.all(Array.from({ length: 20 }, (_, i) => carol.recordDeployment(d(i))))
  await Promise.all(Array.from({ length: 10 }, (_, i) => carol.forgetDeployment(d(i).guest)))
  const file = JSON.parse(readFileSync(join(carol.dir, 'deployments.json'), 'utf8')) as {
    deployments: Array<{ at: number }>
  }
  t.same(
    file.deployments.map((x) => x.at).sort((a, b) => a - b),
    [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
    'the file holds every change, in the end'
  )
})

test('an agent that restarts holds what it held, at once: claims, balance and guests', async (t) => {
  const { net, alice, bob, a } = await bartered(t)
  const carol = await net.agent('carol', { market: null })
  const onBob = (
    (await a('claims')) as Array<{ id: string; issuer: string; resource: string }>
  ).filter((h) => h.issuer === bob.key)
  const parts: Record<string, string> = { cpu: 'cpu=1my', disk: 'disk=1MB', net: 'net=1MB' }
  for (const h of onBob)
    await a('transfer', { claim: h.id, to: carol.key, amount: parts[h.resource] as string })
  await until(() => carol.ledger.holdings().length === 3, 'Carol to see her three claims')
  const c = client(carol)
  const before = {
    claims: await c('claims'),
    balance: await c('balance'),
    guests: await c('guests')
  }
  const dir = carol.dir
  await carol.close()
  // The same participant directory, a new agent: nothing is waited for after `ready`.
  const again = await net.agent('carol-again', { dir, market: null })
  const c2 = client(again)
  t.same(
    { claims: await c2('claims'), balance: await c2('balance'), guests: await c2('guests') },
    before,
    'the same claims, balance and guests as before the restart'
  )
  t.ok(alice && bob)
})
