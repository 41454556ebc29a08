// The auditor's own Merkle code against a real Hypercore: same roots, tree hash and signed head.
import { test } from 'tap'
import Corestore from 'corestore'
import { tmp, seed } from '../helpers.js'
import {
  bareSignature,
  leafHash,
  rootIndexes,
  rootSpan,
  rootsFromLeaves,
  treeHash,
  verifyHead,
  logKeyOf
} from '../../src/audit/tree.js'
import { toHex } from '../../src/core/bytes.js'

test('roots, tree hash and head signature match hypercore 11 for lengths 1..40', async (t) => {
  const kp = seed(7)
  const store = new Corestore(await tmp(t))
  t.teardown(() => store.close())
  const core = store.get({
    keyPair: { publicKey: Buffer.from(kp.publicKey), secretKey: Buffer.from(kp.secretKey) }
  })
  await core.ready()
  t.equal(toHex(core.key), toHex(logKeyOf(kp.publicKey)), 'log key derived from the id')
  const blocks: Uint8Array[] = []
  for (let n = 1; n <= 40; n++) {
    const block = new Uint8Array(Buffer.from(`block ${n} `.repeat((n % 7) + 1)))
    blocks.push(block)
    await core.append(block)
    const roots = rootsFromLeaves(blocks.map((b) => ({ hash: leafHash(b), size: b.byteLength })))
    t.same(
      roots.map((r) => r.index),
      rootIndexes(n)
    )
    if (toHex(treeHash(roots)) !== toHex(await core.treeHash(n)))
      t.fail(`tree hash differs at length ${n}`)
    const signature = bareSignature(
      (core as unknown as { state: { signature: Buffer } }).state.signature
    ) as Uint8Array
    if (!verifyHead(kp.publicKey, roots, { length: n, fork: 0, signature }))
      t.fail(`head does not verify at ${n}`)
    if (verifyHead(kp.publicKey, roots, { length: n, fork: 1, signature }))
      t.fail('another fork must not verify')
  }
  t.same(rootSpan(7), [0, 8])
  t.same(rootSpan(3), [0, 4])
  t.same(rootSpan(17), [8, 10])
  t.same(rootSpan(20), [10, 11])
})
