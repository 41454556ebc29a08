/**
 * The exchange's own journal: what this agent proposed, accepted and offered, so that every step
 * resumes after a dropped connection or a restart. It is private, in the participant's Corestore
 * (like the ledger's snapshots), never part of the protocol; entries are JSON events, replayed in
 * order on open. Steps are keyed by record id, which is what makes them idempotent.
 *
 * It stays bounded: what is still live (journal-fold.ts) is rewritten, in one atomic batch, into
 * the other of two cores once the events since the last rewrite outnumber it, and the old core is
 * then emptied. Each rewrite is a generation; on open the newest complete one wins, so a crash at
 * any point leaves either the old generation or the new one, whole (docs/PROTOCOL.md, section 8).
 */
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { JournalFold, type JournalEvent } from './journal-fold.js'

export type { JournalEvent } from './journal-fold.js'

/** The two cores generations alternate between: even in the first, odd in the second. */
export const JOURNAL_CORE = 'quid-exchange'
export const JOURNAL_CORES = [JOURNAL_CORE, `${JOURNAL_CORE}-1`] as const

/** Events since the last rewrite below which the journal is never rewritten. */
export const COMPACT_MIN_EVENTS = 1024

/** The first and last block of a generation's batch. */
type Marker = { op: 'generation'; gen: number; events: number } | { op: 'end'; gen: number }

interface Generation {
  gen: number
  events: JournalEvent[]
}

export class Journal {
  private cores: Hypercore[] = []
  private current = 0
  private gen = 0
  /** Events appended since the last rewrite. */
  private since = 0
  private readonly fold: JournalFold
  private readonly inflight = new Set<Promise<void>>()
  private compacting: Promise<void> | null = null
  private readonly minEvents: number

  constructor(
    private readonly store: Corestore,
    opts: { now?: () => number; compactMinEvents?: number } = {}
  ) {
    this.fold = new JournalFold(opts.now ?? Date.now)
    this.minEvents = opts.compactMinEvents ?? COMPACT_MIN_EVENTS
  }

  /** Opens the journal and returns its events, in order: the newest complete generation's. */
  async open(): Promise<JournalEvent[]> {
    this.cores = JOURNAL_CORES.map((name) => this.store.get({ name }))
    await Promise.all(this.cores.map((c) => c.ready()))
    const found = await Promise.all(this.cores.map((c, slot) => read(c, slot)))
    let best: Generation | null = null
    for (const [slot, g] of found.entries()) {
      if (g && (!best || g.gen > best.gen)) {
        best = g
        this.current = slot
      }
    }
    this.gen = best?.gen ?? 0
    const events = best?.events ?? []
    for (const e of events) this.fold.apply(e)
    this.since = events.length
    return events
  }

  /** Appends one event; resolves once it is stored. */
  async append(event: JournalEvent): Promise<void> {
    while (this.compacting) await this.compacting
    const p = this.write(event)
    this.inflight.add(p)
    try {
      await p
    } finally {
      this.inflight.delete(p)
    }
    if (!this.compacting && this.since > Math.max(this.minEvents, 2 * this.fold.size)) {
      this.compacting = this.compact().finally(() => {
        this.compacting = null
      })
      await this.compacting
    }
  }

  private async write(event: JournalEvent): Promise<void> {
    await (this.cores[this.current] as Hypercore).append(encode(event))
    // Folded once stored: a rewrite never keeps an event whose append failed.
    this.fold.apply(event)
    this.since++
  }

  /** Blocks stored in both cores: what the journal takes on disk, in entries. */
  get length(): number {
    return this.cores.reduce((n, c) => n + c.length, 0)
  }

  /** Bytes stored in both cores. */
  get byteLength(): number {
    return this.cores.reduce((n, c) => n + c.byteLength, 0)
  }

  /** The generation in use: how many times the journal was rewritten. */
  get generation(): number {
    return this.gen
  }

  /**
   * Rewrites what is live into the other core as the next generation, in one batch, then empties
   * the old core. Appends wait meanwhile; those already under way are stored first.
   */
  private async compact(): Promise<void> {
    await Promise.allSettled([...this.inflight])
    const events = this.fold.events()
    const gen = this.gen + 1
    const next = 1 - this.current
    const target = this.cores[next] as Hypercore
    // The other core holds an older generation (or nothing): the current one stays whole until
    // the new one is.
    if (target.length > 0) await target.truncate(0)
    await target.append([
      encode({ op: 'generation', gen, events: events.length }),
      ...events.map(encode),
      encode({ op: 'end', gen })
    ])
    const old = this.cores[this.current] as Hypercore
    this.current = next
    this.gen = gen
    this.since = events.length
    await old.truncate(0)
  }

  async close(): Promise<void> {
    while (this.compacting) await this.compacting
    await Promise.all(this.cores.map((c) => c.close()))
  }
}

const encode = (v: JournalEvent | Marker): Buffer => Buffer.from(JSON.stringify(v))

function decode(block: unknown): Record<string, unknown> | null {
  try {
    const v = JSON.parse((block as Buffer).toString()) as unknown
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null
  } catch {
    // A torn last write: the step it recorded is redone from the previous state.
    return null
  }
}

/**
 * The generation a core holds, or null if none is complete. A core written before generations
 * existed (the first, without a `generation` block) is generation 0.
 */
async function read(core: Hypercore, slot: number): Promise<Generation | null> {
  if (core.length === 0) return null
  const first = decode(await core.get(0))
  let gen = 0
  let start = 0
  if (first?.op === 'generation') {
    gen = Number(first.gen)
    const count = Number(first.events)
    if (core.length < count + 2) return null
    const end = decode(await core.get(count + 1))
    if (end?.op !== 'end' || Number(end.gen) !== gen) return null
    start = 1
  } else if (slot !== 0) return null
  const events: JournalEvent[] = []
  for (let i = start; i < core.length; i++) {
    const e = decode(await core.get(i))
    if (e && e.op !== 'generation' && e.op !== 'end') events.push(e as unknown as JournalEvent)
  }
  return { gen, events }
}
