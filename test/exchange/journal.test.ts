import t from 'tap'
import Corestore from 'corestore'
import { toHex } from '../../src/core/bytes.js'
import { generateKeyPair } from '../../src/crypto/identity.js'
import { encodeMessage, signOffer } from '../../src/exchange/messages.js'
import { Journal, JOURNAL_CORES, type JournalEvent } from '../../src/exchange/journal.js'
import { SIGNED_KEEP_MS } from '../../src/exchange/journal-fold.js'
import { tmp } from '../helpers.js'

const T0 = 1_800_000_000_000
const STEP_MS = 100
const OFFER_LIFE_MS = 60 * 60 * 1000

/** What an exchange rebuilds from a journal's events, reduced independently of journal-fold.ts. */
interface Rebuilt {
  pending: string[]
  withdrawn: string[]
  signed: string[]
  offers: Record<string, { cpu: string; payments: string[] }>
}

function rebuild(events: JournalEvent[], now: number): Rebuilt {
  const pending = new Set<string>()
  const withdrawn = new Set<string>()
  const signed = new Map<string, number>()
  const offers = new Map<string, { expires: number; cpu: bigint; payments: Set<string> }>()
  for (const e of events) {
    if (e.op === 'proposed') pending.add(e.id)
    else if (e.op === 'ended') pending.delete(e.id)
    else if (e.op === 'withdrawn') withdrawn.add(e.id)
    else if (e.op === 'signed') signed.set(e.id, e.at)
    else if (e.op === 'offer') {
      const expires = Number(e.id.split(':')[1])
      offers.set(e.id, {
        expires: Number.isFinite(expires) ? expires : 0,
        cpu: 0n,
        payments: new Set()
      })
    } else if (e.op === 'filled' || e.op === 'fills') {
      const o = offers.get(e.id)
      if (!o) continue
      o.cpu += BigInt(e.cpu)
      if (e.op === 'filled' && e.payment) o.payments.add(e.payment)
      if (e.op === 'fills') for (const p of e.payments) o.payments.add(p)
    }
  }
  const live: Rebuilt['offers'] = {}
  for (const [id, o] of offers)
    if (o.expires > now) live[id] = { cpu: String(o.cpu), payments: [...o.payments].sort() }
  return {
    pending: [...pending].sort(),
    withdrawn: [...withdrawn].filter((id) => pending.has(id)).sort(),
    signed: [...signed]
      .filter(([, at]) => at >= now - SIGNED_KEEP_MS)
      .map(([id]) => id)
      .sort(),
    offers: live
  }
}

t.test(
  '100,000 journal operations: the journal stays bounded, and replays to the same state as one never rewritten',
  async (t) => {
    let clock = T0
    const now = (): number => clock
    const kp = generateKeyPair()
    const stores: Corestore[] = []
    const open = async (dir: string, min?: number): Promise<[Journal, JournalEvent[]]> => {
      const store = new Corestore(dir)
      stores.push(store)
      const j = new Journal(store, { now, ...(min === undefined ? {} : { compactMinEvents: min }) })
      return [j, await j.open()]
    }
    const dir = await tmp(t, 'quid-journal-')
    const [journal] = await open(dir)
    t.teardown(async () => {
      for (const s of stores) await s.close()
    })
    // Every event appended, in order: what a journal never rewritten would replay.
    const all: JournalEvent[] = []
    let bytes = 0

    // Offers' ids carry their expiry so that the test's own reducer can tell which are live.
    const offerHex = (expires: number): string =>
      toHex(
        encodeMessage(
          'offer',
          signOffer(
            {
              maker: kp.publicKey,
              time: clock,
              expires,
              nonce: new Uint8Array(16),
              give: { cpu: 1000n, disk: 0n, net: 0n },
              want: { cpu: 0n, disk: 0n, net: 1n }
            },
            kp
          )
        )
      )
    let offer = ''
    let most = 0
    const expiries: number[] = []
    let pending = 0
    let withdrawn = 0
    const OPS = 100_000
    for (let i = 0; all.length < OPS; i++) {
      clock += STEP_MS
      const events: JournalEvent[] = []
      const id = `p${i}`
      if (i % 5000 === 0) {
        const expires = clock + OFFER_LIFE_MS
        offer = `o${i}:${expires}`
        expiries.push(expires)
        events.push({ op: 'offer', id: offer, offer: offerHex(expires) })
      }
      if (i % 10 === 3)
        events.push({ op: 'signed', id: `s${i}`, peer: 'x', signature: '00', at: clock })
      else if (i % 10 === 7)
        events.push({
          op: 'filled',
          id: offer,
          record: `r${i}`,
          cpu: '1',
          disk: '0',
          net: '0',
          ...(i % 20 === 7 ? { payment: `pay${i}` } : {})
        })
      else if (i % 1000 === 0) {
        events.push({ op: 'proposed', id, peer: 'x', entry: '00', at: clock })
        pending++
        if (i % 3000 === 0) {
          events.push({ op: 'withdrawn', id })
          withdrawn++
        }
      } else {
        events.push({ op: 'proposed', id, peer: 'x', entry: '00', at: clock })
        events.push({ op: 'ended', id, ok: true })
      }
      for (const e of events) {
        await journal.append(e)
        all.push(e)
        bytes += JSON.stringify(e).length
      }
      most = Math.max(most, journal.length)
    }
    t.ok(journal.generation > 10, `rewritten ${journal.generation} times`)
    t.ok(most < 5_000, `it never held more than ${most} entries (of ${all.length} appended)`)
    t.ok(journal.byteLength * 10 < bytes, `${journal.byteLength} bytes stored of ${bytes} appended`)

    await journal.close()
    await (stores[0] as Corestore).close()
    // Reopened, as after a restart: the same live state as from every event.
    const [, replayed] = await open(dir)
    const want = rebuild(all, clock)
    t.same(rebuild(replayed, clock), want, 'the rewritten journal rebuilds the same state')
    t.equal(want.pending.length, pending, 'its pending proposals')
    t.equal(want.withdrawn.length, withdrawn, 'the withdrawn among them')
    t.ok(
      want.signed.length > 1000,
      `the transfer signatures still asked for (${want.signed.length})`
    )
    const live = expiries.filter((x) => x > clock).length
    t.ok(
      live > 0 && live < expiries.length,
      `${live} of ${expiries.length} offers are live at the end`
    )
    t.equal(Object.keys(want.offers).length, live, 'the offers not expired, with their fills')
    t.ok(
      replayed.length < all.length / 10,
      `from ${replayed.length} events instead of ${all.length}`
    )
  }
)

t.test(
  'a rewrite cut short by a crash leaves the old generation; a whole one wins over the old',
  async (t) => {
    const dir = await tmp(t, 'quid-journal-crash-')
    const block = (v: object): Buffer => Buffer.from(JSON.stringify(v))
    const ended = (id: string): JournalEvent => ({ op: 'ended', id, ok: true })
    const reopen = async (): Promise<JournalEvent[]> => {
      const store = new Corestore(dir)
      const j = new Journal(store)
      try {
        return await j.open()
      } finally {
        await j.close()
        await store.close()
      }
    }
    const write = async (name: string, blocks: Buffer[], truncate = false): Promise<void> => {
      const store = new Corestore(dir)
      const core = store.get({ name })
      await core.ready()
      if (truncate) await core.truncate(0)
      await core.append(blocks)
      await core.close()
      await store.close()
    }
    // A journal from before generations: events only, in the first core.
    await write(JOURNAL_CORES[0], [block(ended('a')), block(ended('b'))])
    t.same(await reopen(), [ended('a'), ended('b')], 'an old journal is generation 0')
    // The crash came in the middle of the batch: no `end`.
    await write(JOURNAL_CORES[1], [
      block({ op: 'generation', gen: 1, events: 2 }),
      block(ended('c'))
    ])
    t.same(await reopen(), [ended('a'), ended('b')], 'a torn generation is ignored')
    // A whole generation 1, then an event appended to it, while the old core was not yet emptied.
    await write(
      JOURNAL_CORES[1],
      [
        block({ op: 'generation', gen: 1, events: 1 }),
        block(ended('c')),
        block({ op: 'end', gen: 1 }),
        block(ended('d'))
      ],
      true
    )
    t.same(await reopen(), [ended('c'), ended('d')], 'the newest whole generation wins')
  }
)
