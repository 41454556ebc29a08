/**
 * Limits per sending address: each address on the virtual network that sends to this agent (a
 * guest on another host, another agent's client) gets its own packet rate, and one that exceeds
 * it is cut off for a while — that address, not the agent that carried its packets. So a guest
 * that floods punishes itself, never its host or the host's other guests (docs/VNET.md, "Rules
 * every agent applies"). The table is bounded: past `maxSources` the least recently heard address
 * is forgotten, and its next packet starts it afresh.
 */
import { TokenBucket } from '../exchange/limits.js'

export interface SourceLimitOptions {
  /** Packets per second one sending address may send to this agent, and its burst. */
  packetsPerSec?: number
  packetBurst?: number
  /** How long an address that exceeded its rate is cut off (ms). */
  banMs?: number
  /** Addresses remembered at once. */
  maxSources?: number
  now?: () => number
}

interface Source {
  bucket: TokenBucket
  /** Cut off until this time (ms), or 0. */
  bannedUntil: number
}

export class SourceLimits {
  private readonly sources = new Map<string, Source>()
  private readonly rate: number
  private readonly burst: number
  private readonly banMs: number
  private readonly max: number
  private readonly now: () => number
  /** Packets dropped so far, over the rate or while cut off. */
  dropped = 0

  constructor(opts: SourceLimitOptions = {}) {
    this.rate = opts.packetsPerSec ?? 200
    this.burst = opts.packetBurst ?? 400
    this.banMs = opts.banMs ?? 60_000
    this.max = opts.maxSources ?? 4096
    this.now = opts.now ?? Date.now
  }

  /**
   * Whether a packet from `key` (an address key) may be acted on. The first packet past the rate
   * cuts the address off for `banMs`; every packet meanwhile is dropped.
   */
  admit(key: string): boolean {
    const t = this.now()
    let s = this.sources.get(key)
    if (s) {
      // Most recently heard last, so the first entry is the one to forget.
      this.sources.delete(key)
    } else {
      s = { bucket: new TokenBucket(this.rate, this.burst, this.now), bannedUntil: 0 }
      if (this.sources.size >= this.max)
        this.sources.delete(this.sources.keys().next().value as string)
    }
    this.sources.set(key, s)
    if (s.bannedUntil > t) {
      this.dropped++
      return false
    }
    if (s.bucket.take()) return true
    s.bannedUntil = t + this.banMs
    this.dropped++
    return false
  }

  /** Whether `key` is cut off now. */
  banned(key: string): boolean {
    return (this.sources.get(key)?.bannedUntil ?? 0) > this.now()
  }
}
