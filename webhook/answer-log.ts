// What is recorded about a request once its answer is on the way: its metrics (the request's, and
// the counts of the policy results its review returned) and its log line. None of it is needed to
// answer, so none of it is done before the answer is written.
// Written in batches rather than one request at a time: the server flushes at the end of each pass
// of admissions (server.ts), and anything else answered in a turn (4xx before a body is read) is
// written at the end of that turn. pino and prom-client then run with warm caches for all but the
// first line of a batch (with caches cold, as between requests in a server, batches of four
// measured 14 µs less per request). Lines keep their order. Their `time` is when the batch is
// written, at most one turn after the answer; `durationMs` is measured at the answer.

import type { Logger } from 'pino';
import type { RuleResult } from '../policies/engine/types.js';
import type { Endpoint, AdmissionOutcome, WebhookMetrics } from './metrics.js';
import { TurnBatch } from './turn-batch.js';

export interface Answered {
  endpoint: Endpoint;
  kind: string;
  operation: string;
  outcome: AdmissionOutcome;
  seconds: number;
  log: Logger;
  level: 'info' | 'error';
  line: Record<string, unknown>;
  message: string;
}

export class AnswerLog {
  private readonly batch: TurnBatch<Answered>;
  /** Reviews' rule results not counted yet: counted with the next batch of answers. */
  private pendingResults: (readonly RuleResult[])[] = [];

  constructor(private readonly metrics: WebhookMetrics) {
    this.batch = new TurnBatch((answered) => this.record(answered));
  }

  add(answered: Answered): void {
    this.batch.add(answered);
  }

  /**
   * Counts a review's rule results in redline_policy_results_total with the next batch of answers
   * (every review is followed by an answer, 200 or 500, and the server flushes after each pass):
   * for every review that returned, whatever its answer turns out to be, as when they were counted
   * during the review. Only kept here: the answer that follows schedules the write.
   */
  countResults(policyResults: readonly RuleResult[]): void {
    this.pendingResults.push(policyResults);
  }

  /** Writes what is queued now; also called on shutdown, so nothing waits for a turn that never comes. */
  flush(): void {
    this.countPendingResults();
    this.batch.flush();
  }

  private countPendingResults(): void {
    if (this.pendingResults.length === 0) return;
    const pending = this.pendingResults;
    this.pendingResults = [];
    try {
      for (const results of pending) for (const r of results) this.metrics.policyResult(r.policy, r.rule, r.result);
    } catch {
      this.metrics.error('handler');
    }
  }

  private record(batch: Answered[]): void {
    this.countPendingResults();
    for (const a of batch) {
      try {
        this.metrics.request(a.endpoint, a.kind, a.operation, a.outcome, a.seconds);
        a.log[a.level](a.line, a.message);
      } catch {
        // Bookkeeping never takes the process down (this runs outside any request's try/catch).
        this.metrics.error('handler');
      }
    }
  }
}
