// Metrics of the background audit, registered in the controller's registry. Label values are
// bounded: tenant (the tenants there are), policy and rule (the library's), scope ∈ {all,
// namespace}, kind ∈ {Report, PolicyReport}, result ∈ {created, updated, deleted, error}.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class AuditMetrics {
  readonly violations: Gauge<'tenant' | 'policy' | 'rule'>;
  readonly duration: Histogram<'scope'>;
  readonly objectsJudged: Counter<string>;
  readonly reportWrites: Counter<'kind' | 'result'>;
  readonly reportBytes: Counter<'kind'>;
  readonly lastCompleted: Gauge<string>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.violations = new Gauge({
      name: 'redline_audit_violations',
      help: 'Failing and warning results of the last audit of each tenant namespace, by tenant, policy and rule',
      labelNames: ['tenant', 'policy', 'rule'],
      registers,
    });
    this.duration = new Histogram({
      name: 'redline_audit_duration_seconds',
      help: 'Duration of an audit: of every tenant namespace (scope all), or of the namespaces an event made due (scope namespace)',
      labelNames: ['scope'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.objectsJudged = new Counter({ name: 'redline_audit_objects_judged_total', help: 'Objects the audit judged', registers });
    this.reportWrites = new Counter({ name: 'redline_audit_report_writes_total', help: 'Report writes by report kind and result', labelNames: ['kind', 'result'], registers });
    this.reportBytes = new Counter({ name: 'redline_audit_report_bytes_total', help: 'Bytes of report objects written (request bodies)', labelNames: ['kind'], registers });
    this.lastCompleted = new Gauge({ name: 'redline_audit_last_completed_timestamp_seconds', help: 'When the last audit of every tenant namespace completed', registers });
  }
}
