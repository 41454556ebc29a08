/**
 * The host's yardsticks, run in a sandbox process: the MIPS calibration published in the host's
 * `capacity` record, and the bare isolate the `host` benchmark compares admission and metering to.
 */
import ivm from 'isolated-vm'
import './v8-flags.js'
import { cpuNowNs } from './thread-clock.js'

/**
 * The reference workload of the MIPS rating: 5,000,000 iterations of a loop body counted as 10
 * instructions, i.e. 50 MI by definition. What matters is that it is fixed, so that ratings of two
 * hosts compare; it is integer work like most guest code.
 */
export const CALIBRATION_CODE =
  'let x = 0; for (let i = 0; i < 5e6; i++) { x = (x + i * 7) ^ (x >>> 3) } x'
export const CALIBRATION_MI = 50

/** Warm-up ends once the best rating has not risen by more than this for `SETTLED_RUNS` runs. */
const SETTLED_GAIN = 0.02
const SETTLED_RUNS = 3
/** Warm-up gives up after this many runs (the rating is then what it is). */
const MAX_WARMUP_RUNS = 200

/**
 * Runs the workload until V8 has optimized it, then `runs` times more on this thread
 * (`applySync`), timing each with this thread's CPU clock (thread-clock.ts), so that another
 * process competing for the cores does not lower the rating; returns the median in MI/s.
 *
 * Why warm up until the rating settles rather than once: V8 optimizes the loop on a background
 * thread, and while another process keeps the other core busy that thread may not run for many
 * milliseconds; until it does, the loop runs unoptimized, about 8× slower here, and a rating taken
 * then is off by as much (docs/HOST.md, "The unit").
 */
export async function calibrate(runs: number): Promise<{ mips: number; samples: number[] }> {
  const isolate = new ivm.Isolate({ memoryLimit: 16 })
  try {
    const context = await isolate.createContext()
    const script = await isolate.compileScript(`(function () { ${CALIBRATION_CODE} })`)
    const fn = (await script.run(context, { reference: true })) as ivm.Reference
    const rate = (): number => {
      const before = cpuNowNs()
      fn.applySync(undefined, [])
      const seconds = (cpuNowNs() - before) / 1e9
      return Math.max(1, Math.round(CALIBRATION_MI / seconds))
    }
    let best = rate()
    for (let i = 0, flat = 0; i < MAX_WARMUP_RUNS && flat < SETTLED_RUNS; i++) {
      const r = rate()
      if (r > best * (1 + SETTLED_GAIN)) flat = 0
      else flat++
      best = Math.max(best, r)
      // A run that is much slower than the best yet says the optimized code is not in: keep going.
      if (r < best * (1 - 4 * SETTLED_GAIN)) flat = 0
      // Give the compiler thread a moment to finish, as the event loop would between calls.
      if (flat === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    const samples: number[] = []
    for (let i = 0; i < runs; i++) samples.push(rate())
    const sorted = [...samples].sort((x, y) => x - y)
    return { mips: sorted[Math.floor(sorted.length / 2)] as number, samples }
  } finally {
    isolate.dispose()
  }
}

/**
 * A bare isolate, the yardstick of the `host` benchmark, on the calling thread with isolated-vm's
 * synchronous calls (its cheapest path, the one guests' calls take). Without `calls`: the time to
 * create an isolate, a context, eval `code` and dispose it all. With `calls`: `code` is a function
 * expression, called that many times; the time of the last call (warm, as a guest's handler is).
 */
export function bare(code: string, memoryLimitMb: number, calls?: number): number {
  const t0 = process.hrtime.bigint()
  const isolate = new ivm.Isolate({ memoryLimit: memoryLimitMb })
  try {
    const context = isolate.createContextSync()
    if (!calls) {
      context.evalSync(code)
      context.release()
      isolate.dispose()
      return Number(process.hrtime.bigint() - t0)
    }
    const fn = context.evalSync(code, { reference: true }) as ivm.Reference
    let last = 0
    for (let i = 0; i < calls; i++) {
      const t1 = process.hrtime.bigint()
      fn.applySync(undefined, [])
      last = Number(process.hrtime.bigint() - t1)
    }
    return last
  } finally {
    if (!isolate.isDisposed) isolate.dispose()
  }
}
