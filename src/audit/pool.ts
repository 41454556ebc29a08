/**
 * Worker threads that hash and verify entries on every core. Signature verification is most of an
 * audit's work and each entry is independent, so batches go to whichever worker is free.
 */
import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { verifyBatch, type VerifyJob, type VerifyResult } from './verify-batch.js'

/** How a worker module is started: the compiled .js directly, the sources through tsx. */
function spawn(): Worker {
  const self = import.meta.url
  if (!self.endsWith('.ts')) return new Worker(new URL('./verify-worker.js', self))
  // Under tsx (tests, benchmarks) workers do not inherit the loader: register it first.
  const tsx = import.meta.resolve('tsx/esm/api')
  const worker = new URL('./verify-worker.ts', self).href
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(worker)}) })`
  return new Worker(code, { eval: true })
}

interface Queued {
  entries: Uint8Array[]
  verify: boolean
  skip: Uint8Array | undefined
  resolve: (r: VerifyResult) => void
  reject: (e: Error) => void
}

export interface Verified {
  hashes: Uint8Array
  ok: Uint8Array
}

/** The entries back to back in one buffer, moved (not copied) to the worker. */
function pack(
  id: number,
  entries: Uint8Array[],
  verify: boolean,
  skip: Uint8Array | undefined
): VerifyJob {
  const offsets = new Array<number>(entries.length + 1)
  let total = 0
  for (let i = 0; i < entries.length; i++) {
    offsets[i] = total
    total += (entries[i] as Uint8Array).byteLength
  }
  offsets[entries.length] = total
  const data = new Uint8Array(total)
  for (let i = 0; i < entries.length; i++) data.set(entries[i] as Uint8Array, offsets[i])
  return { id, data: data.buffer, offsets, verify, ...(skip ? { skip } : {}) }
}

function unpack(r: VerifyResult): Verified {
  return { hashes: new Uint8Array(r.hashes), ok: new Uint8Array(r.ok) }
}

export class VerifyPool {
  readonly size: number
  private readonly workers: Worker[] = []
  private readonly idle: Worker[] = []
  private readonly queue: Queued[] = []
  private readonly running = new Map<
    Worker,
    { resolve: (r: VerifyResult) => void; reject: (e: Error) => void }
  >()
  private nextId = 0
  private closed = false

  /** `size` 0 verifies on the calling thread (small audits, where starting threads costs more). */
  constructor(size = availableParallelism()) {
    this.size = Math.max(0, size)
  }

  /** Hashes (and verifies) these entries on a free worker. */
  run(entries: Uint8Array[], verify: boolean, skip?: Uint8Array): Promise<Verified> {
    if (this.closed) return Promise.reject(new Error('the verify pool is closed'))
    if (this.size === 0)
      return Promise.resolve(unpack(verifyBatch(pack(this.nextId++, entries, verify, skip))))
    return new Promise<VerifyResult>((resolve, reject) => {
      this.queue.push({ entries, verify, skip, resolve, reject })
      this.pump()
    }).then(unpack)
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let worker = this.idle.pop()
      if (!worker && this.workers.length < this.size) worker = this.start()
      if (!worker) return
      const next = this.queue.shift() as Queued
      this.running.set(worker, next)
      // Packed only when a worker takes it: packing everything first would keep workers waiting.
      const job = pack(this.nextId++, next.entries, next.verify, next.skip)
      worker.postMessage(job, [job.data])
    }
  }

  private start(): Worker {
    const worker = spawn()
    this.workers.push(worker)
    worker.on('message', (r: VerifyResult) => {
      const task = this.running.get(worker)
      this.running.delete(worker)
      this.idle.push(worker)
      task?.resolve(r)
      this.pump()
    })
    worker.on('error', (err) => {
      // A worker that fails takes its task with it; the audit cannot be trusted without it.
      this.running.get(worker)?.reject(err)
      this.running.delete(worker)
      for (const q of this.queue.splice(0)) q.reject(err)
    })
    return worker
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const err = new Error('the verify pool is closed')
    for (const q of this.queue.splice(0)) q.reject(err)
    for (const t of this.running.values()) t.reject(err)
    this.running.clear()
    await Promise.all(this.workers.map((w) => w.terminate()))
    this.workers.length = 0
    this.idle.length = 0
  }
}
