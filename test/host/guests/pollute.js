// Pollutes every prototype it can reach, then uses the API.
quid.on('start', () => {
  Object.prototype.polluted = 'yes'
  Array.prototype.push = () => {
    throw new Error('push')
  }
  String.prototype.slice = () => ({ evil: true })
  Uint8Array.prototype.slice = () => null
  JSON.parse = () => ({ evil: true })
  Object.defineProperty(Object.prototype, 'then', {
    get() {
      return undefined
    },
    configurable: true
  })
  quid.store.put('k', 'value')
  quid.send(quid.self, new Uint8Array([1, 2, 3]))
  quid.log('stored', quid.store.get('k'), 'keys', quid.store.keys().length)
})
quid.on('message', (data) => quid.log('message', data.length))
