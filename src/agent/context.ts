/**
 * What the control handlers see of the running agent. agent.ts implements it and installs the
 * handlers; handlers.ts takes it. Named here so that neither module imports the other: a handler
 * that needs more of the agent adds the member here, and the compiler checks that the agent has it.
 */
import type Corestore from 'corestore'
import type { KeyPair } from '../crypto/identity.js'
import type { Ledger } from '../ledger/ledger.js'
import type { ClaimInfo } from '../ledger/claims.js'
import type { Node } from '../exchange/node.js'
import type { Exchange } from '../exchange/exchange.js'
import type { Host } from '../host/host.js'
import type { Router } from '../vnet/router.js'
import type { Inbox } from '../vnet/inbox.js'
import type { Address } from '../vnet/address.js'
import type { DeployChannel } from './channels.js'

/** A guest this participant deployed somewhere, remembered so `quid guests` and `quid stop` know it. */
export interface Deployment {
  guest: string
  host: string
  address: string
  file: string
  resources: { cpu: string; disk: string; net: string }
  at: number
}

export interface AgentContext {
  readonly dir: string
  readonly keyPair: KeyPair
  readonly id: Uint8Array
  /** The participant id, hex. */
  readonly key: string
  readonly store: Corestore
  readonly node: Node
  readonly ledger: Ledger
  readonly exchange: Exchange
  readonly host: Host | null
  readonly router: Router
  readonly inbox: Inbox
  readonly deploys: DeployChannel
  readonly deployments: readonly Deployment[]
  readonly address: Address
  /** Participants whose logs prove a claim's path: every issuer and holder above it but us. */
  pathParticipants(claim: ClaimInfo): Uint8Array[]
  recordDeployment(d: Deployment): Promise<void>
  forgetDeployment(guest: string): Promise<void>
}
