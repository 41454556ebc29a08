// The V8 abort of isolated-vm 5: a resizable buffer shrunk under a view, the view then copied out.
quid.on('start', () => {
  const buf = new ArrayBuffer(8, { maxByteLength: 16 })
  const view = new Uint8Array(buf, 4)
  quid.log('resize is', typeof buf.resize, 'transfer is', typeof buf.transfer)
  try {
    buf.resize(2)
  } catch (err) {
    quid.log('resize failed', String(err))
  }
  quid.send(quid.self, view)
  quid.store.put('view', view)
})
quid.on('message', (data) => quid.log('got', data.length))
// The script's completion value is a view on a resizable buffer: it must stay in the isolate.
const last = new Uint8Array(new ArrayBuffer(8, { maxByteLength: 16 }), 4)
last
