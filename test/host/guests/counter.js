// Counts starts in its store, so a test sees it resumed from the store after a restart.
quid.on('start', () => {
  const n = Number(quid.store.get('starts') ?? '0') + 1
  quid.store.put('starts', String(n))
  quid.log('starts', n)
})
quid.on('message', (data, from) => quid.send(from, 'starts=' + quid.store.get('starts')))
quid.on('stop', () => quid.log('stopping'))
