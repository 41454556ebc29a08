{
  'targets': [
    {
      'target_name': 'quid_ed25519',
      'sources': [ 'ed25519.c' ],
      'cflags': [ '-O3', '-fno-strict-aliasing' ],
      'cflags!': [ '-O0', '-O1', '-O2' ]
    },
    {
      'target_name': 'quid_clock',
      'sources': [ 'clock.c' ],
      'cflags': [ '-O2' ]
    }
  ]
}
