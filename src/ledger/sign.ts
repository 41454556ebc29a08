/**
 * Signing and verifying records: each signer signs `namespace(type) · id` (hash.ts), so a
 * signature is bound to the record's type as well as its content.
 */
import { encodeEntry, recordId, deployRequestId, decodeEntry } from './codecs.js'
import { signable } from '../crypto/hash.js'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { equal, toHex } from '../core/bytes.js'
import { signFast, verifySignature } from '../crypto/verify.js'
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

/** Returns the first bad signature as a BAD_SIGNATURE error naming the signer, or null. */
export function checkSignatures(signed: SignedRecord): QuidError | null {
  const keys = signers(signed.record)
  const msg = signable(signed.record.type, signed.id)
  for (let i = 0; i < keys.length; i++) {
    if (!verifySignature(signed.signatures[i] as Uint8Array, msg, keys[i] as Uint8Array)) {
      return new QuidError(
        ErrorCodes.BAD_SIGNATURE,
        `signature ${i} of ${signed.record.type} does not verify`,
        {
          record: toHex(signed.id),
          signer: toHex(keys[i] as Uint8Array)
        }
      )
    }
  }
  if (
    signed.record.type === 'admit' &&
    !verifyDeployRequest(signed.record.request, signed.record.ownerSignature)
  ) {
    return new QuidError(
      ErrorCodes.BAD_SIGNATURE,
      `the owner's signature on the deploy request does not verify`,
      {
        record: toHex(signed.id),
        signer: toHex(signed.record.request.owner)
      }
    )
  }
  return null
}
