/**
 * A guest's key-value store: one file per key in the guest's own directory, written by the sandbox
 * (host code) on the guest's behalf.
 *
 * Disk usage, what the guest pays for against its quota, is the bytes it stored: for each key, the
 * UTF-8 length of the key plus the length of the value (a string value counts its UTF-8 bytes).
 * A file holds one tag byte (`s` or `b`) then the value; file names are the key's UTF-8 bytes in
 * hex, so a guest chooses no path. Writes go to a temporary file renamed over the old one, so a
 * crash leaves the old value or the new one.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { HOST_DEFAULTS } from './constants.js'

export type Stored = { kind: 's'; value: string } | { kind: 'b'; value: Uint8Array }

export class StoreError extends Error {
  constructor(
    readonly reason: 'quota' | 'invalid',
    message: string
  ) {
    super(message)
  }
}

export class GuestStore {
  readonly dir: string
  readonly quota: number
  private readonly sizes = new Map<string, number>()
  private used = 0

  constructor(dir: string, quota: number) {
    this.dir = dir
    this.quota = quota
    mkdirSync(dir, { recursive: true })
    for (const name of readdirSync(dir)) {
      if (!/^[0-9a-f]+$/.test(name)) continue
      const key = Buffer.from(name, 'hex').toString('utf8')
      const size = readFileSync(join(dir, name)).byteLength - 1
      this.sizes.set(key, Buffer.byteLength(key) + size)
      this.used += Buffer.byteLength(key) + size
    }
  }

  /** Bytes stored now (keys and values). */
  get bytes(): number {
    return this.used
  }

  private file(key: string): string {
    const kb = Buffer.byteLength(key)
    if (kb === 0 || kb > HOST_DEFAULTS.maxKeyBytes) {
      throw new StoreError('invalid', `a key must be 1 to ${HOST_DEFAULTS.maxKeyBytes} UTF-8 bytes`)
    }
    return join(this.dir, Buffer.from(key, 'utf8').toString('hex'))
  }

  get(key: string): Stored | undefined {
    const path = this.file(key)
    if (!this.sizes.has(key)) return undefined
    const raw = readFileSync(path)
    return raw[0] === 0x73
      ? { kind: 's', value: raw.subarray(1).toString('utf8') }
      : { kind: 'b', value: new Uint8Array(raw.subarray(1)) }
  }

  /** Stores a value, or throws StoreError('quota') without writing when it would pass the quota. */
  put(key: string, value: Stored): void {
    const path = this.file(key)
    const body =
      value.kind === 's'
        ? Buffer.from(value.value, 'utf8')
        : Buffer.from(value.value.buffer, value.value.byteOffset, value.value.byteLength)
    if (body.byteLength > HOST_DEFAULTS.maxValueBytes) {
      throw new StoreError('invalid', `a value may be at most ${HOST_DEFAULTS.maxValueBytes} bytes`)
    }
    const size = Buffer.byteLength(key) + body.byteLength
    const next = this.used - (this.sizes.get(key) ?? 0) + size
    if (next > this.quota)
      throw new StoreError(
        'quota',
        `storing ${size} bytes would use ${next} of a ${this.quota}-byte quota`
      )
    const tmp = path + '.tmp'
    writeFileSync(tmp, Buffer.concat([Buffer.from(value.kind), body]))
    renameSync(tmp, path)
    this.sizes.set(key, size)
    this.used = next
  }

  del(key: string): boolean {
    const path = this.file(key)
    const size = this.sizes.get(key)
    if (size === undefined) return false
    rmSync(path, { force: true })
    this.sizes.delete(key)
    this.used -= size
    return true
  }

  keys(): string[] {
    return [...this.sizes.keys()].sort()
  }
}
