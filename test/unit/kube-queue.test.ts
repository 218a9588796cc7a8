import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffMs } from '../../kube/backoff.js';
import { TokenBucket } from '../../kube/token-bucket.js';
import { WorkQueue } from '../../kube/work-queue.js';
import { runWorkers } from '../../kube/workers.js';
import { until } from '../helpers/wait.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('backoffMs', () => {
  it('grows exponentially with equal jitter and is capped', () => {
    const p = { initialMs: 100, maxMs: 1_000 };
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffMs(n, p, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffMs(n, p, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
  });
});

describe('WorkQueue', () => {
  it('de-duplicates keys and never hands a key to two workers at once', async () => {
    const q = new WorkQueue({ backoff: { initialMs: 10, maxMs: 100 } });
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.depth).toBe(2);
    const k1 = await q.get();
    expect(k1).toBe('a');
    q.add('a'); // while processing: remembered, not queued
    expect(q.depth).toBe(1);
    const k2 = await q.get();
    expect(k2).toBe('b');
    q.done('b');
    expect(q.depth).toBe(0);
    q.done('a'); // re-queued once done
    expect(q.depth).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    expect(q.depth).toBe(0);
  });

  it('backs off per key, forget() resets, other keys are not held up', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ backoff: { initialMs: 100, maxMs: 400 }, random: () => 1 });
    expect(q.addRateLimited('bad')).toBe(100);
    expect(q.addRateLimited('bad')).toBe(200);
    expect(q.addRateLimited('bad')).toBe(400);
    expect(q.addRateLimited('bad')).toBe(400);
    expect(q.numRequeues('bad')).toBe(4);
    q.add('good');
    expect(await q.get()).toBe('good'); // not blocked by the failing key
    q.done('good');
    expect(q.depth).toBe(0);
    // the earliest pending retry of 'bad' (100 ms) wins over later ones
    await vi.advanceTimersByTimeAsync(99);
    expect(q.depth).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(q.depth).toBe(1);
    q.forget('bad');
    expect(q.numRequeues('bad')).toBe(0);
    expect(q.addRateLimited('bad')).toBe(100);
  });

  it('runWorkers: N workers in parallel, a throwing handler is retried with backoff', async () => {
    const q = new WorkQueue({ backoff: { initialMs: 5, maxMs: 10 }, random: () => 0 });
    let running = 0;
    let maxRunning = 0;
    const seen: string[] = [];
    let failOnce = true;
    const errors: string[] = [];
    // The first handlers are held until three run at once: the overlap asserted below, without timing.
    let threeRunning!: () => void;
    const overlap = new Promise<void>((resolve) => (threeRunning = resolve));
    const done = runWorkers(
      q,
      3,
      async (key) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        if (running === 3) threeRunning();
        await overlap;
        running--;
        if (key === 'flaky' && failOnce) {
          failOnce = false;
          throw new Error('boom');
        }
        seen.push(key);
        q.forget(key);
      },
      (key) => errors.push(key),
    );
    for (const k of ['a', 'b', 'c', 'd', 'e', 'flaky']) q.add(k);
    await until('all six keys handled, three workers at once', () => seen.length === 6, 2_000, 5);
    q.shutDown();
    await done;
    expect(seen.sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'flaky']);
    expect(errors).toEqual(['flaky']);
    expect(maxRunning).toBe(3);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then the sustained rate', async () => {
    vi.useFakeTimers();
    const bucket = new TokenBucket({ qps: 10, burst: 5, now: () => Date.now() });
    let granted = 0;
    const all = Array.from({ length: 25 }, () => bucket.take().then(() => granted++));
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toBe(5); // the burst
    await vi.advanceTimersByTimeAsync(1_000);
    expect(granted).toBe(15); // + 10 per second
    await vi.advanceTimersByTimeAsync(1_000);
    expect(granted).toBe(25);
    await Promise.all(all);
    expect(bucket.stats.taken).toBe(25);
  });

  it('refills up to the burst only; priority takes go first; close rejects waiters', async () => {
    vi.useFakeTimers();
    const bucket = new TokenBucket({ qps: 1, burst: 2, now: () => Date.now() });
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    const order: string[] = [];
    const p1 = bucket.take().then(() => order.push('ordinary-1'));
    const p2 = bucket.take().then(() => order.push('ordinary-2'));
    const p3 = bucket.take(true).then(() => order.push('lease'));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(order).toEqual(['lease']);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(order).toEqual(['lease', 'ordinary-1']);
    const p4 = bucket.take();
    bucket.close();
    await expect(p4).rejects.toThrow(expect.objectContaining({ kind: 'unavailable', code: 'rate-limiter-closed' }));
    await expect(p2).rejects.toThrow(expect.objectContaining({ kind: 'unavailable', code: 'rate-limiter-closed' }));
    await Promise.all([p1, p3]);
    await expect(bucket.take()).rejects.toThrow(expect.objectContaining({ kind: 'unavailable', code: 'rate-limiter-closed' }));
  });

  it('validates its parameters', () => {
    expect(() => new TokenBucket({ qps: 0, burst: 1 })).toThrow(/qps/);
    expect(() => new TokenBucket({ qps: 1, burst: 0 })).toThrow(/burst/);
  });
});
