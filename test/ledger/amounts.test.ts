// Amounts people type, parsed exactly or refused with a message naming what is wrong.
import { test } from 'tap'
import {
  parseAmount,
  parseAmounts,
  formatAmount,
  formatAmounts,
  addAmounts,
  RESOURCES,
  type Resource
} from '../../src/ledger/amounts.js'
import { MAX_AMOUNT, MI_PER_MIPS_YEAR } from '../../src/ledger/constants.js'
import { QuidError } from '../../src/core/errors.js'

const MY = MI_PER_MIPS_YEAR

test("the story's barter parses to exact base units", async (t) => {
  t.same(parseAmounts('cpu=10my,disk=10MB,net=100MB'), {
    cpu: 10n * MY,
    disk: 10_000_000n,
    net: 100_000_000n
  })
  t.equal(parseAmount('cpu', '4my'), 4n * MY)
  t.equal(parseAmount('cpu', '0.5my'), MY / 2n)
  t.equal(parseAmount('cpu', '5000MI'), 5000n)
  t.equal(parseAmount('cpu', '5000'), 5000n, 'no unit: base units (MI)')
  t.equal(parseAmount('disk', '1.5kB'), 1500n)
  t.equal(parseAmount('disk', '2GB'), 2_000_000_000n)
  t.equal(parseAmount('net', '512B'), 512n)
  t.equal(parseAmount('net', '0'), 0n, 'zero is a valid single amount')
})

test('bad amounts are refused with a message that says what is wrong', async (t) => {
  const cases: Array<[Resource, string, RegExp]> = [
    ['cpu', '-1my', /no signs/],
    ['cpu', '+1my', /no signs/],
    ['cpu', '01my', /leading zeros/],
    ['cpu', ' 1my', /spaces/],
    ['cpu', '1my ', /spaces/],
    ['cpu', '0x10', /hex/],
    ['cpu', '1e3MI', /not a plain decimal number/],
    ['cpu', '1.5MI', /not a whole number of base units \(MI\)/],
    ['disk', '1.5', /not a whole number of base units \(bytes\)/],
    ['disk', '0.0000001MB', /not a whole number/],
    ['cpu', '10MB', /unknown unit "MB" for cpu; use one of my, MI/],
    ['disk', '10my', /unknown unit "my" for disk/],
    ['disk', '10mb', /unknown unit "mb"/],
    ['net', '', /not a plain decimal number/],
    ['net', '1.', /not a plain decimal number/],
    ['net', '.5MB', /not a plain decimal number/],
    ['net', '18446744073709551616', /above the largest amount/],
    ['cpu', '584542046091my', /above the largest amount/]
  ]
  for (const [r, input, why] of cases) {
    try {
      parseAmount(r, input)
      t.fail(`${JSON.stringify(input)} was accepted`)
    } catch (err) {
      t.ok(
        err instanceof QuidError && err.code === 'bad-amount',
        `${JSON.stringify(input)}: bad-amount`
      )
      t.match((err as Error).message, why, `${JSON.stringify(input)}: ${(err as Error).message}`)
    }
  }
  t.equal(parseAmount('net', '18446744073709551615'), MAX_AMOUNT, '2^64 - 1 is the largest amount')
})

test('amount lists: zero where not allowed, repeats, unknown resources, malformed parts', async (t) => {
  t.throws(() => parseAmounts('cpu=0my'), { code: 'bad-amount', message: /more than zero/ })
  t.same(parseAmounts('cpu=0my', { allowZero: true }), { cpu: 0n })
  t.throws(() => parseAmounts('cpu=1my,cpu=2my'), {
    code: 'bad-amount',
    message: /cpu is given twice/
  })
  t.throws(() => parseAmounts('ram=1MB'), {
    code: 'bad-resource',
    message: /unknown resource "ram"/
  })
  t.throws(() => parseAmounts('cpu'), { code: 'bad-amount', message: /not resource=amount/ })
  t.throws(() => parseAmounts(''), { code: 'bad-amount', message: /empty/ })
  t.throws(() => parseAmounts('cpu=1my,'), { code: 'bad-amount' })
  t.throws(() => parseAmounts('cpu=1my, disk=1MB'), { code: 'bad-resource', message: /" disk"/ })
})

test('formatting is exact and round-trips', async (t) => {
  t.equal(formatAmount('cpu', 10n * MY), '10my')
  t.equal(formatAmount('cpu', MY / 2n), '0.5my')
  t.equal(formatAmount('cpu', 5000n), '5000MI')
  t.equal(formatAmount('cpu', 0n), '0MI')
  t.equal(formatAmount('disk', 10_000_000n), '10MB')
  t.equal(formatAmount('disk', 1500n), '1.5kB')
  t.equal(formatAmount('net', 999n), '999B')
  t.equal(formatAmount('net', 1_234_567_891n), '1234.567891MB', 'at most six decimals')
  // FORMAT.md's examples of the printing rule.
  t.equal(formatAmount('disk', 999_999n), '999.999kB', 'the largest unit not above the value')
  t.equal(formatAmount('disk', 1_234_567n), '1.234567MB')
  t.equal(formatAmount('cpu', 31_557n), '31557MI', 'not exact in my with six decimals')
  t.equal(
    formatAmounts({ cpu: 10n * MY, disk: 10_000_000n, net: 100_000_000n }),
    'cpu=10my,disk=10MB,net=100MB'
  )
  t.equal(formatAmounts({}), 'none')
  // Round trip over awkward values in every resource.
  const values = [
    0n,
    1n,
    7n,
    999n,
    1000n,
    1001n,
    123_456_789n,
    MY - 1n,
    MY,
    MY + 1n,
    (3n * MY) / 4n,
    MAX_AMOUNT,
    MAX_AMOUNT - 1n
  ]
  for (const r of RESOURCES) {
    for (const v of values) t.equal(parseAmount(r, formatAmount(r, v)), v, `${r} ${v}`)
  }
})

test('sums never overflow silently: past 2^64 - 1 they are refused', async (t) => {
  t.same(addAmounts({ cpu: 1n }, { cpu: 2n, disk: 3n }), { cpu: 3n, disk: 3n })
  t.same(addAmounts({ net: MAX_AMOUNT - 1n }, { net: 1n }), { net: MAX_AMOUNT })
  t.throws(() => addAmounts({ net: MAX_AMOUNT }, { net: 1n }), {
    code: 'bad-amount',
    message: /above 2\^64 - 1/
  })
})
