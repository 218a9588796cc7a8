// The audit's results as report objects, one per tenant namespace, named redline-audit:
// OpenReports `Report` (openreports.io/v1alpha1) and, optionally, the same as a wg-policy
// `PolicyReport` (wgpolicyk8s.io/v1alpha2), which Policy Reporter reads. Pure: no I/O.
//
// Bounded: at most `maxResults` results (the worst first); the summary counts every result, and
// the annotation redline.dev/results-omitted says how many were left out. A result keeps the
// timestamp of the report it was first written to, and reportContent() leaves timestamps out, so
// an unchanged audit compares equal and is not written again.

import type { ResultKind, RuleResult } from '../../policies/engine/types.js';
import { LABEL_MANAGED_BY, LABEL_TENANT, MANAGED_BY_REDLINE } from '../../core/vocabulary.js';
import type { KubeObject } from '../../kube/api-client.js';
import { isReported, isWaived, type NamespaceVerdict, type ObjectRef } from './judge.js';

export const REPORT_NAME = 'redline-audit';
export const REPORT_SOURCE = 'redline';
export const OMITTED_ANNOTATION = 'redline.dev/results-omitted';
export const PLAN_ANNOTATION = 'redline.dev/plan';
/**
 * Messages can quote what a tenant wrote (names of containers, volumes…): each is cut to this
 * many characters, so maxResults bounds a report's size and no tenant can push it past etcd's limit.
 */
export const MAX_MESSAGE_LENGTH = 1024;

export interface ReportKind {
  apiVersion: string;
  kind: string;
  plural: string;
}

export const OPENREPORTS: ReportKind = Object.freeze({ apiVersion: 'openreports.io/v1alpha1', kind: 'Report', plural: 'reports' });
export const POLICY_REPORT: ReportKind = Object.freeze({ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', plural: 'policyreports' });

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';

export interface ReportResult {
  source: string;
  policy: string;
  rule: string;
  result: ResultKind;
  message: string;
  severity: Severity;
  scored: boolean;
  category: string;
  resources: ObjectRef[];
  properties: Record<string, string>;
  timestamp: { seconds: number; nanos: number };
}

export type ReportSummary = Record<ResultKind, number>;

/** Deny failures (what admission would refuse) are high; warnings medium; Audit-only failures low; waived skips info. */
export function severityOf(r: RuleResult): Severity {
  if (r.result === 'skip') return 'info';
  if (r.result === 'error') return r.denies ? 'high' : 'medium';
  if (r.result === 'warn' || r.action === 'Warn') return 'medium';
  return r.action === 'Deny' ? 'high' : 'low';
}

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

function propertiesOf(r: RuleResult): Record<string, string> {
  const props: Record<string, string> = { action: r.action };
  if (isWaived(r)) {
    const e = (r as { exception?: Record<string, unknown> }).exception ?? {};
    for (const [k, v] of Object.entries(e)) if (typeof v === 'string') props[`exception.${k}`] = v;
  }
  return props;
}

/** A result's identity across audits (its timestamp is kept while this stays the same). */
function resultKey(r: { policy: string; rule: string; result: string; message: string; resources: readonly { uid?: string; kind?: string; name?: string }[] }): string {
  const o = r.resources[0] ?? {};
  return JSON.stringify([r.policy, r.rule, r.result, r.message, o.uid ?? '', o.kind ?? '', o.name ?? '']);
}

/** The reported results of a verdict, worst first, then by object; and the summary of every result. */
export function collectResults(verdict: NamespaceVerdict): { results: Omit<ReportResult, 'timestamp'>[]; summary: ReportSummary } {
  const summary: ReportSummary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  const results: Omit<ReportResult, 'timestamp'>[] = [];
  for (const o of verdict.objects) {
    for (const r of o.results) {
      summary[r.result]++;
      if (!isReported(r)) continue;
      results.push({
        source: REPORT_SOURCE,
        policy: r.policy,
        rule: r.rule,
        result: r.result,
        message: r.message.length > MAX_MESSAGE_LENGTH ? `${r.message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : r.message,
        severity: severityOf(r),
        scored: true,
        category: r.policy,
        resources: [{ ...o.ref }],
        properties: propertiesOf(r),
      });
    }
  }
  // Stable order: the worst first, so a capped report keeps what matters most.
  results.sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]
    || a.resources[0]!.kind.localeCompare(b.resources[0]!.kind)
    || a.resources[0]!.name.localeCompare(b.resources[0]!.name)
    || a.policy.localeCompare(b.policy) || a.rule.localeCompare(b.rule) || a.message.localeCompare(b.message));
  return { results, summary };
}

export interface BuildOptions {
  kind: ReportKind;
  maxResults: number;
  /** The report as stored now (its results' timestamps are kept). */
  previous?: KubeObject | undefined;
  now: Date;
}

/** The report object for one namespace's verdict (what the controller server-side applies). */
export function buildReport(verdict: NamespaceVerdict, opts: BuildOptions): KubeObject {
  const { results, summary } = collectResults(verdict);
  const kept = results.slice(0, Math.max(0, opts.maxResults));
  const seen = new Map<string, ReportResult['timestamp']>();
  for (const p of resultsOf(opts.previous)) {
    if (p.timestamp && Array.isArray(p.resources)) seen.set(resultKey(p as ReportResult), p.timestamp);
  }
  const stamp = { seconds: Math.floor(opts.now.getTime() / 1000), nanos: 0 };
  const withTime: ReportResult[] = kept.map((r) => ({ ...r, timestamp: seen.get(resultKey(r)) ?? stamp }));
  const report: KubeObject = {
    apiVersion: opts.kind.apiVersion,
    kind: opts.kind.kind,
    metadata: {
      name: REPORT_NAME,
      namespace: verdict.namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY_REDLINE, [LABEL_TENANT]: verdict.tenant },
      annotations: { [OMITTED_ANNOTATION]: String(results.length - kept.length), [PLAN_ANNOTATION]: verdict.plan },
    },
    summary,
    results: withTime,
  };
  if (opts.kind === OPENREPORTS) {
    report['source'] = REPORT_SOURCE;
    report['configuration'] = { limits: { maxResults: opts.maxResults, statusFilter: ['fail', 'warn', 'error', 'skip'] } };
  }
  return report;
}

function resultsOf(report: KubeObject | undefined): Partial<ReportResult>[] {
  const r = report?.['results'];
  return Array.isArray(r) ? (r as Partial<ReportResult>[]) : [];
}

/** What a report says, timestamps and server-set metadata left out: equal content is not written again. */
export function reportContent(report: KubeObject | undefined): string {
  if (!report) return '';
  const md = report.metadata;
  const ours = (m: Record<string, string> | undefined, keys: readonly string[]): Record<string, string> =>
    Object.fromEntries(keys.filter((k) => m?.[k] !== undefined).map((k) => [k, m![k]!]));
  return JSON.stringify({
    labels: ours(md.labels, [LABEL_MANAGED_BY, LABEL_TENANT]),
    annotations: ours(md.annotations, [OMITTED_ANNOTATION, PLAN_ANNOTATION]),
    source: report['source'] ?? null,
    configuration: report['configuration'] ?? null,
    summary: canonical(report['summary'] ?? null),
    results: resultsOf(report).map(({ timestamp: _t, ...rest }) => canonical(rest)),
  });
}

/** The same JSON with object keys sorted (the API server may return fields in another order). */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}
