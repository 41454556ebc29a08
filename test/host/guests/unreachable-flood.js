// Each message makes it send 256 empty packets to an address that does not exist, and so cause
// as many `unreachable` notices; 'report' sends back what the host says it dropped.
let notices = 0
quid.on('message', (data, from) => {
  const cmd = quid.decode(data)
  if (cmd === 'report') return quid.send(from, JSON.stringify({ notices, dropped: quid.dropped() }))
  for (let i = 0; i < 256; i++) quid.send('nowhere', new Uint8Array(0))
})
quid.on('unreachable', () => {
  notices++
})
