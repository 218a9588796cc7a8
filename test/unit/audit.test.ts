// The audit's judgement and reports (bootstrap/audit/judge.ts, report.ts), without a cluster: the
// engine gets exactly admission's inputs; reports are capped, keep timestamps, compare equal when
// unchanged, and validate against the real OpenReports and wg-policy CRD schemas (every field kept:
// a field the API server prunes would make every audit rewrite the report).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { StaticClusterFacts } from '../../kube/cluster-facts-source.js';
import { StaticNamespaceSource } from '../../kube/namespaces.js';
import { Engine, defaultLibraryDir, loadLibrary, nextExceptionChange, type JsonObject, type ReviewInput, type ReviewOutcome, type RuleResult } from '../../policies/engine/index.js';
import { admit } from '../../webhook/admission.js';
import type { AdmissionRequest } from '../../webhook/admission-review.js';
import { LabelGuard } from '../../webhook/label-guard.js';
import { isRedlineOwn, judgeNamespace, type NamespaceVerdict, type StoredObject } from '../../bootstrap/audit/judge.js';
import {
  buildReport, MAX_MESSAGE_LENGTH, OMITTED_ANNOTATION, OPENREPORTS, POLICY_REPORT, reportContent, severityOf, type ReportKind,
} from '../../bootstrap/audit/report.js';
import { compileLibrary, readLibrarySources } from '../../policies/engine/library.js';
import { resolveControllerSettings } from '../../core/settings/controller.js';
import { kubedbRedis, pod, podSpec, container, RESTRICTED_POD } from '../e2e/helpers/isolation-objects.js';

const ROOT = path.join(import.meta.dirname, '..', '..');
const NS = { name: 'acme-prod', labels: { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'premium' } };
const FREE = { name: 'acme-free', labels: { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'free' } };

let engine: Engine;
beforeAll(async () => {
  engine = new Engine(await loadLibrary(defaultLibraryDir()));
});

const stored = (o: Record<string, unknown>, uid = 'uid-1'): StoredObject => {
  const copy = structuredClone(o) as StoredObject;
  copy.metadata.uid = uid;
  return copy;
};
/** As admission stored it on premium (mutated: TLS, security contexts), with a uid. */
const bigRedis = (ns: string, name: string): StoredObject => {
  const written = kubedbRedis(ns, name, { spec: { mode: 'Cluster', cluster: { shards: 3, replicas: 2 } } }) as JsonObject;
  const mutated = engine.review({ object: written, operation: 'CREATE', namespace: NS, plan: 'premium', mutate: true, validate: false }).mutated;
  return stored(mutated, `uid-${name}`);
};
const failures = (v: NamespaceVerdict): string[] => v.objects.flatMap((o) => o.results.filter((r) => r.result === 'fail').map((r) => `${o.ref.name} ${r.policy}/${r.rule}`)).sort();

describe('judge: the engine as admission calls it', () => {
  it('gets the very input the validating webhook builds for the object written again unchanged', () => {
    const obj = bigRedis(NS.name, 'cache');
    const facts = new StaticClusterFacts(
      [{ info: { name: 'ebs', provisioner: 'ebs.csi.aws.com', default: true }, created: '' }],
      [{ name: 'cache', namespace: NS.name, selector: { matchLabels: { app: 'redis' } } }],
    );
    const seen: ReviewInput[] = [];
    const recording = { review: (input: ReviewInput): ReviewOutcome => (seen.push(input), engine.review(input)) };
    const request = {
      uid: 'u', kind: { group: 'kubedb.com', version: 'v1', kind: 'Redis' }, resource: { group: 'kubedb.com', version: 'v1', resource: 'redises' },
      name: 'cache', namespace: NS.name, operation: 'UPDATE', userInfo: { username: 'alice', groups: [] },
      object: obj, oldObject: obj, dryRun: false,
    } as unknown as AdmissionRequest;
    admit('validate', request, {
      reviewer: () => recording, namespaces: new StaticNamespaceSource([NS]), cluster: facts,
      labelGuard: new LabelGuard({ users: [], groups: [], serviceAccounts: [] }), unknownNamespace: 'allow',
    });
    const verdict = judgeNamespace(recording, NS, [obj], facts);
    expect(seen).toHaveLength(2);
    const { userInfo: _who, ...admission } = seen[0]!;
    expect(seen[1]).toEqual(admission);
    expect(verdict.objects[0]!.results).toEqual(engine.review(seen[0]!).results);
  });

  it('a scheduled Pod (nodeName set by the scheduler) is not failed for nodeName, as on its later updates', () => {
    const p = stored(pod(NS.name, 'redis-0', podSpec([container('redis', 'redis:7.2.4')], { nodeName: 'node-1', securityContext: RESTRICTED_POD })));
    const created = engine.review({ object: p, operation: 'CREATE', namespace: NS, plan: 'premium', mutate: false });
    expect(created.results.some((r) => r.rule === 'node-name' && r.result === 'fail')).toBe(true);
    const audited = judgeNamespace(engine, NS, [p], undefined);
    expect(audited.objects[0]!.results.find((r) => r.rule === 'node-name')?.result).toBe('skip');
  });

  it('plan-check judges against another plan exactly as a namespace on that plan is judged', () => {
    const onFree = judgeNamespace(engine, FREE, [bigRedis(FREE.name, 'cache')], undefined);
    const moved = judgeNamespace(engine, NS, [bigRedis(NS.name, 'cache')], undefined, 'free');
    expect(moved.plan).toBe('free');
    expect(failures(moved)).toEqual(failures(onFree));
    expect(failures(moved)).toContain('cache plan-limits/memory-per-pod');
    expect(failures(judgeNamespace(engine, NS, [bigRedis(NS.name, 'cache')], undefined))).toEqual([]);
  });

  it('skips only the tenant CA Certificate the controller stamps: a tenant cannot hide its own objects behind Redline\'s label', () => {
    const cert = (name: string, labels: Record<string, string>): StoredObject => stored({
      apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name, namespace: NS.name, labels },
      spec: { isCA: true, secretName: name, issuerRef: { kind: 'ClusterIssuer', name: 'redline-platform-ca' } },
    });
    const managed = { 'app.kubernetes.io/managed-by': 'redline' };
    expect(isRedlineOwn(cert('redline-tenant-ca', managed))).toBe(true);
    expect(isRedlineOwn(cert('my-ca', managed))).toBe(false);
    expect(isRedlineOwn(cert('redline-tenant-ca', {}))).toBe(false);
    const verdict = judgeNamespace(engine, NS, [cert('redline-tenant-ca', managed), cert('my-ca', managed)], undefined);
    expect(verdict.objects.map((o) => o.ref.name)).toEqual(['my-ca']);
    expect(verdict.objects[0]!.denied).toBe(true);
  });

  it('an engine that throws becomes an error result on that object, not a stopped audit', () => {
    let calls = 0;
    const flaky = { review: (input: ReviewInput): ReviewOutcome => (calls++ === 0 ? (() => { throw new Error('boom'); })() : engine.review(input)) };
    const v = judgeNamespace(flaky, FREE, [bigRedis(FREE.name, 'a'), bigRedis(FREE.name, 'b')], undefined);
    expect(v.objects.map((o) => o.ref.name)).toEqual(['a', 'b']);
    expect(v.objects[0]!.results).toEqual([expect.objectContaining({ result: 'error', message: 'could not be judged: boom' })]);
    expect(v.objects[1]!.denied).toBe(true);
  });
});

describe('reports', () => {
  const schemaOf = (file: string, version: string): JsonObject => {
    const crd = YAML.parseAllDocuments(readFileSync(path.join(ROOT, file), 'utf8')).map((d) => d.toJS()).find((d) => d?.kind === 'CustomResourceDefinition');
    return crd.spec.versions.find((v: { name: string }) => v.name === version).schema.openAPIV3Schema;
  };
  const schemas = new Map<ReportKind, JsonObject>([
    [OPENREPORTS, schemaOf('manifests/base/crds/openreports.io_reports.yaml', 'v1alpha1')],
    [POLICY_REPORT, schemaOf('manifests/policy-reporter/wgpolicyk8s.io_policyreports.yaml', 'v1alpha2')],
  ]);
  /** Fields the API server would prune: not declared where the schema lists properties. */
  const pruned = (v: unknown, s: JsonObject | undefined, at: string): string[] => {
    if (!s || v === null || typeof v !== 'object') return [];
    if (Array.isArray(v)) return v.flatMap((x, i) => pruned(x, s['items'] as JsonObject, `${at}[${i}]`));
    if (at === '.metadata') return [];
    const props = s['properties'] as Record<string, JsonObject> | undefined;
    const extra = s['additionalProperties'] as JsonObject | undefined;
    return Object.entries(v).flatMap(([k, x]) => {
      if (props?.[k]) return pruned(x, props[k], `${at}.${k}`);
      if (extra) return pruned(x, extra, `${at}.${k}`);
      return [`${at}.${k}`];
    });
  };
  const validate = (kind: ReportKind, report: unknown): void => {
    const ajv = new Ajv({ strict: false, allErrors: true, formats: { int32: true, int64: true } });
    const check = ajv.compile(schemas.get(kind)!);
    expect(check(report), JSON.stringify(check.errors?.slice(0, 3))).toBe(true);
    expect(pruned(report, schemas.get(kind), '')).toEqual([]);
  };
  const verdictOf = (...names: string[]): NamespaceVerdict => judgeNamespace(engine, FREE, names.map((n) => bigRedis(FREE.name, n)), undefined);
  const now = new Date('2026-12-06T04:00:00Z');

  it('fail, warn and error results with policy, rule, message, the object, severity and time; the summary counts every result', () => {
    const verdict = verdictOf('cache');
    for (const kind of [OPENREPORTS, POLICY_REPORT]) {
      const r = buildReport(verdict, { kind, maxResults: 100, now });
      validate(kind, r);
      const results = r['results'] as { policy: string; rule: string; result: string; severity: string; resources: unknown[]; timestamp: unknown }[];
      const all = verdict.objects[0]!.results;
      expect(r['summary']).toEqual({
        pass: all.filter((x) => x.result === 'pass').length, fail: all.filter((x) => x.result === 'fail').length,
        warn: all.filter((x) => x.result === 'warn').length, error: 0, skip: all.filter((x) => x.result === 'skip').length,
      });
      expect(results.map((x) => x.result).sort()).toEqual(all.filter((x) => x.result === 'fail' || x.result === 'warn').map((x) => x.result).sort());
      expect(results[0]).toMatchObject({
        policy: 'plan-limits', result: 'fail', severity: 'high',
        resources: [{ apiVersion: 'kubedb.com/v1', kind: 'Redis', name: 'cache', namespace: FREE.name, uid: 'uid-cache' }],
        timestamp: { seconds: now.getTime() / 1000, nanos: 0 },
      });
      expect(r.metadata).toMatchObject({ name: 'redline-audit', namespace: FREE.name, labels: { 'app.kubernetes.io/managed-by': 'redline', 'redline.dev/tenant': 'acme' } });
    }
  });

  it('capped at maxResults, the worst first; the summary still counts all and the annotation how many were left out', () => {
    const verdict = verdictOf('a', 'b', 'c', 'd');
    const full = buildReport(verdict, { kind: OPENREPORTS, maxResults: 1000, now });
    const capped = buildReport(verdict, { kind: OPENREPORTS, maxResults: 3, now });
    validate(OPENREPORTS, capped);
    const all = (full['results'] as unknown[]).length;
    expect(all).toBeGreaterThan(10);
    expect(capped['results']).toHaveLength(3);
    expect(capped['results']).toEqual((full['results'] as unknown[]).slice(0, 3));
    expect(capped['summary']).toEqual(full['summary']);
    expect(capped.metadata.annotations?.[OMITTED_ANNOTATION]).toBe(String(all - 3));
    expect(capped['configuration']).toEqual({ limits: { maxResults: 3, statusFilter: ['fail', 'warn', 'error', 'skip'] } });
    const severities = (full['results'] as { severity: string }[]).map((x) => x.severity);
    expect(severities.indexOf('medium')).toBeGreaterThan(severities.lastIndexOf('high'));
  });

  it('an unchanged audit compares equal and keeps each result\'s first timestamp; a change does not', () => {
    const first = buildReport(verdictOf('a'), { kind: OPENREPORTS, maxResults: 100, now });
    // As the API server returns it: other key order, server metadata.
    const fromServer = JSON.parse(JSON.stringify({ ...first, metadata: { ...first.metadata, resourceVersion: '7', uid: 'r', managedFields: [] } }));
    const later = buildReport(verdictOf('a'), { kind: OPENREPORTS, maxResults: 100, previous: fromServer, now: new Date(now.getTime() + 3_600_000) });
    expect(reportContent(later)).toBe(reportContent(fromServer));
    expect(later['results']).toEqual(first['results']);
    const grown = buildReport(verdictOf('a', 'b'), { kind: OPENREPORTS, maxResults: 100, previous: fromServer, now: new Date(now.getTime() + 3_600_000) });
    expect(reportContent(grown)).not.toBe(reportContent(fromServer));
    const times = (grown['results'] as { resources: { name: string }[]; timestamp: { seconds: number } }[]).map((x) => [x.resources[0]!.name, x.timestamp.seconds]);
    expect(new Set(times.filter(([n]) => n === 'a').map(([, t]) => t))).toEqual(new Set([now.getTime() / 1000]));
    expect(new Set(times.filter(([n]) => n === 'b').map(([, t]) => t))).toEqual(new Set([now.getTime() / 1000 + 3600]));
  });

  it('a waived rule is reported as skip naming the exception and its owner; once expired it fails again', async () => {
    const sources = await readLibrarySources(defaultLibraryDir(), { tests: false });
    const waiver = `apiVersion: redline.dev/v1alpha1
kind: PolicyException
metadata: {name: acme-cache-limits}
spec:
  owner: dba@acme.example
  reason: migrating cache to a smaller layout
  ticket: OPS-42
  approved: 2026-12-06T03:00:00Z
  expires: 2026-12-06T05:00:00Z
  policies: [{policy: plan-limits}]
  match: {tenant: acme, names: [cache]}
`;
    const library = compileLibrary('lib', [...sources, { file: 'exceptions/acme.yaml', text: waiver }]);
    const judged = (at: Date, name: string): NamespaceVerdict => judgeNamespace(new Engine(library, { clock: () => at }), FREE, [bigRedis(FREE.name, name)], undefined);
    const plain = verdictOf('cache').objects[0]!.results.filter((r) => r.policy === 'plan-limits' && r.result === 'fail');
    expect(plain.length).toBeGreaterThan(0);
    for (const kind of [OPENREPORTS, POLICY_REPORT]) {
      const r = buildReport(judged(now, 'cache'), { kind, maxResults: 100, now });
      validate(kind, r);
      const results = r['results'] as { policy: string; rule: string; result: string; severity: string; properties: Record<string, string> }[];
      const limits = results.filter((x) => x.policy === 'plan-limits');
      expect(limits.map((x) => x.rule).sort()).toEqual(plain.map((x) => x.rule).sort());
      for (const x of limits) {
        expect([x.result, x.severity]).toEqual(['skip', 'info']);
        expect(x.properties).toMatchObject({ 'exception.name': 'acme-cache-limits', 'exception.owner': 'dba@acme.example' });
      }
      expect((r['summary'] as { skip: number }).skip).toBeGreaterThanOrEqual(plain.length);
    }
    // Another object of the same tenant (the names are matched exactly) is not waived.
    const other = buildReport(judged(now, 'cache2'), { kind: OPENREPORTS, maxResults: 100, now });
    expect((other['results'] as { policy: string; result: string }[]).filter((x) => x.policy === 'plan-limits').map((x) => x.result)).toEqual(plain.map(() => 'fail'));
    // At the expiry instant the failures are back, with no exception named.
    const expired = buildReport(judged(new Date('2026-12-06T05:00:00Z'), 'cache'), { kind: OPENREPORTS, maxResults: 100, now });
    const back = (expired['results'] as { policy: string; result: string; properties: Record<string, string> }[]).filter((x) => x.policy === 'plan-limits');
    expect(back.map((x) => x.result)).toEqual(plain.map(() => 'fail'));
    for (const x of back) expect(x.properties['exception.name']).toBeUndefined();
    // What the audit schedules its re-audits by: approval, then expiry, then nothing.
    const statuses = new Engine(library).exceptionStatuses(new Date('2026-12-06T02:00:00Z'));
    expect(nextExceptionChange(statuses, Date.parse('2026-12-06T02:00:00Z'))).toBe(Date.parse('2026-12-06T03:00:00Z'));
    expect(nextExceptionChange(statuses, Date.parse('2026-12-06T03:00:00Z'))).toBe(Date.parse('2026-12-06T05:00:00Z'));
    expect(nextExceptionChange(statuses, Date.parse('2026-12-06T05:00:00Z'))).toBeUndefined();
  });

  it('a tenant cannot grow a report without bound through long messages', () => {
    const long: RuleResult = { policy: 'isolation', rule: 'x', result: 'fail', action: 'Deny', message: 'm'.repeat(100_000), denies: false };
    const verdict: NamespaceVerdict = { namespace: 'n', tenant: 't', plan: 'free', objects: [{ ref: { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'n', uid: 'u' }, object: { metadata: { name: 'p' } }, results: [long], denied: true }] };
    const r = buildReport(verdict, { kind: OPENREPORTS, maxResults: 100, now });
    expect((r['results'] as { message: string }[])[0]!.message).toHaveLength(MAX_MESSAGE_LENGTH);
    expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThan(MAX_MESSAGE_LENGTH * 4);
  });

  it('severity: Deny failures high, warnings medium, Audit failures low, errors by their failure mode', () => {
    const r = (result: RuleResult['result'], action: RuleResult['action'], denies = false): RuleResult => ({ policy: 'p', rule: 'r', result, action, message: '', denies });
    expect([r('fail', 'Deny'), r('warn', 'Deny'), r('fail', 'Warn'), r('fail', 'Audit'), r('error', 'Deny', true), r('error', 'Warn')].map(severityOf))
      .toEqual(['high', 'medium', 'medium', 'low', 'high', 'medium']);
  });
});

describe('audit settings', () => {
  it('defaults, and the write spacing may not exceed the interval', () => {
    const ok = resolveControllerSettings({});
    expect(ok.settings!.audit).toEqual({ enabled: true, intervalMs: 600_000, minWriteIntervalMs: 10_000, maxResults: 100, policyReports: false });
    const bad = resolveControllerSettings({ file: { audit: { intervalMs: 5_000, minWriteIntervalMs: 6_000, maxResults: 0 } }, fileName: 'c.yaml', cwd: '/' });
    expect(bad.settings).toBeNull();
    expect(bad.problems.map((p) => p.path).sort()).toEqual(['controller.audit.maxResults', 'controller.audit.minWriteIntervalMs']);
  });
});
