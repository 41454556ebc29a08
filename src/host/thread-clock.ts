/**
 * The CPU clock that meters guests: the calling thread's CPU time, from quid's native addon
 * (native/clock.c). A guest's handler runs on the thread that calls it (`applySync`), so the clock
 * read before and after the call is what the guest and the host functions it called cost, and a
 * guest that waits (Atomics.wait, a pending promise) costs about nothing.
 *
 * Why not the alternatives: isolated-vm 7's prebuilt `isolate.cpuTime` is wall time while the
 * isolate is entered, and Node's `process.threadCpuUsage` counts scheduler ticks on this kernel (a
 * 2 ms loop reads 0). Where the addon was not built (QUID_SKIP_NATIVE=1, an install without
 * scripts, another OS), the clock is the process's CPU time, which also counts the process's other
 * threads: a guest then pays for them too, never less than it used (docs/HOST.md, "Metering").
 */
import { createRequire } from 'node:module'

interface NativeClock {
  threadCpuNs(): number
}

function load(): NativeClock | null {
  if (process.env.QUID_SKIP_NATIVE === '1') return null
  try {
    return createRequire(import.meta.url)(
      '../../native/build/Release/quid_clock.node'
    ) as NativeClock
  } catch {
    return null
  }
}

const native = load()

/** Whether the clock is this thread's own (true) or the whole process's (the fallback). */
export const threadClockPrecise = native !== null

function processCpuNs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) * 1000
}

/** CPU time in ns, for differences only: this thread's, or the process's where no addon is built. */
export const cpuNowNs: () => number = native ? native.threadCpuNs : processCpuNs

/** The CPU time the process as a whole has used, in ns (every thread: isolated-vm's pool too). */
export const processCpuNowNs: () => number = processCpuNs
