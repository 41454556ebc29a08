import { test } from 'tap'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { importCycles, importGraph } from '../../scripts/import-cycles.js'

test('no import cycles under src/ (type-only imports included)', async (t) => {
  const graph = importGraph(resolve('src'))
  t.ok(graph.size > 50, `the graph covers the tree (${graph.size} modules)`)
  t.ok(graph.get('ledger/state.ts')?.includes('core/errors.ts'), 'imports are resolved')
  t.same(importCycles(graph), [])
})

test('the checker finds a planted cycle, a self-import and a type-only cycle', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'quid-cycles-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, 'a'))
  await writeFile(join(dir, 'a/x.ts'), "import { y } from './y.js'\nexport const x = y\n")
  await writeFile(
    join(dir, 'a/y.ts'),
    "export const y = 1\nexport {\n  z\n} from '../z.js'\n// import { no } from './x.js'\n"
  )
  await writeFile(join(dir, 'z.ts'), "import type { x } from './a/x.js'\nexport const z = 2\n")
  await writeFile(join(dir, 'self.ts'), "export * from './self.js'\n")
  await writeFile(join(dir, 'leaf.ts'), "import { z } from './z.js'\nexport const l = z\n")
  t.same(importCycles(importGraph(dir)), [['a/x.ts', 'a/y.ts', 'z.ts'], ['self.ts']])
})
