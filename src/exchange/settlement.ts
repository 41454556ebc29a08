/**
 * What replication lets a participant see: whether an agreement is settled (in both parties'
 * logs), and whether a claim presented to it is good, after fetching the logs on its path.
 */
import { equal, fromHex, toHex } from '../core/bytes.js'
import type { Ledger } from '../ledger/ledger.js'
import type { ClaimStatus } from '../ledger/claims.js'
import { sleep, withTimeout } from './wait.js'

/** Is this agreement in both parties' logs, as far as the ledger has seen? */
export function isSettled(ledger: Ledger, id: string): boolean {
  return ledger.isSettled(id)
}

/**
 * Waits until an agreement in the ledger is settled, replicating the counterparty's log; false if
 * it is not within `ms` (or the ledger does not know the agreement).
 */
export async function waitSettled(ledger: Ledger, id: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!isSettled(ledger, id)) {
    const info = ledger.agreement(id)
    const left = deadline - Date.now()
    if (!info || left <= 0) return isSettled(ledger, id)
    const other = info.a === ledger.key ? info.b : info.a
    await withTimeout(ledger.follow(fromHex(other, 32)), left, 'sync').catch(() => {})
    if (!isSettled(ledger, id)) await sleep(Math.min(50, Math.max(0, deadline - Date.now())))
  }
  return true
}

/**
 * Waits until the record `id` is in our copy of `log`'s log, replicating it; false if it is not
 * within `ms`. For what takes effect in one log only, such as a sale in its issuer's.
 */
export async function inLog(
  ledger: Ledger,
  id: string,
  log: Uint8Array,
  ms: number
): Promise<boolean> {
  const key = toHex(log)
  const deadline = Date.now() + ms
  while (!ledger.has(id, key)) {
    const left = deadline - Date.now()
    if (left <= 0) return false
    await withTimeout(ledger.follow(log), left, 'sync').catch(() => {})
    if (!ledger.has(id, key)) await sleep(Math.min(50, Math.max(0, deadline - Date.now())))
  }
  return true
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
