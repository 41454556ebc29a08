/** Host defaults in one place; every one is a HostOptions field, so tests and operators can change it. */
export const HOST_DEFAULTS = {
  /** Per-isolate memory limit (MB): isolated-vm's heap limit and the metered limit on heap + external. */
  memoryLimitMb: 64,
  /** A handler call (or the code's first run) that lasts longer than this is disposed: `misbehaved`. */
  callWallMs: 1000,
  /** How often the sandbox reads a running call's CPU time; the most a guest can overdraw its credit. */
  meteringSliceMs: 10,
  /** How often usage is appended to the log, in one batch for every guest whose figures moved. */
  usageIntervalMs: 10_000,
  /** A guest with no call for this long hibernates: its isolate is disposed until its next call. */
  hibernateAfterMs: 30_000,
  /** Guests running at once (admissions in progress included); past it deploys get `host-full`. */
  maxGuests: 512,
  /** Where guests run: in the host's process (`isolate`) or in sandbox processes (docs/HOST.md). */
  isolation: 'isolate' as 'isolate' | 'process',
  /** Sandbox processes sharing the guests, with isolation `process` (see docs/HOST.md). */
  sandboxes: 2,
  /** Largest code bundle accepted, in bytes. */
  maxCodeBytes: 1024 * 1024,
  /** Sends allowed in one handler call; past it `quid.send` throws (a flood stays in the isolate). */
  maxSendsPerCall: 256,
  /** Largest packet a guest may send or receive. */
  maxPacketBytes: 64 * 1024,
  /** Log lines forwarded per call; the rest are dropped. */
  maxLogsPerCall: 64,
  maxKeyBytes: 100,
  maxValueBytes: 1024 * 1024,
  /**
   * Calls waiting on one guest's queue (deliveries, notices, timers); past it a delivery is
   * refused (the sender hears `busy`) and a notice or timer is dropped, each counted in
   * `quid.dropped()`. Host-side, so it holds wherever the isolates run.
   */
  maxPendingCalls: 64,
  /** `unreachable` notices waiting at once for one guest; more are dropped and counted. */
  maxPendingNotices: 16,
  /** A guest's packets handed to the host and not yet routed; more are dropped and counted. */
  maxOutgoing: 256,
  /**
   * Packets per second one guest may send, and its burst: below a receiving agent's per-guest
   * limit (docs/VNET.md), so the host throttles its own guest before a peer has reason to act.
   */
  guestPacketsPerSec: 100,
  guestPacketBurst: 300,
  /**
   * Times a guest is started again by restarts that follow a crash of the host (its agent died
   * with the guest running); one more and it is evicted `crash-loop`.
   */
  maxRevives: 3,
  /**
   * The agent's own heap ceiling, as a share of V8's heap limit: past it the host evicts (`shed`)
   * the guest holding the most host-side queue, one per check, before V8 would abort.
   */
  heapCeiling: 0.7,
  /** How often the heap ceiling is checked (ms). */
  heapCheckMs: 1000,
  /** MIPS calibration: runs measured after one warm-up run; the median is published. */
  calibrationRuns: 5
} as const

/** The longest a guest timer may be set for, and how many may be pending at once per guest. */
export const MAX_TIMER_MS = 3_600_000
export const MAX_TIMERS = 64
