// A work queue keyed by a string (a namespace name) with client-go semantics: a key is queued at
// most once, a key being processed is never handed to a second worker (an add while it runs
// re-queues it once it is done), failed keys come back after a per-key exponential backoff with
// jitter, and one key's failures never hold up the others.

import { backoffMs, type BackoffPolicy } from './backoff.js';

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
