// The background audit (issue 20) on a real etcd + kube-apiserver 1.20: `redline serve` behind the
// shipped webhook configurations, `redline controller` (with its audit) as its service account, the
// real OpenReports and wg-policy report CRDs (the API server validates every report written). A
// Redis admitted under premium must show up failing in its namespace's Report within seconds of
// the namespace moving to free; `plan-check` must predict it and `audit` say the same; fixing the
// object clears it; a report stays within its cap; an unchanged audit writes nothing. The
// controller judges with a copy of the library, so a PolicyException can be added while it runs:
// the failure becomes a skip naming the owner, and comes back when the exception expires. Last, a
// controller with a ten-minute interval shows the triggers: a new StorageClass and a policy added
// to or removed from the library each re-audit every tenant namespace within seconds.
import fs from 'node:fs';
import nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum, spawnController, startBootstrapCluster, tempDir, until, type BootstrapCluster, type ControllerProcess } from '../bench/bootstrap-harness.js';
import { runCli } from '../helpers/cli.js';
import { defaultLibraryDir } from '../../policies/engine/index.js';
import { ApiClient, ok, P, path as apiPath } from './helpers/isolation-http.js';
import { kubedbRedis } from './helpers/isolation-objects.js';
import { installReportCrds } from './helpers/report-crds.js';
import { registerWebhooks, startServe, type ServeProcess } from './helpers/serve.js';
import { CONTROLLER_CONFIG, onboard, waitJudged } from './helpers/tenant-namespaces.js';

const NS = 'acme-audit'; // tenant acme, premium at start
const MANY = 'globex-audit'; // tenant globex: many violations
const MAX_RESULTS = 8;
const INTERVAL_MS = 2_000;
const MIN_WRITE_INTERVAL_MS = 500;
const TRIGGERS = 'initech-audit'; // tenant initech, premium: the triggers' namespace
const BURST = 8; // premium objects of 6 pods each: within premium's tenant ledger (60 pods)
const REPORT = (ns: string): string => apiPath('openreports.io/v1alpha1', 'reports', ns, 'redline-audit');
const POLICY_REPORT = (ns: string): string => apiPath('wgpolicyk8s.io/v1alpha2', 'policyreports', ns, 'redline-audit');

interface ReportResult {
  policy: string; rule: string; result: string; message: string; severity: string; source: string;
  resources: { apiVersion: string; kind: string; name: string; namespace: string; uid: string }[];
  timestamp: { seconds: number; nanos: number };
  properties?: Record<string, string>;
}
interface Report {
  metadata: { resourceVersion: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  summary: { pass: number; fail: number; warn: number; error: number; skip: number };
  results?: ReportResult[];
  configuration?: { limits: { maxResults: number } };
}

/** Allowed on premium (a replicated cluster); over free's limits in mode, shards, memory and CPU. */
const premiumRedis = (ns: string, name: string): Record<string, unknown> => kubedbRedis(ns, name, { spec: { mode: 'Cluster', cluster: { shards: 3, replicas: 2 } } });

let cluster: BootstrapCluster;
let admin: ApiClient;
let serve: ServeProcess;
let controller: ControllerProcess;
let dir: string;
let library: string;

async function report(ns: string, path = REPORT): Promise<Report | undefined> {
  const a = await admin.get(path(ns));
  return a.status === 200 ? (a.body as Report) : undefined;
}

const failing = (r: Report | undefined, name: string): ReportResult[] =>
  (r?.results ?? []).filter((x) => x.result === 'fail' && x.resources[0]?.name === name);

/** policy/rule: message of each failure, sorted: what a report, audit and plan-check must agree on. */
const facts = (results: { policy: string; rule: string; message: string }[]): string[] =>
  results.map((r) => `${r.policy}/${r.rule}: ${r.message}`).sort();

async function relabel(ns: string, plan: string): Promise<void> {
  ok(await admin.patch(P.namespaces(ns), { metadata: { labels: { 'redline.dev/plan': plan } } }), `${ns} → ${plan}`);
}

describe('background audit and reports on a real kube-apiserver 1.20 (issue 20)', () => {
  beforeAll(async () => {
    cluster = await startBootstrapCluster();
    admin = new ApiClient('admin', cluster.cp.url, cluster.cp.users['admin']!.token, cluster.cp.caPem);
    await installReportCrds(cluster.admin);
    dir = tempDir('redline-audit-e2e-');
    library = nodePath.join(dir, 'library');
    fs.cpSync(defaultLibraryDir(), library, { recursive: true });
    fs.mkdirSync(nodePath.join(library, 'exceptions'));
    serve = await startServe({ kubeconfig: cluster.cp.adminKubeconfig });
    await registerWebhooks(cluster.cp.adminKubeconfig, serve);
    controller = await spawnController({
      kubeconfig: cluster.controllerKubeconfig, identity: 'ctrl-audit', dir,
      config: { ...CONTROLLER_CONFIG, policiesDir: library, audit: { intervalMs: INTERVAL_MS, minWriteIntervalMs: MIN_WRITE_INTERVAL_MS, maxResults: MAX_RESULTS, policyReports: true } },
    });
    await controller.waitReady();
    await onboard(admin, { [NS]: ['acme', 'premium'], [MANY]: ['globex', 'premium'] }, controller);
    await waitJudged(admin, [NS, MANY], serve);
  }, 180_000);

  afterAll(async () => {
    await controller?.stop();
    await serve?.stop();
    admin?.close();
    cluster?.admin.close();
    await cluster?.cp.stop();
    if (dir && process.env.REDLINE_KEEP_E2E !== '1') fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('a Redis admitted under premium is reported clean, and plan-check predicts what free would refuse', async () => {
    ok(await admin.create(P.kubedbRedis(NS), premiumRedis(NS, 'cache')), 'Redis cache under premium');
    const clean = await until('the Report lists Redis/cache', async () => {
      const r = await report(NS);
      return r && r.summary.pass > 0 && r;
    }, 15_000, 100, () => controller.tail());
    expect(failing(clean, 'cache')).toEqual([]);
    expect(clean.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'redline', 'redline.dev/tenant': 'acme' });

    const onPremium = await runCli(['plan-check', '--kubeconfig', cluster.cp.adminKubeconfig, '--tenant', 'acme', '--plan', 'premium']);
    expect(onPremium.code, onPremium.stderr).toBe(0);
    const toFree = await runCli(['plan-check', '--kubeconfig', cluster.cp.adminKubeconfig, '--tenant', 'acme', '--plan', 'free', '--format', 'json']);
    expect(toFree.code, toFree.stderr).toBe(1);
    const predicted = JSON.parse(toFree.stdout) as { results: { name: string; policy: string; rule: string; result: string; message: string }[]; planCheck: { newlyDenied: string[]; ledger: string } };
    expect(predicted.planCheck.newlyDenied).toEqual([`namespaces/${NS}/Redis/cache`]);
    // The tenant ledger's totals on free, with free's entitlement.
    expect(predicted.planCheck.ledger).toMatch(/^memory \S+ of \S+, cpu \S+ of \S+, storage/);
    const text = await runCli(['plan-check', '--kubeconfig', cluster.cp.adminKubeconfig, '--tenant', 'acme', '--plan', 'free']);
    expect(text.stdout).toContain(`tenant ledger on free (what the allowed objects use of spec.tenantTotals): ${predicted.planCheck.ledger}`);
    const predictedFails = predicted.results.filter((r) => r.name === 'cache' && r.result === 'fail');
    expect(facts(predictedFails).join('\n')).toMatch(/plan-limits\/memory-per-pod/);

    // Move the namespace to free; the Report follows within seconds, saying what plan-check said.
    const movedAt = performance.now();
    await relabel(NS, 'free');
    const failed = await until('Redis/cache failing in the Report', async () => {
      const r = await report(NS);
      return r && failing(r, 'cache').length > 0 && r;
    }, 15_000, 50, () => controller.tail());
    console.log(`[audit e2e] failure reported ${(performance.now() - movedAt).toFixed(0)} ms after the namespace moved to free`);
    expect(facts(failing(failed, 'cache'))).toEqual(facts(predictedFails));
    const uid = (ok(await admin.get(P.kubedbRedis(NS, 'cache')), 'read cache').body as { metadata: { uid: string } }).metadata.uid;
    for (const r of failing(failed, 'cache')) {
      expect(r.resources).toEqual([{ apiVersion: 'kubedb.com/v1', kind: 'Redis', name: 'cache', namespace: NS, uid }]);
      expect(r.severity).toBe('high');
      expect(r.source).toBe('redline');
      expect(Math.abs(r.timestamp.seconds - Date.now() / 1000)).toBeLessThan(60);
    }
    expect(failed.metadata.annotations?.['redline.dev/plan']).toBe('free');
    // The PolicyReport twin says the same (Policy Reporter reads it).
    const twin = await until('the PolicyReport follows', async () => {
      const r = await report(NS, POLICY_REPORT);
      return r && failing(r, 'cache').length > 0 && r;
    }, 10_000, 50);
    expect(facts(failing(twin, 'cache'))).toEqual(facts(failing(failed, 'cache')));
    expect(twin.summary).toEqual(failed.summary);
  }, 90_000);

  it('`redline audit` prints what the Report says, in every format, with review\'s exit codes', async () => {
    const r = (await report(NS))!;
    const json = await runCli(['audit', '--kubeconfig', cluster.cp.adminKubeconfig, '--namespace', NS, '--format', 'json']);
    expect(json.code, json.stderr).toBe(1);
    const out = JSON.parse(json.stdout) as { results: { kind: string; name: string; namespace: string; policy: string; rule: string; result: string; message: string }[]; summary: Record<string, number> };
    const reported = (r.results ?? []).filter((x) => x.result === 'fail' || x.result === 'warn');
    const printed = out.results.filter((x) => x.result === 'fail' || x.result === 'warn');
    expect(facts(printed)).toEqual(facts(reported));
    expect(out.summary).toEqual(r.summary);

    const text = await runCli(['audit', '--kubeconfig', cluster.cp.adminKubeconfig, '--tenant', 'acme']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`namespaces/${NS}/Redis/cache:1 Redis/cache (namespace ${NS}, plan free): DENIED`);
    for (const f of failing(r, 'cache')) expect(text.stdout).toContain(`FAIL ${f.policy}/${f.rule}: ${f.message}`);
    const sarif = await runCli(['audit', '--kubeconfig', cluster.cp.adminKubeconfig, '--namespace', NS, '--format', 'sarif']);
    expect(sarif.code).toBe(1);
    expect((JSON.parse(sarif.stdout) as { runs: { results: unknown[] }[] }).runs[0]!.results.length).toBe(printed.length);
    const junit = await runCli(['audit', '--kubeconfig', cluster.cp.adminKubeconfig, '--namespace', NS, '--format', 'junit']);
    expect(junit.stdout).toContain(`failures="${out.summary.fail}"`);

    const missing = await runCli(['audit', '--kubeconfig', cluster.cp.adminKubeconfig, '--namespace', 'no-such-namespace']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('namespace no-such-namespace does not exist');
    const system = await runCli(['audit', '--kubeconfig', cluster.cp.adminKubeconfig, '--namespace', 'redline-system']);
    expect(system.code).toBe(2);
    expect(system.stderr).toContain('not a tenant namespace');
    const badPlan = await runCli(['plan-check', '--kubeconfig', cluster.cp.adminKubeconfig, '--tenant', 'acme', '--plan', 'gold']);
    expect(badPlan.code).toBe(2);
    expect(badPlan.stderr).toContain('known plans: ');
   }, 120_000); // seven CLI processes, each reading the cluster

  it('nothing is rewritten when nothing changed: the resourceVersion stays across audits', async () => {
    const before = (await report(NS))!;
    const twinBefore = (await report(NS, POLICY_REPORT))!;
    const m0 = await controller.metrics();
    const completed0 = metricSum(m0, 'redline_audit_last_completed_timestamp_seconds');
    // Three full audits later (interval 2 s).
    await until('three more full audits', async () => {
      const m = await controller.metrics();
      return metricSum(m, 'redline_audit_last_completed_timestamp_seconds') >= completed0 + (3 * INTERVAL_MS) / 1000;
    }, 20_000, 200, () => controller.tail());
    const m1 = await controller.metrics();
    expect((await report(NS))!.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect((await report(NS, POLICY_REPORT))!.metadata.resourceVersion).toBe(twinBefore.metadata.resourceVersion);
    expect(metricSum(m1, 'redline_audit_report_writes_total')).toBe(metricSum(m0, 'redline_audit_report_writes_total'));
    expect(metricSum(m1, 'redline_audit_objects_judged_total')).toBeGreaterThan(metricSum(m0, 'redline_audit_objects_judged_total'));
    expect(metricSum(m1, 'redline_audit_violations', { tenant: 'acme', policy: 'plan-limits', rule: 'memory-per-pod' })).toBe(1);
  });

  it('a burst of changes is coalesced: at most one report write per namespace per minWriteIntervalMs', async () => {
    const writes = async (): Promise<number> => metricSum(await controller.metrics(), 'redline_audit_report_writes_total', { kind: 'Report' });
    const w0 = await writes();
    // In globex's premium namespace (acme's free plan has no room left in its tenant ledger).
    const t0 = performance.now();
    for (let i = 0; i < BURST; i++) ok(await admin.create(P.kubedbRedis(MANY), premiumRedis(MANY, `burst-${i}`)), `burst-${i}`);
    const burstMs = performance.now() - t0;
    // Every one of them ends up in the Report (each changed its summary): it says what audit says.
    const out = await runCli(['audit', '--kubeconfig', cluster.cp.adminKubeconfig, '--namespace', MANY, '--format', 'json']);
    const expected = (JSON.parse(out.stdout) as { summary: Report['summary'] }).summary;
    await until('the whole burst in the Report', async () => {
      const r = await report(MANY);
      return r && (['pass', 'fail', 'warn', 'error', 'skip'] as const).every((k) => r.summary[k] === expected[k]);
    }, 15_000, 100, () => `${JSON.stringify(expected)}\n${controller.tail()}`);
    // A fixed wait on purpose (twice minWriteIntervalMs): a trailing write of the burst would come
    // during it and must be counted against the limit.
    await new Promise((r) => setTimeout(r, 1_000));
    const written = (await writes()) - w0;
    console.log(`[audit e2e] ${BURST} creates in ${burstMs.toFixed(0)} ms: ${written} Report write(s)`);
    expect(written).toBeGreaterThanOrEqual(1);
    expect(written).toBeLessThanOrEqual(Math.ceil(burstMs / MIN_WRITE_INTERVAL_MS) + 1);
    for (let i = 0; i < BURST; i++) ok(await admin.delete(P.kubedbRedis(MANY, `burst-${i}`)), `delete burst-${i}`);
   }, 60_000);

  it('a standby controller judges and writes nothing', async () => {
    const standby = await spawnController({
      kubeconfig: cluster.controllerKubeconfig, identity: 'ctrl-audit-standby', dir,
      config: { ...CONTROLLER_CONFIG, audit: { intervalMs: INTERVAL_MS, minWriteIntervalMs: MIN_WRITE_INTERVAL_MS, maxResults: MAX_RESULTS, policyReports: true } },
    });
    try {
      await standby.waitReady();
      // A fixed wait on purpose: two audit intervals in which the standby may judge and write nothing.
      await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS + 500));
      const m = await standby.metrics();
      expect(metricSum(m, 'redline_controller_is_leader')).toBe(0);
      expect(metricSum(m, 'redline_audit_objects_judged_total')).toBe(0);
      expect(metricSum(m, 'redline_audit_report_writes_total')).toBe(0);
    } finally {
      await standby.stop();
    }
  });

  it('an exception turns the failure into a skip naming its owner; when it expires the failure is back', async () => {
    const failures = facts(failing(await report(NS), 'cache'));
    expect(failures.length).toBeGreaterThan(0);
    // RFC 3339 to the second, as an administrator writes it; the instants are the written ones.
    const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
    const approved = iso(Date.now() - 60_000);
    const expires = new Date(Date.parse(iso(Date.now() + 12_000)));
    fs.writeFileSync(nodePath.join(library, 'exceptions', 'acme-cache.yaml'), `apiVersion: redline.dev/v1alpha1
kind: PolicyException
metadata: {name: acme-cache-downsize}
spec:
  owner: dba@acme.example
  reason: cache is moved to a free-sized layout this week
  ticket: OPS-7
  approved: ${approved}
  expires: ${iso(expires.getTime())}
  policies: [{policy: plan-limits}]
  match: {tenant: acme, namespaces: [${NS}], names: [cache]}
`);
    const skipped = await until('plan-limits of Redis/cache skipped in the Report', async () => {
      const r = await report(NS);
      const limits = (r?.results ?? []).filter((x) => x.resources[0]?.name === 'cache' && x.policy === 'plan-limits');
      return r && limits.length > 0 && limits.every((x) => x.result === 'skip') && r;
    }, 10_000, 50, () => controller.tail());
    expect(Date.now()).toBeLessThan(expires.getTime()); // seen while the exception was in effect
    const waived = (skipped.results ?? []).filter((x) => x.resources[0]?.name === 'cache' && x.policy === 'plan-limits');
    // Every plan-limits failure, and only those, is now a skip naming the exception and its owner.
    const rules = (xs: string[]): string[] => xs.map((f) => f.slice(0, f.indexOf(':'))).sort();
    expect(rules(facts(waived))).toEqual(rules(failures.filter((f) => f.startsWith('plan-limits/'))));
    for (const x of waived) {
      expect(x.severity).toBe('info');
      expect(x.message).toContain('excepted by acme-cache-downsize (owner dba@acme.example');
      expect(x.properties).toMatchObject({ 'exception.name': 'acme-cache-downsize', 'exception.owner': 'dba@acme.example' });
    }
    expect(facts(failing(skipped, 'cache'))).toEqual(failures.filter((f) => !f.startsWith('plan-limits/')));
    expect(skipped.summary.skip).toBeGreaterThanOrEqual(waived.length);

    // No library change from here: the audit re-judges at the expiry instant itself.
    const back = await until('the failures of Redis/cache back after expiry', async () => {
      const r = await report(NS);
      return r && facts(failing(r, 'cache')).join('\n') === failures.join('\n') && r;
    }, 20_000, 50, () => controller.tail());
    console.log(`[audit e2e] failure back in the Report ${Date.now() - expires.getTime()} ms after the exception expired`);
    expect(Date.now()).toBeGreaterThanOrEqual(expires.getTime());
    expect((back.results ?? []).some((x) => x.properties?.['exception.name'])).toBe(false);
    expect(controller.tail(100_000)).toContain('an exception took or lost effect: auditing again');
  }, 60_000);

  it('fixing the object clears its failures', async () => {
    const free = { memory: '256Mi', cpu: '250m' };
    ok(await admin.patch(P.kubedbRedis(NS, 'cache'), {
      spec: { mode: 'Standalone', cluster: null, podTemplate: { spec: { containers: [{ name: 'redis', resources: { limits: free, requests: free } }] } } },
    }), 'fit cache to free');
    const fixed = await until('no failure of Redis/cache left', async () => {
      const r = await report(NS);
      return r && failing(r, 'cache').length === 0 && r.summary.fail === 0 && r;
    }, 15_000, 50, () => controller.tail());
    expect(fixed.summary.pass).toBeGreaterThan(0);
    const m = await controller.metrics();
    expect(metricSum(m, 'redline_audit_violations', { tenant: 'acme', policy: 'plan-limits' })).toBe(0);
  });

  it('a report with many violations stays within its cap; the summary counts them all', async () => {
    for (let i = 0; i < 6; i++) ok(await admin.create(P.kubedbRedis(MANY), premiumRedis(MANY, `big-${i}`)), `Redis big-${i}`);
    await relabel(MANY, 'free');
    const capped = await until('every big-* failing in the summary', async () => {
      const r = await report(MANY);
      return r && r.summary.fail >= 6 && r;
    }, 15_000, 100, () => controller.tail());
    expect(capped.results).toHaveLength(MAX_RESULTS);
    expect(capped.configuration?.limits.maxResults).toBe(MAX_RESULTS);
    const reportedTotal = capped.summary.fail + capped.summary.warn + capped.summary.error;
    expect(Number(capped.metadata.annotations?.['redline.dev/results-omitted'])).toBe(reportedTotal - MAX_RESULTS);
    // The worst first: every kept result is a Deny failure.
    for (const r of capped.results!) expect([r.result, r.severity]).toEqual(['fail', 'high']);
  });

  it('a namespace that stops being a tenant\'s loses its reports', async () => {
    ok(await admin.patch(P.namespaces(MANY), { metadata: { labels: { 'redline.dev/tenant': null } } }), 'offboard');
    await until('the Report of the offboarded namespace is gone', async () => (await report(MANY)) === undefined && (await report(MANY, POLICY_REPORT)) === undefined, 15_000, 100, () => controller.tail());
  });

  it('with a ten-minute interval, a new StorageClass and a library change each re-audit every namespace within seconds', async () => {
    // The interval can no longer explain a re-audit: only the StorageClass informer and the
    // library's hot reload can.
    await controller.stop();
    controller = await spawnController({
      kubeconfig: cluster.controllerKubeconfig, identity: 'ctrl-audit-triggers', dir,
      config: { ...CONTROLLER_CONFIG, policiesDir: library, audit: { intervalMs: 600_000, minWriteIntervalMs: MIN_WRITE_INTERVAL_MS, maxResults: 50, policyReports: false } },
    });
    await controller.waitReady();
    await until('the new controller leads', async () => metricSum(await controller.metrics(), 'redline_controller_is_leader') === 1, 30_000, 200, () => controller.tail());
    await onboard(admin, { [TRIGGERS]: ['initech', 'premium'] }, controller);
    await waitJudged(admin, [TRIGGERS], serve);

    // On a class the cluster does not have yet: network-storage cannot tell, and skips.
    ok(await admin.create(P.kubedbRedis(TRIGGERS), kubedbRedis(TRIGGERS, 'local', { spec: { mode: 'Cluster', cluster: { shards: 3, replicas: 2 }, storage: { storageClassName: 'node-local' } } })), 'Redis local');
    const clean = await until('Redis/local judged clean', async () => {
      const r = await report(TRIGGERS);
      return r && r.summary.pass > 0 && r;
    }, 15_000, 100, () => controller.tail());
    expect(failing(clean, 'local')).toEqual([]);

    const classAt = performance.now();
    ok(await admin.create(apiPath('storage.k8s.io/v1', 'storageclasses'), {
      apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'node-local' }, provisioner: 'rancher.io/local-path',
    }), 'StorageClass node-local');
    const onClass = await until('Redis/local failing network-storage', async () => {
      const r = await report(TRIGGERS);
      return r && failing(r, 'local').some((x) => `${x.policy}/${x.rule}` === 'persistence/network-storage') && r;
    }, 10_000, 50, () => controller.tail());
    console.log(`[audit e2e] network-storage failing ${(performance.now() - classAt).toFixed(0)} ms after the StorageClass was created`);
    expect(facts(failing(onClass, 'local'))).toEqual([expect.stringMatching(/^persistence\/network-storage: StorageClass node-local provisions node-local volumes \(rancher\.io\/local-path\)/)]);

    // A policy added to the library: every tenant namespace's objects are judged by it.
    const policyFile = nodePath.join(library, 'policies', 'e2e-team-label.yaml');
    const addedAt = performance.now();
    fs.writeFileSync(policyFile, `apiVersion: redline.dev/v1alpha1
kind: Policy
metadata: {name: e2e-team-label}
spec:
  description: Every Redis names the team that owns it (added while the controller runs).
  action: Deny
  match: {roles: [workload]}
  rules:
    - name: team-label
      expression: '"team" in object.metadata.?labels.orValue({})'
      message: label the Redis with its team
`);
    const teamRule = (r: Report | undefined, name: string): ReportResult[] => failing(r, name).filter((x) => x.policy === 'e2e-team-label');
    await until('both namespaces report the new policy', async () =>
      teamRule(await report(TRIGGERS), 'local').length === 1 && teamRule(await report(NS), 'cache').length === 1, 10_000, 50, () => controller.tail());
    console.log(`[audit e2e] a policy added to the library reported in both namespaces ${(performance.now() - addedAt).toFixed(0)} ms after its file was written`);
    expect(teamRule(await report(NS), 'cache')[0]!.message).toBe('label the Redis with its team');

    // And removed again: gone from every report, the StorageClass's failure kept.
    fs.rmSync(policyFile);
    const after = await until('the new policy gone from both reports', async () => {
      const r = await report(TRIGGERS);
      return r && teamRule(r, 'local').length === 0 && teamRule(await report(NS), 'cache').length === 0 && r;
    }, 10_000, 50, () => controller.tail());
    expect(facts(failing(after, 'local'))).toEqual(facts(failing(onClass, 'local')));
    const m = await controller.metrics();
    expect(metricSum(m, 'redline_controller_is_leader')).toBe(1);
  }, 120_000);
});
