// The audit progress bar: drawn on a terminal, rate-limited, cleared at the end; silent otherwise.
import { test } from 'tap'
import { progressBar } from '../../src/agent/commands/progress.js'

test('progress bar on a TTY, nothing elsewhere', async (t) => {
  const written: string[] = []
  const tty = {
    isTTY: true,
    write: (s: string) => written.push(s)
  } as unknown as NodeJS.WriteStream
  const bar = progressBar(tty)
  bar('verify', 0, 100)
  bar('verify', 1, 100) // within 100 ms of the last draw: skipped
  bar('verify', 100, 100) // the end of a phase is always drawn
  bar(null, 0, 0)
  t.equal(written.length, 3)
  t.match(written[0], /verify +\[\.{30}\] 0% 0\/100/)
  t.match(written[1], /\[#{30}\] 100% 100\/100/)
  t.equal(written[2], '\r\x1b[K', 'cleared')
  const piped: string[] = []
  const pipe = {
    isTTY: false,
    write: (s: string) => piped.push(s)
  } as unknown as NodeJS.WriteStream
  progressBar(pipe)('verify', 1, 2)
  progressBar(null)('verify', 1, 2)
  t.same(piped, [], 'no bar when stderr is not a terminal')
})
