// Looks for anything of the host's: require, process, fetch, import(), host objects behind quid.
quid.on('start', async () => {
  const found = []
  for (const name of [
    'require',
    'process',
    'fetch',
    'module',
    'Buffer',
    'setTimeout',
    'ivm',
    '_ivm',
    'global',
    'SharedArrayBuffer',
    'WebAssembly'
  ]) {
    if (typeof globalThis[name] !== 'undefined') found.push(name)
  }
  try {
    await import('node:fs')
    found.push('import')
  } catch {
    // refused, as it should be
  }
  const viaApi = quid.send.constructor('return this')()
  if (viaApi !== globalThis) found.push('foreign-global')
  try {
    const p = Object.getPrototypeOf(quid.store.get)
    if (p.constructor('return typeof process')() !== 'undefined') found.push('process-via-proto')
  } catch {
    // nothing there
  }
  if (!Object.isFrozen(quid) || !Object.isFrozen(quid.store) || !Object.isFrozen(quid.crypto))
    found.push('unfrozen')
  try {
    quid.self = 'someone-else'
  } catch {
    // frozen
  }
  if (quid.self.includes('someone-else')) found.push('self-changed')
  quid.log('found:' + found.join(','))
})
