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
  /** MIPS calibration: runs measured after one warm-up run; the median is published. */
  calibrationRuns: 5
} as const
