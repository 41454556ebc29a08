// Auditing by participant id: logs read through the ledger's LogSource from a Corestore that
// replicates with the participants' own (a real replication stream), bound to their signed heads.
import { test } from 'tap'
import { pipeline } from 'node:stream'
import Corestore from 'corestore'
import { tmp, participant, publishCapacity, cosign } from '../helpers.js'
import { CorestoreLogs } from '../../src/ledger/logs.js'
import * as build from '../../src/ledger/build.js'
import { loadLogs, type FetchProgress } from '../../src/audit/copies.js'
import { audit } from '../../src/audit/audit.js'

test('ids: entries fetched over replication, with progress, and audited like a file', async (t) => {
  const A = await participant(t, 'A')
  const B = await participant(t, 'B')
  await publishCapacity(A)
  for (let i = 0; i < 5; i++) {
    await A.ledger.append(
      cosign(
        build.issue({
          issuer: A.kp.publicKey,
          holder: B.kp.publicKey,
          amounts: { cpu: 10n + BigInt(i) }
        }),
        A.kp,
        B.kp
      )
    )
  }
  const store = new Corestore(await tmp(t))
  t.teardown(() => store.close())
  const s1 = store.replicate(true)
  const s2 = A.store.replicate(false)
  pipeline(s1, s2, s1, () => {})
  t.teardown(() => {
    s1.destroy()
    s2.destroy()
  })
  const seen: FetchProgress[] = []
  const copies = await loadLogs(
    new CorestoreLogs(store, { timeout: 5000 }),
    [A.kp.publicKey],
    (p) => seen.push(p)
  )
  t.equal(copies.length, 1)
  t.equal(copies[0]?.entries.length, 6, 'every entry came over the stream')
  t.match(seen[seen.length - 1], { id: A.key, done: 6, total: 6 })
  const report = await audit(copies, [], { workers: 0 })
  t.same(report.violations, [])
  t.match(report.logs, [{ id: A.key, length: 6, authentic: 6, sources: [`log:${A.key}`] }])
  t.equal(report.participants.find((p) => p.id === A.key)?.owes.cpu, '60')
})
