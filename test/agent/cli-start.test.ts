// `quid --version` and `--help` load no command: the command table imports each one only when it
// runs (issue 20). Checked on the real bin/quid.js, with a resolve hook that records every module
// the process loads.
import { test } from 'tap'
import { execFile } from 'node:child_process'
import { commandTable } from '../../src/agent/commands/table.js'

const BIN = new URL('../../bin/quid.js', import.meta.url).pathname

// Prints, at exit, the file URLs of every module resolved in the process (one JSON line, stderr).
const HOOK = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module'
const seen = []
registerHooks({ resolve(s, c, next) { const r = next(s, c); if (r.url.startsWith('file:')) seen.push(r.url); return r } })
process.on('exit', () => process.stderr.write('MODULES ' + JSON.stringify(seen) + '\\n'))
`)}`

function loaded(args: string[]): Promise<{ code: number; stdout: string; modules: string[] }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', HOOK, BIN, ...args], (err, stdout, stderr) => {
      const line = stderr.split('\n').find((l) => l.startsWith('MODULES ')) ?? 'MODULES []'
      resolve({
        code: err ? (err as unknown as { code: number }).code : 0,
        stdout,
        modules: JSON.parse(line.slice('MODULES '.length)) as string[]
      })
    })
  })
}

test('--version and --help load no package and no command module', async (t) => {
  for (const args of [['--version'], ['--help'], []]) {
    const r = await loaded(args)
    t.equal(r.code, args.length ? 0 : 1, `quid ${args.join(' ')}`)
    t.ok(
      r.modules.some((m) => m.endsWith('/dist/agent/cli.js')),
      'the hook sees the modules it should'
    )
    t.same(
      r.modules.filter((m) => m.includes('/node_modules/')),
      [],
      `quid ${args.join(' ')} loads no package`
    )
    t.same(
      r.modules.filter((m) => /\/dist\/agent\/commands\/(?!table|command)/.test(m)),
      [],
      `quid ${args.join(' ')} loads no command`
    )
  }
  const help = await loaded(['--help'])
  for (const name of Object.keys(commandTable)) t.match(help.stdout, `  ${name} `)
})

test('a command loads its own module when it runs', async (t) => {
  const r = await loaded(['id', '--help'])
  t.equal(r.code, 0)
  t.match(r.stdout, /usage: quid id/)
  t.ok(r.modules.some((m) => m.endsWith('/dist/agent/commands/init.js')))
  t.notOk(
    r.modules.some((m) => m.endsWith('/dist/agent/commands/audit.js')),
    'and not the others'
  )
})

test('every entry of the command table loads a command with its own usage', async (t) => {
  for (const [name, entry] of Object.entries(commandTable)) {
    const cmd = await entry.load()
    t.ok(cmd.usage.startsWith(`quid ${name}`), `${name}: ${cmd.usage}`)
    t.equal(typeof cmd.run, 'function')
    t.ok(entry.summary.length > 10)
  }
})
