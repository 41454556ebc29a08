/**
 * What a guest handler call costs at the least, measured in the same run as the vnet suite's
 * round trips, so that `rttRatio` can be read against what any design could reach here:
 *
 * - ipcRtt: a round trip to a forked child that echoes the message and does nothing else, over
 *   the transport the host uses for its sandboxes (Node IPC, `advanced` serialization), carrying
 *   a message shaped like a handler call. Issue 4 puts guests in such a child.
 * - isolateCall: one echo handler called in an isolate in this very process (`applySync`, the
 *   payload handed in as a string and out through a host function), what a call would cost if
 *   guests ran in the agent's process.
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import ivm from 'isolated-vm'

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6
const CHILD = fileURLToPath(new URL('./echo-child.mjs', import.meta.url))
const WARMUP = 200

/** Sorted round-trip times (ms) to a bare child process. */
export async function ipcRtt(rounds: number): Promise<number[]> {
  const child = fork(CHILD, [], {
    execArgv: ['--no-node-snapshot'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', reject)
    })
    let waiting: (() => void) | null = null
    child.on('message', () => waiting?.())
    const once = async (id: number): Promise<number> => {
      const t0 = nowMs()
      const got = new Promise<void>((resolve) => (waiting = resolve))
      child.send({
        id,
        op: 'call',
        kind: 'message',
        data: new Uint8Array(64),
        from: 'x'.repeat(60)
      })
      await got
      return nowMs() - t0
    }
    for (let i = 0; i < WARMUP; i++) await once(i)
    const out: number[] = []
    for (let i = 0; i < rounds; i++) out.push(await once(i))
    return out.sort((x, y) => x - y)
  } finally {
    const gone = new Promise((resolve) => child.once('exit', resolve))
    child.disconnect()
    await gone
  }
}

/** Sorted times (ms) of one echo handler call in an isolate of this process. */
export async function isolateCall(rounds: number): Promise<number[]> {
  const isolate = new ivm.Isolate({ memoryLimit: 64 })
  try {
    const context = await isolate.createContext()
    let bytes = 0
    await context.global.set(
      'send',
      new ivm.Callback((to: string, data: string) => {
        bytes += Buffer.from(data, 'latin1').length + to.length
      })
    )
    const handler = (await context.eval('(kind, data, from) => { send(from, data) }', {
      reference: true
    })) as ivm.Reference
    const payload = Buffer.alloc(64).toString('latin1')
    const from = 'x'.repeat(60)
    const once = (): number => {
      const t0 = nowMs()
      handler.applySync(undefined, ['message', payload, from], { timeout: 1000 })
      return nowMs() - t0
    }
    for (let i = 0; i < WARMUP; i++) once()
    const out: number[] = []
    for (let i = 0; i < rounds; i++) out.push(once())
    if (bytes !== (WARMUP + rounds) * 124) throw new Error('the echo handler lost calls')
    return out.sort((x, y) => x - y)
  } finally {
    isolate.dispose()
  }
}
