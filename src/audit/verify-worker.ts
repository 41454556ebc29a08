/** A verification worker thread (pool.ts): runs verifyBatch on each job it is sent. */
import { parentPort } from 'node:worker_threads'
import { verifyBatch, type VerifyJob } from './verify-batch.js'

parentPort?.on('message', (job: VerifyJob) => {
  const result = verifyBatch(job)
  parentPort?.postMessage(result, [result.hashes, result.ok])
})
