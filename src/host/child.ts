/**
 * Entry of a sandbox process: holds guests' isolates and answers the host's requests over IPC
 * (protocol.ts). Started by sandbox.ts; never imported by the host itself, so a V8 abort in here
 * (isolated-vm 5 has one, see docs/HOST.md) takes down this process only.
 */
import { GuestRuntime, makeSpare, type Spare } from './runtime.js'
import { bare, calibrate } from './calibrate.js'
import type { CallResult, ChildMessage, Event, Request } from './protocol.js'

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

function post(m: ChildMessage): void {
  process.send?.(m)
}

const emit = (e: Event): void => post(e)

async function handle(req: Request): Promise<void> {
  try {
    switch (req.op) {
      case 'create': {
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
          started = await g.call('start', undefined, undefined, left)
          finish(req.guest.id, started)
        }
        post(started ? { re: req.id, ok: true, result, started } : { re: req.id, ok: true, result })
        refill(req.guest.memoryLimitMb)
        return
      }
      case 'call': {
        const g = guests.get(req.guest)
        if (!g || g.disposed)
          return post({ re: req.id, ok: false, error: 'no such guest in this sandbox' })
        const result = await g.call(req.kind, req.data, req.from, req.budget)
        finish(req.guest, result)
        return post({ re: req.id, ok: true, result })
      }
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

function finish(id: string, result: CallResult): void {
  if (result.ended) guests.delete(id)
}

process.on('message', (m) => {
  void handle(m as Request)
})
// The host is gone (its IPC channel closed): nothing here may outlive it.
process.on('disconnect', () => process.exit(0))
post({ event: 'ready' })
