/**
 * The example guests' files (examples/guests/), found from this module in src/ or dist/, and the
 * guest directories a host keeps for them.
 */
import { readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

export type ExampleGuest = 'remailer' | 'mailbox' | 'cracker'

export function guestFile(name: ExampleGuest): string {
  return fileURLToPath(new URL(`../../examples/guests/${name}.js`, import.meta.url))
}

/** The entries of a host's guest directory, sorted; none once it is gone. */
export async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort()
}
