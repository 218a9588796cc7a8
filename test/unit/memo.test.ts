// memoize: repeats are answered from the cache (undefined results included); the cache never
// holds more than its limit, nor strings longer than its key limit.

import { describe, expect, it } from 'vitest';
import { memoize } from '../../policies/engine/memo.js';

describe('memoize', () => {
  it('calls the function once per distinct string, undefined results included', () => {
    const calls: string[] = [];
    const f = memoize((s: string) => {
      calls.push(s);
      return s === 'none' ? undefined : s.length;
    });
    expect([f('abc'), f('abc'), f('none'), f('none'), f('de')]).toEqual([3, 3, undefined, undefined, 2]);
    expect(calls).toEqual(['abc', 'none', 'de']);
  });

  it('drops the whole cache when full, so distinct strings cannot grow it without bound', () => {
    const calls: string[] = [];
    const f = memoize((s: string) => (calls.push(s), s.toUpperCase()), 3);
    for (const s of ['a', 'b', 'c']) f(s);
    f('a'); // cached
    expect(calls).toEqual(['a', 'b', 'c']);
    f('d'); // full: cleared, then d
    f('a'); // computed again
    expect(calls).toEqual(['a', 'b', 'c', 'd', 'a']);
    expect(f('d')).toBe('D');
    expect(calls).toHaveLength(5);
  });

  it('does not cache strings longer than maxKeyLength (a huge value cannot pin memory)', () => {
    let calls = 0;
    const f = memoize((s: string) => (calls++, s.length), 10, 8);
    expect([f('12345678'), f('12345678')]).toEqual([8, 8]);
    expect(calls).toBe(1);
    const long = 'x'.repeat(9);
    expect([f(long), f(long)]).toEqual([9, 9]);
    expect(calls).toBe(3);
  });
});

