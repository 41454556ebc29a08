/**
 * Makes isolated-vm 5.0.4's `isolate.cpuTime` real thread CPU time on Linux (run by `postinstall`).
 *
 * Why: its binding.gyp gives the `isolated_vm` target the key `conditions` twice. gyp files are
 * Python literals, so the second key silently replaces the first, and the first is the one that
 * defines USE_CLOCK_THREAD_CPUTIME_ID. Without it `cpuTime` is wall time (a guest would pay for
 * the time other processes held the core). This script merges the two lists into one and rebuilds
 * the addon with node-gyp against the local Node headers, as npm itself does (no download).
 *
 * Idempotent: a stamp next to the built addon records the hashes of the patched binding.gyp and of
 * the addon built from it; when both still match, nothing is done. Every step says what it does.
 * Set QUID_SKIP_IVM_PATCH=1 to skip (the host then measures wall time, and says so in its docs).
 */
import { createHash } from 'node:crypto'
import { runNodeGyp } from './node-gyp.mjs'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createRequire } from 'node:module'
import process from 'node:process'

const say = (line) => process.stdout.write(`patch-isolated-vm: ${line}\n`)
const DEFINE = `[ 'OS == "linux"', { 'defines': [ 'USE_CLOCK_THREAD_CPUTIME_ID' ] } ],`
const FIRST = `\t\t\t'conditions': [\n\t\t\t\t${DEFINE}\n\t\t\t],\n`
const SECOND = `\t\t\t'conditions': [\n\t\t\t\t[ 'OS != "win"', {`
const MERGED = `\t\t\t'conditions': [\n\t\t\t\t${DEFINE}\n\t\t\t\t[ 'OS != "win"', {`

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

function packageDir() {
  try {
    return dirname(createRequire(import.meta.url).resolve('isolated-vm/package.json'))
  } catch {
    return null
  }
}

/** Returns the patched text, the same text if already merged, or null if the layout is unknown. */
function merge(gyp) {
  if (gyp.includes(MERGED) && !gyp.includes(FIRST)) return gyp
  if (!gyp.includes(FIRST) || !gyp.includes(SECOND)) return null
  return gyp.replace(FIRST, '').replace(SECOND, MERGED)
}

function main() {
  if (process.platform !== 'linux') return say('not Linux: nothing to patch')
  if (process.env.QUID_SKIP_IVM_PATCH === '1') return say('skipped (QUID_SKIP_IVM_PATCH=1)')
  const dir = packageDir()
  if (!dir) return say('isolated-vm is not installed: nothing to patch')
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version
  if (version !== '5.0.4') return say(`isolated-vm ${version} is not 5.0.4: left as it is`)
  const gypPath = join(dir, 'binding.gyp')
  const addon = join(dir, 'out', 'isolated_vm.node')
  const stampPath = join(dir, 'out', '.quid-cputime')
  const gyp = readFileSync(gypPath, 'utf8')
  const merged = merge(gyp)
  if (merged === null)
    throw new Error(`${gypPath} does not have the expected layout; refusing to guess`)
  if (merged !== gyp) {
    writeFileSync(gypPath, merged)
    say(
      'binding.gyp: merged the two `conditions` lists (USE_CLOCK_THREAD_CPUTIME_ID is defined again)'
    )
  } else {
    say('binding.gyp: already merged')
  }
  const want = sha256(gypPath)
  if (existsSync(stampPath) && existsSync(addon)) {
    const stamp = JSON.parse(readFileSync(stampPath, 'utf8'))
    if (stamp.gyp === want && stamp.addon === sha256(addon))
      return say('addon already rebuilt from the merged binding.gyp: nothing to do')
  }
  say(
    `rebuilding the addon with node-gyp against the local Node headers (about a minute on 2 cores)`
  )
  runNodeGyp(dir, ['rebuild', '--release', '-j', 'max'])
  runNodeGyp(dir, ['clean'])
  writeFileSync(stampPath, JSON.stringify({ gyp: want, addon: sha256(addon) }) + '\n')
  say("done: isolate.cpuTime now counts the isolate thread's CPU time")
}

try {
  main()
} catch (err) {
  process.stderr.write(`patch-isolated-vm: ${err.message}\n`)
  process.exitCode = 1
}
