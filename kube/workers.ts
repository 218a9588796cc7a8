// Workers over a work queue: n concurrent loops that take a key, run the handler and hand the key back.

import type { WorkQueue } from './work-queue.js';

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
