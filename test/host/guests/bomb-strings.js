// Keeps flat 1 MB strings until the heap limit.
quid.on('start', () => {
  const keep = []
  for (let i = 0; ; i++) keep.push(String(i % 10).repeat(1 << 20))
})
