// Grows an array until the heap limit.
quid.on('start', () => {
  const keep = []
  for (;;) keep.push(new Array(100000).fill(1.5))
})
