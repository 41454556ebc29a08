// An endless chain of microtasks: each resolved promise schedules the next.
quid.on('start', () => {
  const spin = () => Promise.resolve().then(spin)
  spin()
  return new Promise(() => {})
})
