/**
 * The story's closing table: one unit per column, named in the header, figures rounded half up
 * to six decimals with their points lined up; the exact amounts are the rows themselves.
 */
import { test } from 'tap'
import { columnUnit, inUnit, statement, type StatementRow } from '../../src/demo/statement.js'
import { formatTable } from '../../src/demo/narrator.js'

const MY = 31_557_600n

const row = (who: string, cpu: bigint, net: bigint): StatementRow => ({
  who,
  holds: { cpu: String(cpu), disk: '0', net: String(net) },
  owes: { cpu: '0', disk: '2000', net: '0' },
  guests: 0,
  used: { cpu: '0', disk: '0', net: '0' }
})

test('an amount in a chosen unit, half up to six decimals', async (t) => {
  t.equal(inUnit('cpu', 10n * MY - 150n, 'my'), '9.999995', '315575850MI')
  t.equal(inUnit('cpu', 7n * MY, 'my'), '7')
  t.equal(inUnit('cpu', 2000n, 'MI'), '2000')
  t.equal(inUnit('net', 98_685_149n, 'MB'), '98.685149')
  t.equal(inUnit('disk', 15_000_000_500n, 'GB'), '15.000001', 'half up')
  t.equal(inUnit('disk', 15_000_000_499n, 'GB'), '15', 'and below half, down')
  t.equal(inUnit('cpu', 0n, 'my'), '0')
  t.throws(() => inUnit('cpu', 1n, 'MB'), RangeError, 'a unit of another resource')
})

test("a column's unit: the largest its largest figure reaches", async (t) => {
  t.equal(columnUnit('cpu', [7n * MY, 126_028_400n, 0n]), 'my')
  t.equal(columnUnit('cpu', [385n, 0n]), 'MI')
  t.equal(columnUnit('cpu', [0n]), 'MI')
  t.equal(columnUnit('disk', [2_936_000n, 999n]), 'MB')
  t.equal(columnUnit('net', [95_483n]), 'kB')
})

test('the statement: units in the header, one per column, decimal points lined up', async (t) => {
  const rows = statement([row('alice', 7n * MY, 80_000_000n), row('joe', 10n * MY - 150n, 1n)])
  const head = rows[0] as string[]
  t.same(head, [
    'who',
    'holds cpu (my)',
    'owes cpu (MI)',
    'holds disk (B)',
    'owes disk (kB)',
    'holds net (MB)',
    'owes net (B)',
    'guests',
    'guests used cpu (MI)',
    'guests used net (B)'
  ])
  t.same(rows[1], ['alice', '7       ', '0', '0', '2', '80       ', '0', '0', '0', '0'])
  t.same(rows[2], ['joe', '9.999995', '0', '0', '2', '0.000001', '0', '0', '0', '0'])
  const text = formatTable(rows)
  // The column is right-aligned: "7" sits where "9" does, its decimals left blank.
  const alice = text[2] as string
  const joe = text[3] as string
  t.equal(alice.indexOf('7 '), joe.indexOf('9.999995'), 'the points line up')
  for (const line of text) t.notMatch(line, /\d(MI|my|MB|kB|B)\b/, 'no unit beside a figure')
})
