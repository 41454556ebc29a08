// Sends as fast as it can, ignoring errors.
quid.on('start', () => {
  let sent = 0
  for (let i = 0; i < 3000; i++) {
    try {
      quid.send('nowhere', 'x')
      sent++
    } catch {
      // keep going
    }
  }
  quid.log('sent', sent)
})
