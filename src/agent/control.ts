/**
 * The agent's control socket: how `quid balance`, `quid barter` and the other commands talk to the
 * agent that `quid up` runs.
 *
 * A Unix socket in the participant directory, so only its owner can reach it: the directory is
 * 0700 and the socket is chmod 0600 as soon as it exists (a socket is connectable only with write
 * permission, and the default umask already leaves others without it in between). The protocol is
 * newline-delimited JSON, one request per line, answered by any number of `progress` lines and
 * then exactly one result or error line with the same `id`:
 *
 *   → {"id":1,"method":"barter","params":{...}}
 *   ← {"id":1,"progress":{"step":"proposed"}}
 *   ← {"id":1,"ok":true,"result":{...}}      or   {"id":1,"ok":false,"error":{"code":...}}
 *
 * Amounts travel as strings in quid's amount syntax, never as JSON numbers, so nothing is rounded.
 * A client that goes away aborts what it asked for (its handler sees `signal.aborted`).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { chmod, unlink } from 'node:fs/promises'
import ReadyResource from 'ready-resource'
import { QuidError, ErrorCodes, type ErrorCode } from '../core/errors.js'
import { OP_ID, type Operations } from './operations.js'

import type { Json, JsonObject } from './json.js'
import { isSystemError } from '../core/settle.js'
import { reportError } from '../core/report.js'

export type { Json, JsonObject } from './json.js'

export interface CallContext {
  /** Sends a progress line to the caller (shown on a TTY by the CLI). */
  progress(update: JsonObject): void
  /** Aborted when the caller disconnects or the agent shuts down. */
  signal: AbortSignal
}

export type ControlHandler = (params: JsonObject, ctx: CallContext) => Promise<Json>

/** The longest request or response line either side accepts. */
export const MAX_LINE = 1 << 20
/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const MAX_SOCKET_PATH = 107

export interface ControlServerOptions {
  /** Where requests that carry an operation id (`op`) are recorded, for `quid outcome`. */
  operations?: Operations
  maxLine?: number
  /** Concurrent client connections; more are refused at once. */
  maxConnections?: number
}

export class ControlServer extends ReadyResource {
  readonly path: string
  private readonly handlers: ReadonlyMap<string, ControlHandler>
  private readonly maxLine: number
  private readonly maxConnections: number
  private readonly operations: Operations | null
  private server: Server | null = null
  private readonly sockets = new Set<Socket>()
  private readonly shutdown = new AbortController()

  constructor(
    path: string,
    handlers: Record<string, ControlHandler>,
    opts: ControlServerOptions = {}
  ) {
    super()
    this.path = path
    this.handlers = new Map(Object.entries(handlers))
    this.maxLine = opts.maxLine ?? MAX_LINE
    this.maxConnections = opts.maxConnections ?? 64
    this.operations = opts.operations ?? null
  }

  protected override async _open(): Promise<void> {
    checkPath(this.path)
    if (await answers(this.path)) {
      throw new QuidError(ErrorCodes.LOCKED, `an agent is already running on ${this.path}`)
    }
    // Nothing answers: whatever is there is a stale socket from an agent that died.
    await removeSocket(this.path)
    const server = createServer((socket) => this.accept(socket))
    server.maxConnections = this.maxConnections
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.path, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.server = server
    await chmod(this.path, 0o600)
  }

  protected override async _close(): Promise<void> {
    this.shutdown.abort()
    const server = this.server
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
    for (const s of this.sockets) s.destroy()
    await removeSocket(this.path)
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket)
    const aborted = new AbortController()
    const onShutdown = (): void => aborted.abort()
    this.shutdown.signal.addEventListener('abort', onShutdown)
    socket.on('close', () => {
      this.sockets.delete(socket)
      this.shutdown.signal.removeEventListener('abort', onShutdown)
      aborted.abort()
    })
    // A client that went away mid-reply is no failure: the socket closes, and 'close' cleans up.
    socket.on('error', (err) => {
      if (!isSystemError(err, 'ECONNRESET', 'EPIPE')) reportError(this, 'control: socket', err)
    })
    readLines(
      socket,
      this.maxLine,
      (line) => this.request(socket, line, aborted.signal),
      (err) => {
        send(socket, { id: null, ok: false, error: err.toJSON() as unknown as Json })
        socket.end()
      }
    )
  }

  private request(socket: Socket, line: string, signal: AbortSignal): void {
    let id: Json = null
    const fail = (err: QuidError): void =>
      send(socket, { id, ok: false, error: err.toJSON() as unknown as Json })
    let msg: unknown
    try {
      msg = JSON.parse(line)
    } catch {
      return fail(new QuidError(ErrorCodes.CONTROL_PROTOCOL, 'a request line is not JSON'))
    }
    if (!isObject(msg) || (typeof msg.id !== 'number' && typeof msg.id !== 'string')) {
      return fail(
        new QuidError(ErrorCodes.CONTROL_PROTOCOL, 'a request needs an id (number or string)')
      )
    }
    id = msg.id
    if (typeof msg.method !== 'string')
      return fail(new QuidError(ErrorCodes.CONTROL_PROTOCOL, 'a request needs a method'))
    const params = msg.params ?? {}
    if (!isObject(params))
      return fail(new QuidError(ErrorCodes.CONTROL_PROTOCOL, 'params must be an object'))
    const handler = this.handlers.get(msg.method)
    if (!handler)
      return fail(
        new QuidError(ErrorCodes.CONTROL_PROTOCOL, `unknown method ${JSON.stringify(msg.method)}`)
      )
    const op = typeof msg.op === 'string' && OP_ID.test(msg.op) ? msg.op : null
    if (msg.op !== undefined && op === null)
      return fail(
        new QuidError(ErrorCodes.CONTROL_PROTOCOL, 'op must be 16 to 64 lowercase hex characters')
      )
    void this.run(socket, id, msg.method, handler, params, op, signal)
  }

  /**
   * Runs one request. With an operation id, its start, steps and end are in the operation log
   * before the handler runs and before the answer goes out, so a caller that loses the answer can
   * still learn what happened.
   */
  private async run(
    socket: Socket,
    id: Json,
    method: string,
    handler: ControlHandler,
    params: JsonObject,
    op: string | null,
    signal: AbortSignal
  ): Promise<void> {
    const ops = op === null ? null : this.operations
    const ctx: CallContext = {
      progress: (update) => {
        if (ops && op)
          ops
            .step(op, update)
            .catch((err: unknown) => reportError(this, 'control: operations', err))
        if (!signal.aborted) send(socket, { id, progress: update })
      },
      signal
    }
    try {
      if (ops && op) await ops.start(op, method)
    } catch (err) {
      const e = new QuidError(
        ErrorCodes.STORAGE,
        `cannot record operation ${op}: ${(err as Error).message}`
      )
      return send(socket, { id, ok: false, error: e.toJSON() as unknown as Json })
    }
    let reply: JsonObject
    try {
      reply = { id, ok: true, result: (await handler(params, ctx)) ?? null }
    } catch (err) {
      reply = { id, ok: false, error: toQuidError(err).toJSON() as unknown as Json }
    }
    if (ops && op)
      await ops
        .end(op, reply.ok === true, (reply.ok === true ? reply.result : reply.error) as Json)
        .catch((err: unknown) => reportError(this, 'control: operations', err))
    send(socket, reply)
  }
}

export interface CallOptions {
  onProgress?: (update: JsonObject) => void
  signal?: AbortSignal
  /**
   * An operation id (operations.ts): the agent records the request under it, and a connection
   * lost after the request was sent is `outcome-unknown` (with `details.op`), not `no-agent`.
   */
  op?: string
}

/** Calls one method on the agent listening at `path`; throws `no-agent` when none does. */
export async function callAgent(
  path: string,
  method: string,
  params: JsonObject = {},
  opts: CallOptions = {}
): Promise<Json> {
  checkPath(path)
  const socket = await connect(path)
  try {
    return await new Promise<Json>((resolve, reject) => {
      const onAbort = (): void => {
        socket.destroy()
        reject(new QuidError(ErrorCodes.INTERNAL, 'the call was aborted'))
      }
      if (opts.signal?.aborted) return onAbort()
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      // The request was sent: the agent may have done it. Only an operation id can tell.
      socket.on('close', () =>
        reject(
          new QuidError(
            ErrorCodes.OUTCOME_UNKNOWN,
            opts.op
              ? `the agent closed the connection before answering: the outcome is unknown; ask with quid outcome ${opts.op}`
              : 'the agent closed the connection before answering: the outcome is unknown',
            opts.op ? { op: opts.op, method } : { method }
          )
        )
      )
      readLines(
        socket,
        MAX_LINE,
        (line) => {
          let msg: unknown
          try {
            msg = JSON.parse(line)
          } catch {
            return reject(
              new QuidError(ErrorCodes.CONTROL_PROTOCOL, 'the agent sent a line that is not JSON')
            )
          }
          if (!isObject(msg) || msg.id !== 1) return
          if (isObject(msg.progress)) return opts.onProgress?.(msg.progress)
          if (msg.ok === true) return resolve(msg.result ?? null)
          reject(fromWire(msg.error))
        },
        reject
      )
      socket.write(
        JSON.stringify(
          opts.op ? { id: 1, method, params, op: opts.op } : { id: 1, method, params }
        ) + '\n'
      )
    })
  } finally {
    socket.destroy()
  }
}

function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path)
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(
          new QuidError(
            ErrorCodes.NO_AGENT,
            `no agent is running here (${path}): start one with quid up`
          )
        )
      } else if (err.code === 'EACCES') {
        reject(
          new QuidError(
            ErrorCodes.NO_AGENT,
            `the agent's control socket ${path} belongs to another user`
          )
        )
      } else {
        reject(
          new QuidError(ErrorCodes.NO_AGENT, `cannot reach the agent at ${path}: ${err.message}`)
        )
      }
    })
  })
}

/** True when something accepts connections on `path`. */
async function answers(path: string): Promise<boolean> {
  try {
    const s = await connect(path)
    s.destroy()
    return true
  } catch {
    return false
  }
}

function checkPath(path: string): void {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new QuidError(
      ErrorCodes.BAD_ARGUMENT,
      `the control socket path ${path} is longer than the ${MAX_SOCKET_PATH} bytes a Unix socket allows: use a shorter --dir`
    )
  }
}

/** Splits a stream into lines, refusing any line longer than `max` bytes. */
function readLines(
  socket: Socket,
  max: number,
  onLine: (line: string) => void,
  onError: (err: QuidError) => void
): void {
  let pending: Buffer[] = []
  let size = 0
  let failed = false
  socket.on('data', (chunk: Buffer) => {
    if (failed) return
    let start = 0
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      const part = chunk.subarray(start, nl)
      if (size + part.byteLength > max) return fail()
      pending.push(part)
      const line = Buffer.concat(pending).toString('utf8')
      pending = []
      size = 0
      start = nl + 1
      if (line.length > 0) onLine(line)
    }
    const rest = chunk.subarray(start)
    size += rest.byteLength
    if (size > max) return fail()
    if (rest.byteLength > 0) pending.push(rest)
  })
  function fail(): void {
    failed = true
    pending = []
    onError(new QuidError(ErrorCodes.CONTROL_PROTOCOL, `a line is longer than ${max} bytes`))
  }
}

function send(socket: Socket, msg: JsonObject): void {
  if (!socket.destroyed && socket.writable) socket.write(JSON.stringify(msg) + '\n')
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function toQuidError(err: unknown): QuidError {
  if (err instanceof QuidError) return err
  return new QuidError(
    ErrorCodes.INTERNAL,
    `the agent failed: ${(err as Error)?.message ?? String(err)}`
  )
}

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes))

function fromWire(e: Json | undefined): QuidError {
  if (!isObject(e) || typeof e.code !== 'string' || typeof e.message !== 'string') {
    return new QuidError(
      ErrorCodes.CONTROL_PROTOCOL,
      'the agent sent an error without a code and message'
    )
  }
  const code = (KNOWN_CODES.has(e.code) ? e.code : ErrorCodes.INTERNAL) as ErrorCode
  return new QuidError(code, e.message, isObject(e.details) ? e.details : {})
}

/** Removes the socket file at `path` if there is one. */
async function removeSocket(path: string): Promise<void> {
  try {
    await unlink(path)
  } catch (err) {
    if (!isSystemError(err, 'ENOENT')) throw err
  }
}
