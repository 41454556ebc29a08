/**
 * Signing and verifying records: each signer signs `namespace(type) · id` (hash.ts), so a
 * signature is bound to the record's type as well as its content.
 */
import { encodeEntry, recordId, deployRequestId, decodeEntry } from './codecs.js'
import { signable } from '../crypto/hash.js'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { equal, toHex } from '../core/bytes.js'
import { signFast, verifySignature, type SignatureCheck } from '../crypto/verify.js'
import { signers, type DeployRequest, type LedgerRecord, type SignedRecord } from './records.js'
import type { KeyPair } from '../crypto/identity.js'

export function signId(kind: string, id: Uint8Array, keyPair: KeyPair): Uint8Array {
  return signFast(signable(kind, id), keyPair.secretKey)
}

/** One party's signature over a record; throws if that party is not one of its signers. */
export function signRecordAs(
  record: LedgerRecord,
  keyPair: KeyPair,
  id = recordId(record)
): Uint8Array {
  if (!signers(record).some((k) => equal(k, keyPair.publicKey))) {
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, `this key is not a signer of this ${record.type}`)
  }
  return signId(record.type, id, keyPair)
}

/** Assembles a verified entry from a record and its signatures (in signer order). */
export function assemble(record: LedgerRecord, signatures: Uint8Array[]): SignedRecord {
  const signed = decodeEntry(encodeEntry(record, signatures))
  const bad = checkSignatures(signed)
  if (bad) throw bad
  return signed
}

/** Convenience for tests and single-process use: every signer's key pair at hand. */
export function signRecord(record: LedgerRecord, keyPairs: KeyPair[]): SignedRecord {
  const id = recordId(record)
  const sigs = signers(record).map((k) => {
    const kp = keyPairs.find((p) => equal(p.publicKey, k))
    if (!kp)
      throw new QuidError(ErrorCodes.BAD_ARGUMENT, `missing key pair for a ${record.type} signer`)
    return signId(record.type, id, kp)
  })
  return assemble(record, sigs)
}

export function signDeployRequest(request: DeployRequest, owner: KeyPair): Uint8Array {
  if (!equal(request.owner, owner.publicKey)) {
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'only the owner signs its deploy request')
  }
  return signId('deploy', deployRequestId(request), owner)
}

export function verifyDeployRequest(request: DeployRequest, signature: Uint8Array): boolean {
  return verifySignature(signature, signable('deploy', deployRequestId(request)), request.owner)
}

/**
 * Every signature an entry carries, as checks: each signer's over `namespace(type) · id`, in
 * signer order, then for an admit the owner's over its deploy request. An entry is good when all
 * of them verify; checkSignatures and the auditor's batches (src/audit/verify-batch.ts) both
 * take them from here.
 */
export function signatureChecks(signed: SignedRecord): SignatureCheck[] {
  const keys = signers(signed.record)
  const msg = signable(signed.record.type, signed.id)
  const out: SignatureCheck[] = keys.map((pub, i) => ({
    sig: signed.signatures[i] as Uint8Array,
    msg,
    pub
  }))
  if (signed.record.type === 'admit') {
    const { request, ownerSignature } = signed.record
    out.push({
      sig: ownerSignature,
      msg: signable('deploy', deployRequestId(request)),
      pub: request.owner
    })
  }
  return out
}

/** Returns the first bad signature as a BAD_SIGNATURE error naming the signer, or null. */
export function checkSignatures(signed: SignedRecord): QuidError | null {
  const checks = signatureChecks(signed)
  const i = checks.findIndex((c) => !verifySignature(c.sig, c.msg, c.pub))
  return i < 0 ? null : signatureError(signed, i)
}

/** The BAD_SIGNATURE error for check `i` of signatureChecks(signed). */
export function signatureError(signed: SignedRecord, i: number): QuidError {
  const keys = signers(signed.record)
  if (i < keys.length) {
    return new QuidError(
      ErrorCodes.BAD_SIGNATURE,
      `signature ${i} of ${signed.record.type} does not verify`,
      { record: toHex(signed.id), signer: toHex(keys[i] as Uint8Array) }
    )
  }
  return new QuidError(
    ErrorCodes.BAD_SIGNATURE,
    `the owner's signature on the deploy request does not verify`,
    {
      record: toHex(signed.id),
      signer: toHex((signed.record as Extract<LedgerRecord, { type: 'admit' }>).request.owner)
    }
  )
}
