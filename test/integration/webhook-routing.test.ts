// What the webhook hands the reviewer (a recording fake here, so the input itself can be asserted):
// which requests reach it at all, with which plan, mutate flag, object and oldObject. The verdicts
// of the real engine are covered in webhook-admission.test.ts.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../policies/engine/types.js';
import { formatWarning, shapeOutcome } from '../../webhook/admission.js';
import { guardedLabelChanges, serviceAccountUsername } from '../../webhook/label-guard.js';
import {
  admissionReview,
  FakeReviewer,
  PLAIN_NS,
  startTestWebhook,
  TENANT_NS,
  testCertificates,
  type TestCerts,
  type TestWebhook,
} from '../bench/webhook-harness.js';

const redis: JsonObject = { apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'r', namespace: 'tenant-acme' }, spec: { replicas: 1 } };
const pdb: JsonObject = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'p', namespace: 'tenant-acme' }, spec: {} };

const offboarding = { name: 'tenant-leaving', labels: { 'redline.dev/managed': 'true', 'redline.dev/plan': 'free', 'kubernetes.io/metadata.name': 'tenant-leaving' } };
const markedNotManaged = { name: 'was-tenant', labels: { 'redline.dev/managed': 'false', 'redline.dev/plan': 'free' } };

let certs: TestCerts;
let hook: TestWebhook;
const reviewer = new FakeReviewer([
  (input) => ({ policy: 'fake', rule: 'r', result: 'pass', action: 'Deny', message: '', patch: input.mutate ? [{ op: 'add', path: '/spec/x', value: 1 }] : [] }),
]);

beforeAll(async () => {
  certs = await testCertificates();
  hook = await startTestWebhook({ certs, reviewer, namespaces: [TENANT_NS, PLAIN_NS, offboarding, markedNotManaged] });
});
afterAll(async () => {
  await hook?.close();
  certs?.cleanup();
});
beforeEach(() => {
  reviewer.calls.length = 0;
});

describe('reviewer input', () => {
  it('/validate reviews with mutate=false, /mutate with mutate=true, with the plan and namespace of the tenant', async () => {
    await hook.post(admissionReview(redis, { username: 'u', groups: ['g'] }));
    await hook.post(admissionReview(redis), '/mutate');
    expect(reviewer.calls.map((c) => c.mutate)).toEqual([false, true]);
    expect(reviewer.calls[0]).toMatchObject({ operation: 'CREATE', plan: 'standard', namespace: TENANT_NS, userInfo: { username: 'u', groups: ['g'] }, oldObject: null });
    expect(reviewer.calls[0]!.object).toEqual(redis);
  });

  it('passes oldObject on UPDATE', async () => {
    const old = { ...redis, spec: { replicas: 0 } };
    await hook.post(admissionReview(redis, { operation: 'UPDATE', oldObject: old }));
    expect(reviewer.calls[0]!.oldObject).toEqual(old);
  });

  it('sends only PDB deletions to the engine, with the deleted object', async () => {
    await hook.post(admissionReview(null, { operation: 'DELETE', oldObject: redis }));
    expect(reviewer.calls).toHaveLength(0);
    // Nothing to mutate on DELETE: /mutate allows without asking the engine.
    const m = (await hook.post(admissionReview(null, { operation: 'DELETE', oldObject: pdb }), '/mutate')).json().response;
    expect(reviewer.calls).toHaveLength(0);
    expect(m).toMatchObject({ allowed: true });
    expect(m.patch).toBeUndefined();
    const r = (await hook.post(admissionReview(null, { operation: 'DELETE', oldObject: pdb }))).json().response;
    expect(reviewer.calls).toHaveLength(1);
    expect(reviewer.calls[0]).toMatchObject({ operation: 'DELETE', mutate: false, validate: true, object: pdb, oldObject: pdb });
    expect(r.patch).toBeUndefined();
  });

  it('does not call the reviewer for non-tenant namespaces, CONNECT, status updates or cluster-scoped objects', async () => {
    await hook.post(admissionReview(redis, { namespace: 'default' }));
    await hook.post(admissionReview(redis, { namespace: 'unknown' }));
    await hook.post(admissionReview(redis, { operation: 'CONNECT' }));
    await hook.post(admissionReview(redis, { operation: 'UPDATE', oldObject: redis, subResource: 'status' }));
    await hook.post(admissionReview(redis, { namespace: '' }));
    expect(reviewer.calls).toHaveLength(0);
  });

  it('keeps reviewing a namespace being offboarded (redline.dev/managed=true without the tenant label), with its plan', async () => {
    const leaving = { ...redis, metadata: { name: 'r', namespace: 'tenant-leaving' } };
    await hook.post(admissionReview(leaving));
    await hook.post(admissionReview(leaving), '/mutate');
    expect(reviewer.calls.map((c) => [c.plan, c.namespace?.name, c.mutate])).toEqual([['free', 'tenant-leaving', false], ['free', 'tenant-leaving', true]]);
    // managed must be "true": anything else is not Redline's.
    await hook.post(admissionReview({ ...redis, metadata: { name: 'r', namespace: 'was-tenant' } }));
    expect(reviewer.calls).toHaveLength(2);
  });

  it('never sends Secrets or Namespaces to the reviewer', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'tenant-acme' }, data: {} };
    await hook.post(admissionReview(secret));
    await hook.post(admissionReview(secret), '/mutate');
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-acme', labels: TENANT_NS.labels } };
    await hook.post(admissionReview(ns, { operation: 'UPDATE', oldObject: ns, subResource: 'status' }));
    expect(reviewer.calls).toHaveLength(0);
  });

  it('does not review the Certificates Redline\'s controller stamps; everyone else\'s are', async () => {
    const cert = { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'redline-tenant-ca', namespace: 'tenant-acme' }, spec: { isCA: true } };
    const answer = (await hook.post(admissionReview(cert, { username: 'system:serviceaccount:redline-system:redline-controller' }))).json().response;
    expect(answer).toEqual({ uid: expect.any(String), allowed: true });
    expect(reviewer.calls).toHaveLength(0);
    // Not an admin, not a look-alike: only the controller's exact identity.
    for (const username of ['platform-admin', 'system:serviceaccount:tenant-acme:redline-controller', 'alice']) {
      await hook.post(admissionReview(cert, { username }));
    }
    expect(reviewer.calls).toHaveLength(3);
  });

  it('answers the reviewer patch on /mutate only', async () => {
    const m = (await hook.post(admissionReview(redis), '/mutate')).json().response;
    expect(m.patchType).toBe('JSONPatch');
    expect(JSON.parse(Buffer.from(m.patch, 'base64').toString())).toEqual([{ op: 'add', path: '/spec/x', value: 1 }]);
    const v = (await hook.post(admissionReview(redis))).json().response;
    expect(v.patch).toBeUndefined();
  });
});

describe('results of objects the engine reviews without calling them Redis (other pods)', () => {
  it('are answered: a failure denies, a warning warns', async () => {
    const other = new FakeReviewer([
      (input) => ({ policy: 'pod-security', rule: 'privileged', result: (input.object.spec as { bad?: boolean }).bad ? 'fail' : 'warn', action: 'Deny', message: 'privileged containers are not allowed' }),
    ]);
    const notRedis = { ...other, review: (input: Parameters<FakeReviewer['review']>[0]) => ({ ...other.review(input), redis: false }) };
    const h = await startTestWebhook({ certs, reviewer: notRedis, namespaces: [TENANT_NS] });
    try {
      const pod = (bad: boolean): JsonObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'busybox', namespace: 'tenant-acme' }, spec: { bad } });
      const denied = (await h.post(admissionReview(pod(true)))).json().response;
      expect(denied).toMatchObject({ allowed: false, status: { code: 403, message: 'pod-security.privileged: privileged containers are not allowed' } });
      const warned = (await h.post(admissionReview(pod(false)))).json().response;
      expect(warned).toMatchObject({ allowed: true, warnings: ['pod-security: privileged containers are not allowed'] });
    } finally {
      await h.close();
    }
  });
});

describe('response shaping', () => {
  const outcome = (results: Parameters<typeof shapeOutcome>[2]['results'], denied: boolean) =>
    ({ redis: true, reason: '', results, patch: [], mutated: {}, denied });

  it('resolves errors per `denies`: a denying error is a denial, the others a warning', () => {
    const r = shapeOutcome('validate', 'u', outcome([
      { policy: 'a', rule: 'x', result: 'error', action: 'Deny', message: 'timeout', denies: true },
      { policy: 'b', rule: 'y', result: 'error', action: 'Deny', message: 'bad CEL', denies: false },
      { policy: 'c', rule: 'z', result: 'fail', action: 'Deny', message: 'too big', denies: false },
    ], true));
    expect(r.response.allowed).toBe(false);
    expect(r.response.status?.message).toBe('a.x: could not be evaluated: timeout; c.z: too big');
    expect(r.response.warnings).toEqual(['b.y: could not be evaluated: bad CEL']);
    expect(r.outcome).toBe('denied');
  });

  it('deduplicates warnings and formats them for kubectl', () => {
    const r = shapeOutcome('validate', 'u', outcome([
      { policy: 'a', rule: 'x', result: 'warn', action: 'Warn', message: 'same', denies: false },
      { policy: 'a', rule: 'y', result: 'fail', action: 'Warn', message: 'same', denies: false },
    ], false));
    expect(r.response.warnings).toEqual(['a: same']);
    expect(formatWarning('p', 'WARNING: line one\nline two')).toBe('p: line one line two');
    const long = formatWarning('p', 'x'.repeat(500));
    expect(long).toHaveLength(120);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('label guard helpers', () => {
  it('finds added, changed and removed guarded labels only', () => {
    expect(
      guardedLabelChanges(
        { 'redline.dev/plan': 'a', 'redline.dev/x': '1', 'pod-security.kubernetes.io/warn': 'baseline', other: '1' },
        { 'redline.dev/plan': 'b', 'pod-security.kubernetes.io/warn': 'baseline', 'pod-security.kubernetes.io/enforce': 'privileged', other: '2' },
      ),
    ).toEqual([
      { key: 'pod-security.kubernetes.io/enforce', change: 'added' },
      { key: 'redline.dev/plan', change: 'changed' },
      { key: 'redline.dev/x', change: 'removed' },
    ]);
  });

  it('normalises service account references', () => {
    expect(serviceAccountUsername('ns/sa')).toBe('system:serviceaccount:ns:sa');
    expect(serviceAccountUsername('ns:sa')).toBe('system:serviceaccount:ns:sa');
    expect(serviceAccountUsername('system:serviceaccount:ns:sa')).toBe('system:serviceaccount:ns:sa');
  });
});
