/**
 * CPU time to MI and back with the host's MIPS rating (MI per second), in exact bigint arithmetic.
 * Both round up: a guest is charged for every started MI, and a budget in ns covers its MI fully.
 */
const NS_PER_S = 1_000_000_000n

export function nsToMi(ns: bigint, mips: number): bigint {
  return (ns * BigInt(mips) + NS_PER_S - 1n) / NS_PER_S
}

export function miToNs(mi: bigint, mips: number): bigint {
  const m = BigInt(mips)
  return (mi * NS_PER_S + m - 1n) / m
}
