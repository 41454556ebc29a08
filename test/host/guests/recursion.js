// Recurses until the stack overflows, once caught and once not.
quid.on('start', () => {
  const deep = (n) => deep(n + 1) + 1
  try {
    deep(0)
  } catch (err) {
    quid.log('caught', err.name)
  }
  deep(0)
})
