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

export class VerifyPool {
  readonly size: number
  private readonly workers: Worker[] = []
  private readonly idle: Worker[] = []
  private readonly queue: Array<{
    job: VerifyJob
    resolve: (r: VerifyResult) => void
    reject: (e: Error) => void
  }> = []
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
  run(
    entries: Uint8Array[],
    verify: boolean,
    skip?: Uint8Array
  ): Promise<{ hashes: Uint8Array; ok: Uint8Array }> {
    if (this.closed) return Promise.reject(new Error('the verify pool is closed'))
    const offsets = new Array<number>(entries.length + 1)
    let total = 0
    for (let i = 0; i < entries.length; i++) {
      offsets[i] = total
      total += (entries[i] as Uint8Array).byteLength
    }
    offsets[entries.length] = total
    const data = new Uint8Array(total)
    for (let i = 0; i < entries.length; i++) data.set(entries[i] as Uint8Array, offsets[i])
    const job: VerifyJob = {
      id: this.nextId++,
      data: data.buffer,
      offsets,
      verify,
      ...(skip ? { skip } : {})
    }
    if (this.size === 0) {
      const r = verifyBatch(job)
      return Promise.resolve({ hashes: new Uint8Array(r.hashes), ok: new Uint8Array(r.ok) })
    }
    return new Promise<VerifyResult>((resolve, reject) => {
      this.queue.push({ job, resolve, reject })
      this.pump()
    }).then((r) => ({ hashes: new Uint8Array(r.hashes), ok: new Uint8Array(r.ok) }))
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let worker = this.idle.pop()
      if (!worker && this.workers.length < this.size) worker = this.start()
      if (!worker) return
      const next = this.queue.shift() as (typeof this.queue)[number]
      this.running.set(worker, next)
      worker.postMessage(next.job, [next.job.data])
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
