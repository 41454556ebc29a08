import t from 'tap'
import type { Channel, Message } from 'protomux'
import type { Peer } from '../../src/exchange/peer.js'
import { network } from './helpers.js'

t.test(
  'another module carries its own messages on the authenticated connection (Node.use)',
  async (t) => {
    const net = await network(t)
    const a = await net.agent('a')
    const b = await net.agent('b')
    const received: Array<{ from: string | null; text: string }> = []
    const senders = new Map<string, Message>()
    // A toy protocol, the way the agent will add deploy requests or virtual-network packets.
    for (const x of [a, b]) {
      x.node.use({
        attach(peer: Peer) {
          const channel = peer.mux.createChannel({ protocol: 'test/echo' }) as Channel
          const m = channel.addMessage({
            onmessage: (bytes: Uint8Array) => {
              received.push({ from: peer.key, text: Buffer.from(bytes).toString() })
            }
          })
          channel.open()
          senders.set(`${x.key}>${peer.key}`, m)
        }
      })
    }
    await a.node.reach(b.kp.publicKey, 20_000)
    const send = senders.get(`${a.key}>${b.key}`)
    t.ok(send, 'A attached the protocol to its authenticated peer B')
    send!.send(Buffer.from('hello from A'))
    const deadline = Date.now() + 10_000
    while (received.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
    t.same(
      received,
      [{ from: a.key, text: 'hello from A' }],
      'B got it, from the authenticated participant'
    )

    // The exchange still works on the same connection.
    await b.exchange.offer({ give: { disk: 100n }, want: { cpu: 1n } })
    const signed = await a.exchange.barter(b.kp.publicKey, {
      give: { cpu: 1n },
      want: { disk: 100n }
    })
    t.ok(signed, 'and the exchange runs beside it')
  }
)
