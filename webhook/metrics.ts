// Prometheus metrics of the webhook. One dedicated Registry per server so tests can run several
// servers in one process. Label values are bounded: `kind` comes from a fixed list, `operation` and
// `endpoint` from fixed sets, `policy`/`rule`/`exception` from the compiled library. The per-request updates
// never hash a label set: request and policy-result counts are counted in plain numbers and added
// to their counters at scrape time, and latency goes to a CountingHistogram series looked up once.

import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { CountingHistogram, type HistogramSeries } from './histogram.js';
import type { ExceptionStatus } from '../policies/engine/index.js';

/** The values of the metrics' `kind` label: the kinds Redline reviews (DESIGN.md "Supported kinds"); any other kind is labelled "other". */
export const METRIC_KINDS: readonly string[] = Object.freeze([
  'Redis',
  'RedisSentinel',
  'RedisCluster',
  'RedisReplication',
  'RedisEnterpriseCluster',
  'RedisEnterpriseDatabase',
  'RedisEnterpriseActiveActiveDatabase',
  'RedisEnterpriseRemoteCluster',
  'RedisFailover',
  'StatefulSet',
  'Deployment',
  'PetSet',
  'ReplicaSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'ReplicationController',
  'Pod',
  'PodDisruptionBudget',
  'Certificate',
  'Secret',
  'Namespace',
]);
const KIND_SET = new Set(METRIC_KINDS);
const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

export type Endpoint = 'validate' | 'mutate' | 'other';
/** allowed (untouched), patched (allowed with a patch), denied, rejected (4xx: bad input), error (5xx). */
export type AdmissionOutcome = 'allowed' | 'patched' | 'denied' | 'rejected' | 'error';
/** Fixed set of error kinds for redline_errors_total. */
export type ErrorKind =
  | 'handler' // an exception escaped a request handler (answered 500)
  | 'reviewer' // the policy engine threw
  | 'client' // a malformed HTTP request / client socket error
  | 'tls' // TLS handshake failure
  | 'timeout' // a request did not complete in time
  | 'cert_reload' // a changed certificate could not be loaded
  | 'policy_reload' // changed policies or plans are invalid
  | 'namespace_watch' // the namespace informer failed and is restarting
  | 'storageclass_watch' // the StorageClass informer failed and is restarting
  | 'pdb_watch' // PodDisruptionBudget discovery or informer failed and is restarting
  | 'usage_watch' // a usage cache (a Redis kind's informer, for the ledger) failed and is restarting
  | 'ledger_watch' // the ledger records' informer failed and is restarting
  | 'tenant_watch'; // Tenant discovery or informer failed and is restarting

export function boundedKind(kind: unknown): string {
  return typeof kind === 'string' && KIND_SET.has(kind) ? kind : 'other';
}
export function boundedOperation(op: unknown): string {
  return typeof op === 'string' && OPERATIONS.has(op) ? op : 'other';
}

export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16];

interface IncChild {
  inc(value?: number): void;
}
interface PendingCount {
  child: IncChild;
  pending: number;
}

export class WebhookMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'endpoint' | 'kind' | 'operation' | 'outcome'>;
  readonly duration: CountingHistogram<'endpoint' | 'kind' | 'operation'>;
  readonly batchSize: CountingHistogram<never>;
  private readonly batchSeries: HistogramSeries;
  readonly policyResults: Counter<'policy' | 'rule' | 'result'>;
  readonly errors: Counter<'kind'>;
  readonly ready: Gauge<string>;
  readonly exceptionExpiry: Gauge<'exception'>;
  readonly exceptionStates: Gauge<'state'>;
  private exceptionSource: () => readonly ExceptionStatus[] = () => [];
  /** endpoint, kind, operation → the latency series and, by outcome, requests not yet counted. */
  private readonly requestSeries = new Map<string, { latency: HistogramSeries; outcomes: Map<AdmissionOutcome, PendingCount> }>();
  /** policy → rule → result → count not yet added to the counter. */
  private readonly resultCounts = new Map<string, Map<string, Map<string, PendingCount>>>();
  private readonly errorChildren = new Map<string, IncChild>();
  private readinessProbe: () => boolean = () => false;

  constructor(opts: { registry?: Registry; defaultMetrics?: boolean } = {}) {
    this.registry = opts.registry ?? new Registry();
    const registers = [this.registry];
    const requestSeries = this.requestSeries;
    this.requests = new Counter({
      name: 'redline_admission_requests_total',
      help: 'AdmissionReview requests answered, by endpoint, object kind, operation and outcome.',
      labelNames: ['endpoint', 'kind', 'operation', 'outcome'] as const,
      registers,
      collect() {
        for (const { outcomes } of requestSeries.values()) flushPending(outcomes.values());
      },
    });
    this.duration = new CountingHistogram(
      'redline_admission_request_duration_seconds',
      'Time from the first byte of a request to the end of its answer.',
      ['endpoint', 'kind', 'operation'] as const,
      DURATION_BUCKETS,
      this.registry,
    );
    this.batchSize = new CountingHistogram(
      'redline_admission_batch_size',
      'Requests admitted together: bodies read in one event-loop turn, taken through each step together.',
      [],
      BATCH_BUCKETS,
      this.registry,
    );
    this.batchSeries = this.batchSize.labels();
    const resultCounts = this.resultCounts;
    this.policyResults = new Counter({
      name: 'redline_policy_results_total',
      help: 'Policy rule results in admission, by policy, rule and result (pass|fail|warn|skip|error).',
      labelNames: ['policy', 'rule', 'result'] as const,
      registers,
      collect() {
        for (const rules of resultCounts.values()) {
          for (const results of rules.values()) flushPending(results.values());
        }
      },
    });
    this.errors = new Counter({
      name: 'redline_errors_total',
      help: 'Errors by kind: handler, reviewer, client, tls, timeout, cert_reload, policy_reload, namespace_watch, storageclass_watch, pdb_watch, usage_watch, ledger_watch, tenant_watch.',
      labelNames: ['kind'] as const,
      registers,
    });
    const self = this;
    this.ready = new Gauge({
      name: 'redline_ready',
      help: '1 when the webhook is ready to serve (policies compiled, certificate valid, namespaces, StorageClasses and PodDisruptionBudgets synced).',
      registers,
      collect() {
        this.set(self.readinessProbe() ? 1 : 0);
      },
    });
    // The library in service at scrape time (a reload changes the set), its states by the serve clock.
    this.exceptionExpiry = new Gauge({
      name: 'redline_exception_expiry_timestamp_seconds',
      help: 'When each PolicyException of the library in service expires (Unix seconds); alert on it minus time().',
      labelNames: ['exception'] as const,
      registers,
      collect() {
        this.reset();
        for (const e of self.exceptionSource()) this.labels(e.name).set(e.expiresMs / 1000);
      },
    });
    this.exceptionStates = new Gauge({
      name: 'redline_exceptions',
      help: 'PolicyExceptions of the library in service by state: active, expiring (within the warning window), expired (ignored), pending (before approved).',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const counts = { active: 0, expiring: 0, expired: 0, pending: 0 };
        for (const e of self.exceptionSource()) counts[e.state]++;
        for (const [state, n] of Object.entries(counts)) this.labels(state).set(n);
      },
    });
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** The exceptions (and their states now) the exception gauges report at scrape time. */
  setExceptionSource(source: () => readonly ExceptionStatus[]): void {
    this.exceptionSource = source;
  }

  /** The redline_ready gauge is computed from this at scrape time. */
  setReadinessProbe(probe: () => boolean): void {
    this.readinessProbe = probe;
  }

  request(endpoint: Endpoint, kind: string, operation: string, outcome: AdmissionOutcome, seconds: number): void {
    const k = boundedKind(kind);
    const op = boundedOperation(operation);
    const key = `${endpoint}\0${k}\0${op}`;
    let series = this.requestSeries.get(key);
    if (!series) {
      series = { latency: this.duration.labels(endpoint, k, op), outcomes: new Map() };
      this.requestSeries.set(key, series);
    }
    this.duration.observe(series.latency, seconds);
    const entry = series.outcomes.get(outcome);
    if (entry) entry.pending++;
    else series.outcomes.set(outcome, { child: this.requests.labels(endpoint, k, op, outcome), pending: 1 });
  }

  /** One pass of the admission steps over `size` requests. */
  batch(size: number): void {
    this.batchSize.observe(this.batchSeries, size);
  }

  policyResult(policy: string, rule: string, result: string): void {
    // Nested maps: no key string is built per result.
    let rules = this.resultCounts.get(policy);
    if (!rules) this.resultCounts.set(policy, (rules = new Map()));
    let results = rules.get(rule);
    if (!results) rules.set(rule, (results = new Map()));
    const entry = results.get(result);
    if (entry) entry.pending++;
    else results.set(result, { child: this.policyResults.labels(policy, rule, result), pending: 1 });
  }

  error(kind: ErrorKind): void {
    let c = this.errorChildren.get(kind);
    if (!c) {
      c = this.errors.labels(kind);
      this.errorChildren.set(kind, c);
    }
    c.inc();
  }
}

function flushPending(entries: Iterable<PendingCount>): void {
  for (const entry of entries) {
    if (entry.pending === 0) continue;
    entry.child.inc(entry.pending);
    entry.pending = 0;
  }
}
