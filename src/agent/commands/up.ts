/**
 * `quid up` runs the agent in the foreground until SIGINT or SIGTERM, then shuts it down cleanly:
 * usage flushed to the log, logs closed, the swarm left, the control socket removed.
 * `quid testnet` runs a private DHT bootstrap for loopback or LAN networks.
 */
import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'
import { QuidError, ErrorCodes } from '../../core/errors.js'
import { parseAmounts, type Amounts } from '../../ledger/amounts.js'
import { formatId } from '../../crypto/identity.js'
import { startTestnet } from '../../exchange/testnet.js'
import { formatAddress } from '../../vnet/address.js'
import { Agent } from '../agent.js'
import { participantDir } from '../dirs.js'
import type { Command, Io } from './command.js'
import { ISOLATIONS, type Isolation } from '../../host/place.js'

/** Resolves on the first SIGINT or SIGTERM (the listeners are removed afterwards). */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string): void => {
      process.off('SIGINT', on)
      process.off('SIGTERM', on)
      resolve(sig)
    }
    process.on('SIGINT', on)
    process.on('SIGTERM', on)
  })
}

function bootstrapList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined
  const list = text.split(',').filter((s) => s.length > 0)
  for (const b of list) {
    const m = /^([^:\s]+):([0-9]{1,5})$/.exec(b)
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `--bootstrap: ${JSON.stringify(b)} is not host:port`
      )
    }
  }
  if (list.length === 0)
    throw new QuidError(ErrorCodes.BAD_ARGUMENT, '--bootstrap: give at least one host:port')
  return list
}

export const upCommand: Command = {
  usage:
    'quid up [--bootstrap H:P,...] [--market NAME] [--host --capacity R [--mips N] [--isolation isolate|process]] [--dir DIR] [--json]',
  options: {
    dir: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    bootstrap: { type: 'string' },
    market: { type: 'string' },
    host: { type: 'boolean' },
    capacity: { type: 'string' },
    mips: { type: 'string' },
    isolation: { type: 'string' }
  },
  async run(values, _positionals, io: Io) {
    const dir = participantDir(values.dir as string | undefined, io.env)
    const bootstrap = bootstrapList(values.bootstrap as string | undefined)
    let host: { capacity: Amounts; mips?: number; isolation?: Isolation } | null = null
    if (values.host) {
      if (!values.capacity)
        throw new QuidError(
          ErrorCodes.BAD_ARGUMENT,
          '--host needs --capacity cpu=…,disk=…,net=… (what you are willing to owe)'
        )
      host = { capacity: parseAmounts(values.capacity as string) }
      if (values.mips !== undefined) {
        const mips = Number(values.mips)
        if (!Number.isSafeInteger(mips) || mips <= 0)
          throw new QuidError(ErrorCodes.BAD_ARGUMENT, '--mips must be a positive whole number')
        host.mips = mips
      }
      if (values.isolation !== undefined) {
        const isolation = values.isolation as Isolation
        if (!ISOLATIONS.includes(isolation))
          throw new QuidError(
            ErrorCodes.BAD_ARGUMENT,
            `--isolation must be one of ${ISOLATIONS.join(', ')}, not ${JSON.stringify(values.isolation)}`
          )
        host.isolation = isolation
      }
    } else if (values.capacity || values.mips || values.isolation) {
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        '--capacity, --mips and --isolation only make sense with --host'
      )
    }
    const market = values.market as string | undefined
    if (market !== undefined && market.length === 0)
      throw new QuidError(ErrorCodes.BAD_ARGUMENT, '--market needs a name')
    const agent = new Agent({
      dir,
      ...(bootstrap ? { bootstrap } : {}),
      ...(market ? { market } : {}),
      host
    })
    const stopping = untilSignal()
    await agent.ready()
    // The DHT's ready() resolves even when no bootstrap node answered (after about 6 s): an agent
    // that can reach nobody must not say it is ready as if it were on the network.
    if (agent.node.dhtNodes === 0) {
      if (bootstrap) {
        await agent.close()
        throw new QuidError(
          ErrorCodes.UNREACHABLE,
          `no DHT node answered at ${bootstrap.join(',')} (is quid testnet running there?); the agent stopped`,
          { bootstrap }
        )
      }
      io.err(
        'quid up: warning: no node of the public HyperDHT answered; running offline until one does'
      )
    }
    const info = {
      ready: true,
      id: agent.key,
      z32: formatId(agent.id, 'z32'),
      address: formatAddress(agent.address),
      socket: agent.paths.socket,
      pid: process.pid,
      host: agent.host ? { mips: agent.host.mips, isolation: agent.host.isolation } : null
    }
    if (values.json) io.out(JSON.stringify(info))
    else
      io.out(
        [
          `quid agent ${info.id}`,
          `  address  ${info.address}`,
          `  network  ${bootstrap ? bootstrap.join(',') : 'public HyperDHT'}, market ${market ?? 'quid'}`,
          `  host     ${agent.host ? `yes, ${agent.host.mips} MIPS, guests isolated by ${agent.host.isolation === 'process' ? 'sandbox processes' : 'isolates in this process'}` : 'no'}`,
          `  control  ${info.socket}`,
          'running; Ctrl-C stops it'
        ].join('\n')
      )
    const sig = await stopping
    // A second signal while shutting down means "now": the log is append-only and safe to cut.
    const force = (): void => {
      io.err('quid up: a second signal; exiting without finishing the shutdown')
      process.exit(1)
    }
    process.once('SIGINT', force)
    process.once('SIGTERM', force)
    await agent.close()
    process.off('SIGINT', force)
    process.off('SIGTERM', force)
    if (values.json) io.out(JSON.stringify({ stopped: true, signal: sig }))
    else io.out(`stopped (${sig})`)
    return 0
  }
}

/**
 * `--host` is the address the testnet announces to agents: one of this machine's IPv4 addresses,
 * else every agent would be given a bootstrap that leads nowhere (and the testnet says ready).
 */
function checkLocalAddress(host: string): void {
  if (isIP(host) !== 4)
    throw new QuidError(
      ErrorCodes.BAD_ARGUMENT,
      `--host ${JSON.stringify(host)} is not an IPv4 address (e.g. 127.0.0.1 or this machine's LAN address)`
    )
  const mine = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a?.family === 'IPv4')
    .map((a) => a!.address)
  if (!mine.includes(host))
    throw new QuidError(
      ErrorCodes.BAD_ARGUMENT,
      `--host ${host} is not an address of this machine (it has ${mine.join(', ')})`
    )
}

export const testnetCommand: Command = {
  usage: 'quid testnet [--port N] [--host ADDRESS] [--json]',
  options: {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    port: { type: 'string' },
    host: { type: 'string' }
  },
  async run(values, _positionals, io: Io) {
    let port: number | undefined
    if (values.port !== undefined) {
      port = Number(values.port)
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw new QuidError(ErrorCodes.BAD_ARGUMENT, '--port must be 1 to 65535')
    }
    const host = values.host as string | undefined
    if (host !== undefined) checkLocalAddress(host)
    const stopping = untilSignal()
    const net = await startTestnet({
      ...(port !== undefined ? { port } : {}),
      ...(host ? { host } : {})
    })
    // The DHT binds the next free port when the one asked for is taken: that is not what was asked.
    if (port !== undefined && !net.bootstrap[0]?.endsWith(`:${port}`)) {
      await net.close()
      throw new QuidError(
        ErrorCodes.BAD_ARGUMENT,
        `--port ${port} is in use: choose another port, or leave --port out`
      )
    }
    const bootstrap = net.bootstrap.join(',')
    if (values.json)
      io.out(JSON.stringify({ ready: true, bootstrap: net.bootstrap, pid: process.pid }))
    else
      io.out(
        `testnet running\n  bootstrap ${bootstrap}\n  start agents with: quid up --bootstrap ${bootstrap}\nCtrl-C stops it`
      )
    const sig = await stopping
    await net.close()
    if (values.json) io.out(JSON.stringify({ stopped: true, signal: sig }))
    else io.out(`stopped (${sig})`)
    return 0
  }
}
