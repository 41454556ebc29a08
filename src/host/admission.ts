/**
 * Admission checks a host makes on a deploy request before it touches its log. The claims
 * themselves (known, settled, conserved along the path, not expired, held by the owner, issued by
 * this host, enough free) are judged by the ledger's own rules when the `admit` is appended
 * (FORMAT.md 10.10), in the same serialised step that reserves them; so a refused request reserves
 * nothing, and concurrent requests against one claim can never reserve more than it holds.
 */
import { Script } from 'node:vm'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { decodeDeployRequest } from '../ledger/codecs.js'
import { verifyDeployRequest } from '../ledger/sign.js'
import { blake2b256 } from '../crypto/hash.js'
import { equal, toHex } from '../core/bytes.js'
import type { DeployRequest } from '../ledger/records.js'

export interface DeployInput {
  /** The deploy request, encoded (as the owner signed it) or decoded. */
  request: Uint8Array | DeployRequest
  /** The owner's signature over it (namespace `deploy`). */
  signature: Uint8Array
  /** The guest's code: UTF-8 JavaScript whose BLAKE2b-256 is `request.codeHash`. */
  code: Uint8Array
}

export interface Admissible {
  request: DeployRequest
  source: string
}

/** The checks that need neither the ledger nor the sandbox; throws a QuidError with a stable code. */
export function checkDeploy(
  host: Uint8Array,
  input: DeployInput,
  maxCodeBytes: number
): Admissible {
  const request =
    input.request instanceof Uint8Array ? decodeDeployRequest(input.request) : input.request
  // Size first: a 10 MB bundle is refused before it is hashed or decoded.
  if (input.code.byteLength > maxCodeBytes || request.codeSize > maxCodeBytes) {
    throw new QuidError(
      ErrorCodes.CODE_TOO_LARGE,
      `code of ${Math.max(input.code.byteLength, request.codeSize)} bytes; this host takes at most ${maxCodeBytes}`
    )
  }
  if (!equal(request.host, host)) {
    throw new QuidError(
      ErrorCodes.WRONG_HOST,
      `the request names host ${toHex(request.host).slice(0, 12)}, not this one`
    )
  }
  if (
    !(input.signature instanceof Uint8Array) ||
    input.signature.byteLength !== 64 ||
    !verifyDeployRequest(request, input.signature)
  ) {
    throw new QuidError(
      ErrorCodes.BAD_SIGNATURE,
      "the owner's signature on the deploy request does not verify"
    )
  }
  if (
    input.code.byteLength !== request.codeSize ||
    !equal(blake2b256(input.code), request.codeHash)
  ) {
    throw new QuidError(
      ErrorCodes.BAD_CODE,
      'the code does not match the size and hash the owner signed'
    )
  }
  if (request.resources.cpu === 0n) {
    throw new QuidError(ErrorCodes.INSUFFICIENT, 'a guest needs some cpu credit to run at all')
  }
  let source: string
  try {
    source = new TextDecoder('utf-8', { fatal: true }).decode(input.code)
  } catch {
    throw new QuidError(ErrorCodes.BAD_CODE, 'the code is not UTF-8 text')
  }
  syntaxCheck(source)
  return { request, source }
}

/**
 * Refuses code that does not compile before anything is appended (docs/HOST.md, "Admission"): a
 * text file or a syntax error costs the owner nothing and leaves the logs as they were. The code
 * is only compiled here, as the guest's script will be (V8 reports syntax errors at compile
 * time), never run; at most `maxCodeBytes` of it, already checked.
 */
function syntaxCheck(source: string): void {
  try {
    new Script(source, { filename: 'guest.js' })
  } catch (err) {
    throw new QuidError(ErrorCodes.BAD_CODE, `the code does not compile: ${(err as Error).message}`)
  }
}

/** The logs a deploy asks the host to fetch: others' only, each once, at most MAX_FOLLOW of them. */
export function followable(self: Uint8Array, ids: Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>([toHex(self)])
  const out: Uint8Array[] = []
  for (const id of ids) {
    if (!(id instanceof Uint8Array) || id.byteLength !== 32) {
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        'a log to follow must be a 32-byte participant id'
      )
    }
    const key = toHex(id)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(id)
  }
  if (out.length > MAX_FOLLOW) {
    throw new QuidError(
      ErrorCodes.BAD_ARGUMENT,
      `a deploy may name at most ${MAX_FOLLOW} logs to follow`
    )
  }
  return out
}

const MAX_FOLLOW = 32
