/**
 * Hypercore's Merkle tree, recomputed from a log's entries, and its signed head.
 *
 * This is how an auditor checks, without trusting whoever handed it the entries, that they are
 * exactly the first `length` blocks of a participant's log: it rebuilds the tree roots from the
 * entries, hashes them into the tree hash, and checks the participant's Ed25519 signature over
 * Hypercore's tree signable. The layout is hypercore 11.37.1's (lib/caps.js treeSignable,
 * hypercore-crypto data/parent/tree, flat-tree fullRoots), restated here so that the auditor
 * depends on no private module; test/audit/tree.test.ts holds it to a real core's treeHash().
 */
import Hypercore from 'hypercore'
import { blake2b256 } from '../crypto/hash.js'
import { verifySignature } from '../crypto/verify.js'

/** A node of the tree: flat-tree index, byte size of the blocks it spans, hash. */
export interface TreeNode {
  index: number
  size: number
  hash: Uint8Array
}

/** What the author signs: the tree at `length` after `fork` rewrites. */
export interface Head {
  length: number
  fork: number
  signature: Uint8Array
}

const LEAF_TYPE = 0
const PARENT_TYPE = 1
const ROOT_TYPE = 2

// BLAKE2b-256("hypercore") · 0x00, hashed: the first of Hypercore's namespaces (TREE).
const TREE_NS = blake2b256(Buffer.concat([blake2b256(Buffer.from('hypercore')), Buffer.from([0])]))

function u64(view: DataView, offset: number, n: number): void {
  view.setBigUint64(offset, BigInt(n), true)
}

/** BLAKE2b-256(0x00 · u64(size) · block): the hash of leaf (block) `index`. */
export function leafHash(block: Uint8Array): Uint8Array {
  const buf = new Uint8Array(9 + block.byteLength)
  buf[0] = LEAF_TYPE
  u64(new DataView(buf.buffer), 1, block.byteLength)
  buf.set(block, 9)
  return blake2b256(buf)
}

/** BLAKE2b-256(0x01 · u64(size a + size b) · hash a · hash b), a the left child. */
export function parentHash(a: TreeNode, b: TreeNode): Uint8Array {
  const buf = new Uint8Array(73)
  buf[0] = PARENT_TYPE
  u64(new DataView(buf.buffer), 1, a.size + b.size)
  buf.set(a.hash, 9)
  buf.set(b.hash, 41)
  return blake2b256(buf)
}

/** BLAKE2b-256(0x02 · (hash · u64(index) · u64(size)) per root): what the head signs. */
export function treeHash(roots: TreeNode[]): Uint8Array {
  const buf = new Uint8Array(1 + 48 * roots.length)
  const view = new DataView(buf.buffer)
  buf[0] = ROOT_TYPE
  roots.forEach((r, i) => {
    buf.set(r.hash, 1 + 48 * i)
    u64(view, 33 + 48 * i, r.index)
    u64(view, 41 + 48 * i, r.size)
  })
  return blake2b256(buf)
}

/** flat-tree's fullRoots(2 · length): the root indexes of a tree of `length` leaves, left first. */
export function rootIndexes(length: number): number[] {
  const out: number[] = []
  let offset = 0
  let left = length
  while (left > 0) {
    // The largest power of two that fits is the next full subtree.
    let span = 1
    while (span * 2 <= left) span *= 2
    out.push(2 * offset + span - 1)
    offset += span
    left -= span
  }
  return out
}

/** The leaves a root spans, as [first, end) block positions. */
export function rootSpan(index: number): [number, number] {
  // A node at depth d has index = (2·k + 1)·2^d − 1; it spans 2^d leaves from k·2^d.
  let depth = 0
  while (((index + 1) / 2 ** depth) % 2 === 0) depth++
  const width = 2 ** depth
  const first = (index + 1 - width) / 2
  return [first, first + width]
}

/** The roots of the tree over these leaves (hash and byte size of each block, in log order). */
export function rootsFromLeaves(leaves: Array<{ hash: Uint8Array; size: number }>): TreeNode[] {
  const roots: TreeNode[] = []
  let start = 0
  for (const index of rootIndexes(leaves.length)) {
    const [first, end] = rootSpan(index)
    let level: TreeNode[] = []
    for (let i = first; i < end; i++) {
      const leaf = leaves[i] as { hash: Uint8Array; size: number }
      level.push({ index: 2 * i, size: leaf.size, hash: leaf.hash })
    }
    while (level.length > 1) {
      const up: TreeNode[] = []
      for (let i = 0; i < level.length; i += 2) {
        const a = level[i] as TreeNode
        const b = level[i + 1] as TreeNode
        up.push({ index: (a.index + b.index) / 2, size: a.size + b.size, hash: parentHash(a, b) })
      }
      level = up
    }
    roots.push(level[0] as TreeNode)
    start = end
  }
  if (start !== leaves.length) throw new Error('roots do not cover the leaves')
  return roots
}

/** Hypercore's tree signable: TREE namespace · log key · tree hash · u64 length · u64 fork. */
export function treeSignable(
  logKey: Uint8Array,
  hash: Uint8Array,
  length: number,
  fork: number
): Uint8Array {
  const buf = new Uint8Array(112)
  const view = new DataView(buf.buffer)
  buf.set(TREE_NS, 0)
  buf.set(logKey, 32)
  buf.set(hash, 64)
  u64(view, 96, length)
  u64(view, 104, fork)
  return buf
}

/**
 * The bare Ed25519 signature inside Hypercore's stored tree signature. A version-1 manifest wraps
 * even a single signer's signature as a multisig: `01` (one proof) · `00` (signer 0) · signature ·
 * `00` (no patch) · `00` (no patch nodes), 68 bytes. Returns null for any other shape.
 */
export function bareSignature(stored: Uint8Array): Uint8Array | null {
  if (stored.byteLength === 64) return stored
  if (stored.byteLength !== 68) return null
  if (stored[0] !== 1 || stored[1] !== 0 || stored[66] !== 0 || stored[67] !== 0) return null
  return stored.subarray(2, 66)
}

/** The log key of a participant id (Hypercore's single-signer manifest hash). */
export function logKeyOf(id: Uint8Array): Uint8Array {
  return new Uint8Array(Hypercore.key(Buffer.from(id)))
}

/** Whether `head.signature` is the participant's signature over the tree with these roots. */
export function verifyHead(
  id: Uint8Array,
  roots: TreeNode[],
  head: Head,
  key = logKeyOf(id)
): boolean {
  if (head.length === 0) return false
  return verifySignature(
    head.signature,
    treeSignable(key, treeHash(roots), head.length, head.fork),
    id
  )
}
