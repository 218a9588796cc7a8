// Review loads the build's compiled schema validators with the V8 code cache the build wrote next
// to each (policies/review/code-cache.ts): V8 must take the cache, and a missing or damaged one
// must change nothing but the time.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeCacheOf, loadWithCodeCache, writeCodeCache } from '../../policies/review/code-cache.js';
import { COMPILED_DIR } from '../../policies/review/schemas.js';

const dir = mkdtempSync(join(tmpdir(), 'redline-code-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MODULE = `'use strict';
const { join } = require('node:path');
let calls = 0;
module.exports = function double(x) { calls++; return { value: 2 * x, calls, joined: join('a', 'b'), file: __filename, dir: __dirname }; };
`;

describe('V8 code cache of a CommonJS file', () => {
  it('is written after a warm-up call and taken by V8, the module working as required', () => {
    const file = join(dir, 'double.cjs');
    writeFileSync(file, MODULE);
    writeCodeCache(file, (fn) => (fn as (x: number) => unknown)(1));
    const { exports, cacheAccepted } = loadWithCodeCache(file);
    expect(cacheAccepted).toBe(true);
    // A fresh module: its state starts over, its require and file locals are its own.
    expect((exports as (x: number) => unknown)(21)).toEqual({ value: 42, calls: 1, joined: join('a', 'b'), file, dir });
  });

  it('is ignored when damaged or written for other source, and the file loads as without it', () => {
    const file = join(dir, 'damaged.cjs');
    writeFileSync(file, MODULE);
    writeCodeCache(file, () => {});
    const cache = readFileSync(codeCacheOf(file));
    cache.fill(7, cache.length - 40, cache.length - 8);
    writeFileSync(codeCacheOf(file), cache);
    const damaged = loadWithCodeCache(file);
    expect(damaged.cacheAccepted).toBe(false);
    expect((damaged.exports as (x: number) => { value: number })(2).value).toBe(4);

    writeCodeCache(file, () => {});
    writeFileSync(file, MODULE.replace('2 * x', '3 * x'));
    const stale = loadWithCodeCache(file);
    expect(stale.cacheAccepted).toBe(false);
    expect((stale.exports as (x: number) => { value: number })(2).value).toBe(6);
  });

  it('without a cache file, is a plain require', () => {
    const file = join(dir, 'plain.cjs');
    writeFileSync(file, MODULE);
    const { exports, cacheAccepted } = loadWithCodeCache(file);
    expect(cacheAccepted).toBeNull();
    expect((exports as (x: number) => { value: number })(5).value).toBe(10);
  });

  it('of every validator `npm run build` compiled is taken', () => {
    for (const kind of ['kubedb.com/v1/Redis.cjs', 'redis.redis.opstreelabs.in/v1beta2/RedisCluster.cjs', 'kubernetes/apps/v1/StatefulSet.cjs']) {
      const { exports, cacheAccepted } = loadWithCodeCache(join(COMPILED_DIR, kind));
      expect(cacheAccepted, kind).toBe(true);
      const validate = exports as ((o: unknown) => boolean) & { errors?: unknown[] };
      expect(validate({ apiVersion: 'x', kind: 'y', spec: { replicas: 'three' } }), kind).toBe(false);
      expect(validate.errors?.length, kind).toBeGreaterThan(0);
    }
  });
});
