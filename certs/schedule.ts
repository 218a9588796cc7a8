// When CertManager looks at the Secret next: a full check is due at nextCheck (set by the last
// check from the certificates' renewal times, the CA rollout and the resync period), at once when
// forced (start, a new leader, requestCheck), and after a failure with doubling backoff
// (initialMs … maxMs). Only the clock it is given is read.

import type { Clock } from './clock.js';

export class CheckSchedule {
  private next: number;
  private forced = true;
  private failures = 0;

  constructor(
    private readonly clock: Clock,
    private readonly retry: { initialMs: number; maxMs: number },
  ) {
    for (const [k, v] of [['retry.initialMs', retry.initialMs], ['retry.maxMs', retry.maxMs]] as const) {
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${k} must be a positive number of ms, got ${v}`);
    }
    this.next = clock().getTime();
  }

  get nextCheckAt(): Date {
    return new Date(this.next);
  }

  /** The next look is a full check, whatever nextCheck says. */
  force(): void {
    this.forced = true;
  }

  /** A full check is due: forced, or nextCheck has come. */
  isDue(): boolean {
    return this.forced || this.clock().getTime() >= this.next;
  }

  /** A check starts: the force is used up. */
  started(): void {
    this.forced = false;
  }

  /** A check succeeded and wants the next one at `at` (ms). */
  succeeded(at: number): void {
    this.failures = 0;
    this.next = at;
  }

  /** A check failed: the next one after a doubling backoff. */
  failed(): { attempt: number; backoffMs: number } {
    this.failures++;
    const backoffMs = Math.min(this.retry.maxMs, this.retry.initialMs * 2 ** Math.min(this.failures - 1, 30));
    this.next = this.clock().getTime() + backoffMs;
    return { attempt: this.failures, backoffMs };
  }
}
