// Replay fed one log at a time (as the auditor feeds it while verifying) equals replay() in one go,
// and entries marked verified are trusted while unmarked ones are still checked.
import { test } from 'tap'
import { Replay, replay } from '../../src/ledger/replay.js'
import { encodeEntry } from '../../src/ledger/codecs.js'
import { toHex } from '../../src/core/bytes.js'
import { agreement, capacity, issue, leg, NOW, T0, transfer, writer } from './fixtures.js'

test('Replay.add in id order gives what replay() gives; verified flags skip only what they mark', async (t) => {
  const [A, B, C] = await Promise.all([writer(t, 'A'), writer(t, 'B'), writer(t, 'C')])
  const sale = issue(A, C, { cpu: 100n })
  const ag = agreement(A, B, { cpu: 5n }, { net: 5n })
  const forged = encodeEntry(sale.record, [
    sale.signatures[0] as Uint8Array,
    new Uint8Array(64).fill(1)
  ])
  const logs = [
    { id: A.key, entries: [capacity(A).bytes, sale.bytes, ag.bytes, forged] },
    { id: B.key, entries: [capacity(B).bytes] },
    {
      id: C.key,
      entries: [
        transfer(C, B, leg(sale), 80n).bytes,
        transfer(C, A, leg(sale), 50n, T0 + 2500).bytes
      ]
    }
  ]
  const whole = replay(logs, { now: NOW, unsettled: true })
  const stream = new Replay({ now: NOW, unsettled: true })
  for (const log of [...logs].sort((x, y) => (x.id < y.id ? -1 : 1))) stream.add(log)
  const fed = stream.finish()
  t.same(fed.violations, whole.violations)
  t.same(whole.violations.map((v) => v.code).sort(), ['bad-signature', 'overspent', 'unsettled'])
  // Marking the forged entry as verified would make replay trust it: the flag is the caller's word.
  const trusting = new Replay({ now: NOW })
  trusting.add({ ...logs[0]!, verified: new Uint8Array([1, 1, 1, 1]) })
  t.notOk(
    trusting.finish().violations.some((v) => v.code === 'bad-signature'),
    'a verified flag skips the check'
  )
  const checking = new Replay({ now: NOW })
  checking.add({ ...logs[0]!, verified: new Uint8Array([1, 1, 1, 0]) })
  t.same(
    checking.finish().violations.map((v) => [v.code, v.records[0]]),
    [['bad-signature', toHex(sale.id)]],
    'an unmarked entry is still verified'
  )
})
