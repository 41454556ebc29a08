/**
 * Suite `cli`: how long the `quid` command takes to start, next to bare Node on the same machine.
 *
 * - nodeMs: median wall time of `node -e 0`.
 * - versionMs, helpMs: median wall time of `quid --version` and `quid --help` (bin/quid.js on
 *   dist/, so run `npm run build` first), under the same Node binary.
 * - startRatio: versionMs / nodeMs (goal <= 2, issue 20).
 *
 * The three commands take turns, one run of each per round, so that a change in the machine's
 * load during the suite falls on all of them alike. 20 rounds, 8 with --quick.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Figure, Suite, SuiteContext } from './suite.js'

const BIN = fileURLToPath(new URL('../../bin/quid.js', import.meta.url))
const DIST = fileURLToPath(new URL('../../dist/agent/cli.js', import.meta.url))

function timeRun(args: string[]): number {
  const start = process.hrtime.bigint()
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (r.status !== 0) {
    throw new Error(`${args.join(' ')} exited ${r.status}: ${String(r.stderr).trim()}`)
  }
  return ms
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

export const cliSuite: Suite = {
  name: 'cli',
  description: '`quid --version` and `--help` start time against bare `node -e 0`',
  async run(ctx: SuiteContext): Promise<Figure[]> {
    if (!existsSync(DIST)) throw new Error('dist/ is missing: run npm run build first')
    const rounds = ctx.quick ? 8 : 20
    const node: number[] = []
    const version: number[] = []
    const help: number[] = []
    // One untimed round: the first run of each reads its files from disk, later ones from cache.
    timeRun(['-e', '0'])
    timeRun([BIN, '--version'])
    timeRun([BIN, '--help'])
    for (let i = 0; i < rounds; i++) {
      ctx.progress(`round ${i + 1}/${rounds}`)
      node.push(timeRun(['-e', '0']))
      version.push(timeRun([BIN, '--version']))
      help.push(timeRun([BIN, '--help']))
    }
    const nodeMs = median(node)
    const versionMs = median(version)
    const helpMs = median(help)
    const how = `median of ${rounds}`
    return [
      { name: 'nodeMs', value: nodeMs, unit: 'ms', note: `node -e 0, ${how}` },
      { name: 'versionMs', value: versionMs, unit: 'ms', note: `quid --version, ${how}` },
      { name: 'helpMs', value: helpMs, unit: 'ms', note: `quid --help, ${how}` },
      {
        name: 'startRatio',
        value: versionMs / nodeMs,
        unit: 'ratio',
        note: 'versionMs / nodeMs (goal <= 2)'
      },
      { name: 'helpRatio', value: helpMs / nodeMs, unit: 'ratio', note: 'helpMs / nodeMs' }
    ]
  }
}
