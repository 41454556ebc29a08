/**
 * Whether a copy's entries are the participant's log: the tree rebuilt from the entries must have
 * the roots the participant signed. A copy is trusted only as far as this proof goes: entries that
 * are not bound to the signed head are not replayed (they could have been reordered or cut by
 * whoever handed the copy over), and the problem is reported with the place it sits.
 */
import { ErrorCodes } from '../core/errors.js'
import { equal, fromHex, toHex } from '../core/bytes.js'
import type { SignedHead } from '../ledger/logs.js'
import { rootSpan, rootsFromLeaves, treeHash, verifyHead, type TreeNode } from './tree.js'
import type { LogCopy } from './copies.js'
import type { AuditViolation } from './violation.js'

export interface Proven {
  /** Entries [0, authentic) are bound to the signed head. */
  authentic: number
  /** The tree rebuilt from all the copy's entries. */
  roots: TreeNode[]
  /** The signed head as portable evidence (hex), when it verified. */
  head: SignedHead | null
  problems: AuditViolation[]
}

/** Checks a copy's Hypercore binding from the leaf hash of each of its entries (32 bytes each). */
export function prove(copy: LogCopy, hashes: Uint8Array): Proven {
  const leaves = copy.entries.map((e, i) => ({
    hash: hashes.subarray(32 * i, 32 * i + 32),
    size: e.byteLength
  }))
  const roots = rootsFromLeaves(leaves)
  const problems: AuditViolation[] = []
  if (copy.entries.length === 0) return { authentic: 0, roots, head: null, problems }
  const where = { source: copy.source }
  if (!copy.head) {
    problems.push({
      code: ErrorCodes.BAD_SIGNATURE,
      message: `${copy.source}: no signed head for ${copy.entries.length} entries`,
      records: [],
      positions: [],
      where: { ...where, entries: [0, copy.entries.length] }
    })
    return { authentic: 0, roots, head: null, problems }
  }
  // The signature covers the stated roots (a file's) or the rebuilt ones (a replicated log's).
  const signedRoots = copy.roots ?? roots
  const signedOk = verifyHead(fromHex(copy.id, 32), signedRoots, copy.head)
  if (!signedOk) {
    problems.push({
      code: ErrorCodes.BAD_SIGNATURE,
      message: `${copy.source}: the head signature does not verify under ${copy.id.slice(0, 8)}'s key (length ${copy.head.length}, fork ${copy.head.fork})`,
      records: [],
      positions: [],
      culprit: undefined,
      where: { ...where, offset: copy.layout?.signature, field: 'signature' }
    })
  }
  // Entries up to the first root that differs are the signed ones, in the signed order.
  let authentic = copy.entries.length
  signedRoots.forEach((stated, i) => {
    const got = roots[i] as TreeNode
    if (got.index === stated.index && got.size === stated.size && equal(got.hash, stated.hash))
      return
    const [first, end] = rootSpan(stated.index)
    authentic = Math.min(authentic, first)
    problems.push({
      code: ErrorCodes.TREE_MISMATCH,
      message: `${copy.source}: entries ${first}..${end - 1} do not hash to the signed root ${i} (altered, reordered or cut)`,
      records: [],
      positions: [],
      where: {
        ...where,
        offset: copy.layout?.entries[first],
        field: `entries ${first}..${end - 1}`,
        entries: [first, end]
      }
    })
  })
  if (!signedOk) authentic = 0
  const head: SignedHead | null = signedOk
    ? {
        length: copy.head.length,
        fork: copy.head.fork,
        treeHash: toHex(treeHash(signedRoots)),
        signature: toHex(copy.head.signature)
      }
    : null
  return { authentic, roots, head, problems }
}
