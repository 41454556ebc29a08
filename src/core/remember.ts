/**
 * A bounded memo: what `make` gives for a key, made once and kept, the oldest key dropped first
 * when `max` are held. For values that are costly to derive and asked for again and again (a
 * key's verify table, a parsed address). If `make` throws, nothing is kept.
 */
export function remember<K, V>(cache: Map<K, V>, max: number, key: K, make: () => V): V {
  let v = cache.get(key)
  if (v === undefined) {
    v = make()
    if (cache.size >= max) cache.delete(cache.keys().next().value as K)
    cache.set(key, v)
  }
  return v
}
