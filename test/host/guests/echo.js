// Answers every message with "echo:" + the message, to the sender; counts messages in its store.
quid.on('start', () => {
  quid.log('started', quid.self)
})
quid.on('message', (data, from) => {
  const n = Number(quid.store.get('count') ?? '0') + 1
  quid.store.put('count', String(n))
  const text = quid.decode(data)
  quid.log('got', text, 'from', from)
  quid.send(from, 'echo:' + text)
})
