import t from 'tap'
import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { Operations, lookupOperation } from '../../src/agent/operations.js'
import { tmp } from '../helpers.js'

t.test('the operation log keeps its newest operations, and says the same of each', async (t) => {
  const file = join(await tmp(t, 'quid-ops-'), 'operations.log')
  const first = new Operations(file, 3)
  await first.session(1)
  await first.start('a'.repeat(16), 'barter')
  await first.start('b'.repeat(16), 'transfer')
  await first.end('b'.repeat(16), true, { ok: 1 })
  // The agent dies with `a` unanswered; a new one starts.
  const second = new Operations(file, 3)
  await second.session(2)
  t.match(await lookupOperation(file, 'a'.repeat(16)), { state: 'interrupted' }, 'a: interrupted')
  for (const c of 'cdefg') {
    await second.start(c.repeat(16), 'send')
    await second.end(c.repeat(16), false, { code: 'refused' })
  }
  await second.start('h'.repeat(16), 'offer')
  const text = await readFile(file, 'utf8')
  t.ok(text.split('\n').filter(Boolean).length < 12, 'rewritten: older operations are gone')
  t.equal(await lookupOperation(file, 'a'.repeat(16)), null, 'an old operation is no longer kept')
  t.match(await lookupOperation(file, 'g'.repeat(16)), { state: 'failed' }, 'a recent one is')
  t.match(await lookupOperation(file, 'h'.repeat(16)), { state: 'unanswered' }, 'the running one')
  // Restarted again: the running one reads as interrupted after the rewrite at start.
  await new Operations(file, 3).session(3)
  t.match(await lookupOperation(file, 'h'.repeat(16)), { state: 'interrupted' }, 'h: interrupted')
  t.match(await lookupOperation(file, 'g'.repeat(16)), { state: 'failed' }, 'g still failed')
})
