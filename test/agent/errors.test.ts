/** Failures reported in the background reach whoever runs the agent; none is dropped. */
import { test } from 'tap'
import { EventEmitter } from 'node:events'
import { QuidError, ErrorCodes } from '../../src/core/errors.js'
import { reportError } from '../../src/core/report.js'
import { agentNet } from './helpers.js'

const BIG = { cpu: 10n ** 15n, disk: 10n ** 12n, net: 10n ** 12n }

test("a host's background error reaches the agent's 'error' listeners", async (t) => {
  const net = await agentNet(t)
  const a = await net.agent('a', { host: { capacity: BIG, mips: 1000 } })
  const seen: unknown[] = []
  a.on('error', (err: unknown) => seen.push(err))
  const err = new QuidError(ErrorCodes.STORAGE, 'usage could not be written')
  a.host?.emit('error', err)
  t.same(seen, [err], 'passed on, the same error')
})

test('reportError: an error event when someone listens, else a line on stderr', async (t) => {
  const owner = new EventEmitter()
  const lines: string[] = []
  const write = process.stderr.write
  process.stderr.write = ((s: string) => lines.push(s) > 0) as typeof process.stderr.write
  try {
    reportError(owner, 'test', new QuidError(ErrorCodes.STORAGE, 'disk full'))
  } finally {
    process.stderr.write = write
  }
  t.same(lines, ['quid test: storage: disk full\n'], 'no listener: one line naming the code')
  const got: unknown[] = []
  owner.on('error', (e) => got.push(e))
  reportError(owner, 'test', 'plain')
  t.same(got, ['plain'])
})
