/**
 * `quid demo`: the 1997 story on an embedded loopback network (src/demo/, README "Run the story").
 */
import { resolve } from 'node:path'
import { runStory } from '../../demo/story.js'
import type { Command } from './command.js'
import { checkOutFile } from './out-file.js'

export const demoCommand: Command = {
  usage: 'quid demo [--keep] [--json] [--html FILE]',
  options: {
    keep: { type: 'boolean' },
    json: { type: 'boolean' },
    html: { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  },
  async run(values, _positionals, io) {
    const html = values.html === undefined ? undefined : resolve(String(values.html))
    // Refused before the story starts, rather than after it ran for nothing.
    if (html) await checkOutFile('html', html)
    // Ctrl-C stops the agents and removes the directories rather than leaving them behind.
    const interrupt = new AbortController()
    const onSignal = (): void => interrupt.abort()
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    let r: Awaited<ReturnType<typeof runStory>>
    try {
      r = await runStory({
        out: io.out,
        keep: Boolean(values.keep),
        signal: interrupt.signal,
        ...(html ? { html } : {})
      })
    } catch (err) {
      if (!interrupt.signal.aborted) throw err
      io.err('quid demo: interrupted; every agent stopped')
      return 130
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
    if (values.json)
      io.out(
        JSON.stringify({
          ok: r.ok,
          ms: r.ms,
          root: r.root,
          steps: r.steps,
          summary: r.summary
        })
      )
    return r.ok ? 0 : 2
  }
}
