// `redline serve` (in-process, real HTTPS, shipped library) with the cluster it watches — a scripted
// API server serving Namespaces, StorageClasses and policy/v1 PodDisruptionBudgets — and with a
// --namespaces file that lists them: a node-local default StorageClass denies a KubeDB Redis
// without storageClassName (persistence.network-storage) and stops doing so when the default
// changes; a multi-pod StatefulSet without a PDB is warned (availability.pdb-present) until one
// covering it appears; readiness waits for these caches.

import { EventEmitter } from 'node:events';
import type http from 'node:http';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments, parseDocument } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runServe } from '../../cli/serve.js';
import type { JsonObject } from '../../policies/engine/types.js';
import { admissionReview, applyAddPatch, decodePatch, httpsRequest, MemoryLog, repoRoot } from '../bench/webhook-harness.js';
import { scriptedApi, type ScriptedApi } from '../helpers/scripted-api.js';
import { until, waitFor } from '../helpers/wait.js';

type Obj = { apiVersion?: string; kind?: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

const ROOT = repoRoot();
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'redline-facts-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function example(file: string): JsonObject {
  return parseAllDocuments(readFileSync(path.join(ROOT, 'manifests', 'examples', file), 'utf8'))[0]!.toJS() as JsonObject;
}

/** The KubeDB example without storageClassName: its volume lands on the cluster's default class. */
function kubedbOnDefaultClass(): JsonObject {
  const redis = example('good/kubedb-standalone.yaml');
  delete ((redis['spec'] as JsonObject)['storage'] as JsonObject)['storageClassName'];
  return redis;
}

/** A StatefulSet with 3 pods of the standard plan, its claims on the default class. */
function statefulSet(): JsonObject {
  return example('good/statefulset-bitnami.yaml');
}

const NAMESPACES: Obj[] = [
  { metadata: { name: 'tenant-free', labels: { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'free' } } },
  { metadata: { name: 'tenant-standard', labels: { 'redline.dev/tenant': 'globex', 'redline.dev/plan': 'standard' } } },
];

function storageClass(name: string, provisioner: string, isDefault: boolean): Obj {
  return {
    metadata: { name, annotations: isDefault ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : {}, creationTimestamp: '2025-01-01T00:00:00Z' },
    provisioner,
    reclaimPolicy: 'Delete',
  };
}

const sessionsPdb: Obj = {
  metadata: { name: 'redis', namespace: 'tenant-standard' },
  spec: { maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'sessions' } } },
};

/** A scripted API server with listable, watchable collections that change (see the unit test's twin). */
async function fakeCluster(discovery: Record<string, string[]>) {
  let rv = 1000;
  const collections = new Map<string, Map<string, Obj>>();
  const watchers = new Map<string, Set<http.ServerResponse>>();
  const key = (o: Obj): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const api = await scriptedApi((req, res) => {
    const u = new URL(req.url!, 'http://x');
    const gv = /^\/apis\/([^/]+\/[^/]+)$/.exec(u.pathname)?.[1];
    const items = collections.get(u.pathname);
    if ((gv && !discovery[gv]) || (!gv && !items)) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 404 }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (gv) return void res.end(JSON.stringify({ groupVersion: gv, resources: discovery[gv]!.map((name) => ({ name })) }));
    if (u.searchParams.get('watch') !== '1') return void res.end(JSON.stringify({ metadata: { resourceVersion: String(rv) }, items: [...items!.values()] }));
    res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(rv) } } })}\n`);
    let set = watchers.get(u.pathname);
    if (!set) watchers.set(u.pathname, (set = new Set()));
    set.add(res);
    res.on('close', () => set!.delete(res));
  });
  apis.push(api);
  const kubeconfig = path.join(dir, `kubeconfig-${apis.length}`);
  writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${api.url}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`);
  return {
    kubeconfig,
    watching: (p: string) => watchers.get(p)?.size ?? 0,
    collection(p: string, objs: Obj[]): void {
      collections.set(p, new Map(objs.map((o) => [key(o), { ...o, metadata: { ...o.metadata, resourceVersion: String(++rv) } }])));
    },
    push(p: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', o: Obj): void {
      const obj = { ...o, metadata: { ...o.metadata, resourceVersion: String(++rv) } };
      if (type === 'DELETED') collections.get(p)!.delete(key(obj));
      else collections.get(p)!.set(key(obj), obj);
      for (const w of watchers.get(p) ?? []) w.write(`${JSON.stringify({ type, object: obj })}\n`);
    },
  };
}

const apis: ScriptedApi[] = [];
const running: (() => Promise<number>)[] = [];
afterEach(async () => {
  for (const stop of running.splice(0)) expect(await stop()).toBe(0);
  await Promise.all(apis.splice(0).map((a) => a.close()));
});

/** runServe on free ports; resolves once it listens. */
async function serve(args: string[]): Promise<{ port: number; healthPort: number; ca: Buffer }> {
  const signals = new EventEmitter();
  const certDir = path.join(dir, 'certs');
  let resolveExit!: (c: number) => void;
  const exit = new Promise<number>((r) => (resolveExit = r));
  let stderr = '';
  const log = new MemoryLog();
  const ports = await new Promise<{ port: number; healthPort: number }>((resolve, reject) => {
    // --no-ledger: the scripted API server serves none of the Redis kinds or the ledger's ConfigMaps
    // the ledger watches (its suite, ledger.e2e.test.ts, runs it on a real API server).
    runServe(['--dev', '--dev-cert-dir', certDir, '--port', '0', '--health-port', '0', '--address', '127.0.0.1', '--no-ledger', ...args], {
      stderr: { write: (t: string) => Boolean((stderr += t)) }, cwd: dir, env: { HOME: dir }, signals, logDestination: log, onListening: resolve,
    }).then((c) => {
      resolveExit(c);
      reject(new Error(`serve exited with ${c} before listening: ${stderr}\n${log.lines.join('\n')}`));
    }, reject);
  });
  running.push(async () => {
    signals.emit('SIGTERM', 'SIGTERM');
    return exit;
  });
  return { ...ports, ca: readFileSync(path.join(certDir, 'ca.crt')) };
}

async function readiness(healthPort: number): Promise<{ status: number; checks: { name: string; ok: boolean; detail: string }[] }> {
  const r = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
  return { status: r.status, checks: ((await r.json()) as { checks: { name: string; ok: boolean; detail: string }[] }).checks };
}

/** What the API server stores and then validates: /mutate's patch applied, then /validate's answer. */
async function admitted(s: { port: number; ca: Buffer }, object: JsonObject): Promise<{ allowed: boolean; message: string; warnings: string[] }> {
  const post = async (p: string, o: JsonObject) => {
    const a = await httpsRequest({ port: s.port, ca: s.ca, path: p, body: JSON.stringify(admissionReview(o)) });
    expect(a.status).toBe(200);
    return a.json().response as { allowed: boolean; patch?: string; status?: { message: string }; warnings?: string[] };
  };
  const m = await post('/mutate', object);
  const stored = m.patch ? applyAddPatch(object, decodePatch(m.patch)) : object;
  const v = await post('/validate', stored);
  return { allowed: v.allowed, message: v.status?.message ?? '', warnings: v.warnings ?? [] };
}

const NETWORK_STORAGE = 'persistence.network-storage: StorageClass local-path (the cluster default) provisions node-local volumes (rancher.io/local-path)';

describe('serve with the StorageClasses and PodDisruptionBudgets of the cluster', () => {
  it('a node-local default class denies a KubeDB Redis without storageClassName; a network default allows it', async () => {
    const cluster = await fakeCluster({ 'policy/v1': ['poddisruptionbudgets'] });
    cluster.collection('/api/v1/namespaces', NAMESPACES);
    cluster.collection('/apis/storage.k8s.io/v1/storageclasses', [storageClass('local-path', 'rancher.io/local-path', true), storageClass('ebs', 'ebs.csi.aws.com', false)]);
    cluster.collection('/apis/policy/v1/poddisruptionbudgets', []);
    const s = await serve(['--kubeconfig', cluster.kubeconfig]);
    const ready = await readiness(s.healthPort);
    expect(ready.status).toBe(200);
    expect(ready.checks.filter((c) => c.name === 'storageclasses' || c.name === 'poddisruptionbudgets')).toEqual([
      { name: 'storageclasses', ok: true, detail: 'storageclasses: storage.k8s.io/v1 synced (2)' },
      { name: 'poddisruptionbudgets', ok: true, detail: 'poddisruptionbudgets: policy/v1 synced (0)' },
    ]);

    const denied = await admitted(s, kubedbOnDefaultClass());
    expect(denied.allowed).toBe(false);
    expect(denied.message).toContain(NETWORK_STORAGE);
    expect(denied.message).toContain('set storageClassName to a network-attached class');
    // The one reason: the same Redis naming the network class is allowed.
    const named = kubedbOnDefaultClass();
    (((named['spec'] as JsonObject)['storage'] as JsonObject)['storageClassName']) = 'ebs';
    expect(await admitted(s, named)).toMatchObject({ allowed: true });

    // The platform makes ebs the default (a watch event): the Redis is allowed at once.
    await waitFor(() => cluster.watching('/apis/storage.k8s.io/v1/storageclasses') > 0, 3000, 5);
    cluster.push('/apis/storage.k8s.io/v1/storageclasses', 'MODIFIED', storageClass('local-path', 'rancher.io/local-path', false));
    cluster.push('/apis/storage.k8s.io/v1/storageclasses', 'MODIFIED', storageClass('ebs', 'ebs.csi.aws.com', true));
    let last = denied;
    await until('the Redis allowed once ebs is the default class', async () => (last = await admitted(s, kubedbOnDefaultClass())).allowed, 5_000, 20);
    expect(last).toMatchObject({ allowed: true });
  });

  it('a StatefulSet of 3 pods without a PDB is warned, naming the PDB to add; once one covers it, not', async () => {
    const cluster = await fakeCluster({ 'policy/v1': ['poddisruptionbudgets'] });
    cluster.collection('/api/v1/namespaces', NAMESPACES);
    cluster.collection('/apis/storage.k8s.io/v1/storageclasses', [storageClass('ebs', 'ebs.csi.aws.com', true)]);
    cluster.collection('/apis/policy/v1/poddisruptionbudgets', [{ ...sessionsPdb, metadata: { name: 'redis', namespace: 'tenant-free' } }]);
    const s = await serve(['--kubeconfig', cluster.kubeconfig]);
    const pdbWarning = (w: string[]): string | undefined => w.find((x) => x.startsWith('availability: no PodDisruptionBudget covers these pods'));

    // A PDB with the right selector in another namespace does not count.
    const warned = await admitted(s, statefulSet());
    expect(warned.allowed).toBe(true);
    expect(pdbWarning(warned.warnings)).toBeDefined();

    await waitFor(() => cluster.watching('/apis/policy/v1/poddisruptionbudgets') > 0, 3000, 5);
    cluster.push('/apis/policy/v1/poddisruptionbudgets', 'ADDED', sessionsPdb);
    let last = warned;
    await until('no PDB warning once the PDB covers the pods', async () => !pdbWarning((last = await admitted(s, statefulSet())).warnings), 5_000, 20);
    expect(last.allowed).toBe(true);
    expect(pdbWarning(last.warnings)).toBeUndefined();
  });

  it('an API server without policy/v1 or v1beta1 PodDisruptionBudgets is ready; the PDB rule skips', async () => {
    const cluster = await fakeCluster({});
    cluster.collection('/api/v1/namespaces', NAMESPACES);
    cluster.collection('/apis/storage.k8s.io/v1/storageclasses', [storageClass('ebs', 'ebs.csi.aws.com', true)]);
    const s = await serve(['--kubeconfig', cluster.kubeconfig]);
    const ready = await readiness(s.healthPort);
    expect(ready.status).toBe(200);
    expect(ready.checks.find((c) => c.name === 'poddisruptionbudgets')).toEqual({
      name: 'poddisruptionbudgets', ok: true, detail: 'poddisruptionbudgets: not served by this API server; the rules that need them skip',
    });
    const answer = await admitted(s, statefulSet());
    expect(answer.allowed).toBe(true);
    expect(answer.warnings.some((w) => w.includes('PodDisruptionBudget'))).toBe(false);
  });
});

describe('serve with the Tenants of the cluster', () => {
  /** The shipped library plus a plan "teams" that requires {tenant}-(dev|staging|prod). */
  function teamsLibrary(): string {
    const lib = path.join(dir, `library-${apis.length}`);
    cpSync(path.join(repoRoot(), 'policies', 'library'), lib, { recursive: true });
    const doc = parseDocument(readFileSync(path.join(lib, 'plans', 'standard.yaml'), 'utf8'));
    doc.setIn(['metadata', 'name'], 'teams');
    doc.setIn(['spec', 'tenancy'], { namespacePattern: '{tenant}-(dev|staging|prod)' });
    writeFileSync(path.join(lib, 'plans', 'teams.yaml'), doc.toString());
    return lib;
  }
  const tenant = (name: string, plan: string): Obj => ({ apiVersion: 'redline.dev/v1alpha1', kind: 'Tenant', metadata: { name }, spec: { plan } });
  const joining = (name: string): JsonObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'standard' } } });
  async function validate(s: { port: number; ca: Buffer }, object: JsonObject): Promise<{ allowed: boolean; status?: { message: string } }> {
    const a = await httpsRequest({ port: s.port, ca: s.ca, path: '/validate', body: JSON.stringify(admissionReview(object, { username: 'admin', groups: ['system:masters'] })) });
    return a.json().response as { allowed: boolean; status?: { message: string } };
  }

  it('a joining namespace is held to its Tenant\'s plan, followed through the watch; without a Tenant, to its own label', async () => {
    const cluster = await fakeCluster({ 'redline.dev/v1alpha1': ['tenants'] });
    cluster.collection('/api/v1/namespaces', NAMESPACES);
    cluster.collection('/apis/storage.k8s.io/v1/storageclasses', []);
    cluster.collection('/apis/redline.dev/v1alpha1/tenants', [tenant('acme', 'teams')]);
    const s = await serve(['--kubeconfig', cluster.kubeconfig, '--policies', teamsLibrary()]);
    const ready = await readiness(s.healthPort);
    expect(ready.checks.find((c) => c.name === 'tenants')).toEqual({ name: 'tenants', ok: true, detail: 'tenants: redline.dev/v1alpha1 synced (1)' });
    // the Tenant's plan (teams) decides, not the label the request carries
    const refused = await validate(s, joining('scratch'));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain('namespace "scratch" cannot be a namespace of tenant acme');
    expect((await validate(s, joining('acme-dev'))).allowed).toBe(true);
    // the Tenant moves to standard (no pattern): the same namespace may join
    await waitFor(() => cluster.watching('/apis/redline.dev/v1alpha1/tenants') > 0);
    cluster.push('/apis/redline.dev/v1alpha1/tenants', 'MODIFIED', tenant('acme', 'standard'));
    await until('scratch allowed under standard', async () => (await validate(s, joining('scratch'))).allowed, 5_000);
    // deleted: the label-only path, the namespace's own label (teams) decides
    cluster.push('/apis/redline.dev/v1alpha1/tenants', 'DELETED', tenant('acme', 'standard'));
    const ownLabel = { ...joining('scratch'), metadata: { name: 'scratch', labels: { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'teams' } } };
    await until('scratch refused by its own label', async () => !(await validate(s, ownLabel)).allowed, 5_000);
  });

  it('an API server without the Tenant CRD is ready: every tenant is on the label-only path', async () => {
    const cluster = await fakeCluster({});
    cluster.collection('/api/v1/namespaces', NAMESPACES);
    cluster.collection('/apis/storage.k8s.io/v1/storageclasses', []);
    const s = await serve(['--kubeconfig', cluster.kubeconfig]);
    const ready = await readiness(s.healthPort);
    expect(ready.status).toBe(200);
    expect(ready.checks.find((c) => c.name === 'tenants')).toMatchObject({ ok: true, detail: expect.stringContaining('tenants: not served by this API server') });
  });
});

describe('serve --namespaces FILE', () => {
  it('uses the StorageClasses and PDBs the file lists', async () => {
    const file = path.join(dir, 'cluster.yaml');
    writeFileSync(file, `${readFileSync(path.join(ROOT, 'manifests', 'examples', 'namespaces.yaml'), 'utf8')}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: rancher.io/local-path
`);
    const s = await serve(['--namespaces', file]);
    const denied = await admitted(s, kubedbOnDefaultClass());
    expect(denied.allowed).toBe(false);
    expect(denied.message).toContain(NETWORK_STORAGE);
    // No PDBs in the file: not known, so no warning about a missing one.
    expect(pdbWarningOf((await admitted(s, statefulSet())).warnings)).toBeUndefined();
  });

  it('without them the rules skip: the same Redis is allowed', async () => {
    const s = await serve(['--namespaces', path.join(ROOT, 'manifests', 'examples', 'namespaces.yaml')]);
    expect(await admitted(s, kubedbOnDefaultClass())).toMatchObject({ allowed: true });
  });
});

function pdbWarningOf(w: string[]): string | undefined {
  return w.find((x) => x.includes('PodDisruptionBudget'));
}
