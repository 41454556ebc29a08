/**
 * What the demo's steps share: the world, the people in it and how each drives its agent — through
 * the same control handlers the `quid` commands call, so every step is one a person can repeat by
 * hand with the CLI (README, "Run the story").
 */
import type { Agent } from '../agent/agent.js'
import { controlHandlers } from '../agent/handlers.js'
import type { Json, JsonObject } from '../agent/control.js'
import type { X25519Pair } from '../host/crypto.js'
import type { World } from './world.js'
import type { Narrator } from './narrator.js'
import { Client } from './mail.js'
import type { Seen } from './observe.js'

export type Figures = Record<string, Json>

export interface StepResult {
  name: string
  ok: boolean
  figures: Figures
  /** How long the step took (set by the story). */
  ms?: number
}

/** One person of the story: an agent, its `quid` commands, its client on the virtual network. */
export interface Person {
  name: string
  agent: Agent
  quid(method: string, params?: JsonObject): Promise<Json>
  client: Client
}

export function person(name: string, agent: Agent): Person {
  const handlers = controlHandlers(agent)
  const ctx = { progress: () => {}, signal: new AbortController().signal }
  return {
    name,
    agent,
    client: new Client(agent),
    quid(method, params = {}) {
      const h = handlers[method]
      if (!h) throw new Error(`no command ${method}`)
      return h(params, ctx)
    }
  }
}

export interface Guests {
  remailerA: string
  remailerB: string
  mailbox: string
}

export interface Story {
  world: World
  say: Narrator
  people: Map<string, Person>
  guests?: Guests
  /** The recipient's X25519 key pair (the mailbox seals deliveries to it). */
  recipientKey?: X25519Pair
  /** What the anonymity checks read: every packet each host's agent carried, as (from, to, bytes). */
  seen: Map<string, Seen[]>
  /** Waits until `fn` holds, at most `ms`; stops at once when the story is interrupted. */
  wait(fn: () => boolean | Promise<boolean>, what: string, ms?: number): Promise<void>
  /** Every line the hosts' guests logged. */
  logs: Map<string, string[]>
}

export function who(story: Story, name: string): Person {
  const p = story.people.get(name)
  if (!p) throw new Error(`no one called ${name} in the story yet`)
  return p
}

export async function until(
  fn: () => boolean | Promise<boolean>,
  what: string,
  ms = 20_000,
  signal?: AbortSignal
): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await fn())) {
    if (signal?.aborted) throw new Error(`interrupted while waiting for ${what}`)
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
