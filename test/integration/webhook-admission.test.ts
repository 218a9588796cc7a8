// Admission semantics over real HTTPS with the real Engine and the shipped policy library: allow,
// deny with every message, warnings, audit annotations, mutation (patch applied and re-reviewed:
// idempotent under reinvocation), non-tenant namespaces, dryRun, DELETE of a PDB, the Namespace
// label guard (every namespace, the status/finalize subresources, kubernetes.io/metadata.name) and
// the Secret guard.

import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultLibraryDir, Engine, loadLibrary } from '../../policies/engine/index.js';
import type { JsonObject, NamespaceInfo } from '../../policies/engine/types.js';
import { auditAnnotationKey } from '../../webhook/admission.js';
import { until } from '../helpers/wait.js';
import {
  admissionReview,
  applyAddPatch,
  burst,
  decodePatch,
  fixture,
  PLAIN_NS,
  startTestWebhook,
  TENANT_NS,
  testCertificates,
  type HttpAnswer,
  type TestCerts,
  type TestWebhook,
} from '../bench/webhook-harness.js';

const PREMIUM_NS: NamespaceInfo = { name: 'tenant-big', labels: { 'redline.dev/tenant': 'big', 'redline.dev/plan': 'premium' } };
const UNKNOWN_PLAN_NS: NamespaceInfo = { name: 'tenant-odd', labels: { 'redline.dev/tenant': 'odd', 'redline.dev/plan': 'gold' } };
const OFFBOARDING_NS: NamespaceInfo = { name: 'tenant-gone', labels: { 'redline.dev/managed': 'true', 'redline.dev/plan': 'free' } };
const NAMESPACES = [TENANT_NS, PLAIN_NS, PREMIUM_NS, UNKNOWN_PLAN_NS, OFFBOARDING_NS];

let certs: TestCerts;
let engine: Engine;
let hook: TestWebhook;

const stsReview = fixture('statefulset-review.json') as { request: { object: JsonObject; uid: string } };
const kubedbReview = fixture('kubedb-redis-review.json') as { request: { object: JsonObject } };

/** A minimal KubeDB Redis that the mutations complete (pod security, resources, TLS issuer). */
const bareKubedb: JsonObject = {
  apiVersion: 'kubedb.com/v1',
  kind: 'Redis',
  metadata: { name: 'sessions', namespace: 'tenant-acme', labels: { team: 'orders' } },
  spec: { version: '7.2.4', mode: 'Standalone', storageType: 'Durable', storage: { resources: { requests: { storage: '1Gi' } } } },
};

const redisPdb: JsonObject = {
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: { name: 'cache', namespace: 'tenant-acme' },
  spec: { maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'cache' } } },
};

function withNamespace(obj: JsonObject, ns: string): JsonObject {
  const copy = structuredClone(obj);
  (copy.metadata as JsonObject).namespace = ns;
  return copy;
}

beforeAll(async () => {
  certs = await testCertificates();
  engine = new Engine(await loadLibrary(defaultLibraryDir()));
  hook = await startTestWebhook({ certs, reviewer: engine, namespaces: NAMESPACES });
});

afterAll(async () => {
  await hook?.close();
  certs?.cleanup();
});

describe('workloads in tenant namespaces (shipped library)', () => {
  it('allows a compliant Redis StatefulSet, and /mutate never patches a StatefulSet', async () => {
    const v = await hook.post(stsReview);
    expect(v.status).toBe(200);
    expect(v.json().response).toEqual({ uid: stsReview.request.uid, allowed: true });
    const m = (await hook.post(stsReview, '/mutate')).json().response;
    expect(m.allowed).toBe(true);
    expect(m.patch).toBeUndefined();
    expect(m.patchType).toBeUndefined();
  });

  it('denies with every failing message, joined by "; "', async () => {
    const object = kubedbReview.request.object; // Cluster mode, 3 shards: too big for plan standard
    const expected = engine
      .review({ object, operation: 'CREATE', namespace: TENANT_NS, plan: 'standard', mutate: false })
      .results.filter((r) => r.result === 'fail' && r.action === 'Deny')
      .map((r) => `${r.policy}.${r.rule}: ${r.message}`);
    expect(expected.length).toBeGreaterThanOrEqual(2);
    const res = (await hook.post(admissionReview(object, { uid: 'deny-1' }))).json();
    expect(res).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
    expect(res.response.uid).toBe('deny-1');
    expect(res.response.allowed).toBe(false);
    expect(res.response.status.code).toBe(403);
    expect(res.response.status.message).toBe(expected.join('; '));
    expect(res.response.status.message).toMatch(/mode Cluster is not in plan standard/);
    expect(res.response.status.message).toMatch(/3 shards exceed plan standard/);
    // The mutating call only patches: the verdict is the validating call's, on the final object.
    const m = (await hook.post(admissionReview(object), '/mutate')).json().response;
    expect(m.allowed).toBe(true);
    expect(m.status).toBeUndefined();
  });

  it('allows the same object in a namespace whose plan fits', async () => {
    const res = (await hook.post(admissionReview(withNamespace(kubedbReview.request.object, 'tenant-big')))).json().response;
    expect(res.allowed).toBe(true);
    expect(res.status).toBeUndefined();
  });

  it('dryRun gets the same verdict', async () => {
    const object = kubedbReview.request.object;
    const a = (await hook.post(admissionReview(object, { uid: 'dry', dryRun: true }))).json().response;
    const b = (await hook.post(admissionReview(object, { uid: 'dry' }))).json().response;
    expect(a).toEqual(b);
  });

  it('mutates with a base64 JSONPatch; the patched object needs no further patch and passes validation', async () => {
    const first = (await hook.post(admissionReview(bareKubedb, { uid: 'mut-1' }), '/mutate')).json().response;
    expect(first.uid).toBe('mut-1');
    expect(first.allowed).toBe(true);
    expect(first.patchType).toBe('JSONPatch');
    const ops = decodePatch(first.patch);
    expect(ops.length).toBeGreaterThan(0);
    expect(ops.every((o) => o.op === 'add')).toBe(true);
    const patched = applyAddPatch(bareKubedb, ops);
    const spec = patched.spec as Record<string, any>;
    expect(spec.tls.issuerRef).toMatchObject({ apiGroup: 'cert-manager.io', kind: 'Issuer' });
    expect(spec.podTemplate.spec.securityContext).toMatchObject({ runAsNonRoot: true });

    // Reinvocation: the mutator on its own output yields nothing.
    const second = (await hook.post(admissionReview(patched), '/mutate')).json().response;
    expect(second.allowed).toBe(true);
    expect(second.patch).toBeUndefined();
    expect(second.patchType).toBeUndefined();
    // The validating webhook re-checks what will be stored.
    const validated = (await hook.post(admissionReview(patched))).json().response;
    expect(validated.allowed).toBe(true);
    // Without the mutation the same object is denied by validation.
    const unpatched = (await hook.post(admissionReview(bareKubedb))).json().response;
    expect(unpatched.allowed).toBe(false);
  });

  it('passes oldObject on UPDATE', async () => {
    const old = structuredClone(stsReview.request.object);
    const updated = structuredClone(old);
    (updated.spec as Record<string, unknown>).replicas = 9; // over standard's 3 pods per shard
    const res = (await hook.post(admissionReview(updated, { operation: 'UPDATE', oldObject: old }))).json().response;
    expect(res.allowed).toBe(false);
    expect(res.status.message).toMatch(/9 pods per shard exceed plan standard/);
  });

  it('a namespace with an unknown plan is denied with a clear message', async () => {
    const res = (await hook.post(admissionReview(withNamespace(bareKubedb, 'tenant-odd')))).json().response;
    expect(res.allowed).toBe(false);
    expect(res.status.message).toMatch(/plan "gold" is not defined/);
  });

  it('DELETE of a PDB protecting Redis answers a warning; other DELETEs pass untouched', async () => {
    const res = (await hook.post(admissionReview(null, { operation: 'DELETE', oldObject: redisPdb, uid: 'del-pdb' }))).json().response;
    expect(res).toEqual({
      uid: 'del-pdb',
      allowed: true,
      warnings: ['pdb: deleting PodDisruptionBudget cache leaves Redis pods unprotected during node drains'],
    });
    const sts = (await hook.post(admissionReview(null, { operation: 'DELETE', oldObject: stsReview.request.object }))).json().response;
    expect(sts.allowed).toBe(true);
    expect(sts.warnings).toBeUndefined();
  });

  it('leaves objects in non-tenant namespaces untouched', async () => {
    const bad = withNamespace(kubedbReview.request.object, 'default');
    const v = (await hook.post(admissionReview(bad))).json().response;
    expect(v.allowed).toBe(true);
    expect(v.status).toBeUndefined();
    const m = (await hook.post(admissionReview(withNamespace(bareKubedb, 'default')), '/mutate')).json().response;
    expect(m.allowed).toBe(true);
    expect(m.patch).toBeUndefined();
    // A namespace the (static) source does not know is not a tenant either.
    const u = (await hook.post(admissionReview(withNamespace(bareKubedb, 'nowhere')), '/mutate')).json().response;
    expect(u.patch).toBeUndefined();
  });

  it('with a cluster source, an unknown namespace fails closed with a retry hint', async () => {
    const h = await startTestWebhook({ certs, reviewer: engine, namespaces: NAMESPACES, unknownNamespace: 'deny' });
    try {
      const res = (await h.post(admissionReview(withNamespace(bareKubedb, 'brand-new')))).json().response;
      expect(res.allowed).toBe(false);
      expect(res.status.message).toMatch(/namespace "brand-new" is not in Redline's namespace cache yet.*retry/);
      // Secrets need no plan: in a namespace the cache has not seen yet they are guarded, not refused.
      const secret = (type: string): JsonObject => ({ apiVersion: 'v1', kind: 'Secret', type, metadata: { name: 's', namespace: 'brand-new' } });
      expect((await h.post(admissionReview(secret('Opaque')))).json().response.allowed).toBe(true);
      const token = (await h.post(admissionReview(secret('kubernetes.io/service-account-token'), { username: 'alice' }))).json().response;
      expect(token.status.message).toMatch(/Secrets of type kubernetes.io\/service-account-token may only be written by Redline admins/);
    } finally {
      await h.close();
    }
  });

  it('counts policy results in the metrics', async () => {
    const text = await hook.metrics.registry.metrics();
    expect(text).toMatch(/redline_policy_results_total\{policy="plan-limits",rule="mode-allowed",result="fail"\} \d+/);
    expect(text).toMatch(/redline_admission_requests_total\{endpoint="mutate",kind="Redis",operation="CREATE",outcome="patched"\} \d+/);
    expect(text).toMatch(/redline_admission_requests_total\{endpoint="validate",kind="Redis",operation="CREATE",outcome="denied"\} \d+/);
  });

  it('counts every result of a validating review once, and none of a mutating one that does not deny, by the time the answer is read', async () => {
    const counts = async (): Promise<Map<string, number>> => {
      const m = new Map<string, number>();
      for (const [, series, n] of (await hook.metrics.registry.metrics()).matchAll(/^redline_policy_results_total(\{[^}]*\}) (\d+)$/gm)) m.set(series!, Number(n));
      return m;
    };
    const before = await counts();
    expect((await hook.post(stsReview)).json().response.allowed).toBe(true);
    const after = await counts();
    const added = [...after].map(([series, n]) => [series, n - (before.get(series) ?? 0)] as const).filter(([, d]) => d !== 0);
    // One count per rule of the library that judged it (each rule has exactly one result).
    expect(added.length).toBeGreaterThan(20);
    expect(added.every(([, d]) => d === 1)).toBe(true);
    const rule = (series: string): string => series.replace(/,result="[^"]*"/, '');
    expect(new Set(added.map(([series]) => rule(series))).size).toBe(added.length);
    expect((await hook.post(stsReview, '/mutate')).json().response.allowed).toBe(true);
    expect(await counts()).toEqual(after);
  });

  it('policy result counts are exact across scrapes (counted per request, added at scrape time)', async () => {
    const count = async (): Promise<number> => {
      const m = /redline_policy_results_total\{policy="plan-limits",rule="mode-allowed",result="fail"\} (\d+)/.exec(await hook.metrics.registry.metrics());
      return Number(m?.[1] ?? 0);
    };
    const before = await count();
    const denied = admissionReview(withNamespace({ ...bareKubedb, spec: { ...(bareKubedb.spec as object), mode: 'Cluster' } }, TENANT_NS.name));
    for (let i = 0; i < 3; i++) expect((await hook.post(denied)).json().response.allowed).toBe(false);
    expect(await count()).toBe(before + 3);
    expect(await count()).toBe(before + 3); // a second scrape adds nothing
    await hook.post(denied);
    expect(await count()).toBe(before + 4);
  });
});

describe('requests read in the same event-loop turn (admitted together)', () => {
  const batchPasses = async (): Promise<number> => {
    const m = /^redline_admission_batch_size_count (\d+)$/m.exec(await hook.metrics.registry.metrics());
    return m ? Number(m[1]) : 0;
  };

  it('answers each request exactly as it is answered alone: verdicts, messages, patches, bad input', async () => {
    const requests = [
      { path: '/validate', body: JSON.stringify(admissionReview(stsReview.request.object, { uid: 'burst-allow' })) },
      { path: '/validate', body: JSON.stringify(admissionReview(kubedbReview.request.object, { uid: 'burst-deny' })) },
      { path: '/mutate', body: JSON.stringify(admissionReview(bareKubedb, { uid: 'burst-patch' })) },
      { path: '/validate', body: '{"apiVersion": "admission.k8s.io/v1", "kind": ' },
      { path: '/validate', body: JSON.stringify(admissionReview(withNamespace(kubedbReview.request.object, 'tenant-big'), { uid: 'burst-fits' })) },
      { path: '/validate', body: JSON.stringify(admissionReview(withNamespace(kubedbReview.request.object, 'default'), { uid: 'burst-plain' })) },
      { path: '/validate', body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { operation: 'CREATE' } }) },
      { path: '/validate', body: JSON.stringify(admissionReview(null, { operation: 'DELETE', oldObject: redisPdb, uid: 'burst-warn' })) },
    ];
    const alone: HttpAnswer[] = [];
    for (const r of requests) alone.push(await hook.post(r.body, r.path));
    expect(alone.map((a) => a.status)).toEqual([200, 200, 200, 400, 200, 200, 400, 200]);

    const passesBefore = await batchPasses();
    const together = await burst(hook.port, certs.ca, requests);
    // Fewer passes than requests: some were taken through the steps together.
    expect((await batchPasses()) - passesBefore).toBeLessThan(requests.length);
    together.forEach((a, i) => {
      expect({ i, status: a.status, body: a.json() }).toEqual({ i, status: alone[i]!.status, body: alone[i]!.json() });
    });
    expect(together[1]!.json().response.allowed).toBe(false);
    expect(together[2]!.json().response.patchType).toBe('JSONPatch');
  });

  it('a reviewer that throws for one request answers that one 500, and the others of its batch as usual', async () => {
    const throwsFor = 'burst-boom';
    const reviewer = { review: (input: Parameters<Engine['review']>[0]) => {
      if ((input.object.metadata as JsonObject | undefined)?.name === throwsFor) throw new Error('boom');
      return engine.review(input);
    } };
    const h = await startTestWebhook({ certs, reviewer, namespaces: NAMESPACES });
    try {
      const boom = withNamespace(stsReview.request.object, 'tenant-acme');
      (boom.metadata as JsonObject).name = throwsFor;
      const answers = await burst(h.port, certs.ca, [
        { path: '/validate', body: JSON.stringify(admissionReview(stsReview.request.object, { uid: 'before' })) },
        { path: '/validate', body: JSON.stringify(admissionReview(boom, { uid: 'boom' })) },
        { path: '/validate', body: JSON.stringify(admissionReview(kubedbReview.request.object, { uid: 'after' })) },
      ]);
      expect(answers.map((a) => a.status)).toEqual([200, 500, 200]);
      expect(answers[0]!.json().response).toEqual({ uid: 'before', allowed: true });
      expect(answers[1]!.json()).toMatchObject({ kind: 'Status', code: 500, message: 'policy evaluation failed' });
      expect(answers[2]!.json().response).toMatchObject({ uid: 'after', allowed: false });
    } finally {
      await h.close();
    }
  });
});

describe('warnings and audit annotations (shipped library + two test policies)', () => {
  let dir: string;
  let extra: TestWebhook;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'redline-lib-'));
    cpSync(defaultLibraryDir(), dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'policies', 'zz-webhook-test.yaml'),
      `apiVersion: redline.dev/v1alpha1
kind: Policy
metadata:
  name: ownership
spec:
  description: Workloads name their owning team.
  action: Warn
  match:
    roles: [workload]
  rules:
    - name: team-label
      expression: '"team" in object.metadata.?labels.orValue({})'
      message: >-
        Warning: add a metadata.labels.team label so that the platform on-call knows which tenant
        team to page during an incident with this Redis workload
---
apiVersion: redline.dev/v1alpha1
kind: Policy
metadata:
  name: change-audit
spec:
  description: Records the pod count of every Redis write in the audit log.
  action: Audit
  match:
    roles: [workload]
  rules:
    - name: pods-recorded
      expression: 'false'
      messageExpression: '"pods=" + string(workload.pods)'
`,
    );
    extra = await startTestWebhook({ certs, reviewer: new Engine(await loadLibrary(dir)), namespaces: NAMESPACES });
  });
  afterAll(async () => {
    await extra?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers warnings ≤ 120 characters without a "Warning:" prefix, and audit annotations with valid keys', async () => {
    const noTeam = structuredClone(stsReview.request.object);
    const res = (await extra.post(admissionReview(noTeam))).json().response;
    expect(res.allowed).toBe(true);
    expect(res.warnings).toHaveLength(1);
    const w: string = res.warnings[0];
    expect(w.length).toBeLessThanOrEqual(120);
    expect(w.startsWith('ownership: add a metadata.labels.team label')).toBe(true);
    expect(w).not.toMatch(/warning:/i);
    expect(w.endsWith('…')).toBe(true);
    expect(res.auditAnnotations).toEqual({ 'change-audit.pods-recorded': 'pods=3' });
    // Each key, prefixed by the API server with the webhook name, must be a qualified name.
    for (const k of Object.keys(res.auditAnnotations)) {
      expect(`validate.redline.dev/${k}`).toMatch(/^[a-z0-9.-]+\/([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/);
      expect(k.length).toBeLessThanOrEqual(63);
    }
    // The mutating call carries neither (the validating call does): no duplicate warnings.
    const m = (await extra.post(admissionReview(noTeam), '/mutate')).json().response;
    expect(m.warnings).toBeUndefined();
    expect(m.auditAnnotations).toBeUndefined();
  });

  it('builds bounded annotation keys for long policy and rule names', () => {
    const k = auditAnnotationKey('a-very-long-policy-name-that-goes-on-and-on', 'and-a-rule-name-that-is-also-long');
    expect(k.length).toBeLessThanOrEqual(63);
    expect(k).toMatch(/^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$/);
    expect(k).not.toBe(auditAnnotationKey('a-very-long-policy-name-that-goes-on-and-on', 'and-a-rule-name-that-is-also-longer'));
    expect(auditAnnotationKey('p', 'r/1')).toBe('p.r-1');
  });
});

describe('tenant label guard on Namespaces', () => {
  const tenantNs = (labels: Record<string, string>): JsonObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-acme', labels } });
  const current = { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'standard', 'pod-security.kubernetes.io/enforce': 'restricted', team: 'orders' };
  const update = (labels: Record<string, string>, who: { username: string; groups?: string[] }) =>
    hook.post(admissionReview(tenantNs(labels), { operation: 'UPDATE', oldObject: tenantNs(current), username: who.username, groups: who.groups ?? ['system:authenticated'] }));

  it('denies a tenant upgrading its own plan, naming the label and who may change it', async () => {
    const res = (await update({ ...current, 'redline.dev/plan': 'premium' }, { username: 'alice@acme.example', groups: ['acme:admins', 'system:authenticated'] })).json().response;
    expect(res.allowed).toBe(false);
    expect(res.status.code).toBe(403);
    expect(res.status.message).toBe(
      'labels redline.dev/plan (changed) of tenant namespace "tenant-acme" may only be changed by Redline admins ' +
        '(users platform-admin; groups platform:admins; service accounts gitops/platform-sync, redline-system/redline-controller); ' +
        '"alice@acme.example" is not one of them',
    );
  });

  it('denies relaxing pod security or removing Redline labels', async () => {
    const { 'pod-security.kubernetes.io/enforce': _e, ...withoutPsa } = current;
    const res = (await update({ ...withoutPsa, 'pod-security.kubernetes.io/enforce': 'privileged' }, { username: 'alice' })).json().response;
    expect(res.status.message).toMatch(/labels pod-security.kubernetes.io\/enforce \(changed\)/);
    const { 'redline.dev/plan': _p, ...noPlan } = current;
    const removed = (await update(noPlan, { username: 'alice' })).json().response;
    expect(removed.allowed).toBe(false);
    expect(removed.status.message).toMatch(/redline.dev\/plan \(removed\)/);
  });

  it('allows admins by user, group and service account, and the controller by default', async () => {
    const upgraded = { ...current, 'redline.dev/plan': 'premium' };
    expect((await update(upgraded, { username: 'platform-admin' })).json().response.allowed).toBe(true);
    expect((await update(upgraded, { username: 'carol', groups: ['platform:admins'] })).json().response.allowed).toBe(true);
    expect((await update(upgraded, { username: 'system:serviceaccount:gitops:platform-sync' })).json().response.allowed).toBe(true);
    expect((await update({ ...current, 'redline.dev/managed': 'true' }, { username: 'system:serviceaccount:redline-system:redline-controller' })).json().response.allowed).toBe(true);
  });

  it('allows tenants to change unrelated labels', async () => {
    expect((await update({ ...current, team: 'payments', 'cost-center': '42' }, { username: 'alice' })).json().response.allowed).toBe(true);
  });

  it('guards turning a namespace into a tenant, and leaves other namespaces alone', async () => {
    const plain = (labels: Record<string, string>): JsonObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sandbox', labels } });
    const create = (await hook.post(admissionReview(plain({ 'redline.dev/tenant': 'x', 'redline.dev/plan': 'premium' }), { username: 'alice' }))).json().response;
    expect(create.allowed).toBe(false);
    expect(create.status.message).toMatch(/redline.dev\/plan \(added\), redline.dev\/tenant \(added\)/);
    const psa = (await hook.post(admissionReview(plain({ 'pod-security.kubernetes.io/enforce': 'privileged' }), { operation: 'UPDATE', oldObject: plain({}), username: 'alice' }))).json().response;
    expect(psa.allowed).toBe(true); // not a tenant namespace: not Redline's business
    const del = (await hook.post(admissionReview(null, { operation: 'DELETE', oldObject: tenantNs(current), username: 'alice' }))).json().response;
    expect(del.allowed).toBe(true); // deletion is RBAC's business; the namespace controller must never be blocked
    const m = (await hook.post(admissionReview(tenantNs({ ...current, 'redline.dev/plan': 'premium' }), { operation: 'UPDATE', oldObject: tenantNs(current), username: 'alice' }), '/mutate')).json().response;
    expect(m).toEqual({ uid: expect.any(String), allowed: true });
  });
});

describe('Namespace label guard: every namespace, every path that writes labels', () => {
  const nsObj = (name: string, labels: Record<string, string>): JsonObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  const tenant = { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'free' };

  it('a plan change through namespaces/status or namespaces/finalize is refused like one on the Namespace', async () => {
    for (const subResource of ['status', 'finalize']) {
      const res = (await hook.post(admissionReview(nsObj('tenant-acme', { ...tenant, 'redline.dev/plan': 'premium' }), {
        operation: 'UPDATE', oldObject: nsObj('tenant-acme', tenant), subResource, username: 'alice',
      }))).json().response;
      expect(res.allowed, subResource).toBe(false);
      expect(res.status.message).toMatch(new RegExp(`^labels redline.dev/plan \\(changed\\) of tenant namespace "tenant-acme" \\(through namespaces/${subResource}\\) may only be changed by Redline admins`));
    }
  });

  it('a non-admin may not put a Redline label on a namespace that is no tenant (yet)', async () => {
    const res = (await hook.post(admissionReview(nsObj('sandbox', { 'redline.dev/plan': 'premium' }), { operation: 'UPDATE', oldObject: nsObj('sandbox', {}), username: 'alice' }))).json().response;
    expect(res.allowed).toBe(false);
    expect(res.status.message).toMatch(/^labels redline.dev\/plan \(added\) of namespace "sandbox" may only be changed by Redline admins/);
  });

  it('refuses kubernetes.io/metadata.name other than the name, for admins too; /mutate adds it to a new Namespace', async () => {
    const spoof = nsObj('evil', { 'kubernetes.io/metadata.name': 'kube-system' });
    const res = (await hook.post(admissionReview(spoof, { username: 'platform-admin' }))).json().response;
    expect(res.allowed).toBe(false);
    expect(res.status.message).toMatch(/^label kubernetes.io\/metadata.name of namespace "evil" is "kube-system", but it must be the namespace's own name/);
    // /mutate never adds to a wrong value (validation refuses it) and never patches an UPDATE.
    expect((await hook.post(admissionReview(spoof), '/mutate')).json().response).toEqual({ uid: expect.any(String), allowed: true });
    const fresh = nsObj('team-a', { team: 'a' });
    const m = (await hook.post(admissionReview(fresh), '/mutate')).json().response;
    expect(m.patchType).toBe('JSONPatch');
    const labelled = applyAddPatch(fresh, decodePatch(m.patch));
    expect((labelled.metadata as { labels: Record<string, string> }).labels).toEqual({ team: 'a', 'kubernetes.io/metadata.name': 'team-a' });
    expect((await hook.post(admissionReview(labelled))).json().response.allowed).toBe(true);
    expect((await hook.post(admissionReview(labelled), '/mutate')).json().response.patch).toBeUndefined();
  });
});

describe('Secrets in enforced namespaces', () => {
  const secret = (ns: string, extra: JsonObject = {}): JsonObject => ({
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'creds', namespace: ns }, data: { password: 'c2VjcmV0' }, ...extra,
  });
  const saToken = (ns: string): JsonObject => secret(ns, {
    type: 'kubernetes.io/service-account-token',
    metadata: { name: 'stolen', namespace: ns, annotations: { 'kubernetes.io/service-account.name': 'redline-controller' } },
  });

  it('a tenant cannot create a service-account-token Secret; the control plane can', async () => {
    const res = (await hook.post(admissionReview(saToken('tenant-acme'), { username: 'alice' }))).json().response;
    expect(res.allowed).toBe(false);
    expect(res.status.message).toMatch(/^Secret "stolen" in namespace "tenant-acme": Secrets of type kubernetes.io\/service-account-token may only be written by Redline admins/);
    expect((await hook.post(admissionReview(saToken('tenant-acme'), { username: 'system:serviceaccount:kube-system:tokens-controller' }))).json().response.allowed).toBe(true);
    // Offboarding namespaces are still guarded; other namespaces are not Redline's business.
    expect((await hook.post(admissionReview(saToken('tenant-gone'), { username: 'alice' }))).json().response.allowed).toBe(false);
    expect((await hook.post(admissionReview(saToken('default'), { username: 'alice' }))).json().response.allowed).toBe(true);
  });

  it('/mutate labels a Secret a tenant user creates; only admins change that label later', async () => {
    const m = (await hook.post(admissionReview(secret('tenant-acme'), { username: 'alice' }), '/mutate')).json().response;
    expect(decodePatch(m.patch)).toEqual([{ op: 'add', path: '/metadata/labels', value: { 'redline.dev/tenant-secret': 'true' } }]);
    const stored = applyAddPatch(secret('tenant-acme'), decodePatch(m.patch));
    expect((await hook.post(admissionReview(stored, { username: 'alice' }))).json().response.allowed).toBe(true);
    const byOperator = (await hook.post(admissionReview(secret('tenant-acme'), { username: 'system:serviceaccount:kubedb:kubedb' }), '/mutate')).json().response;
    expect(byOperator.patch).toBeUndefined();
    const stripped = (await hook.post(admissionReview(secret('tenant-acme'), { operation: 'UPDATE', oldObject: stored, username: 'alice' }))).json().response;
    expect(stripped.allowed).toBe(false);
    expect(stripped.status.message).toMatch(/label redline.dev\/tenant-secret \(removed\) may only be changed by Redline admins/);
    expect((await hook.post(admissionReview(secret('default'), { username: 'alice' }), '/mutate')).json().response.patch).toBeUndefined();
  });

  it('never logs Secret data', async () => {
    const before = hook.log.lines.length;
    await hook.post(admissionReview(secret('tenant-acme', { data: { password: 'dG9wLXNlY3JldC12YWx1ZQ==' } }), { username: 'alice' }));
    await hook.post(admissionReview(secret('tenant-acme', { data: { password: 'dG9wLXNlY3JldC12YWx1ZQ==' } }), { username: 'alice' }), '/mutate');
    // The log is written in batches: wait for both requests' lines before reading it.
    await until('both Secret admissions logged', () => hook.log.lines.slice(before).filter((l) => l.includes('"kind":"Secret"')).length >= 2);
    expect(hook.log.lines.join("\n")).not.toContain('dG9wLXNlY3JldC12YWx1ZQ');
    expect(hook.log.lines.join("\n")).toMatch(/"kind":"Secret"/);
  });
});
