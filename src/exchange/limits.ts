/**
 * Small bounded bookkeeping for misbehaving peers: a token bucket per peer, and a ban list with
 * expiry whose size is capped (a key-spraying attacker must not grow it without bound).
 */

/** A token bucket: `rate` tokens per second, at most `burst` saved up. */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now
  ) {
    this.tokens = burst
    this.last = now()
  }

  /** Takes `n` tokens; false (and takes none) when there are not enough. */
  take(n = 1): boolean {
    const t = this.now()
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.rate) / 1000)
    this.last = t
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }
}

export interface Ban {
  until: number
  reason: string
}

/** Keys (hex Noise keys or participant ids) banned until a time; the oldest ban goes first. */
export class BanList {
  private readonly bans = new Map<string, Ban>()

  constructor(
    private readonly max: number,
    private readonly now: () => number = Date.now
  ) {}

  add(key: string, ms: number, reason: string): void {
    this.bans.delete(key)
    this.bans.set(key, { until: this.now() + ms, reason })
    while (this.bans.size > this.max) {
      const oldest = this.bans.keys().next().value as string
      this.bans.delete(oldest)
    }
  }

  get(key: string): Ban | null {
    const ban = this.bans.get(key)
    if (!ban) return null
    if (ban.until <= this.now()) {
      this.bans.delete(key)
      return null
    }
    return ban
  }

  has(key: string): boolean {
    return this.get(key) !== null
  }

  get size(): number {
    return this.bans.size
  }
}
