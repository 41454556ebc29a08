// quid's public API. The ledger is the foundation; networking, hosting and the agent build on it.
export * from './ledger/amounts.js'
export * from './core/bytes.js'
export * from './core/errors.js'
export * from './crypto/identity.js'
export * from './ledger/records.js'
export {
  encodeEntry,
  decodeEntry,
  encodeBody,
  recordId,
  deployRequestId,
  encodeDeployRequest,
  decodeDeployRequest
} from './ledger/codecs.js'
export {
  signRecord,
  signRecordAs,
  assemble,
  checkSignatures,
  signDeployRequest,
  verifyDeployRequest
} from './ledger/sign.js'
export { verifySignature, useEngine, currentEngine, type Engine } from './crypto/verify.js'
export * as build from './ledger/build.js'
export { LedgerState, claimId } from './ledger/state.js'
export { replay, type LogEntries, type ReplayOptions, type ReplayResult } from './ledger/replay.js'
export { Ledger, type LedgerOptions } from './ledger/ledger.js'
export {
  CorestoreLogs,
  logKey,
  type LogSource,
  type ParticipantLog,
  type SignedHead
} from './ledger/logs.js'
export type { Violation, Position } from './ledger/violations.js'
export type { ClaimInfo, ClaimStatus } from './ledger/claims.js'
export { audit, type AuditOptions, type AuditProgress } from './audit/audit.js'
export { AuditCache } from './audit/cache.js'
export { loadFiles, loadLogs, fromExport, type LogCopy } from './audit/copies.js'
export { exportCore } from './audit/export.js'
export { encodeExport, decodeExport, type ExportedLog } from './audit/export-format.js'
export { renderHtml } from './audit/html.js'
export type { AuditReport } from './audit/report.js'
export type { AuditViolation } from './audit/violation.js'
export {
  Host,
  signStop,
  type HostOptions,
  type GuestRouter,
  type Packet,
  type GuestInfo,
  type EvictEvent
} from './host/host.js'
export { HOST_DEFAULTS } from './host/constants.js'
export { Node, type NodeOptions, type PeerProtocol, type Bootstrap } from './exchange/node.js'
export { Peer } from './exchange/peer.js'
export { Exchange, type ExchangeOptions } from './exchange/exchange.js'
export { SwarmLogs } from './exchange/swarm-logs.js'
export { OfferBook, priceOf, fitsOffer } from './exchange/offers.js'
export {
  defaultPolicy,
  withinCapacity,
  type AcceptancePolicy,
  type ProposalContext
} from './exchange/policy.js'
export { marketTopic, participantTopic } from './exchange/topics.js'
export { startTestnet, type Testnet, type TestnetOptions } from './exchange/testnet.js'
export { signOffer, verifyOffer, offerId, type Offer } from './exchange/messages.js'
export {
  DEFAULT_LIMITS,
  DEFAULT_TIMEOUTS,
  DEFAULT_MARKET,
  EXCHANGE_PROTOCOL,
  type NodeLimits,
  type ExchangeTimeouts
} from './exchange/constants.js'
export * as onion from './client/onion.js'
export { runStory, type StoryOptions, type StoryResult } from './demo/story.js'
