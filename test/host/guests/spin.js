// Burns a fixed amount of CPU per message: the number of iterations is the message text.
quid.on('message', (data) => {
  const n = Number(quid.decode(data))
  let x = 0
  for (let i = 0; i < n; i++) x = (x + i * 7) ^ (x >>> 3)
  quid.store.put('x', String(x))
})
