// Keeps a count in memory and one in its store, so a test sees what hibernation keeps (the store)
// and drops (memory); `after` sets a timer that must wake it.
let inMemory = 0
quid.on('start', () => {
  const n = Number(quid.store.get('starts') ?? '0') + 1
  quid.store.put('starts', String(n))
  quid.log('start', n)
})
quid.on('message', (data, from) => {
  const cmd = quid.decode(data)
  if (cmd.startsWith('after ')) return quid.after(Number(cmd.slice(6)), 'wake')
  inMemory++
  quid.send(from, `memory=${inMemory} starts=${quid.store.get('starts')}`)
})
quid.on('timer', (note) => quid.log('timer', note, 'memory', inMemory))
