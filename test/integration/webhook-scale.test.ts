// The scale subresource over real HTTPS with the real Engine and the shipped library: serve reads
// the parent through its API client (kube/object-reader.ts, here against a scripted API server) and
// judges the scale as an UPDATE of the parent with the new replicas; a parent it cannot read is
// refused; namespaces Redline does not enforce are answered without a read.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ObjectReader } from '../../kube/object-reader.js';
import { defaultLibraryDir, Engine, loadLibrary, type JsonObject } from '../../policies/engine/index.js';
import { admissionReview, PLAIN_NS, startTestWebhook, testCertificates, type TestCerts, type TestWebhook } from '../bench/webhook-harness.js';
import { scriptedApi, tokenKubeConfig, type ScriptedApi } from '../helpers/scripted-api.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const STANDARD_NS = { name: 'tenant-standard', labels: { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'standard', 'kubernetes.io/metadata.name': 'tenant-standard' } };
/** The shipped example: a compliant Redis StatefulSet of plan standard, at its 3 pods per shard. */
const sts = parse(readFileSync(path.join(ROOT, 'manifests', 'examples', 'good', 'statefulset-bitnami.yaml'), 'utf8')) as JsonObject;
const STS_PATH = '/apis/apps/v1/namespaces/tenant-standard/statefulsets/redis';
const STS_RESOURCE = { group: 'apps', version: 'v1', resource: 'statefulsets' };

function scale(replicas: unknown, namespace = 'tenant-standard', name = 'redis'): JsonObject {
  return { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name, namespace }, spec: replicas === undefined ? {} : { replicas } } as JsonObject;
}

function scaleReview(replicas: unknown, o: { namespace?: string; name?: string; resource?: typeof STS_RESOURCE; dryRun?: boolean } = {}): Record<string, unknown> {
  return admissionReview(scale(replicas, o.namespace, o.name), {
    operation: 'UPDATE', oldObject: scale(3, o.namespace, o.name), subResource: 'scale', resource: o.resource ?? STS_RESOURCE,
    ...(o.dryRun ? { dryRun: true } : {}),
  });
}

let certs: TestCerts;
let api: ScriptedApi;
let reader: ObjectReader;
let hook: TestWebhook;
let unreadable: TestWebhook;
const gets: string[] = [];

beforeAll(async () => {
  certs = await testCertificates();
  api = await scriptedApi((req, res) => {
    gets.push(`${req.method} ${req.url}`);
    const found = req.url === STS_PATH;
    res.writeHead(found ? 200 : req.url?.includes('/forbidden') ? 403 : 404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(found ? sts : { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'not here', reason: 'NotFound', code: 404 }));
  });
  reader = new ObjectReader({ kubeConfig: tokenKubeConfig(api.url) });
  const engine = new Engine(await loadLibrary(defaultLibraryDir()));
  hook = await startTestWebhook({ certs, reviewer: engine, namespaces: [STANDARD_NS, PLAIN_NS], parents: reader });
  unreadable = await startTestWebhook({ certs, reviewer: engine, namespaces: [STANDARD_NS, PLAIN_NS] });
});
afterAll(async () => {
  await hook?.close();
  await unreadable?.close();
  await reader?.stop();
  await api?.close();
  certs?.cleanup();
});
beforeEach(() => {
  gets.length = 0;
});

async function answer(w: TestWebhook, review: Record<string, unknown>, endpoint = '/validate'): Promise<{ allowed: boolean; status?: { message: string } }> {
  const a = await w.post(review, endpoint);
  expect(a.status).toBe(200);
  return a.json().response;
}

describe('a scale subresource is judged as an UPDATE of its parent', () => {
  it('above the plan\'s pods per shard: refused by plan-limits, after one fresh GET of the parent', async () => {
    const r = await answer(hook, scaleReview(4));
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toBe("plan-limits.pods-per-shard: 4 pods per shard exceed plan standard's limit of 3; set replicas to at most 3");
    expect(gets).toEqual([`GET ${STS_PATH}`]);
  });

  it('its log line carries the keys of the scale request itself, not of the parent\'s update it was judged as', async () => {
    const review = scaleReview(2);
    const uid = (review.request as { uid: string }).uid;
    expect((await answer(hook, review)).allowed).toBe(true);
    expect(hook.log.records().filter((r) => r['uid'] === uid)).toEqual([expect.objectContaining({
      msg: 'admission', kind: 'Scale', operation: 'UPDATE', namespace: 'tenant-standard', name: 'redis', endpoint: 'validate', outcome: 'allowed', status: 200,
    })]);
  });

  it('within the plan, down, or to zero (spec.replicas omitted): admitted', async () => {
    for (const n of [2, 1, undefined]) expect((await answer(hook, scaleReview(n))).allowed, String(n)).toBe(true);
    expect(gets).toHaveLength(3);
  });

  it('the same verdict for a dry run (nothing is written by the judgement itself)', async () => {
    expect((await answer(hook, scaleReview(4, { dryRun: true }))).allowed).toBe(false);
    expect((await answer(hook, scaleReview(3, { dryRun: true }))).allowed).toBe(true);
  });

  it('fails closed: a parent that cannot be read (missing, forbidden) or no cluster access to read it', async () => {
    const missing = await answer(hook, scaleReview(2, { name: 'gone' }));
    expect(missing.allowed).toBe(false);
    expect(missing.status?.message).toMatch(/^scale of statefulsets\.apps tenant-standard\/gone: cannot read it to judge the new replicas \(.*404.*\); retry in a moment$/);
    const forbidden = await answer(hook, scaleReview(2, { name: 'forbidden' }));
    expect(forbidden.status?.message).toMatch(/cannot read it .*403/);
    const noAccess = await answer(unreadable, scaleReview(2));
    expect(noAccess.allowed).toBe(false);
    expect(noAccess.status?.message).toBe('scale of statefulsets.apps tenant-standard/redis: Redline has no cluster access here to read the statefulsets it scales');
  });

  it('refuses a Scale whose replicas are not a whole number ≥ 0, and a parent kind it does not know, without a read', async () => {
    for (const bad of [-1, 1.5, 'three']) {
      const r = await answer(hook, scaleReview(bad));
      expect(r.allowed, String(bad)).toBe(false);
      expect(r.status?.message).toContain('spec.replicas must be a whole number ≥ 0');
    }
    const other = await answer(hook, scaleReview(2, { resource: { group: 'apps', version: 'v1', resource: 'daemonsets' } }));
    expect(other.status?.message).toBe('scale of daemonsets.apps tenant-standard/redis: not a kind whose scale Redline judges');
    expect(gets).toEqual([]);
  });

  it('namespaces Redline does not enforce, and /mutate, are answered without reading anything', async () => {
    expect((await answer(hook, scaleReview(40, { namespace: 'default' }))).allowed).toBe(true);
    expect((await answer(hook, scaleReview(40), '/mutate')).allowed).toBe(true);
    expect(gets).toEqual([]);
  });
});
