// Id prefixes, as git takes them (issue 20): unique ones resolve, ambiguous ones say so.
import { test } from 'tap'
import { resolveId, isIdPrefix } from '../../src/agent/prefix.js'

const a = 'ab1200' + '0'.repeat(58)
const b = 'ab1211' + '1'.repeat(58)
const c = 'cd0022' + '2'.repeat(58)

test('a unique prefix names its id; a full id names itself', async (t) => {
  t.equal(resolveId('ab120', [a, b, c], 'claim'), a)
  t.equal(resolveId('AB121', [a, b, c], 'claim'), b, 'case does not matter')
  t.equal(resolveId('cd00', [a, b, c], 'claim'), c)
  t.equal(resolveId('ab120', [a, a, b], 'claim'), a, 'one id listed twice is one match')
  t.equal(resolveId('f'.repeat(64), [a], 'claim'), 'f'.repeat(64), 'a full id is not looked up')
  t.equal(resolveId(a.toUpperCase(), [], 'claim'), a)
})

test('ambiguous, unknown and malformed prefixes are refused with their codes', async (t) => {
  t.throws(
    () => resolveId('ab12', [a, b, c], 'claim'),
    {
      code: 'ambiguous-id',
      message: /claim prefix ab12 is ambiguous: it begins 2 ids/,
      details: { matches: [a, b] }
    },
    'two ids begin ab12'
  )
  t.throws(
    () => resolveId('ab13', [a, b, c], 'claim'),
    { code: 'bad-id', message: /no claim known here starts with ab13/ },
    'none begins ab13'
  )
  t.throws(
    () => resolveId('cd0', [c], 'claim'),
    { code: 'bad-id', message: /at least 4/ },
    'three characters are too few, even when unique'
  )
  t.throws(() => resolveId('zz12', [a], 'claim'), { code: 'bad-id' }, 'not hex')
  t.ok(isIdPrefix('abcd'))
  t.notOk(isIdPrefix('abc'))
  t.notOk(isIdPrefix(a), 'a full id is not a prefix')
})
