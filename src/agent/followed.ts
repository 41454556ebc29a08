/**
 * The logs a participant follows, kept in its directory (`followed.json`), so that an agent that
 * restarts — cleanly or after a kill — follows them again at once from what is on disk: what its
 * owner holds on other participants' logs (a transfer to it is only in the sender's log) is back
 * before the first command, not after the next barter or `quid follow`.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { settled } from '../core/settle.js'

const MAX = 100_000

export class FollowedList {
  private readonly keys = new Set<string>()
  private written: Promise<void> = Promise.resolve()

  constructor(private readonly path: string) {}

  /** The ids (hex) on file; none if the file is missing or unreadable. */
  async load(): Promise<string[]> {
    try {
      const data = JSON.parse(await readFile(this.path, 'utf8')) as { followed?: unknown }
      if (Array.isArray(data.followed))
        for (const k of data.followed)
          if (typeof k === 'string' && /^[0-9a-f]{64}$/.test(k)) this.keys.add(k)
    } catch {
      // No list yet (a participant that never followed anyone), or a damaged one: start empty.
    }
    return [...this.keys]
  }

  /** Adds an id and writes the list, after any write in progress (aside, then renamed). */
  add(key: string): Promise<void> {
    if (this.keys.has(key) || this.keys.size >= MAX) return this.written
    this.keys.add(key)
    const write = async (): Promise<void> => {
      const tmp = this.path + '.tmp'
      await writeFile(tmp, JSON.stringify({ version: 1, followed: [...this.keys] }), {
        mode: 0o600
      })
      await rename(tmp, this.path)
    }
    const next = this.written.then(write, write)
    this.written = settled(next)
    return next
  }
}
