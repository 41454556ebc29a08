/**
 * Builds quid's own native addons (run by `postinstall`): native/ed25519.c, Ed25519 verification
 * with per-key tables, about twice libsodium's rate in an audit or a replay (src/crypto/native.ts),
 * and native/clock.c, the calling thread's CPU clock that meters guests (src/host/thread-clock.ts).
 *
 * Idempotent: a stamp next to the addons records the hashes of the sources and of the addons built
 * from them; when all still match, nothing is done. Set QUID_SKIP_NATIVE=1 to skip the build (and
 * the addons at run time): quid then verifies with libsodium, correctly and about half as fast, and
 * meters guests with the process's CPU time (docs/HOST.md, "Metering").
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import process from 'node:process'
import { runNodeGyp } from './node-gyp.mjs'

const say = (line) => process.stdout.write(`build-native: ${line}\n`)
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native')
const sources = ['binding.gyp', 'ed25519.c', 'clock.c']
const addons = ['quid_ed25519.node', 'quid_clock.node'].map((f) => join(dir, 'build', 'Release', f))
const stampPath = join(dir, 'build', '.quid-stamp')

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

function main() {
  if (process.env.QUID_SKIP_NATIVE === '1') return say('skipped (QUID_SKIP_NATIVE=1)')
  const want = Object.fromEntries(sources.map((f) => [f, sha256(join(dir, f))]))
  if (existsSync(stampPath) && addons.every((a) => existsSync(a))) {
    const stamp = JSON.parse(readFileSync(stampPath, 'utf8'))
    const same = sources.every((f) => stamp.sources?.[f] === want[f])
    const built = addons.every((a) => stamp.addons?.[a] === sha256(a))
    if (same && built) return say('addons up to date: nothing to do')
  }
  say('compiling native/ed25519.c and native/clock.c with node-gyp against the local Node headers')
  runNodeGyp(dir, ['rebuild', '--release'])
  const stamp = { sources: want, addons: Object.fromEntries(addons.map((a) => [a, sha256(a)])) }
  writeFileSync(stampPath, JSON.stringify(stamp) + '\n')
  say(`done: ${addons.join(', ')}`)
}

try {
  main()
} catch (err) {
  process.stderr.write(`build-native: ${err.message}\n`)
  process.exitCode = 1
}
