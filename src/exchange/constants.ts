/**
 * Defaults and limits of the exchange, in one place. Everything time-related can be overridden
 * per node (NodeOptions.limits, ExchangeOptions.timeouts) so that tests run fast.
 */

/** The Protomux protocol name of the exchange channel; the version is a field of `hello`. */
export const EXCHANGE_PROTOCOL = 'quid/exchange'
export const PROTOCOL_VERSION = 1

/** The market everyone meets on unless told otherwise. */
export const DEFAULT_MARKET = 'quid'

/**
 * The largest exchange message: a proposal carries one entry (at most 4096 bytes, FORMAT.md
 * section 4) and nothing else; every other message is smaller. Checked before decoding.
 */
export const MAX_MESSAGE_BYTES = 4096

/** Longest error code and message in a `reject`. */
export const MAX_CODE_CHARS = 32
export const MAX_REASON_BYTES = 200

/**
 * Bytes a connection may send before its `hello` verifies: a hello and a few channel opens take
 * a few hundred. Protomux itself ignores frames for channels it does not know, so without this a
 * peer that never authenticates could make us decrypt and parse garbage until the auth timeout.
 */
export const MAX_PREAUTH_BYTES = 64 * 1024

export interface NodeLimits {
  /** Connections of any kind, authenticated or not; more are refused in the firewall. */
  maxConnections: number
  /** Connections still authenticating; keeps a key-spraying peer from taking every slot. */
  maxUnauthenticated: number
  /** A peer must authenticate within this (ms) or is dropped. */
  authTimeoutMs: number
  /** How long a misbehaving peer stays banned (ms). */
  banMs: number
  /** Bans remembered at once; the oldest is forgotten first. */
  maxBans: number
  /** Sustained exchange messages per second per peer, and the burst allowed above it. */
  messagesPerSec: number
  messageBurst: number
  /** How long a firewall admission waits for its connection before it stops counting (ms). */
  admissionMs: number
  /**
   * Participant topics joined to reach a destination (a packet's or a request's agent) at once;
   * past it the least recently used is left. Topics of logs followed are not counted.
   */
  maxDestinationTopics: number
  /** A destination topic not used for this long, its participant not connected, is left (ms). */
  destinationTopicMs: number
}

export const DEFAULT_LIMITS: Readonly<NodeLimits> = {
  maxConnections: 64,
  maxUnauthenticated: 16,
  authTimeoutMs: 10_000,
  banMs: 10 * 60_000,
  maxBans: 10_000,
  messagesPerSec: 500,
  messageBurst: 1000,
  admissionMs: 20_000,
  maxDestinationTopics: 256,
  destinationTopicMs: 10 * 60_000
}

export interface ExchangeTimeouts {
  /** Waiting for a reply to one proposal on one connection (ms). */
  replyMs: number
  /** A barter or transfer gives up waiting after this (ms); its pending step is kept. */
  completeMs: number
  /** Finding a participant's agent on the swarm (ms). */
  reachMs: number
  /** Bringing a followed log up to date (ms). */
  syncMs: number
}

export const DEFAULT_TIMEOUTS: Readonly<ExchangeTimeouts> = {
  replyMs: 10_000,
  completeMs: 60_000,
  reachMs: 20_000,
  syncMs: 20_000
}

/** Offers held in the book at once, and how many are pushed to a new peer. */
export const MAX_OFFERS = 1000
export const OFFERS_ON_CONNECT = 100
