/**
 * A private HyperDHT bootstrap network, for loopback tests, the demo, and anyone who wants a
 * network of their own (`quid testnet` will run this). Nodes of such a network pass the returned
 * `bootstrap` to NodeOptions and `firewalled: false` (on one host a firewalled node never
 * finishes the holepunch).
 */
import createTestnet from 'hyperdht/testnet.js'

export interface Testnet {
  /** `host:port` of every bootstrap node, ready for NodeOptions.bootstrap. */
  bootstrap: string[]
  close(): Promise<void>
}

export interface TestnetOptions {
  /** DHT nodes to run; default 3 (enough for announces and lookups to find each other). */
  size?: number
  /** Address to bind and announce; default 127.0.0.1 (loopback only). */
  host?: string
  /** Port of the first node; default: any free port. */
  port?: number
}

export async function startTestnet(opts: TestnetOptions = {}): Promise<Testnet> {
  const size = opts.size ?? 3
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError('testnet size must be a positive integer')
  const net = await createTestnet(size, {
    host: opts.host ?? '127.0.0.1',
    ...(opts.port === undefined ? {} : { port: opts.port })
  })
  let closing: Promise<void> | null = null
  return {
    bootstrap: net.bootstrap.map((b) => `${b.host}:${b.port}`),
    close: () => (closing ??= net.destroy())
  }
}
