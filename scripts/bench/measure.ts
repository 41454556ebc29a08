/**
 * Throughput measurement: run an operation after a warm-up until both a minimum time and a
 * minimum count are reached, then report operations per second. Timing checks happen once per
 * batch, so the clock is not what is measured.
 */

export interface MeasureOptions {
  /** Run at least this long (ms); default 1000. */
  minMs?: number
  /** And at least this many operations; default 1. */
  minOps?: number
  /** Warm-up (JIT, caches) before timing, in ms; default 200. */
  warmupMs?: number
  /** Operations between clock reads; default 1. */
  batch?: number
}

export interface Rate {
  ops: number
  ms: number
  perSec: number
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6

function rate(ops: number, ms: number): Rate {
  return { ops, ms, perSec: (ops * 1000) / ms }
}

/** Rate of a synchronous operation. */
export function measure(op: (i: number) => void, opts: MeasureOptions = {}): Rate {
  const { minMs = 1000, minOps = 1, warmupMs = 200, batch = 1 } = opts
  let i = 0
  const warmEnd = nowMs() + warmupMs
  while (nowMs() < warmEnd) for (let k = 0; k < batch; k++) op(i++)
  let ops = 0
  const start = nowMs()
  let elapsed = 0
  while (elapsed < minMs || ops < minOps) {
    for (let k = 0; k < batch; k++) op(i++)
    ops += batch
    elapsed = nowMs() - start
  }
  return rate(ops, elapsed)
}

/** Rate of an asynchronous operation, each awaited before the next; `count` ops per call. */
export async function measureAsync(
  op: (i: number) => Promise<number>,
  opts: MeasureOptions = {}
): Promise<Rate> {
  const { minMs = 1000, minOps = 1, warmupMs = 200 } = opts
  let i = 0
  const warmEnd = nowMs() + warmupMs
  while (nowMs() < warmEnd) await op(i++)
  let ops = 0
  const start = nowMs()
  let elapsed = 0
  while (elapsed < minMs || ops < minOps) {
    ops += await op(i++)
    elapsed = nowMs() - start
  }
  return rate(ops, elapsed)
}

/** Times one call of a long operation (ms). */
export function time<T>(fn: () => T): { ms: number; result: T } {
  const start = nowMs()
  const result = fn()
  return { ms: nowMs() - start, result }
}
