// A start handler whose promise never settles.
quid.on('start', () => new Promise(() => {}))
