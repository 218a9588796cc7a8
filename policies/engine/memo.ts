/**
 * A string function with a bounded cache, for parsing what recurs in every request (quantities,
 * image references). Dropped whole when full: a flood of distinct strings costs a re-parse, not
 * memory. `fn` must be pure.
 */
export function memoize<T>(fn: (text: string) => T, limit = 1024): (text: string) => T {
  const cache = new Map<string, T>();
  return (text) => {
    const cached = cache.get(text);
    if (cached !== undefined || cache.has(text)) return cached as T;
    const value = fn(text);
    if (cache.size >= limit) cache.clear();
    cache.set(text, value);
    return value;
  };
}
