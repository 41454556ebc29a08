/**
 * Where node-gyp and the Node headers are, for the native build of `postinstall`
 * (build-native.mjs): npm's own copies, never a download.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { spawnSync } from 'node:child_process'
import process from 'node:process'

export function nodeGyp() {
  // npm puts its own node-gyp in the environment of lifecycle scripts; outside npm, use npm's copy.
  const candidates = [
    process.env.npm_config_node_gyp,
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js'
    )
  ]
  return candidates.find((p) => p && existsSync(p)) ?? null
}

export function nodeDir() {
  // The headers of the running Node, never a download: npm's nodedir setting, else the install
  // prefix of this node binary when it ships its headers (Debian's /usr/include/node).
  const candidates = [process.env.npm_config_nodedir, join(dirname(process.execPath), '..')]
  return candidates.find((d) => d && existsSync(join(d, 'include', 'node', 'node.h'))) ?? null
}

/** Runs node-gyp in `cwd` against the local headers; throws naming the step that failed. */
export function runNodeGyp(cwd, args) {
  const gypBin = nodeGyp()
  const headers = nodeDir()
  if (!gypBin)
    throw new Error("node-gyp not found (neither npm_config_node_gyp nor npm's bundled copy)")
  if (!headers)
    throw new Error(
      'Node headers not found (set npm_config_nodedir to a directory with include/node/node.h)'
    )
  const r = spawnSync(process.execPath, [gypBin, ...args, `--nodedir=${headers}`], {
    cwd,
    stdio: 'inherit'
  })
  if (r.status !== 0) throw new Error(`node-gyp ${args[0]} failed with status ${r.status}`)
}
