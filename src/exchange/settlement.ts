/**
 * What replication lets a participant see: whether an agreement is settled (in both parties'
 * logs), and whether a claim presented to it is good, after fetching the logs on its path.
 */
import { equal, fromHex, toHex } from '../core/bytes.js'
import type { Ledger } from '../ledger/ledger.js'
import type { ClaimStatus } from '../ledger/claims.js'
import { sleep, withTimeout } from './wait.js'
import { settled } from '../core/settle.js'

/** Is this agreement in both parties' logs, as far as the ledger has seen? */
export function isSettled(ledger: Ledger, id: string): boolean {
  return ledger.isSettled(id)
}

/**
 * Waits until `seen()`, replicating the log `log()` names between looks; false if not within
 * `ms`, or once `log()` names none. A failed or slow replication is not the answer: the next look is.
 */
async function until(
  ledger: Ledger,
  seen: () => boolean,
  log: () => Uint8Array | null,
  ms: number
): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!seen()) {
    const key = log()
    const left = deadline - Date.now()
    if (!key || left <= 0) return seen()
    // A sync that fails or times out is tried again until the deadline; the caller reports that.
    await settled(withTimeout(ledger.follow(key), left, 'sync'))
    if (!seen()) await sleep(Math.min(50, Math.max(0, deadline - Date.now())))
  }
  return true
}

/**
 * Waits until an agreement in the ledger is settled, replicating the counterparty's log; false if
 * it is not within `ms` (or the ledger does not know the agreement).
 */
export function waitSettled(ledger: Ledger, id: string, ms: number): Promise<boolean> {
  const other = (): Uint8Array | null => {
    const info = ledger.agreement(id)
    return info ? fromHex(info.a === ledger.key ? info.b : info.a, 32) : null
  }
  return until(ledger, () => isSettled(ledger, id), other, ms)
}

/**
 * Waits until the record `id` is in our copy of `log`'s log, replicating it; false if it is not
 * within `ms`. For what takes effect in one log only, such as a sale in its issuer's.
 */
export function inLog(ledger: Ledger, id: string, log: Uint8Array, ms: number): Promise<boolean> {
  const key = toHex(log)
  return until(
    ledger,
    () => ledger.has(id, key),
    () => log,
    ms
  )
}

/**
 * Checks a claim: replicates the logs of the participants on its path (`via`: the senders of its
 * transfers, and the parties of its root record), each within `ms`, and asks the ledger.
 */
export async function verifyClaim(
  ledger: Ledger,
  claim: string,
  via: Uint8Array[],
  ms: number
): Promise<ClaimStatus> {
  for (const id of via) {
    if (equal(id, ledger.id)) continue
    await withTimeout(ledger.follow(id), ms, `log of ${toHex(id).slice(0, 12)}`)
  }
  return ledger.claimStatus(claim)
}
