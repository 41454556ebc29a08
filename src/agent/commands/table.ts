/**
 * Every `quid` command: its name, the line `quid --help` shows, and how to load it.
 *
 * Commands are imported only when they run: `quid --version` and `quid --help` then start about as
 * fast as bare Node, and each command pays for the modules it uses (Hypercore, the DHT, isolated-vm)
 * and no others. `npm run bench -- cli` measures it (figure startRatio).
 */
import type { Command } from './command.js'

export interface CommandEntry {
  summary: string
  load(): Promise<Command>
}

const remote = (name: string) => async (): Promise<Command> => {
  const { remoteCommands } = await import('./remote.js')
  return remoteCommands[name] as Command
}

export const commandTable: Readonly<Record<string, CommandEntry>> = {
  init: {
    summary: 'create a participant: a key pair (key file mode 0600) and an empty log',
    load: async () => (await import('./init.js')).initCommand
  },
  id: {
    summary: "print this participant's id (hex and z-base-32) and its log's Hypercore key",
    load: async () => (await import('./init.js')).idCommand
  },
  testnet: {
    summary: 'run a private DHT bootstrap on this machine, for agents started with --bootstrap',
    load: async () => (await import('./up.js')).testnetCommand
  },
  up: {
    summary: 'run the agent in the foreground (Ctrl-C stops it cleanly)',
    load: async () => (await import('./up.js')).upCommand
  },
  status: {
    summary: 'show the running agent: id, peers, log length, host',
    load: remote('status')
  },
  offer: {
    summary: 'publish an offer on the market: what you give for what you want',
    load: remote('offer')
  },
  offers: {
    summary: 'list your open offers and those seen on the market',
    load: remote('offers')
  },
  barter: {
    summary: 'propose a barter to a peer and wait until it is settled in both logs',
    load: remote('barter')
  },
  buy: {
    summary: 'buy from an offer on the market with credit you hold: pays its maker, then takes it',
    load: remote('buy')
  },
  transfer: {
    summary: 'give part of a claim you hold to another participant; prints the new claim id',
    load: remote('transfer')
  },
  follow: {
    summary: "fetch a participant's log and keep it up to date (to check a claim's transfer path)",
    load: remote('follow')
  },
  balance: {
    summary: 'what you hold (usable claims) and what you owe, per resource',
    load: remote('balance')
  },
  claims: {
    summary: 'the claims you hold, with what is free of each and its status',
    load: remote('claims')
  },
  deploy: {
    summary:
      "run a guest program on a peer's host, paid with claims on that host; prints its address",
    load: remote('deploy')
  },
  guests: {
    summary: 'guests you deployed elsewhere, and guests your host runs',
    load: remote('guests')
  },
  stop: {
    summary: 'stop a guest you deployed; its unused credit returns to you',
    load: remote('stop')
  },
  send: {
    summary: 'send a message to an address on the virtual network',
    load: remote('send')
  },
  inbox: {
    summary: 'read (and empty) your inbox on the virtual network',
    load: remote('inbox')
  },
  pending: {
    summary: 'your proposals (barters, transfers) that the peer has not answered yet',
    load: remote('pending')
  },
  cancel: {
    summary: 'withdraw a pending proposal, so that it is no longer sent',
    load: remote('cancel')
  },
  outcome: {
    summary: 'what became of a command whose agent stopped before answering (exit 5)',
    load: remote('outcome')
  },
  export: {
    summary: "write this participant's log and its signed Hypercore head to a file for auditors",
    load: async () => (await import('./export.js')).exportCommand
  },
  backup: {
    summary: 'write a stopped participant to one file, to move it or keep it (quid restore)',
    load: async () => (await import('./backup.js')).backupCommand
  },
  restore: {
    summary: 'make a participant directory from a quid backup file; its log continues, no fork',
    load: async () => (await import('./backup.js')).restoreCommand
  },
  audit: {
    summary:
      "verify export files and participants' logs, replay every rule, report violations (exit 4)",
    load: async () => (await import('./audit.js')).auditCommand
  },
  demo: {
    summary: 'run the whole story on a private loopback network, narrated (npm start)',
    load: async () => (await import('./demo.js')).demoCommand
  }
}
