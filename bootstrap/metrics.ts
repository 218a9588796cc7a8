// Prometheus metrics of `redline controller`, in a dedicated Registry. Label values are bounded:
// result ∈ ReconcileResult ∪ {error}, verb ∈ the RBAC verbs, code ∈ HTTP status codes ∪ {error},
// resource ∈ the fixed set of informers, reason ∈ LeaseErrorReason.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciles: Counter<'result'>;
  readonly reconcileDuration: Histogram<string>;
  readonly queueDepth: Gauge<string>;
  readonly apiRequests: Counter<'verb' | 'code'>;
  readonly apiDuration: Histogram<'verb'>;
  readonly isLeader: Gauge<string>;
  readonly informerSynced: Gauge<'resource'>;
  readonly informerRestarts: Counter<'resource'>;
  readonly events: Counter<'result'>;
  readonly rateLimiterWait: Gauge<string>;
  readonly leaseErrors: Counter<'reason'>;
  /** Source of the rate limiter's cumulative wait (ms), read at scrape time. */
  limiterWaitMs: () => number = () => 0;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.reconciles = new Counter({ name: 'redline_controller_reconciles_total', help: 'Namespace and Tenant reconciles by result', labelNames: ['result'], registers });
    this.reconcileDuration = new Histogram({
      name: 'redline_controller_reconcile_duration_seconds',
      help: 'Duration of one namespace reconcile',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.queueDepth = new Gauge({ name: 'redline_controller_queue_depth', help: 'Namespaces waiting in the work queue', registers });
    this.apiRequests = new Counter({ name: 'redline_controller_api_requests_total', help: 'Calls to the Kubernetes API by verb and HTTP code', labelNames: ['verb', 'code'], registers });
    this.apiDuration = new Histogram({
      name: 'redline_controller_api_request_duration_seconds',
      help: 'Duration of Kubernetes API calls (not watches)',
      labelNames: ['verb'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.isLeader = new Gauge({ name: 'redline_controller_is_leader', help: '1 while this replica holds the lease and may write', registers });
    this.informerSynced = new Gauge({ name: 'redline_controller_informer_synced', help: '1 once the informer has listed', labelNames: ['resource'], registers });
    this.informerRestarts = new Counter({ name: 'redline_controller_informer_restarts_total', help: 'List/watch failures followed by a restart', labelNames: ['resource'], registers });
    this.events = new Counter({ name: 'redline_controller_events_total', help: 'Kubernetes Events written (ok) or lost (error)', labelNames: ['result'], registers });
    this.leaseErrors = new Counter({
      name: 'redline_controller_lease_errors_total',
      help: 'Failed leader-election attempts by reason (namespace_missing, forbidden, unauthorized, unreachable, api_error)',
      labelNames: ['reason'],
      registers,
    });
    const metrics = this;
    this.rateLimiterWait = new Gauge({
      name: 'redline_controller_rate_limiter_wait_seconds_total',
      help: 'Total time API calls waited for a rate-limiter token',
      registers,
      collect() {
        this.set(metrics.limiterWaitMs() / 1000);
      },
    });
  }
}
