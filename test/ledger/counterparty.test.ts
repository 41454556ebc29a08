// The acceptor's ledger refuses, before anything is appended, an agreement whose proposer's log
// (followed over real replication) shows no capacity by the agreement's time (FORMAT.md 10.10).
import { test } from 'tap'
import * as build from '../../src/ledger/build.js'
import { connect, cosign, participant, publishCapacity } from '../helpers.js'
import type { Participant } from '../helpers.js'
import type { SignedRecord } from '../../src/ledger/records.js'

const barter = (a: Participant, b: Participant, time: number): SignedRecord =>
  cosign(
    build.agreement({
      a: a.kp.publicKey,
      b: b.kp.publicKey,
      give: { disk: 10n },
      want: { cpu: 10n },
      time
    }),
    a.kp,
    b.kp
  )

test("an acceptor's ledger refuses a proposer without capacity; its log is unchanged", async (t) => {
  const [H, P] = [await participant(t, 'host'), await participant(t, 'proposer')]
  await publishCapacity(H)
  // P has written something (a checkpoint), but no capacity.
  await P.ledger.checkpoint()
  connect(t, H, P)
  await H.ledger.follow(P.kp.publicKey)
  const length = H.ledger.length
  // Stamped a second ago, so that the capacity P publishes below is stamped after it.
  const refused = barter(P, H, Date.now() - 1000)
  await t.rejects(H.ledger.append(refused), { code: 'counterparty-no-capacity' })
  t.equal(H.ledger.length, length, 'nothing appended')
  t.same(H.ledger.obligations(), { cpu: 0n, disk: 0n, net: 0n }, 'the host owes nothing')
  await t.rejects(
    P.ledger.append(refused),
    { code: 'no-capacity' },
    "P's own ledger refuses its legs"
  )
  await publishCapacity(P)
  await H.ledger.sync(P.kp.publicKey)
  t.ok(H.ledger.capacity(P.key), "the host's copy of P's log shows it")
  await t.rejects(
    H.ledger.append(refused),
    { code: 'counterparty-no-capacity' },
    'capacity published after the agreement was stamped does not make it stand'
  )
  const honest = barter(P, H, Date.now())
  await H.ledger.append(honest)
  await P.ledger.append(honest)
  t.equal(H.ledger.length, length + 1, 'an agreement made after P published capacity is appended')
})
