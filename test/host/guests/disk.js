// Writes 100-byte values under new keys until the store refuses.
quid.on('start', () => {
  const value = 'v'.repeat(100)
  for (let i = 0; ; i++) quid.store.put('k' + i, value)
})
