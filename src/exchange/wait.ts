/** Waiting with a bound: every wait of the exchange ends, with TIMEOUT naming what it waited for. */
import { QuidError, ErrorCodes } from '../core/errors.js'

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new QuidError(ErrorCodes.TIMEOUT, `${what}: no result in ${ms} ms`, { what, ms })),
      ms
    )
  })
  return Promise.race([p, expired]).finally(() => clearTimeout(timer))
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms))
