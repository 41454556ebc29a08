/**
 * Entry of a sandbox process (HostOptions.isolation `process`): holds guests' isolates and answers
 * the host's requests over IPC (protocol.ts). Started by sandbox.ts; never imported by the host
 * itself, so a V8 abort in here (or an escape; see docs/HOST.md, "Where guests run") takes down
 * this process only.
 */
import { GuestSet } from './guest-set.js'
import { decodeCall, encodeCallReply, isPacked } from './protocol.js'
import type { CallIn, ChildMessage, Event, Reply, Request } from './protocol.js'

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

const guests = new GuestSet(emit)

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
    // A throw is answered by the caller, after what the guest did before it.
    else if (events.length > 0) post(events)
  }
}

async function handle(req: Request): Promise<void> {
  try {
    // Calls arrive in their text form (see call() below); an object would be a bug.
    if (req.op === 'call') throw new Error('a call must come packed')
    if (req.op === 'create') await batched(() => guests.handle(req))
    else post(await guests.handle(req))
  } catch (err) {
    post({ re: req.id, ok: false, error: (err as Error).message })
  }
}

async function call(req: CallIn): Promise<void> {
  try {
    await batched(
      async () => ({ re: req.id, ok: true as const, result: await guests.call(req) }),
      (events, reply) => encodeCallReply(req.guest, events, reply.re, reply.result)
    )
  } catch (err) {
    post({ re: req.id, ok: false, error: (err as Error).message })
  }
}

process.on('message', (m) => {
  if (isPacked(m)) void call(decodeCall(m))
  else void handle(m as Request)
})
// The host is gone (its IPC channel closed): nothing here may outlive it.
process.on('disconnect', () => process.exit(0))
post({ event: 'ready' })
