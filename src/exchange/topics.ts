/**
 * Hyperswarm topics: where agents meet. A market topic is derived from a market name, so anyone
 * who knows the name finds the others; a participant topic from an id, so anyone who knows an id
 * reaches that participant's agent. Both are hashed under quid namespaces so they never collide
 * with another application's topics nor with a Hypercore discovery key.
 */
import { blake2b256, namespace } from '../crypto/hash.js'
import { DEFAULT_MARKET } from './constants.js'

const encoder = new TextEncoder()

/** BLAKE2b-256(namespace('market') · UTF-8 name). */
export function marketTopic(name: string = DEFAULT_MARKET): Uint8Array {
  if (typeof name !== 'string' || name.length === 0)
    throw new TypeError('market name must be a non-empty string')
  return blake2b256(Buffer.concat([namespace('market'), encoder.encode(name)]))
}

/** BLAKE2b-256(namespace('participant') · id). */
export function participantTopic(id: Uint8Array): Uint8Array {
  if (id.byteLength !== 32) throw new TypeError('participant id must be 32 bytes')
  return blake2b256(Buffer.concat([namespace('participant'), id]))
}
