// Loads fine, loops forever on the first message.
quid.on('message', () => {
  for (;;) {}
})
