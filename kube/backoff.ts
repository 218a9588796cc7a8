// Retry delays: capped exponential backoff with jitter, shared by the work queue (per key) and the
// informers and watched sources (per restart of a list/watch).

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
