/** The guest meter's clock: this thread's CPU time, read around a call into an isolate on it. */
import t from 'tap'
import ivm from 'isolated-vm'
import { cpuNowNs, processCpuNowNs, threadClockPrecise } from '../../src/host/thread-clock.js'

t.test('the native thread clock is built and used', async (t) => {
  t.ok(threadClockPrecise, 'native/clock.c was built by postinstall')
})

t.test('around a call into an isolate on this thread', async (t) => {
  const isolate = new ivm.Isolate({ memoryLimit: 16 })
  t.teardown(() => isolate.dispose())
  const context = isolate.createContextSync()
  // A raw isolate (not a guest's realm, where Atomics.wait is removed): the wait blocks this thread.
  const wait = context.evalSync(
    '(ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)',
    { reference: true }
  ) as ivm.Reference
  const spin = context.evalSync(
    '(n) => { let x = 0; for (let i = 0; i < n; i++) x = (x + i * 7) ^ (x >>> 3); return x }',
    { reference: true }
  ) as ivm.Reference
  spin.applySync(undefined, [1e6])

  t.test('a blocking wait costs about no CPU', async (t) => {
    const c0 = cpuNowNs()
    const w0 = process.hrtime.bigint()
    wait.applySync(undefined, [200])
    const cpuMs = (cpuNowNs() - c0) / 1e6
    const wallMs = Number(process.hrtime.bigint() - w0) / 1e6
    t.ok(wallMs >= 190, `the wait lasted ${wallMs.toFixed(1)} ms`)
    t.ok(cpuMs < wallMs / 10, `and cost ${cpuMs.toFixed(2)} ms of CPU`)
  })

  t.test('a busy call costs its CPU, as the process clock also sees it', async (t) => {
    const c0 = cpuNowNs()
    const p0 = processCpuNowNs()
    spin.applySync(undefined, [3e7])
    const thread = cpuNowNs() - c0
    const proc = processCpuNowNs() - p0
    // The process clock counts every thread (and ticks in µs): the thread's share is most of it.
    t.ok(
      thread > 0.8 * proc && thread <= proc * 1.05 + 2e6,
      `thread ${thread} ns, process ${proc} ns`
    )
  })
})
