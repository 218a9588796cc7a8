// Bounded API load for controllers: a token bucket (global QPS limit with a burst) that every API
// call waits on, and a work queue keyed by a string (a namespace name) with client-go semantics:
// a key is queued at most once, a key being processed is never handed to a second worker (an add
// while it runs re-queues it once it is done), failed keys come back after a per-key exponential
// backoff with jitter, and one key's failures never hold up the others.

/** Capped exponential backoff with "equal jitter": uniformly in [base/2, base]. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** Growth per attempt; default 2. */
  factor?: number;
}

export function backoffMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor ?? 2, Math.max(0, attempt)));
  return Math.round(base / 2 + random() * (base / 2));
}

// ---------------------------------------------------------------------------------------------
// Token bucket

export interface TokenBucketOptions {
  /** Sustained rate, tokens per second (> 0). */
  qps: number;
  /** Bucket size: how many calls may go at once after a quiet period (>= 1). */
  burst: number;
  /** Monotonic milliseconds; default performance.now(). */
  now?: () => number;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
  priority: boolean;
}

export class RateLimiterClosedError extends Error {
  override readonly name = 'RateLimiterClosedError';
}

/**
 * FIFO token bucket. `take()` resolves when a token is available; waiters are served in order,
 * except that `take(true)` (priority: leader-election renewals) goes ahead of ordinary waiters, so
 * a busy queue cannot make the leader miss its renew deadline.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly now: () => number;
  /** Total tokens handed out, and how long callers waited in total (ms). */
  readonly stats = { taken: 0, waitedMs: 0 };

  constructor(private readonly opts: TokenBucketOptions) {
    if (!(opts.qps > 0)) throw new RangeError('qps must be > 0');
    if (!(opts.burst >= 1)) throw new RangeError('burst must be >= 1');
    this.now = opts.now ?? (() => performance.now());
    this.tokens = opts.burst;
    this.last = this.now();
  }

  private refill(): void {
    const t = this.now();
    const elapsed = Math.max(0, t - this.last);
    this.last = t;
    this.tokens = Math.min(this.opts.burst, this.tokens + (elapsed * this.opts.qps) / 1000);
  }

  /** Takes a token now if one is free and nobody waits; false otherwise. */
  tryTake(): boolean {
    this.refill();
    if (this.waiters.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      this.stats.taken++;
      return true;
    }
    return false;
  }

  take(priority = false): Promise<void> {
    if (this.closed) return Promise.reject(new RateLimiterClosedError('rate limiter closed'));
    if (this.tryTake()) return Promise.resolve();
    const started = this.now();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          this.stats.waitedMs += this.now() - started;
          resolve();
        },
        reject,
        priority,
      };
      if (priority) {
        const firstOrdinary = this.waiters.findIndex((w) => !w.priority);
        if (firstOrdinary < 0) this.waiters.push(waiter);
        else this.waiters.splice(firstOrdinary, 0, waiter);
      } else {
        this.waiters.push(waiter);
      }
      this.pump();
    });
  }

  /** Number of callers waiting for a token. */
  get waiting(): number {
    return this.waiters.length;
  }

  private pump(): void {
    if (this.timer) return;
    this.refill();
    while (this.waiters.length > 0 && this.tokens >= 1) {
      this.tokens -= 1;
      this.stats.taken++;
      this.waiters.shift()!.resolve();
    }
    if (this.waiters.length === 0) return;
    const ms = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.opts.qps));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, ms);
  }

  /** Rejects every waiter; later take() calls reject. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) w.reject(new RateLimiterClosedError('rate limiter closed'));
  }
}

// ---------------------------------------------------------------------------------------------
// Work queue

export interface WorkQueueOptions {
  /** Per-key retry backoff (addRateLimited). */
  backoff: BackoffPolicy;
  random?: () => number;
  /** Called whenever the number of queued keys changes (metrics). */
  onDepth?: (depth: number) => void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys that need processing (queued, or re-added while processing). */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly getters: Array<(key: string | undefined) => void> = [];
  private shuttingDown = false;

  constructor(private readonly opts: WorkQueueOptions) {}

  add(key: string): void {
    if (this.shuttingDown) return;
    const d = this.delayed.get(key);
    if (d) {
      clearTimeout(d.timer);
      this.delayed.delete(key);
    }
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds the key after `ms`; an earlier pending deadline for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const prev = this.delayed.get(key);
    if (prev && prev.at <= at) return;
    if (prev) clearTimeout(prev.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    timer.unref?.();
    this.delayed.set(key, { at, timer });
  }

  /** Re-adds a failed key after its backoff; returns the delay used. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const ms = backoffMs(n, this.opts.backoff, this.opts.random);
    this.addAfter(key, ms);
    return ms;
  }

  /** The key succeeded: its backoff starts again from the beginning. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Next key to process (waits for one); undefined once shut down. Call done(key) afterwards. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.take(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.push(key);
  }

  /** Keys waiting to be processed (not counting delayed retries or keys in progress). */
  get depth(): number {
    return this.queue.length;
  }
  get inProgress(): number {
    return this.processing.size;
  }
  get pendingRetries(): number {
    return this.delayed.size;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    for (const g of this.getters.splice(0)) g(undefined);
  }

  private take(key: string): void {
    this.dirty.delete(key);
    this.processing.add(key);
    this.opts.onDepth?.(this.queue.length);
  }

  private push(key: string): void {
    const getter = this.getters.shift();
    if (getter) {
      this.take(key);
      getter(key);
      return;
    }
    this.queue.push(key);
    this.opts.onDepth?.(this.queue.length);
  }
}

/**
 * Runs `n` workers over the queue until it shuts down. The handler owns the retry decision
 * (forget or addRateLimited); an exception from it is reported and the key retried with backoff.
 */
export function runWorkers(queue: WorkQueue, n: number, handler: (key: string) => Promise<void>, onError?: (key: string, e: unknown) => void): Promise<void> {
  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await handler(key);
      } catch (e) {
        onError?.(key, e);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  return Promise.all(Array.from({ length: n }, worker)).then(() => undefined);
}
