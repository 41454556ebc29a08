/**
 * Exporting a log: its entries with the participant's signed head over them (export-format.ts),
 * for an auditor who cannot or will not replicate it over the swarm.
 */
import type Hypercore from 'hypercore'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { equal } from '../core/bytes.js'
import { bareSignature, leafHash, rootsFromLeaves, treeHash, verifyHead } from './tree.js'
import type { ExportedLog } from './export-format.js'

/**
 * Reads a participant's core up to its signed length. Refuses (bad-signature) a core whose stored
 * head does not verify: an export must be checkable by anyone, so it is checked before it leaves.
 */
export async function exportCore(core: Hypercore, id: Uint8Array): Promise<ExportedLog> {
  await core.ready()
  const state = (core as unknown as { state?: { signature?: Uint8Array | null } }).state
  const length = core.signedLength
  const fork = core.fork
  if (length === 0)
    return { id, length: 0, fork, signature: new Uint8Array(64), roots: [], entries: [] }
  const signature = state?.signature ? bareSignature(state.signature) : null
  if (!signature)
    throw new QuidError(
      ErrorCodes.BAD_SIGNATURE,
      'the log has no single-signer tree signature to export'
    )
  const entries: Uint8Array[] = []
  for (let i = 0; i < length; i++) {
    const block = await core.get(i, { wait: false })
    if (!block) throw new QuidError(ErrorCodes.STORAGE, `entry ${i} of the log is not stored here`)
    entries.push(new Uint8Array(block))
  }
  const roots = rootsFromLeaves(entries.map((e) => ({ hash: leafHash(e), size: e.byteLength })))
  if (!equal(treeHash(roots), await core.treeHash(length))) {
    throw new QuidError(ErrorCodes.STORAGE, 'the stored entries do not match the stored tree')
  }
  const copy = new Uint8Array(signature)
  if (!verifyHead(id, roots, { length, fork, signature: copy })) {
    throw new QuidError(
      ErrorCodes.BAD_SIGNATURE,
      "the stored head is not this participant's signature"
    )
  }
  return { id, length, fork, signature: copy, roots, entries }
}
