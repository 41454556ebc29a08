/**
 * Finds import cycles among quid's own modules. A cycle makes load order decide which module sees
 * the other half-initialised, and it hides which layer depends on which; STYLE.md allows none.
 *
 * Every relative import counts, `import type` included: a type-only cycle is harmless at run time
 * but still ties two modules together, and the next edit can make it a value import.
 * `test/structure/cycles.test.ts` runs this over src/; `node --import tsx scripts/import-cycles.ts`
 * prints the cycles it finds.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** `from '…'`, `import '…'` and `import('…')` with a relative specifier. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) walk(p, out)
    else if (/\.ts$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

/** The import graph of the `.ts` files under `root`: file -> files it imports (relative paths). */
export function importGraph(root: string): Map<string, string[]> {
  const files = walk(root)
  const known = new Set(files)
  const graph = new Map<string, string[]>()
  for (const file of files) {
    // Comments could name a module without importing it.
    const text = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '')
    const deps = new Set<string>()
    for (const m of text.matchAll(SPECIFIER)) {
      const target = resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts'))
      if (known.has(target)) deps.add(relative(root, target))
    }
    graph.set(relative(root, file), [...deps].sort())
  }
  return graph
}

/** Every strongly connected set of two or more modules (or one that imports itself), sorted. */
export function importCycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm, iterative so that a deep graph cannot overflow the stack.
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  for (const start of graph.keys()) {
    if (index.has(start)) continue
    const work: Array<{ node: string; i: number }> = [{ node: start, i: 0 }]
    index.set(start, next)
    low.set(start, next++)
    stack.push(start)
    onStack.add(start)
    while (work.length) {
      const top = work[work.length - 1] as { node: string; i: number }
      const deps = graph.get(top.node) ?? []
      if (top.i < deps.length) {
        const d = deps[top.i++] as string
        if (!index.has(d)) {
          index.set(d, next)
          low.set(d, next++)
          stack.push(d)
          onStack.add(d)
          work.push({ node: d, i: 0 })
        } else if (onStack.has(d)) {
          low.set(top.node, Math.min(low.get(top.node) as number, index.get(d) as number))
        }
        continue
      }
      work.pop()
      const parent = work[work.length - 1]
      if (parent)
        low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(top.node) as number))
      if (low.get(top.node) !== index.get(top.node)) continue
      const scc: string[] = []
      let n: string
      do {
        n = stack.pop() as string
        onStack.delete(n)
        scc.push(n)
      } while (n !== top.node)
      if (scc.length > 1 || (graph.get(top.node) ?? []).includes(top.node)) out.push(scc.sort())
    }
  }
  return out.sort((a, b) => (a[0] as string).localeCompare(b[0] as string))
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src')
  const cycles = importCycles(importGraph(root))
  for (const c of cycles) console.log(c.join(' <-> '))
  console.log(`${cycles.length} import cycle(s) under src/`)
  process.exitCode = cycles.length ? 1 : 0
}
