/**
 * `quid demo`: the 1997 story on an embedded loopback network (src/demo/, README "Run the story").
 */
import { runStory } from '../../demo/story.js'
import type { Command } from './command.js'

export const demoCommand: Command = {
  usage: 'quid demo [--keep] [--json]',
  options: {
    keep: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  },
  async run(values, _positionals, io) {
    // Ctrl-C stops the agents and removes the directories rather than leaving them behind.
    const interrupt = new AbortController()
    const onSignal = (): void => interrupt.abort()
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    let r: Awaited<ReturnType<typeof runStory>>
    try {
      r = await runStory({ out: io.out, keep: Boolean(values.keep), signal: interrupt.signal })
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
