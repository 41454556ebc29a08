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
 */
import { open, readFile } from 'node:fs/promises'
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

export class Operations {
  constructor(readonly file: string) {}

  /** Marks an agent's start: whatever had not ended before it was interrupted. */
  session(pid: number): Promise<void> {
    return this.write({ session: pid, at: Date.now() })
  }

  start(op: string, method: string): Promise<void> {
    return this.write({ op, start: method, at: Date.now() })
  }

  step(op: string, step: JsonObject): Promise<void> {
    return this.write({ op, step })
  }

  end(op: string, ok: boolean, payload: Json): Promise<void> {
    return this.write(
      ok ? { op, ok, result: payload, at: Date.now() } : { op, ok, error: payload, at: Date.now() }
    )
  }

  private async write(line: Line): Promise<void> {
    const fh = await open(this.file, 'a', 0o600)
    try {
      await fh.write(JSON.stringify(line) + '\n')
      await fh.datasync()
    } finally {
      await fh.close()
    }
  }
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
