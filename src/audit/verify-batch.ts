/**
 * The work of one verification job: for each entry, its Hypercore leaf hash and whether every
 * signature it carries verifies (docs/FORMAT.md section 8, the same checkSignatures as replay).
 * An entry that does not decode is marked 0: replay decodes it again and reports why.
 */
import { decodeEntry } from '../ledger/codecs.js'
import { checkSignatures } from '../ledger/sign.js'
import { leafHash } from './tree.js'
import type { SignedRecord } from '../ledger/records.js'

export interface VerifyJob {
  id: number
  /** The entries back to back; entry i is data[offsets[i] .. offsets[i + 1]). */
  data: ArrayBuffer
  offsets: number[]
  /** False: leaf hashes only (the signatures were verified by an earlier audit). */
  verify: boolean
  /** Per entry, 1: leaf hash only (the same bytes are verified elsewhere in this audit). */
  skip?: Uint8Array
}

export interface VerifyResult {
  id: number
  /** 32 bytes per entry: its Hypercore leaf hash. */
  hashes: ArrayBuffer
  /** 1 byte per entry: 1 when every signature verifies. */
  ok: ArrayBuffer
}

export function verifyBatch(job: VerifyJob): VerifyResult {
  const n = job.offsets.length - 1
  const hashes = new Uint8Array(32 * n)
  const ok = new Uint8Array(n)
  const data = new Uint8Array(job.data)
  for (let i = 0; i < n; i++) {
    const entry = data.subarray(job.offsets[i] as number, job.offsets[i + 1] as number)
    hashes.set(leafHash(entry), 32 * i)
    if (!job.verify || job.skip?.[i] === 1) continue
    let signed: SignedRecord
    try {
      signed = decodeEntry(entry)
    } catch {
      continue
    }
    ok[i] = checkSignatures(signed) === null ? 1 : 0
  }
  return { id: job.id, hashes: hashes.buffer, ok: ok.buffer }
}
