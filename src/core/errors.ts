/**
 * One error class for everything quid refuses, told apart by a stable `code`.
 *
 * Messages are for people and may change; `code`s are part of the API and the wire protocol
 * (peers send them back in typed error replies), so tests assert codes, never messages.
 */
export const ErrorCodes = {
  // Decoding (bytes from disk or from a peer)
  DECODE_TRUNCATED: 'decode-truncated',
  DECODE_TRAILING: 'decode-trailing-bytes',
  DECODE_VERSION: 'decode-unknown-version',
  DECODE_TYPE: 'decode-unknown-type',
  DECODE_OVERSIZE: 'decode-oversize',
  DECODE_NONCANONICAL: 'decode-non-canonical',
  DECODE_INVALID: 'decode-invalid-field',
  // Amounts and people's input
  BAD_AMOUNT: 'bad-amount',
  BAD_RESOURCE: 'bad-resource',
  BAD_ID: 'bad-id',
  AMBIGUOUS_ID: 'ambiguous-id',
  BAD_ARGUMENT: 'bad-argument',
  // Identity
  KEY_FILE_PERMISSIONS: 'key-file-permissions',
  KEY_FILE_INVALID: 'key-file-invalid',
  KEY_FILE_EXISTS: 'key-file-exists',
  // The agent and its control socket
  NO_AGENT: 'no-agent',
  OUTCOME_UNKNOWN: 'outcome-unknown',
  CONTROL_PROTOCOL: 'control-protocol',
  /** Nothing to act on: a log no peer had, a guest this participant never deployed. */
  NOT_FOUND: 'not-found',
  INTERNAL: 'internal',
  // Ledger storage
  LOCKED: 'locked',
  CLOSED: 'closed',
  STORAGE: 'storage',
  /** The store is a plain file copy of another directory's (docs/AGENT.md, moving a participant). */
  STORE_COPIED: 'store-copied',
  // Backup and restore (docs/FORMAT.md, the backup file)
  BACKUP_INVALID: 'backup-invalid',
  TARGET_NOT_EMPTY: 'target-not-empty',
  // Rules (shared by the ledger's own appends, replay, and the auditor)
  BAD_SIGNATURE: 'bad-signature',
  WRONG_LOG: 'wrong-log',
  DUPLICATE: 'duplicate',
  CLOCK_REGRESS: 'clock-regress',
  CLOCK_FUTURE: 'clock-future',
  NO_CAPACITY: 'no-capacity',
  OVER_CAPACITY: 'over-capacity',
  COUNTERPARTY_NO_CAPACITY: 'counterparty-no-capacity',
  UNKNOWN_CLAIM: 'unknown-claim',
  NOT_HOLDER: 'not-holder',
  NOT_ISSUER: 'not-issuer',
  NOT_SETTLED: 'not-settled',
  OVERSPENT: 'overspent',
  INSUFFICIENT: 'insufficient',
  EXPIRED: 'expired',
  UNKNOWN_GUEST: 'unknown-guest',
  GUEST_ENDED: 'guest-ended',
  DUPLICATE_GUEST: 'duplicate-guest',
  OVER_USAGE: 'over-usage',
  USAGE_REGRESS: 'usage-regress',
  BAD_CHECKPOINT: 'bad-checkpoint',
  FORK: 'fork',
  FROZEN: 'frozen',
  // Audit (docs/AUDIT.md)
  UNSETTLED: 'unsettled',
  EXPORT_INVALID: 'export-invalid',
  TREE_MISMATCH: 'tree-mismatch',
  /** `--cache FILE` names a file that is not a quid audit cache (it is left untouched). */
  CACHE_INVALID: 'cache-invalid',
  // Exchange (network protocol between agents; docs/PROTOCOL.md)
  PROTOCOL: 'protocol-violation',
  AUTH_FAILED: 'auth-failed',
  REFUSED: 'refused',
  UNPAID: 'unpaid',
  PAYMENT_USED: 'payment-used',
  TIMEOUT: 'timeout',
  CANCELLED: 'cancelled',
  BANNED: 'banned',
  RATE_LIMITED: 'rate-limited',
  UNREACHABLE: 'unreachable',
  DISCONNECTED: 'disconnected',
  // Host (admission and guests; docs/HOST.md)
  CODE_TOO_LARGE: 'code-too-large',
  BAD_CODE: 'bad-code',
  HOST_FULL: 'host-full',
  WRONG_HOST: 'wrong-host',
  GUEST_EVICTED: 'guest-evicted'
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

export class QuidError extends Error {
  readonly code: ErrorCode
  /** Machine-readable context: record ids (hex), log positions, field names. */
  readonly details: Readonly<Record<string, unknown>>

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message)
    this.name = 'QuidError'
    this.code = code
    this.details = details
  }

  toJSON(): { code: ErrorCode; message: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, details: this.details }
  }
}

export function isQuidError(err: unknown, code?: ErrorCode): err is QuidError {
  return err instanceof QuidError && (code === undefined || err.code === code)
}
