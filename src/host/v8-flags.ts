/**
 * The V8 setting guests' isolates need, applied once to the process that holds them (isolated-vm's
 * isolates share the process's flags).
 *
 * `--no-concurrent-recompilation`: V8 optimizes hot code on a background thread and installs it
 * later. For isolated-vm's isolates that install sometimes never happens: in about one process in
 * six here, a guest's hot loop ran unoptimized for good, about 8 times slower, so the host's MIPS
 * rating, and with it what every guest is billed, came out 8 times lower in that process than in
 * the next (docs/HOST.md, "The unit"). Compiled on the calling thread instead, the optimized code is
 * there in every process, and the compile is done on the guest's thread, so it is metered with the
 * call that needed it rather than run for free on a thread nobody bills.
 */
import v8 from 'node:v8'

v8.setFlagsFromString('--no-concurrent-recompilation')
