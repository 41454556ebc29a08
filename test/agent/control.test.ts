import { test, type Test } from 'tap'
import { chmod, copyFile, link, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createConnection, createServer } from 'node:net'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { ControlServer, callAgent, MAX_LINE, type JsonObject } from '../../src/agent/control.js'
import { QuidError, ErrorCodes } from '../../src/core/errors.js'
import { tmp } from '../helpers.js'

async function server(
  t: Test,
  handlers: ConstructorParameters<typeof ControlServer>[1] = {}
): Promise<{ path: string; dir: string; srv: ControlServer }> {
  const dir = await tmp(t, 'quid-ctl-')
  await chmod(dir, 0o700)
  const path = join(dir, 'control.sock')
  const srv = new ControlServer(path, {
    echo: async (params) => params,
    refuse: async () => {
      throw new QuidError(ErrorCodes.INSUFFICIENT, 'not enough credit', { claim: 'ab' })
    },
    crash: async () => {
      throw new TypeError('boom')
    },
    ...handlers
  })
  await srv.ready()
  t.teardown(() => srv.close())
  return { path, dir, srv }
}

test('a call returns the handler result; progress lines reach the caller first', async (t) => {
  const { path } = await server(t, {
    slow: async (params, ctx) => {
      ctx.progress({ step: 'one' })
      ctx.progress({ step: 'two' })
      return { done: params.n ?? null }
    }
  })
  t.same(await callAgent(path, 'echo', { a: '10my', b: [1, 2] }), { a: '10my', b: [1, 2] })
  const seen: JsonObject[] = []
  t.same(await callAgent(path, 'slow', { n: 3 }, { onProgress: (p) => seen.push(p) }), { done: 3 })
  t.same(seen, [{ step: 'one' }, { step: 'two' }])
})

test('errors keep their code and details; other failures become internal', async (t) => {
  const { path } = await server(t)
  const err = await callAgent(path, 'refuse').catch((e: unknown) => e)
  t.ok(err instanceof QuidError)
  t.equal((err as QuidError).code, ErrorCodes.INSUFFICIENT)
  t.same((err as QuidError).details, { claim: 'ab' })
  await t.rejects(callAgent(path, 'crash'), { code: ErrorCodes.INTERNAL, message: /boom/ })
  await t.rejects(callAgent(path, 'nope'), {
    code: ErrorCodes.CONTROL_PROTOCOL,
    message: /unknown method "nope"/
  })
  // The server is still fine after all that.
  t.same(await callAgent(path, 'echo', { x: 1 }), { x: 1 })
})

test('malformed and oversize lines are refused with control-protocol; the server runs on', async (t) => {
  const { path } = await server(t)
  const raw = (payload: string | Buffer): Promise<string> =>
    new Promise((resolve) => {
      const s = createConnection(path)
      let got = ''
      s.on('data', (d) => (got += d.toString()))
      s.on('close', () => resolve(got))
      s.on('error', () => {})
      s.write(payload, () => setTimeout(() => s.end(), 50))
    })
  const notJson = JSON.parse((await raw('{nope\n')).trim())
  t.equal(notJson.error.code, ErrorCodes.CONTROL_PROTOCOL)
  const noId = JSON.parse((await raw('{"method":"echo"}\n')).trim())
  t.match(noId.error.message, /needs an id/)
  const badParams = JSON.parse((await raw('{"id":7,"method":"echo","params":[1]}\n')).trim())
  t.equal(badParams.id, 7)
  t.match(badParams.error.message, /params must be an object/)
  const big = JSON.parse((await raw(Buffer.alloc(MAX_LINE + 10, 0x61))).trim().split('\n')[0]!)
  t.equal(big.error.code, ErrorCodes.CONTROL_PROTOCOL)
  t.match(big.error.message, /longer than/)
  t.same(await callAgent(path, 'echo', { still: true }), { still: true })
})

test('no agent: a missing socket and a stale one both say no-agent; a new server replaces the stale one', async (t) => {
  const dir = await tmp(t, 'quid-ctl-')
  const path = join(dir, 'control.sock')
  await t.rejects(callAgent(path, 'echo'), {
    code: ErrorCodes.NO_AGENT,
    message: /no agent is running/
  })
  // A socket file left by a process that died: bound, then closed without unlinking.
  const stale = createServer()
  await new Promise<void>((resolve) => stale.listen(path, resolve))
  // Closing a Node server unlinks its socket, so leave a plain file where the socket was.
  await new Promise<void>((resolve) => stale.close(() => resolve()))
  await writeFile(path, '')
  await t.rejects(callAgent(path, 'echo'), { code: ErrorCodes.NO_AGENT })
  const srv = new ControlServer(path, { echo: async (p) => p })
  await srv.ready()
  t.teardown(() => srv.close())
  t.same(await callAgent(path, 'echo', { ok: 1 }), { ok: 1 })
})

test('a second agent on the same socket is refused with locked, and the first keeps serving', async (t) => {
  const { path } = await server(t)
  const second = new ControlServer(path, {})
  await t.rejects(second.ready(), { code: ErrorCodes.LOCKED })
  t.same(await callAgent(path, 'echo', { first: true }), { first: true })
})

test('a caller that disconnects aborts its call', async (t) => {
  let aborted!: () => void
  const wasAborted = new Promise<void>((resolve) => (aborted = resolve))
  const { path } = await server(t, {
    wait: (_params, ctx) =>
      new Promise((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          aborted()
          reject(new QuidError(ErrorCodes.INTERNAL, 'aborted'))
        })
      })
  })
  const ac = new AbortController()
  const call = callAgent(path, 'wait', {}, { signal: ac.signal, onProgress: () => {} })
  setTimeout(() => ac.abort(), 20)
  await t.rejects(call, { message: /aborted/ })
  await wasAborted
  t.pass('the handler saw the abort')
})

test('closing the server removes its socket and aborts calls in flight', async (t) => {
  const dir = await tmp(t, 'quid-ctl-')
  const path = join(dir, 'control.sock')
  const srv = new ControlServer(path, {
    wait: (_p, ctx) =>
      new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve('stopped')))
  })
  await srv.ready()
  const call = callAgent(path, 'wait').catch((e: unknown) => e)
  await new Promise((r) => setTimeout(r, 30))
  await srv.close()
  const res = await call
  t.ok(
    res === 'stopped' || (res instanceof QuidError && res.code === ErrorCodes.NO_AGENT),
    'the call ends'
  )
  await t.rejects(stat(path), { code: 'ENOENT' })
})

test('only the owner can reach the socket: mode 0600 in a 0700 directory', async (t) => {
  const { path, dir } = await server(t)
  t.equal((await stat(path)).mode & 0o777, 0o600)
  t.equal((await stat(dir)).mode & 0o777, 0o700)
  if (process.getuid?.() !== 0) {
    t.comment('not root: cannot start a process as another user; the modes above are the check')
    return
  }
  // As root, try from a process running as `nobody` (from `/`: it may not enter our working
  // directory): the kernel refuses it. Our Node may sit under a directory that user may not enter
  // (node_modules of a checkout in a 0700 temporary directory), so it runs a link to it, or a copy,
  // in a directory of its own that it may enter.
  const bin = await mkdtemp(join(tmpdir(), 'quid-probe-'))
  t.teardown(() => rm(bin, { recursive: true, force: true }))
  await chmod(bin, 0o755)
  const node = join(bin, 'node')
  await link(process.execPath, node).catch(() => copyFile(process.execPath, node))
  await chmod(node, 0o755)
  const probe = async (): Promise<string> => {
    // Through env(1) without NODE_OPTIONS: the test runner adds modules to every node it starts,
    // which that user may not read.
    const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', node, '-e', script], {
      uid: 65534,
      gid: 65534,
      cwd: '/'
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d.toString()))
    await new Promise((resolve) => child.on('close', resolve))
    return out.trim()
  }
  const script = `require('net').createConnection(${JSON.stringify(path)}).on('connect', () => { console.log('connected'); process.exit(0) }).on('error', (e) => { console.log(e.code); process.exit(0) })`
  t.equal(await probe(), 'EACCES', 'another user gets EACCES')
  // The socket's own mode is enough, even in a directory others may enter.
  await chmod(dir, 0o755)
  t.equal(await probe(), 'EACCES', 'the socket alone refuses another user')
  await chmod(dir, 0o700)
})

test('a socket path too long for Unix sockets is refused up front', async (t) => {
  const long = '/tmp/' + 'x'.repeat(120) + '/control.sock'
  await t.rejects(callAgent(long, 'echo'), {
    code: ErrorCodes.BAD_ARGUMENT,
    message: /use a shorter --dir/
  })
  await t.rejects(new ControlServer(long, {}).ready(), { code: ErrorCodes.BAD_ARGUMENT })
})
