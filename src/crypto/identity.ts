/**
 * A participant is an Ed25519 key pair; its public key is its id.
 *
 * The secret key is kept in libsodium's 64-byte form (seed · public key) because that is what
 * Hypercore signs its tree with; the key file stores only the 32-byte seed.
 */
import { randomBytes } from 'node:crypto'
import { open, readFile, stat, writeFile, rename, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { publicKeyOf } from './verify.js'
import z32 from 'z32'
import { QuidError, ErrorCodes } from '../core/errors.js'
import { equal, fromHex, toHex } from '../core/bytes.js'

export interface KeyPair {
  readonly publicKey: Uint8Array
  /** seed (32 bytes) · publicKey (32 bytes). Never logged, never sent. */
  readonly secretKey: Uint8Array
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.byteLength !== 32) throw new TypeError('seed must be 32 bytes')
  const publicKey = publicKeyOf(seed)
  const secretKey = new Uint8Array(64)
  secretKey.set(seed, 0)
  secretKey.set(publicKey, 32)
  return { publicKey, secretKey }
}

export function generateKeyPair(): KeyPair {
  return keyPairFromSeed(new Uint8Array(randomBytes(32)))
}

/** Ids are shown as 64 hex characters by default; z-base-32 (52 characters) is accepted too. */
export function formatId(id: Uint8Array, encoding: 'hex' | 'z32' = 'hex'): string {
  return encoding === 'hex' ? toHex(id) : z32.encode(id)
}

export function parseId(text: string, what = 'participant id'): Uint8Array {
  if (text.length === 52) {
    try {
      const b = z32.decode(text)
      // The last character carries 4 unused bits: only the spelling that re-encodes is an id.
      if (b.byteLength === 32 && z32.encode(b) === text) return new Uint8Array(b)
    } catch {
      // fall through to the error below, which names both accepted forms
    }
    throw new QuidError(ErrorCodes.BAD_ID, `${what} is not valid z-base-32`, { what })
  }
  return fromHex(text, 32, what)
}

const KEY_FILE_VERSION = 1

interface KeyFile {
  version: number
  publicKey: string
  seed: string
}

/**
 * Writes a new key file readable by its owner only (mode 0600). Refuses to replace an existing
 * one: losing a participant's key loses its log and everything owed to it.
 */
export async function writeKeyFile(path: string, keyPair: KeyPair): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const body: KeyFile = {
    version: KEY_FILE_VERSION,
    publicKey: toHex(keyPair.publicKey),
    seed: toHex(keyPair.secretKey.subarray(0, 32))
  }
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(body) + '\n', { mode: 0o600, flag: 'wx' })
  const fh = await open(tmp, 'r')
  await fh.sync()
  await fh.close()
  try {
    await stat(path)
    throw new QuidError(
      ErrorCodes.KEY_FILE_EXISTS,
      `${path} already exists; refusing to overwrite a key`,
      {
        path
      }
    )
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      await rmQuiet(tmp)
      throw err
    }
  }
  await rename(tmp, path)
}

async function rmQuiet(path: string): Promise<void> {
  const { rm } = await import('node:fs/promises')
  await rm(path, { force: true })
}

/** Reads a key file, refusing one that anyone but its owner can read or write. */
export async function readKeyFile(path: string): Promise<KeyPair> {
  const st = await stat(path)
  if ((st.mode & 0o077) !== 0) {
    throw new QuidError(
      ErrorCodes.KEY_FILE_PERMISSIONS,
      `${path} has mode ${(st.mode & 0o777).toString(8)}; others may read it. Run: chmod 600 ${path}`,
      { path, mode: st.mode & 0o777 }
    )
  }
  let parsed: KeyFile
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as KeyFile
  } catch {
    throw new QuidError(ErrorCodes.KEY_FILE_INVALID, `${path} is not a quid key file`, { path })
  }
  if (parsed.version !== KEY_FILE_VERSION || typeof parsed.seed !== 'string') {
    throw new QuidError(ErrorCodes.KEY_FILE_INVALID, `${path}: unknown key file version`, { path })
  }
  const hex64 = /^[0-9a-f]{64}$/
  if (
    !hex64.test(parsed.seed) ||
    typeof parsed.publicKey !== 'string' ||
    !hex64.test(parsed.publicKey)
  ) {
    throw new QuidError(
      ErrorCodes.KEY_FILE_INVALID,
      `${path}: seed and publicKey must be 64 lowercase hex characters`,
      { path }
    )
  }
  const kp = keyPairFromSeed(fromHex(parsed.seed, 32, 'seed'))
  if (!equal(fromHex(parsed.publicKey, 32, 'publicKey'), kp.publicKey)) {
    throw new QuidError(
      ErrorCodes.KEY_FILE_INVALID,
      `${path}: public key does not match the seed`,
      { path }
    )
  }
  return kp
}
