// A guest's usage history in the report holds only the usage records that took effect: a record
// refused by a rule is a violation, never a point of the history (nor of the HTML chart).
import { test } from 'tap'
import { encodeEntry } from '../../src/ledger/codecs.js'
import { admit, auditWriters, capacity, evict, issue, leg, T0, usage, writer } from './fixtures.js'

test('refused usage records are violations, not history', async (t) => {
  const [A, B, O] = await Promise.all([writer(t, 'A'), writer(t, 'B'), writer(t, 'O')])
  const sale = issue(A, B, { cpu: 1000n })
  const g = admit(A, B, leg(sale), leg(sale), 300n, T0 + 3000)
  const first = usage(A, g.guest, 100n, T0 + 4000)
  const forged = usage(A, g.guest, 120n, T0 + 4100)
  const badSig = encodeEntry(forged.record, [new Uint8Array(64).fill(7)])
  await A.put(
    capacity(A),
    sale,
    g.admit,
    first,
    badSig, // bad-signature
    first, // duplicate
    usage(A, g.guest, 90n, T0 + 4200), // usage-regress
    usage(A, g.guest, 400n, T0 + 4300), // over-usage
    usage(A, g.guest, 150n, T0 + 3500), // clock-regress
    usage(A, g.guest, 200n, T0 + 5000),
    evict(A, g.guest, 250n, T0 + 6000),
    usage(A, g.guest, 260n, T0 + 7000) // guest-ended
  )
  // Another host reports usage for A's guest: unknown-guest.
  await O.put(capacity(O), usage(O, g.guest, 280n, T0 + 4000))
  const r = await auditWriters([A, B, O])
  t.same(
    r.violations.map((v) => v.code).sort(),
    [
      'bad-signature',
      'clock-regress',
      'duplicate',
      'guest-ended',
      'over-usage',
      'unknown-guest',
      'usage-regress'
    ],
    'each refused record is a violation'
  )
  t.same(
    r.guests[0]?.usage.map((u) => [u.time - T0, u.cpu]),
    [
      [4000, '100'],
      [5000, '200'],
      [6000, '250']
    ],
    'the history holds the three records that took effect, in log order'
  )
  t.equal(r.guests[0]?.used.cpu, '250')
})
