/** The example guests' files (examples/guests/), found from this module in src/ or dist/. */
import { fileURLToPath } from 'node:url'

export type ExampleGuest = 'remailer' | 'mailbox' | 'cracker'

export function guestFile(name: ExampleGuest): string {
  return fileURLToPath(new URL(`../../examples/guests/${name}.js`, import.meta.url))
}
