// Allocates ArrayBuffers past the limit, catching the RangeError, and keeps what it got.
globalThis.kept = []
quid.on('start', () => {
  for (let i = 0; i < 100000; i++) {
    try {
      globalThis.kept.push(new ArrayBuffer(1 << 20))
    } catch (err) {
      quid.log('caught', String(err))
      break
    }
  }
})
