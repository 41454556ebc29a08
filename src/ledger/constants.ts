/** Defaults and limits in one place; anything time-related is overridable where it is used. */

/** Format version written first in every record. Decoders reject any other. */
export const RECORD_VERSION = 1

/** 1 mips-year = 10^6 instructions/s for one Julian year (365.25 days) = 31,557,600 MI. */
export const MI_PER_MIPS_YEAR = 31_557_600n

/** Amounts are encoded as uint64; the largest one is 2^64 - 1 base units. */
export const MAX_AMOUNT = (1n << 64n) - 1n

/** Records are small; anything larger is refused before it is parsed further. */
export const MAX_RECORD_BYTES = 4096

/** A record may be stamped at most this far ahead of the verifier's clock. */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000

/**
 * A co-signed record (agreement, issue, transfer) is stamped by its proposer and appended by each
 * party when it has both signatures, so it may trail the appender's latest entry by at most this.
 * Acceptors refuse proposals older than this (see docs/FORMAT.md, "Clock rules").
 */
export const MAX_COSIGN_LAG_MS = 10 * 60 * 1000

export const MAX_LEGS = 6
export const MAX_ADMIT_CLAIMS = 16
export const MAX_CODE_BYTES = 1024 * 1024
