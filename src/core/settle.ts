/**
 * Where a promise's failure goes when it is not handled where the promise is made. No error in
 * quid goes unseen: each reaches a caller or a log. A rejection handler that does nothing says
 * neither, so none appears (test/structure/swallowed.test.ts); these say which case it is.
 */

const noop = (): void => {}

/**
 * Settles when `p` does and never rejects, for a promise whose failure its holder already has: the
 * tail of a queue of steps (each step's own promise carries its failure to the one who queued it),
 * work waited out at close whose caller was told of its failure, or results awaited in order later.
 */
export function settled(p: Promise<unknown>): Promise<void> {
  return p.then(noop, noop)
}

/** Whether `err` is a Node.js system error with one of `codes` (`ENOENT`, `EPIPE`…). */
export function isSystemError(err: unknown, ...codes: string[]): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && codes.includes(code)
}
