// `--cache FILE` naming a file that is not a quid audit cache: refused (cache-invalid), and the
// file is left byte for byte as it was. Only a cache an older quid wrote is discarded.
import { test } from 'tap'
import { join } from 'node:path'
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { tmp } from '../helpers.js'
import { AuditCache, CACHE_FORMAT, CACHE_VERSION } from '../../src/audit/cache.js'
import { isQuidError } from '../../src/core/errors.js'

const head = { length: 2, fork: 0, treeHash: 'ab'.repeat(32), signature: 'cd'.repeat(64) }
const id = '01'.repeat(32)
const ours = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ format: CACHE_FORMAT, version: CACHE_VERSION, logs: {}, ...extra })

const refused: Array<[string, string]> = [
  ['not JSON', 'not json at all\n'],
  ['empty', ''],
  ['a JSON list', '[1, 2]'],
  ['no version', '{"logs": {}}'],
  ['a version 1 file with something else in it', '{"version": 1, "logs": {}, "mine": true}'],
  ['version 0', '{"version": 0, "logs": {}}'],
  ['a newer version', JSON.stringify({ format: CACHE_FORMAT, version: CACHE_VERSION + 1 })],
  ['no format marker', JSON.stringify({ version: CACHE_VERSION, logs: {} })],
  ['logs not an object', ours({ logs: [] })],
  ['a log id that is not hex', ours({ logs: { nothex: { head, bad: [] } } })],
  [
    'a head without a tree hash',
    ours({ logs: { [id]: { head: { ...head, treeHash: 1 }, bad: [] } } })
  ],
  ['a bad position past the head', ours({ logs: { [id]: { head, bad: [2] } } })],
  ['a report without a key', ours({ report: { report: {} } })]
]

test('a file that is not a quid audit cache is refused and left untouched', async (t) => {
  const dir = await tmp(t)
  for (const [what, text] of refused) {
    const path = join(dir, 'garbage.json')
    await writeFile(path, text)
    const before = await readFile(path)
    await t.rejects(AuditCache.open(path), { code: 'cache-invalid' }, what)
    const err = await AuditCache.open(path).catch((e: unknown) => e)
    t.ok(isQuidError(err) && err.details.path === path, `${what}: the error names the file`)
    t.same(await readFile(path), before, `${what}: the file is unchanged`)
  }
})

test('a missing file is a new cache; a directory is an input error; ours loads', async (t) => {
  const dir = await tmp(t)
  const fresh = await AuditCache.open(join(dir, 'new.json'))
  t.equal(fresh.size, 0)
  await fresh.save()
  t.equal(JSON.parse(await readFile(join(dir, 'new.json'), 'utf8')).format, CACHE_FORMAT)
  await mkdir(join(dir, 'adir'))
  await t.rejects(AuditCache.open(join(dir, 'adir')), { code: 'bad-argument' })
  await writeFile(join(dir, 'ok.json'), ours({ logs: { [id]: { head, bad: [1] } } }))
  t.same((await AuditCache.open(join(dir, 'ok.json'))).get(id), { head, bad: [1] })
  await writeFile(
    join(dir, 'v1.json'),
    JSON.stringify({ version: 1, logs: { [id]: { head, bad: [] } } })
  )
  t.equal((await AuditCache.open(join(dir, 'v1.json'))).size, 0, 'version 1: discarded')
})
