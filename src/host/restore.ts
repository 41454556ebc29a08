/**
 * Restart restore: after the host starts again, guests the log says are running resume from their
 * store if they still have credit and their files; the others are evicted with the usage the log
 * already holds, so nothing is charged twice and the reservations match the log.
 *
 * No crash loops: each resume is counted in the guest's directory (`revives`), and a clean close
 * deletes the count (`cleanShutdown`). So the count is the number of restarts in a row that found
 * the host had died with the guest running; past `maxRevives` the guest is evicted `crash-loop`
 * instead of being started once more, and its owner reads that reason in its evict record.
 */
import { existsSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { EvictEvent, Guest } from './types.js'
import type { Ledger } from '../ledger/ledger.js'
import type { EvictReason, ResourceVector } from '../ledger/records.js'

/** What restore needs from the host. */
export interface Restorer {
  ledger: Ledger
  /** The guests' directories: `<guestsDir>/<id>`. */
  guestsDir: string
  clock(): number
  /** Appends a guest's `evict` record. */
  evictRecord(id: string, used: ResourceVector, reason: EvictReason): Promise<void>
  evicted(ev: EvictEvent): void
  /** Takes a guest on again, with what the log says it used. */
  adopt(
    id: string,
    owner: string,
    code: string,
    reserved: ResourceVector,
    claims: string[],
    used: ResourceVector
  ): Guest
  revive(g: Guest): Promise<void>
  /** Resumes after host crashes in a row allowed before `crash-loop`. */
  maxRevives: number
}

const REVIVES = 'revives'

/** How many restarts in a row have resumed this guest (0 after a clean close). */
async function revivesOf(dir: string): Promise<number> {
  try {
    const n = Number.parseInt(await readFile(join(dir, REVIVES), 'utf8'), 10)
    return Number.isInteger(n) && n >= 0 ? n : 0
  } catch {
    return 0
  }
}

/** A clean close: the guests' restart counts start again from zero. */
export async function cleanShutdown(dirs: string[]): Promise<void> {
  await Promise.all(dirs.map((d) => rm(join(d, REVIVES), { force: true })))
}

export async function restore(host: Restorer): Promise<void> {
  const { ledger } = host
  const now = host.clock()
  for (const info of ledger.guests()) {
    if (info.host !== ledger.key || info.ended || info.void) continue
    const dir = join(host.guestsDir, info.id)
    const codePath = join(dir, 'code.js')
    const expires = Math.min(...info.spends.map((s) => ledger.claim(s.claim)?.expires ?? 0))
    let reason: EvictReason | null = null
    if (info.used.cpu >= info.reserved.cpu) reason = 'cpu-exhausted'
    else if (info.reserved.net > 0n && info.used.net >= info.reserved.net) reason = 'net-exhausted'
    else if (now >= expires) reason = 'expired'
    else if (!existsSync(codePath)) reason = 'restart'
    const revives = reason ? 0 : (await revivesOf(dir)) + 1
    if (!reason && revives > host.maxRevives) reason = 'crash-loop'
    if (reason) {
      await rm(dir, { recursive: true, force: true })
      await host.evictRecord(info.id, { ...info.used, disk: 0n }, reason)
      host.evicted({
        guest: info.id,
        reason,
        used: { ...info.used, disk: 0n },
        measuredCpu: info.used.cpu
      })
      continue
    }
    await writeFile(join(dir, REVIVES), String(revives))
    const code = await readFile(codePath, 'utf8')
    const g = host.adopt(
      info.id,
      info.owner,
      code,
      info.reserved,
      info.spends.map((sp) => sp.claim),
      info.used
    )
    g.revives = revives
    await host.revive(g)
  }
}
