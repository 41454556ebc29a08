/**
 * Where a failure with no caller to throw to goes (a background task, an event of a part): the
 * owner's 'error' event when someone listens, else one line on stderr. Never dropped, never thrown
 * (an 'error' event with no listener would crash the process).
 */
import type { EventEmitter } from 'node:events'

export function reportError(owner: EventEmitter, source: string, err: unknown): void {
  if (owner.listenerCount('error') > 0) {
    owner.emit('error', err)
    return
  }
  const text = err instanceof Error ? err.message : String(err)
  const code = (err as { code?: unknown } | null)?.code
  process.stderr.write(`quid ${source}: ${typeof code === 'string' ? `${code}: ` : ''}${text}\n`)
}
