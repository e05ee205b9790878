/**
 * Remembers a pure function of a string. Header names repeat from request to request, so their
 * checks and spellings are worked out once; a caller sending ever-new names only empties the cache.
 */
export function memoizeByString<T>(
  compute: (key: string) => T,
  maxEntries = 1024,
): (key: string) => T {
  const cache = new Map<string, T>();
  return function memoized(key) {
    if (cache.has(key)) return cache.get(key) as T;
    const value = compute(key);
    if (cache.size >= maxEntries) cache.clear();
    cache.set(key, value);
    return value;
  };
}
