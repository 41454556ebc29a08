/**
 * The work of one verification job: for each entry, its Hypercore leaf hash and whether every
 * signature it carries verifies (docs/FORMAT.md section 8, the same checkSignatures as replay).
 * An entry that does not decode is marked 0: replay decodes it again and reports why.
 */
import { decodeEntry } from '../ledger/codecs.js'
import { signatureChecks } from '../ledger/sign.js'
import { verifyMany, type SignatureCheck } from '../crypto/verify.js'
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
  // Every signature of the job is checked in one call, in native batches (verifyMany); entry i
  // owns checks [first[i], first[i + 1]).
  const checks: SignatureCheck[] = []
  const first = new Int32Array(n + 1).fill(-1)
  for (let i = 0; i < n; i++) {
    const entry = data.subarray(job.offsets[i] as number, job.offsets[i + 1] as number)
    hashes.set(leafHash(entry), 32 * i)
    first[i] = checks.length
    if (!job.verify || job.skip?.[i] === 1) continue
    let signed: SignedRecord
    try {
      signed = decodeEntry(entry)
    } catch {
      continue
    }
    checks.push(...signatureChecks(signed))
    // An entry with no checks would read as verified: mark those that have some.
    ok[i] = 1
  }
  first[n] = checks.length
  const verdicts = verifyMany(checks)
  for (let i = 0; i < n; i++) {
    if (ok[i] !== 1) continue
    for (let c = first[i] as number; c < (first[i + 1] as number); c++) {
      if (!verdicts[c]) {
        ok[i] = 0
        break
      }
    }
  }
  return { id: job.id, hashes: hashes.buffer, ok: ok.buffer }
}
