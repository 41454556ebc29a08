/**
 * What a host's operator could record: every packet its agent carries on the virtual network,
 * as (from, to, size), taken where the agent's router sends and receives. The anonymity checks
 * (docs/ANONYMITY.md) read these records to show what each host can and cannot link.
 */
import type { Agent } from '../agent/agent.js'
import { decodePacket } from '../vnet/packet.js'
import { formatAddress } from '../vnet/address.js'

export interface Seen {
  from: string
  to: string
  bytes: number
}

export function observe(agent: Agent, into: Seen[]): void {
  const router = agent.router
  const send = router.send.bind(router)
  const receive = router.receive.bind(router)
  router.send = (from, to, payload) => {
    into.push({ from: formatAddress(from), to: formatAddress(to), bytes: payload.byteLength })
    return send(from, to, payload)
  }
  router.receive = (peer, bytes) => {
    try {
      const p = decodePacket(bytes)
      if (p.kind === 'data')
        into.push({
          from: formatAddress(p.from),
          to: formatAddress(p.to),
          bytes: p.payload.byteLength
        })
    } catch {
      // the router itself refuses it
    }
    receive(peer, bytes)
  }
}
