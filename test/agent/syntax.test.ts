// One syntax for durations and amounts in every command (issue 20), and amounts shown side by side
// in one unit.
import { test } from 'tap'
import { parseDuration } from '../../src/agent/duration.js'
import { alike, bothForms, vecOf } from '../../src/agent/commands/show.js'
import { main, type Io } from '../../src/agent/cli.js'
import { tmp } from '../helpers.js'

function capture(): Io & { lines: string[]; errs: string[] } {
  const lines: string[] = []
  const errs: string[] = []
  return { lines, errs, out: (s) => lines.push(s), err: (s) => errs.push(s), env: {} }
}

test('durations: 500ms, 45s, 2m, 12h, 30d; bare milliseconds only where the old form was', async (t) => {
  t.equal(parseDuration('500ms'), 500)
  t.equal(parseDuration('45s'), 45_000)
  t.equal(parseDuration('2m'), 120_000)
  t.equal(parseDuration('12h'), 43_200_000)
  t.equal(parseDuration('30d'), 2_592_000_000)
  for (const bad of ['100', '1.5s', '0s', '-1s', 's', '10 s', '1y', ''])
    t.throws(() => parseDuration(bad, '--timeout'), { code: 'bad-argument' }, bad)
  t.equal(parseDuration('100', '--timeout', { legacyMs: true }), 100, 'the old audit form')
  t.equal(parseDuration('0', '--timeout', { legacyMs: true }), 0)
  t.equal(parseDuration('10s', '--timeout', { legacyMs: true }), 10_000)
  t.throws(() => parseDuration('soon', '--timeout', { legacyMs: true }), /500ms, 45s/)
})

test('amounts side by side share one unit, exactly', async (t) => {
  t.same(alike('cpu', ['63115200MI', '2my']), ['2my', '2my'])
  t.same(alike('cpu', ['47336400MI', '2my']), ['1.5my', '2my'])
  t.same(alike('cpu', ['63015200MI', '2my']), ['63015200MI', '63115200MI'], 'not exact in my')
  t.same(alike('disk', ['500kB', '2MB']), ['0.5MB', '2MB'])
  t.same(alike('disk', ['1B', '2MB']), ['0.000001MB', '2MB'])
  t.same(alike('net', ['0B', '1GB']), ['0GB', '1GB'])
  t.equal(
    vecOf({ cpu: '15778800MI', disk: '0B' }, { cpu: '1my', disk: '1MB', net: '1MB' }),
    'cpu=0.5my,disk=0MB,net=0MB of cpu=1my,disk=1MB,net=1MB'
  )
})

test('audit --timeout takes a duration (and the old milliseconds); a bad one is exit 1', async (t) => {
  const dir = await tmp(t)
  const io = capture()
  t.equal(await main(['audit', '--id', 'x'.repeat(64), '--dir', dir, '--timeout', 'soon'], io), 1)
  const io2 = capture()
  t.equal(
    await main(
      ['audit', '--id', 'ab'.repeat(32), '--dir', dir, '--timeout', 'soon', '--json'],
      io2
    ),
    1
  )
  t.match(io2.errs.join('\n'), /--timeout "soon" is not a duration/)
  t.equal(
    (JSON.parse(io2.lines[0] as string) as { error: { code: string } }).error.code,
    'bad-argument'
  )
})

test('--help names the one syntax and says which commands take --dir', async (t) => {
  const io = capture()
  t.equal(await main(['--help'], io), 0)
  const text = io.lines.join('\n')
  t.match(text, /all but testnet and demo act on a participant/)
  t.match(text, /Durations: 500ms, 45s, 2m/)
  t.match(text, /Amounts: cpu=1my,disk=10MB,net=100MB/)
  const d = capture()
  t.equal(await main(['deploy', '--help'], d), 0)
  t.match(d.lines.join('\n'), /--give cpu=A,disk=A,net=A/)
})

test('--json amounts come in both forms: exact base units and the amount syntax', async (t) => {
  t.same(
    bothForms(
      {
        holds: { cpu: '10my', disk: '10MB', net: '0B' },
        claims: [{ resource: 'cpu', amount: '2my', free: '1.5my', id: 'ab' }],
        name: 'x'
      },
      'text'
    ),
    {
      holds: { cpu: '10my', disk: '10MB', net: '0B' },
      holdsUnits: { cpu: '315576000', disk: '10000000', net: '0' },
      claims: [
        {
          resource: 'cpu',
          amount: '2my',
          amountUnits: '63115200',
          free: '1.5my',
          freeUnits: '47336400',
          id: 'ab'
        }
      ],
      name: 'x'
    }
  )
  t.same(
    bothForms({ owes: { cpu: '315576000', disk: '0', net: '18446744073709551615' } }, 'units'),
    {
      owes: { cpu: '315576000', disk: '0', net: '18446744073709551615' },
      owesText: { cpu: '10my', disk: '0B', net: '18446744073709.551615MB' }
    },
    'exact above 2^53'
  )
  t.same(
    bothForms({ weird: { cpu: 'lots' } }, 'units'),
    { weird: { cpu: 'lots' } },
    'what is not an amount is left alone'
  )
})
