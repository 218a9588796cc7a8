// Bounded API load for controllers: a token bucket (global QPS limit with a burst) that every API
// call waits on. Once closed, every waiter and every later take() rejects with a
// 'rate-limiter-closed' RedlineError.

import { RedlineError } from '../core/errors.js';

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
    if (!(opts.qps > 0)) throw new RedlineError('config-invalid', 'qps must be > 0');
    if (!(opts.burst >= 1)) throw new RedlineError('config-invalid', 'burst must be >= 1');
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
    if (this.closed) return Promise.reject(new RedlineError('rate-limiter-closed', 'rate limiter closed'));
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
    for (const w of this.waiters.splice(0)) w.reject(new RedlineError('rate-limiter-closed', 'rate limiter closed'));
  }
}
