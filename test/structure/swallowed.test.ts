import { test } from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

// A failure let go without a word: a rejection handler or an `error` listener that does nothing.
// Where a failure is rightly not handled on the spot, src/core/settle.ts names why (`settled`), or
// a named function with a comment does (sandbox.ts `onExitInstead`, node.ts `refused`).
const SWALLOWED = [
  /\.catch\(\s*\(\s*\w*\s*\)\s*=>\s*(\{\s*\}|false|true|null|undefined|void 0)\s*\)/,
  /\.on\(\s*'error'\s*,\s*\(\s*\w*\s*\)\s*=>\s*\{\s*\}\s*\)/,
  /\.then\(\s*\w+\s*,\s*\(\s*\w*\s*\)\s*=>\s*\{\s*\}\s*\)/
]

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name))
}

export function swallowed(text: string): number[] {
  const lines: number[] = []
  text.split('\n').forEach((line, i) => {
    if (SWALLOWED.some((re) => re.test(line))) lines.push(i + 1)
  })
  return lines
}

test('no error is swallowed under src/', async (t) => {
  const files = sources(resolve('src'))
  t.ok(files.length > 100, `every source file is read (${files.length})`)
  const found = files.flatMap((f) =>
    swallowed(readFileSync(f, 'utf8')).map((n) => `${f.slice(resolve('src').length + 1)}:${n}`)
  )
  t.same(found, [], 'each failure reaches a caller or a log (src/core/settle.ts)')
})

test('the check finds each shape of a swallowed failure', async (t) => {
  t.same(swallowed('a.catch(() => {})\nb.catch((e) => false)\nok.catch(report)'), [1, 2])
  t.same(swallowed("s.on('error', () => {})\ns.on('error', onError)"), [1])
  t.same(swallowed('p.then(done, () => {})\np.then(done, fail)'), [1])
})
