/**
 * The agent's operation log: what each changing command asked and how it ended, keyed by an
 * operation id the CLI chose, so that a command whose agent died before answering can be looked up
 * later (`quid outcome OP`), after a restart too.
 *
 * One JSON object per line in `operations.log` in the participant directory, each synced before the
 * agent goes on: a `start` line before the handler runs, its progress steps, an `end` line before
 * the answer is sent, and a `session` line each time an agent starts. So an operation with no `end`
 * that began before the latest session was interrupted; one in the latest session is still running
 * if that agent is.
 *
 * The log keeps the newest KEPT_OPERATIONS operations: it is rewritten without the older ones
 * (a new file, synced, renamed over the old) when an agent starts and after every KEPT_OPERATIONS
 * more. A lookup of an operation older than those finds nothing.
 */
import { open, readFile, rename } from 'node:fs/promises'
import type { Json, JsonObject } from './json.js'

/** Operation ids: 16 to 64 lowercase hex characters, chosen by the caller. */
export const OP_ID = /^[0-9a-f]{16,64}$/

type Line =
  | { session: number; at: number }
  | { op: string; start: string; at: number }
  | { op: string; step: JsonObject }
  | { op: string; ok: boolean; result?: Json; error?: Json; at: number }

export interface Outcome {
  op: string
  method: string
  started: string
  /** done / failed: it answered; interrupted: its agent stopped first; unanswered: not yet. */
  state: 'done' | 'failed' | 'interrupted' | 'unanswered'
  steps: JsonObject[]
  result?: Json
  error?: Json
}

/** How many operations the log keeps (the newest). */
export const KEPT_OPERATIONS = 10_000

export class Operations {
  /** Every write and rewrite, one after the other: a rewrite must not lose a line written meanwhile. */
  private queue: Promise<void> = Promise.resolve()
  /** Operations started since the last rewrite. */
  private started = 0

  constructor(
    readonly file: string,
    private readonly kept = KEPT_OPERATIONS
  ) {}

  /** Marks an agent's start: whatever had not ended before it was interrupted. */
  async session(pid: number): Promise<void> {
    await this.serial(() => this.compact())
    return this.write({ session: pid, at: Date.now() })
  }

  async start(op: string, method: string): Promise<void> {
    await this.write({ op, start: method, at: Date.now() })
    if (++this.started >= this.kept) await this.serial(() => this.compact())
  }

  step(op: string, step: JsonObject): Promise<void> {
    return this.write({ op, step })
  }

  end(op: string, ok: boolean, payload: Json): Promise<void> {
    return this.write(
      ok ? { op, ok, result: payload, at: Date.now() } : { op, ok, error: payload, at: Date.now() }
    )
  }

  private write(line: Line): Promise<void> {
    return this.serial(async () => {
      const fh = await open(this.file, 'a', 0o600)
      try {
        await fh.write(JSON.stringify(line) + '\n')
        await fh.datasync()
      } finally {
        await fh.close()
      }
    })
  }

  private serial(step: () => Promise<void>): Promise<void> {
    const p = this.queue.then(step)
    // The chain goes on after a failed step; the failure reaches that step's caller.
    this.queue = p.then(
      () => undefined,
      () => undefined
    )
    return p
  }

  /** Rewrites the log with its newest `kept` operations only. */
  private async compact(): Promise<void> {
    this.started = 0
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw err
    }
    const kept = keepNewest(text, this.kept)
    if (kept === null) return
    const tmp = `${this.file}.tmp`
    const fh = await open(tmp, 'w', 0o600)
    try {
      await fh.write(kept)
      await fh.datasync()
    } finally {
      await fh.close()
    }
    await rename(tmp, this.file)
  }
}

/**
 * The log's text with only its newest `kept` operations, or null if it has no more than those.
 * What a lookup says of each kept operation stays the same: those begun before the latest
 * session come before its line (unended, they read as interrupted), the latest session's after.
 */
export function keepNewest(text: string, kept: number): string | null {
  const ops = new Map<string, { lines: string[]; session: number }>()
  let sessions = 0
  let lastSession = ''
  for (const raw of text.split('\n')) {
    let line: Record<string, unknown>
    try {
      line = JSON.parse(raw) as Record<string, unknown>
    } catch {
      continue
    }
    if ('session' in line) {
      sessions++
      lastSession = raw
      continue
    }
    const op = line.op as string
    if (typeof line.start === 'string') {
      // A reused id starts over, as a lookup reads it.
      ops.delete(op)
      ops.set(op, { lines: [raw], session: sessions })
    } else ops.get(op)?.lines.push(raw)
  }
  if (ops.size <= kept && sessions <= 1) return null
  const newest = [...ops.values()].slice(-kept)
  const before = newest.filter((o) => o.session < sessions).flatMap((o) => o.lines)
  const during = newest.filter((o) => o.session === sessions).flatMap((o) => o.lines)
  const out = [...before, ...(lastSession ? [lastSession] : []), ...during]
  return out.length ? out.join('\n') + '\n' : ''
}

/** What the log at `file` says of operation `op`; null when it holds no such operation. */
export async function lookupOperation(file: string, op: string): Promise<Outcome | null> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  let out: Outcome | null = null
  for (const raw of text.split('\n')) {
    let line: Record<string, unknown>
    try {
      line = JSON.parse(raw) as Record<string, unknown>
    } catch {
      continue // an empty line, or a write torn by a crash
    }
    if ('session' in line) {
      if (out?.state === 'unanswered') out.state = 'interrupted'
      continue
    }
    if (line.op !== op) continue
    if (typeof line.start === 'string') {
      out = {
        op,
        method: line.start,
        started: new Date(line.at as number).toISOString(),
        state: 'unanswered',
        steps: []
      }
    } else if (out && line.step) out.steps.push(line.step as JsonObject)
    else if (out && typeof line.ok === 'boolean') {
      out.state = line.ok ? 'done' : 'failed'
      if (line.ok) out.result = line.result as Json
      else out.error = line.error as Json
    }
  }
  return out
}
