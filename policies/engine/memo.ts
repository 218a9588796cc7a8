/**
 * A string function with a bounded cache, for parsing what recurs in every request (quantities,
 * image references, command lines). At most `limit` entries of at most `maxKeyLength` characters
 * (longer strings are computed every time), so neither a flood of distinct strings nor huge ones
 * can make it hold much memory; it is dropped whole when full. `fn` must be pure.
 */
export function memoize<T>(fn: (text: string) => T, limit = 1024, maxKeyLength = 512): (text: string) => T {
  const cache = new Map<string, T>();
  return (text) => {
    if (text.length > maxKeyLength) return fn(text);
    const cached = cache.get(text);
    if (cached !== undefined || cache.has(text)) return cached as T;
    const value = fn(text);
    if (cache.size >= limit) cache.clear();
    cache.set(text, value);
    return value;
  };
}
