// Throws things that are not Errors.
let n = 0
quid.on('start', () => {
  throw 42
})
quid.on('message', () => {
  n++
  if (n === 1)
    throw {
      toString() {
        throw new Error('nope')
      }
    }
  if (n === 2) throw Symbol('s')
  if (n === 3) throw null
  quid.log('still here')
})
