// Exercises the API and reports what it saw, one log line per check.
const check = (name, ok) => quid.log(name, ok ? 'ok' : 'FAILED')
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i])
quid.on('start', () => {
  const key = quid.random(32)
  check('random', key instanceof Uint8Array && key.length === 32 && quid.random(0).length === 0)
  const sealed = quid.crypto.seal(key, 'secret text')
  check('seal', sealed.length === 24 + 11 + 16)
  check('open', quid.decode(quid.crypto.open(key, sealed)) === 'secret text')
  sealed[30] ^= 1
  check('open refuses a forgery', quid.crypto.open(key, sealed) === null)
  const a = quid.crypto.keyPair()
  const b = quid.crypto.keyPair()
  check(
    'sharedKey',
    same(
      quid.crypto.sharedKey(a.secretKey, b.publicKey),
      quid.crypto.sharedKey(b.secretKey, a.publicKey)
    )
  )
  const boxed = quid.crypto.box(b.publicKey, new Uint8Array([1, 2, 3]))
  check('unbox', same(quid.crypto.unbox(b.secretKey, boxed), [1, 2, 3]))
  check('unbox with the wrong key', quid.crypto.unbox(a.secretKey, boxed) === null)
  check(
    'hash',
    quid.crypto.hash('abc').length === 32 &&
      same(quid.crypto.hash('abc'), quid.crypto.hash(quid.encode('abc')))
  )
  quid.store.put('text', 'héllo')
  quid.store.put('bytes', new Uint8Array([0, 255]))
  check('store text', quid.store.get('text') === 'héllo')
  check('store bytes', same(quid.store.get('bytes'), [0, 255]))
  check('store keys', same(quid.store.keys(), ['bytes', 'text']))
  check(
    'store del',
    quid.store.del('bytes') === true &&
      quid.store.del('bytes') === false &&
      quid.store.get('bytes') === undefined
  )
  check('utf8', quid.decode(quid.encode('€')) === '€' && quid.encode('€').length === 3)
  check('now', Math.abs(quid.now() - Date.now()) < 60000)
  let threw = false
  try {
    quid.send(quid.self, { length: 3, 0: 1 })
  } catch (err) {
    threw = err instanceof TypeError
  }
  check('send refuses a fake Uint8Array', threw)
  try {
    quid.crypto.seal(new Uint8Array(31), 'x')
    threw = false
  } catch {
    threw = true
  }
  check('seal refuses a short key', threw)
  const refuses = (fn) => {
    try {
      fn()
      return false
    } catch (err) {
      return err instanceof RangeError
    }
  }
  check(
    'send refuses a packet over 64 KiB',
    refuses(() => quid.send(quid.self, new Uint8Array(65537)))
  )
  check(
    'put refuses a value over 1 MiB before copying it',
    refuses(() => quid.store.put('big', 'x'.repeat(2 * 1024 * 1024)))
  )
})
