import { test } from 'tap'
import { randomBytes } from 'node:crypto'
import {
  formatAddress,
  guestAddress,
  clientAddress,
  parseAddress,
  sameAddress
} from '../../src/vnet/address.js'
import { ErrorCodes } from '../../src/core/errors.js'

const key = (): Uint8Array => new Uint8Array(randomBytes(32))

test('parseAddress remembers what it parsed, and hands out copies', async (t) => {
  const g = guestAddress(key(), key())
  const text = formatAddress(g)
  const one = parseAddress(text)
  const two = parseAddress(text)
  t.ok(sameAddress(one, g) && sameAddress(two, g), 'the same address both times')
  t.not(one.agent, two.agent, 'not the same bytes object')
  one.agent.fill(0)
  ;(one.guest as Uint8Array).fill(0)
  t.ok(sameAddress(parseAddress(text), g), "changing a caller's copy changes no later answer")
  const c = clientAddress(key())
  t.equal(parseAddress(formatAddress(c)).guest, null, 'a client address stays a client address')
})

test('parseAddress: bad text is refused every time, and nothing bad is remembered', async (t) => {
  const bad = formatAddress(guestAddress(key(), key())).replace(/^./, '!')
  for (let i = 0; i < 2; i++)
    t.throws(() => parseAddress(bad), { code: ErrorCodes.BAD_ARGUMENT }, `refused (${i + 1})`)
})

test('parseAddress: past the number it remembers, every address still parses right', async (t) => {
  const all = Array.from({ length: 5000 }, () => guestAddress(key(), key()))
  for (const a of all) parseAddress(formatAddress(a))
  t.ok(
    all.every((a) => sameAddress(parseAddress(formatAddress(a)), a)),
    'the first ones (forgotten) and the last ones (remembered) alike'
  )
})
