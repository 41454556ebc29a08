/**
 * Builds quid's own native addon, native/ed25519.c (run by `postinstall`): Ed25519 verification
 * with per-key tables, about twice libsodium's rate in an audit or a replay (src/crypto/native.ts).
 *
 * Idempotent: a stamp next to the addon records the hashes of the sources and of the addon built
 * from them; when all still match, nothing is done. Set QUID_SKIP_NATIVE=1 to skip the build (and
 * the addon at run time): quid then verifies with libsodium, correctly and about half as fast.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import process from 'node:process'
import { runNodeGyp } from './node-gyp.mjs'

const say = (line) => process.stdout.write(`build-native: ${line}\n`)
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native')
const sources = ['binding.gyp', 'ed25519.c']
const addon = join(dir, 'build', 'Release', 'quid_ed25519.node')
const stampPath = join(dir, 'build', '.quid-stamp')

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

function main() {
  if (process.env.QUID_SKIP_NATIVE === '1') return say('skipped (QUID_SKIP_NATIVE=1)')
  const want = Object.fromEntries(sources.map((f) => [f, sha256(join(dir, f))]))
  if (existsSync(stampPath) && existsSync(addon)) {
    const stamp = JSON.parse(readFileSync(stampPath, 'utf8'))
    const same = sources.every((f) => stamp.sources?.[f] === want[f])
    if (same && stamp.addon === sha256(addon)) return say('addon up to date: nothing to do')
  }
  say('compiling native/ed25519.c with node-gyp against the local Node headers')
  runNodeGyp(dir, ['rebuild', '--release'])
  writeFileSync(stampPath, JSON.stringify({ sources: want, addon: sha256(addon) }) + '\n')
  say(`done: ${addon}`)
}

try {
  main()
} catch (err) {
  process.stderr.write(`build-native: ${err.message}\n`)
  process.exitCode = 1
}
