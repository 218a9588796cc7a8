// Property test over real HTTPS against ONE server with the real Engine and the shipped library:
// thousands of generated inputs — random bytes, random JSON, valid AdmissionReviews with fields
// deleted or retyped, huge strings, deep arrays — and every answer is a 4xx Status or a valid
// AdmissionReview echoing the uid; never a 5xx, never a hang; the server stays up.

import https from 'node:https';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultLibraryDir, Engine, loadLibrary } from '../../policies/engine/index.js';
import type { JsonObject } from '../../policies/engine/types.js';
import {
  admissionReview,
  fixture,
  httpsRequest,
  PLAIN_NS,
  startTestWebhook,
  TENANT_NS,
  testCertificates,
  type HttpAnswer,
  type TestCerts,
  type TestWebhook,
} from '../bench/webhook-harness.js';

const RUNS = Number(process.env.REDLINE_FUZZ_RUNS ?? 3000);
const LIMIT = 4 * 1024 * 1024;

let certs: TestCerts;
let hook: TestWebhook;
let agent: https.Agent;
let sent = 0;

const bases: Record<string, unknown>[] = [];

beforeAll(async () => {
  certs = await testCertificates();
  hook = await startTestWebhook({
    certs,
    reviewer: new Engine(await loadLibrary(defaultLibraryDir())),
    namespaces: [TENANT_NS, PLAIN_NS],
    bodyLimitBytes: LIMIT,
    logLevel: 'silent',
  });
  agent = new https.Agent({ keepAlive: true, maxSockets: 2 });
  const sts = fixture('statefulset-review.json');
  const kubedb = fixture('kubedb-redis-review.json');
  const ns = (labels: Record<string, string>): JsonObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-acme', labels } });
  const pdb: JsonObject = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'cache', namespace: 'tenant-acme' },
    spec: { maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } } },
  };
  const pod: JsonObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'cache-0', namespace: 'tenant-acme', labels: { 'app.kubernetes.io/name': 'redis' }, ownerReferences: [{ kind: 'StatefulSet', name: 'cache', apiVersion: 'apps/v1', uid: 'x' }] },
    spec: { containers: [{ name: 'redis', image: 'redis:7.2.4', resources: { limits: { memory: '1Gi', cpu: '1' } } }] },
  };
  const opstree: JsonObject = {
    apiVersion: 'redis.redis.opstreelabs.in/v1beta2',
    kind: 'RedisCluster',
    metadata: { name: 'rc', namespace: 'tenant-acme' },
    spec: { clusterSize: 3, kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.12', resources: { limits: { memory: '1Gi', cpu: '1' } } }, redisLeader: { replicas: 3 }, redisFollower: { replicas: 3 } },
  };
  bases.push(
    sts,
    kubedb,
    admissionReview(pod),
    admissionReview(opstree),
    admissionReview(structuredClone(opstree), { operation: 'UPDATE', oldObject: opstree }),
    admissionReview(null, { operation: 'DELETE', oldObject: pdb }),
    admissionReview(ns({ 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'premium' }), { operation: 'UPDATE', oldObject: ns({ 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'standard' }) }),
  );
});

afterAll(async () => {
  agent?.destroy();
  await hook?.close();
  certs?.cleanup();
});

// ---------------------------------------------------------------------------------------------
// Generators

type Input = { body: Buffer; contentType: string; label: string };

const deepArray = fc.integer({ min: 1, max: 160 }).map((d) => JSON.parse('['.repeat(d) + ']'.repeat(d)) as unknown);
const hugeString = fc.integer({ min: 10_000, max: 300_000 }).chain((n) => fc.constantFrom('a', 'é', '\u0000', '"', '\\', '😀').map((c) => c.repeat(n / c.length)));
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, false, 0, -1, 1e308, '', 'CREATE', 'DELETE', 'UPDATE', 'CONNECT', [], {}, 'admission.k8s.io/v1'),
  deepArray,
  hugeString,
  fc.string({ unit: 'binary', maxLength: 50 }),
);

type Mutation = { scope: 'object' | 'request' | 'root'; path: number[]; action: 'delete' | 'replace' | 'duplicate-into-array'; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  // Mostly inside the reviewed object (so the engine sees odd objects), sometimes the envelope.
  scope: fc.constantFrom('object', 'object', 'object', 'object', 'request', 'root'),
  path: fc.array(fc.nat(), { minLength: 1, maxLength: 9 }),
  action: fc.constantFrom('delete', 'replace', 'replace', 'duplicate-into-array'),
  value: oddValue,
});

function mutate(doc: unknown, m: Mutation): unknown {
  const root = structuredClone(doc) as Record<string, any>;
  let parent: any = root;
  let key: string | number | undefined;
  const request = root?.request;
  if (m.scope !== 'root' && request && typeof request === 'object') {
    const start = m.scope === 'object' ? (request.object ?? request.oldObject) : request;
    if (start && typeof start === 'object') {
      parent = m.scope === 'object' ? request : root;
      key = m.scope === 'object' ? (request.object ? 'object' : 'oldObject') : 'request';
    }
  }
  for (const seed of m.path) {
    const next = key === undefined ? parent : parent?.[key];
    if (next === null || typeof next !== 'object') break;
    const keys: (string | number)[] = Array.isArray(next) ? next.map((_, i) => i) : Object.keys(next);
    if (keys.length === 0) break;
    parent = next;
    key = keys[seed % keys.length];
  }
  if (key === undefined) return m.value;
  if (m.action === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (m.action === 'duplicate-into-array') {
    parent[key] = [parent[key], m.value];
  } else {
    parent[key] = m.value;
  }
  return root;
}

const validContentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8');

const input: fc.Arbitrary<Input> = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4096 }).map((b) => ({ body: Buffer.from(b), contentType: 'application/json', label: 'random bytes' })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((v) => ({ body: Buffer.from(JSON.stringify(v) ?? 'null'), contentType: 'application/json', label: 'random json' })) },
  {
    weight: 8,
    arbitrary: fc
      .tuple(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 }), validContentType)
      .map(([i, ms, ct]) => {
        let doc: unknown = bases[i % bases.length];
        for (const m of ms) doc = mutate(doc, m);
        return { body: Buffer.from(JSON.stringify(doc) ?? 'null'), contentType: ct, label: 'mutated review' };
      }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.nat(), fc.nat({ max: 4000 }), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([i, at, bytes]) => {
      const b = Buffer.from(JSON.stringify(bases[i % bases.length]));
      const pos = at % b.length;
      return { body: Buffer.concat([b.subarray(0, pos), Buffer.from(bytes), b.subarray(pos + bytes.length)]), contentType: 'application/json', label: 'corrupted bytes' };
    }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.nat(), fc.string({ maxLength: 40 })).map(([i, ct]) => ({
      body: Buffer.from(JSON.stringify(bases[i % bases.length])),
      contentType: ct.replace(/[^\x20-\x7e]/g, '') || 'text/plain',
      label: 'odd content type',
    })),
  },
);

// ---------------------------------------------------------------------------------------------
// The property

function sentUid(body: Buffer): unknown {
  try {
    return (JSON.parse(body.toString('utf8')) as { request?: { uid?: unknown } })?.request?.uid;
  } catch {
    return undefined;
  }
}

function checkAnswer(inp: Input, a: HttpAnswer): void {
  if (a.status === 200) {
    const doc = a.json();
    expect(doc.apiVersion).toBe('admission.k8s.io/v1');
    expect(doc.kind).toBe('AdmissionReview');
    expect(doc.response.uid).toBe(sentUid(inp.body));
    expect(typeof doc.response.allowed).toBe('boolean');
    if (!doc.response.allowed) expect(doc.response.status.code).toBe(403);
    if (doc.response.patch !== undefined) {
      expect(doc.response.patchType).toBe('JSONPatch');
      const ops = JSON.parse(Buffer.from(doc.response.patch, 'base64').toString('utf8')) as { op: string; path: string }[];
      expect(ops.length).toBeGreaterThan(0);
      for (const op of ops) expect(op.op).toBe('add');
    }
    for (const w of doc.response.warnings ?? []) expect((w as string).length).toBeLessThanOrEqual(120);
    return;
  }
  expect([400, 413, 415]).toContain(a.status);
  const status = a.json();
  expect(status.kind).toBe('Status');
  expect(status.code).toBe(a.status);
  expect(typeof status.message).toBe('string');
}

describe('fuzzing the admission endpoints', () => {
  it(`answers ${RUNS} generated inputs with a 4xx or a valid AdmissionReview, and stays up`, async () => {
    const labels = new Map<string, number>();
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(input, fc.constantFrom('/validate', '/mutate'), async (inp, path) => {
        sent++;
        labels.set(inp.label, (labels.get(inp.label) ?? 0) + 1);
        const a = await httpsRequest({ port: hook.port, ca: certs.ca, path, agent, body: inp.body, headers: { 'Content-Type': inp.contentType }, timeoutMs: 10_000 });
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        checkAnswer(inp, a);
      }),
      { numRuns: RUNS, seed: Number(process.env.REDLINE_FUZZ_SEED ?? 20251122), endOnFailure: true },
    );
    expect(sent).toBeGreaterThanOrEqual(RUNS);
    // Every class was generated, and both verdict kinds happened.
    expect([...labels.keys()].sort()).toEqual(['corrupted bytes', 'mutated review', 'odd content type', 'random bytes', 'random json']);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(RUNS / 10);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(RUNS / 10);

    // The server is still up and correct.
    const last = await httpsRequest({ port: hook.port, ca: certs.ca, body: JSON.stringify(bases[0]) });
    expect(last.status).toBe(200);
    expect(last.json().response.allowed).toBe(true);
    const text = await hook.metrics.registry.metrics();
    expect(text).not.toMatch(/redline_errors_total\{kind="(handler|reviewer)"\}/);
  }, 240_000);
});
