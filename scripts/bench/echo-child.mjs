// The far end of the vnet suite's IPC floor: answers each message with itself, doing nothing else,
// so that a round trip to it is what crossing to a sandbox process and back costs on this machine.
import process from 'node:process'

process.on('message', (m) => process.send(m))
process.on('disconnect', () => process.exit(0))
