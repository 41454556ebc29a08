/**
 * How a ledger reads other participants' logs: one small interface, so that where the bytes come
 * from (a Corestore replicated in-process, the swarm, an exported file) is not the ledger's concern.
 */
import Hypercore from 'hypercore'
import type Corestore from 'corestore'
import { toHex } from '../core/bytes.js'
import { isSystemError } from '../core/settle.js'

/** A signed head: the author's signature over its log's Merkle root at `length` (and `fork`). */
export interface SignedHead {
  length: number
  fork: number
  /** Hex Merkle tree hash at `length`; null when only the upgrade proof's nodes are at hand. */
  treeHash: string | null
  signature: string
  /** For a head taken from a conflicting proof: the proof's tree nodes (index, size, hash hex). */
  nodes?: Array<{ index: number; size: number; hash: string }>
}

/**
 * Brings `log` up to date with the peers that answer; false when none could, which is no failure
 * (what the log holds is then what there is). A request cancelled or timed out, or a session
 * closed under it, means just that; any other failure (storage) is thrown.
 */
export async function updateFromPeers(log: ParticipantLog): Promise<boolean> {
  try {
    return await log.update()
  } catch (err) {
    if (isSystemError(err, 'REQUEST_CANCELLED', 'REQUEST_TIMEOUT', 'SESSION_CLOSED')) return false
    throw err
  }
}

export interface ParticipantLog {
  /** Hex id of the participant whose log this is. */
  readonly id: string
  readonly length: number
  readonly fork: number
  ready(): Promise<void>
  /** The entry at `index`; waits for replication up to the source's timeout. */
  get(index: number): Promise<Uint8Array>
  /** Brings `length` up to date with what connected peers have; resolves false if nothing new. */
  update(): Promise<boolean>
  /** The author's latest signed head, if the source has one. */
  head(): Promise<SignedHead | null>
  on(event: 'append', fn: () => void): void
  on(event: 'truncate', fn: (length: number, fork: number) => void): void
  /** Two signed histories were seen; `head` is the one that conflicts with what is held. */
  on(event: 'conflict', fn: (length: number, fork: number, head: SignedHead | null) => void): void
  close(): Promise<void>
}

export interface LogSource {
  open(id: Uint8Array): ParticipantLog
}

/** The Hypercore key of a participant's log, derived from its id (a single-signer manifest). */
export function logKey(id: Uint8Array): Uint8Array {
  return Hypercore.key(Buffer.from(id))
}

/** Logs of others held in a Corestore that replicates with theirs (`store.replicate`). */
export class CorestoreLogs implements LogSource {
  constructor(
    private readonly store: Corestore,
    private readonly opts: { timeout?: number } = {}
  ) {}

  open(id: Uint8Array): ParticipantLog {
    const core = this.store.get({ key: logKey(id) })
    return new HypercoreLog(toHex(id), core, this.opts.timeout ?? 10_000)
  }
}

/** The part of Hypercore's conflict proof that is kept as evidence. */
interface ConflictProof {
  upgrade?: {
    signature?: Uint8Array
    nodes?: Array<{ index: number; size: number; hash: Uint8Array }>
  }
}

class HypercoreLog implements ParticipantLog {
  constructor(
    readonly id: string,
    private readonly core: Hypercore,
    private readonly timeout: number
  ) {}

  get length(): number {
    return this.core.length
  }

  get fork(): number {
    return this.core.fork
  }

  ready(): Promise<void> {
    return this.core.ready()
  }

  async get(index: number): Promise<Uint8Array> {
    const block = await this.core.get(index, { timeout: this.timeout })
    if (block === null) throw new Error(`entry ${index} of ${this.id.slice(0, 8)} is not available`)
    return block
  }

  async update(): Promise<boolean> {
    return this.core.update({ wait: true })
  }

  async head(): Promise<SignedHead | null> {
    // Hypercore keeps the latest tree signature in its session state; it is the author's word on
    // the whole log up to `length`, and the portable half of any fork proof.
    const state = (this.core as unknown as { state?: { signature?: Buffer | null } }).state
    const sig = state?.signature
    if (!sig || this.core.length === 0) return null
    return {
      length: this.core.length,
      fork: this.core.fork,
      treeHash: toHex(await this.core.treeHash(this.core.length)),
      signature: toHex(sig)
    }
  }

  on(event: 'append' | 'truncate' | 'conflict', fn: (...args: never[]) => void): void {
    if (event !== 'conflict') {
      this.core.on(event, fn as (...args: unknown[]) => void)
      return
    }
    this.core.on('conflict', (length: number, fork: number, proof?: ConflictProof) => {
      const up = proof?.upgrade
      const head: SignedHead | null = up?.signature
        ? {
            length,
            fork,
            treeHash: null,
            signature: toHex(up.signature),
            nodes: (up.nodes ?? []).map((n) => ({
              index: n.index,
              size: n.size,
              hash: toHex(n.hash)
            }))
          }
        : null
      ;(fn as (length: number, fork: number, head: SignedHead | null) => void)(length, fork, head)
    })
  }

  close(): Promise<void> {
    return this.core.close()
  }
}
