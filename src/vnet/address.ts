/**
 * Addresses on quid's virtual network.
 *
 * Every address names the agent that holds it, so a packet can be routed by looking at its
 * destination alone: a client is reached at its participant id, a guest at its guest id on the
 * host that runs it. Text form, like mail: `<participant z32>` for a client and
 * `<guest z32>@<host z32>` for a guest.
 */
import z32 from 'z32'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { equal, toHex } from '../core/bytes.js'
import { parseId } from '../crypto/identity.js'
import { remember } from '../core/remember.js'

export interface Address {
  /** The participant whose agent holds the address. */
  readonly agent: Uint8Array
  /** The guest on that agent's host; null for the agent's own client. */
  readonly guest: Uint8Array | null
}

export function clientAddress(agent: Uint8Array): Address {
  return { agent, guest: null }
}

export function guestAddress(host: Uint8Array, guest: Uint8Array): Address {
  return { agent: host, guest }
}

// Spelling an address encodes one or two ids in z-base-32 (about 1.6 µs); a host spells the sender
// of every packet it delivers to a guest, mostly the same few senders, so recent ones are kept.
const FORMATTED_MAX = 4096
const formatted = new Map<string, string>()

export function formatAddress(a: Address): string {
  return remember(formatted, FORMATTED_MAX, addressKey(a), () => formatFresh(a))
}

function formatFresh(a: Address): string {
  const agent = z32.encode(a.agent)
  return a.guest ? `${z32.encode(a.guest)}@${agent}` : agent
}

// Parsing a guest address decodes and re-encodes two z-base-32 ids (about 4 µs); a packet from a
// guest is parsed twice on the way out, so the addresses seen lately are remembered. Only text that
// parsed is kept, and callers get their own copies of the bytes.
const PARSED_MAX = 4096
const parsed = new Map<string, Address>()

export function parseAddress(text: string): Address {
  const a = remember(parsed, PARSED_MAX, text, () => parseFresh(text))
  return { agent: a.agent.slice(), guest: a.guest?.slice() ?? null }
}

function parseFresh(text: string): Address {
  if (typeof text !== 'string' || text.length === 0) {
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, 'an address is empty')
  }
  const at = text.indexOf('@')
  try {
    if (at === -1) return clientAddress(parseId(text, 'address'))
    if (text.indexOf('@', at + 1) !== -1) throw new Error('more than one @')
    return guestAddress(
      parseId(text.slice(at + 1), 'host in the address'),
      parseId(text.slice(0, at), 'guest in the address')
    )
  } catch (err) {
    const why = err instanceof QuidError ? err.message : (err as Error).message
    throw new QuidError(
      ErrorCodes.BAD_ARGUMENT,
      `not an address: ${JSON.stringify(text.slice(0, 120))} (${why})`
    )
  }
}

export function sameAddress(a: Address, b: Address): boolean {
  if (!equal(a.agent, b.agent)) return false
  if (a.guest === null || b.guest === null) return a.guest === b.guest
  return equal(a.guest, b.guest)
}

/** A map key for an address. */
export function addressKey(a: Address): string {
  return a.guest ? `${toHex(a.agent)}/${toHex(a.guest)}` : toHex(a.agent)
}
