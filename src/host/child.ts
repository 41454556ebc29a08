/**
 * Entry of a sandbox process: holds guests' isolates and answers the host's requests over IPC
 * (protocol.ts). Started by sandbox.ts; never imported by the host itself, so a V8 abort in here
 * (or an escape; see docs/HOST.md, "Where guests run") takes down this process only.
 */
import { GuestRuntime, makeSpare, type Spare } from './runtime.js'
import { bare, calibrate } from './calibrate.js'
import { decodeCall, encodeCallReply, isPacked } from './protocol.js'
import type { CallIn, CallResult, ChildMessage, Event, Reply, Request } from './protocol.js'

const guests = new Map<string, GuestRuntime>()

// One isolate with its context is kept ready, so that a deploy does not wait for V8 to make one;
// the next is made after the reply that used the last one has been sent.
let spare: { limit: number; spare: Spare } | null = null

function takeSpare(limit: number): Spare | undefined {
  const got = spare && spare.limit === limit ? spare.spare : undefined
  if (spare && !got) spare.spare.isolate.dispose()
  spare = null
  return got
}

/** Makes the next spare once the current request has been answered (making one blocks ~1 ms). */
function refill(limit: number): void {
  setImmediate(() => {
    if (!spare) spare = { limit, spare: makeSpare(limit) }
  })
}

function post(m: ChildMessage | ChildMessage[] | string): void {
  process.send?.(m)
}

/**
 * What a guest does during a call that the host must act on (sends, log lines, timers) travels with
 * the call's reply in one IPC message rather than one message each: every message wakes the host's
 * process, and waking a process costs more than a short call itself (docs/VNET.md, "Performance").
 * The host handles a batch in order, so it sees the events before the reply, as before. Past
 * BATCH_BYTES of payload a batch goes ahead of the reply, so a call that sends much holds little.
 */
const BATCH_BYTES = 256 * 1024
let batch: ChildMessage[] | null = null
let batchBytes = 0

const emit = (e: Event): void => {
  if (!batch) return post(e)
  batch.push(e)
  if (e.event === 'send') batchBytes += e.data.byteLength
  if (batchBytes >= BATCH_BYTES) {
    post(batch)
    batch = []
    batchBytes = 0
  }
}

/**
 * Runs guest code, collecting what it emits, and posts that with the reply (or ahead of a throw);
 * `pack` turns the two into one message of the call's text form (protocol.ts).
 */
async function batched<R extends Reply>(
  run: () => Promise<R>,
  pack?: (events: Event[], reply: R) => string
): Promise<void> {
  batch = []
  batchBytes = 0
  let reply: R | undefined
  try {
    reply = await run()
  } finally {
    const events = (batch ?? []) as Event[]
    batch = null
    if (reply) post(pack ? pack(events, reply) : events.length > 0 ? [...events, reply] : reply)
    // A throw is answered by handle(), after what the guest did before it.
    else if (events.length > 0) post(events)
  }
}

async function handle(req: Request): Promise<void> {
  try {
    switch (req.op) {
      case 'create':
        return await batched(async () => {
          const old = guests.get(req.guest.id)
          old?.dispose()
          const g = new GuestRuntime(req.guest, emit, takeSpare(req.guest.memoryLimitMb))
          guests.set(req.guest.id, g)
          const result = await g.load(req.budget)
          finish(req.guest.id, result)
          let started: CallResult | undefined
          if (req.start && !result.ended) {
            const left = {
              ...req.budget,
              cpuNs: req.budget.cpuNs - result.cpuNs,
              net: req.budget.net - result.netOut
            }
            started = await g.call('start', '', '', left)
            finish(req.guest.id, started)
          }
          refill(req.guest.memoryLimitMb)
          return started
            ? { re: req.id, ok: true, result, started }
            : { re: req.id, ok: true, result }
        })
      case 'call':
        // Calls arrive in their text form (see call() below); an object would be a bug.
        throw new Error('a call must come packed')
      case 'dispose': {
        guests.get(req.guest)?.dispose()
        guests.delete(req.guest)
        return post({ re: req.id, ok: true })
      }
      case 'calibrate': {
        const { mips, samples } = await calibrate(req.runs)
        return post({ re: req.id, ok: true, mips, samples })
      }
      case 'bare':
        return post({
          re: req.id,
          ok: true,
          bareNs: await bare(req.code, req.memoryLimitMb, req.calls)
        })
      case 'stats':
        return post({ re: req.id, ok: true, rss: process.memoryUsage.rss(), guests: guests.size })
    }
  } catch (err) {
    post({ re: (req as { id: number }).id, ok: false, error: (err as Error).message })
  }
}

async function call(req: CallIn): Promise<void> {
  try {
    const g = guests.get(req.guest)
    if (!g || g.disposed)
      return post({ re: req.id, ok: false, error: 'no such guest in this sandbox' })
    return await batched(
      async () => {
        const result = await g.call(req.kind, req.data, req.from, req.budget)
        finish(req.guest, result)
        return { re: req.id, ok: true as const, result }
      },
      (events, reply) => encodeCallReply(req.guest, events, reply.re, reply.result)
    )
  } catch (err) {
    post({ re: req.id, ok: false, error: (err as Error).message })
  }
}

function finish(id: string, result: CallResult): void {
  if (result.ended) guests.delete(id)
}

process.on('message', (m) => {
  if (isPacked(m)) void call(decodeCall(m))
  else void handle(m as Request)
})
// The host is gone (its IPC channel closed): nothing here may outlive it.
process.on('disconnect', () => process.exit(0))
post({ event: 'ready' })
