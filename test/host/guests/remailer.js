// A one-hop remailer: a message is box(publicKey, "<next address>\n<rest>"); it forwards the rest.
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
quid.on('start', () => {
  if (!quid.store.get('secret')) {
    const kp = quid.crypto.keyPair()
    quid.store.put('secret', kp.secretKey)
    quid.store.put('public', kp.publicKey)
  }
  quid.log('public', hex(quid.store.get('public')))
})
quid.on('message', (data, from) => {
  const inner = quid.crypto.unbox(quid.store.get('secret'), data)
  if (!inner) return quid.log('not for me, from', from)
  const text = quid.decode(inner)
  const cut = text.indexOf('\n')
  quid.send(text.slice(0, cut), quid.encode(text.slice(cut + 1)))
})
