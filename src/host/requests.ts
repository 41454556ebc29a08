/**
 * What an owner signs to stop its guest early: Ed25519 over `namespace("stop") · guest id`
 * (the same `signable` layout as every quid signature, docs/FORMAT.md section 6).
 */
import { signable } from '../crypto/hash.js'
import { signId } from '../ledger/sign.js'
import { verifySignature } from '../crypto/verify.js'
import { fromHex } from '../core/bytes.js'
import type { KeyPair } from '../crypto/identity.js'

export function signStop(guest: string, owner: KeyPair): Uint8Array {
  return signId('stop', fromHex(guest, 32, 'guest id'), owner)
}

export function verifyStop(guest: string, owner: string, signature: Uint8Array): boolean {
  return (
    signature instanceof Uint8Array &&
    signature.byteLength === 64 &&
    verifySignature(
      signature,
      signable('stop', fromHex(guest, 32, 'guest id')),
      fromHex(owner, 32, 'owner')
    )
  )
}
