// The caches `serve` keeps besides namespaces — StorageClasses and PodDisruptionBudgets — against a
// scripted API server: discovery of policy/v1 vs policy/v1beta1 (and neither), slim objects,
// per-namespace PDB lists precomputed on change, the default class first, retries and readiness;
// the --namespaces file's StorageClasses/PDBs; and admission handing them to the engine.

import type http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { NO_PDBS, StaticClusterFacts, storageClassInfo } from '../../kube/cluster-facts-source.js';
import { parseNamespaceFile, StaticNamespaceSource } from '../../kube/namespaces.js';
import { ClusterPdbSource, slimPdb } from '../../kube/pdb-source.js';
import { ClusterStorageClassSource, slimStorageClass } from '../../kube/storage-class-source.js';
import { ClusterTenantSource } from '../../kube/tenant-source.js';
import type { ReviewInput, ReviewOutcome } from '../../policies/engine/types.js';
import { admit, type AdmissionContext } from '../../webhook/admission.js';
import type { AdmissionRequest } from '../../webhook/admission-review.js';
import { LabelGuard } from '../../webhook/label-guard.js';
import { scriptedApi, tokenKubeConfig, type ScriptedApi } from '../helpers/scripted-api.js';
import { waitFor as waitForCondition } from '../helpers/wait.js';

const waitFor = (cond: () => boolean, ms = 3000): Promise<void> => waitForCondition(cond, ms, 5);

type Obj = { metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

/**
 * A scripted API server with collections that change: `discovery` answers GET /apis/<group>/<version>
 * (a status code or the resource names), `collections` are listed and watched; `push` changes a
 * collection and sends the event to the open watches; `fail(path, code, n)` fails the next n lists.
 */
async function fakeCluster(discovery: Record<string, number | string[]>) {
  let rv = 100;
  const collections = new Map<string, Map<string, Obj>>();
  const watchers = new Map<string, Set<http.ServerResponse>>();
  const failures = new Map<string, { code: number; left: number }>();
  const listCount = new Map<string, number>();
  const requests: string[] = [];
  const key = (o: Obj): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const api = await scriptedApi((req, res) => {
    const u = new URL(req.url!, 'http://x');
    requests.push(`${u.pathname}${u.searchParams.get('watch') === '1' ? '?watch' : ''}`);
    const status = (code: number): void =>
      void res.writeHead(code, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code, message: `scripted ${code}` }));
    const gv = /^\/apis\/([^/]+\/[^/]+)$/.exec(u.pathname)?.[1];
    if (gv) {
      const d = discovery[gv] ?? 404;
      if (typeof d === 'number') return status(d);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'APIResourceList', groupVersion: gv, resources: d.map((name) => ({ name })) }));
      return;
    }
    const items = collections.get(u.pathname);
    if (!items) return status(404);
    if (u.searchParams.get('watch') !== '1') {
      listCount.set(u.pathname, (listCount.get(u.pathname) ?? 0) + 1);
      const f = failures.get(u.pathname);
      if (f && f.left > 0) {
        f.left--;
        return status(f.code);
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ metadata: { resourceVersion: String(rv) }, items: [...items.values()] }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(rv) } } })}\n`);
    let set = watchers.get(u.pathname);
    if (!set) watchers.set(u.pathname, (set = new Set()));
    set.add(res);
    res.on('close', () => set!.delete(res));
  });
  apis.push(api);
  return {
    kubeConfig: tokenKubeConfig(api.url),
    requests,
    lists: (path: string) => listCount.get(path) ?? 0,
    /** Open watches on `path` (push only reaches these). */
    watching: (path: string) => watchers.get(path)?.size ?? 0,
    collection(path: string, objs: Obj[] = []): void {
      collections.set(path, new Map(objs.map((o) => [key(o), { ...o, metadata: { ...o.metadata, resourceVersion: String(++rv) } }])));
    },
    push(path: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', o: Obj): void {
      const obj = { ...o, metadata: { ...o.metadata, resourceVersion: String(++rv) } };
      const items = collections.get(path)!;
      if (type === 'DELETED') items.delete(key(obj));
      else items.set(key(obj), obj);
      for (const w of watchers.get(path) ?? []) w.write(`${JSON.stringify({ type, object: obj })}\n`);
    },
    fail(path: string, code: number, times: number): void {
      failures.set(path, { code, left: times });
    },
  };
}

const apis: ScriptedApi[] = [];
const stoppers: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(stoppers.splice(0).map((s) => s.stop()));
  await Promise.all(apis.splice(0).map((a) => a.close()));
});
function track<T extends { stop(): Promise<void> }>(s: T): T {
  stoppers.push(s);
  return s;
}

const SC_PATH = '/apis/storage.k8s.io/v1/storageclasses';
const V1 = '/apis/policy/v1/poddisruptionbudgets';
const V1BETA1 = '/apis/policy/v1beta1/poddisruptionbudgets';
const GA = 'storageclass.kubernetes.io/is-default-class';
const BETA = 'storageclass.beta.kubernetes.io/is-default-class';

function sc(name: string, provisioner: string, annotations: Record<string, string> = {}, created = '2024-01-01T00:00:00Z'): Obj {
  return {
    apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
    metadata: { name, annotations: { ...annotations, 'kubectl.kubernetes.io/last-applied-configuration': '{"huge":"blob"}' }, creationTimestamp: created, uid: 'u', managedFields: [{ manager: 'kubectl' }] },
    provisioner, parameters: { type: 'gp3' }, reclaimPolicy: 'Delete', volumeBindingMode: 'WaitForFirstConsumer',
  };
}

function pdb(namespace: string, name: string, selector: unknown = { matchLabels: { app: name } }): Obj {
  return {
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget',
    metadata: { name, namespace, labels: { team: 'x' }, annotations: { note: 'not kept' }, managedFields: [{ manager: 'kubectl' }] },
    spec: { maxUnavailable: 1, selector },
    status: { currentHealthy: 3, disruptionsAllowed: 1, expectedPods: 3 },
  };
}

const fast = { backoff: { initialMs: 10, maxMs: 20 }, random: () => 1, resyncMs: 0 };

// ---------------------------------------------------------------------------------------------

describe('StorageClass cache', () => {
  it('lists the classes, keeps name/provisioner/default only, default class first (GA or beta annotation)', async () => {
    const api = await fakeCluster({});
    api.collection(SC_PATH, [sc('b-local', 'rancher.io/local-path'), sc('a-ebs', 'ebs.csi.aws.com'), sc('old-default', 'kubernetes.io/no-provisioner', { [BETA]: 'true' })]);
    const src = track(new ClusterStorageClassSource({ kubeConfig: api.kubeConfig, ...fast }));
    expect(src.storageClasses()).toBeUndefined();
    expect(src.synced()).toBe(false);
    await src.start();
    expect(src.synced()).toBe(true);
    expect(src.storageClasses()).toEqual([
      { name: 'old-default', provisioner: 'kubernetes.io/no-provisioner', default: true },
      { name: 'a-ebs', provisioner: 'ebs.csi.aws.com', default: false },
      { name: 'b-local', provisioner: 'rancher.io/local-path', default: false },
    ]);
    expect(src.status()).toEqual({ ok: true, detail: 'storageclasses: storage.k8s.io/v1 synced (3)' });
    // The same frozen array until something changes: a request allocates nothing.
    const before = src.storageClasses();
    expect(src.storageClasses()).toBe(before);
    expect(Object.isFrozen(before)).toBe(true);

    // A newer default (GA annotation) wins, as the API server picks the newest default.
    await waitFor(() => api.watching(SC_PATH) > 0);
    api.push(SC_PATH, 'ADDED', sc('new-default', 'ebs.csi.aws.com', { [GA]: 'true' }, '2025-06-01T00:00:00Z'));
    await waitFor(() => src.storageClasses() !== before);
    expect(src.storageClasses()!.map((c) => [c.name, c.default])).toEqual([['new-default', true], ['old-default', true], ['a-ebs', false], ['b-local', false]]);
    // "false" is not default; a delete drops the class.
    api.push(SC_PATH, 'MODIFIED', sc('new-default', 'ebs.csi.aws.com', { [GA]: 'false' }, '2025-06-01T00:00:00Z'));
    api.push(SC_PATH, 'DELETED', sc('old-default', 'kubernetes.io/no-provisioner'));
    await waitFor(() => src.storageClasses()!.length === 3);
    expect(src.storageClasses()!.some((c) => c.default)).toBe(false);
  });

  it('caches slim objects: no parameters, managedFields, last-applied annotation or uid', () => {
    const slim = slimStorageClass(sc('x', 'p', { [GA]: 'true' }) as never);
    expect(slim).toEqual({
      apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
      metadata: { name: 'x', creationTimestamp: '2024-01-01T00:00:00Z', annotations: { [GA]: 'true' } },
      provisioner: 'p',
    });
  });

  it('an empty cluster is known (no classes), not unknown', async () => {
    const api = await fakeCluster({});
    api.collection(SC_PATH, []);
    const src = track(new ClusterStorageClassSource({ kubeConfig: api.kubeConfig, ...fast }));
    await src.start();
    expect(src.storageClasses()).toEqual([]);
  });

  it('a forbidden list keeps it unready with the reason, retried with backoff until RBAC allows it', async () => {
    const api = await fakeCluster({});
    api.collection(SC_PATH, [sc('ebs', 'ebs.csi.aws.com', { [GA]: 'true' })]);
    api.fail(SC_PATH, 403, 3);
    const errors: unknown[] = [];
    const src = track(new ClusterStorageClassSource({ kubeConfig: api.kubeConfig, ...fast, onError: (e) => errors.push(e) }));
    await src.start();
    expect(src.synced()).toBe(false);
    expect(src.storageClasses()).toBeUndefined();
    const status = src.status();
    expect(status.ok).toBe(false);
    expect(status.detail).toMatch(/^storageclasses: not synced yet: list \/apis\/storage\.k8s\.io\/v1\/storageclasses: HTTP 403/);
    await waitFor(() => src.synced());
    expect(api.lists(SC_PATH)).toBe(4);
    expect(errors).toHaveLength(3);
    expect(src.storageClasses()).toEqual([{ name: 'ebs', provisioner: 'ebs.csi.aws.com', default: true }]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('PodDisruptionBudget cache', () => {
  it('policy/v1 when served: per-namespace lists of name/namespace/selector, rebuilt only where something changed', async () => {
    const api = await fakeCluster({ 'policy/v1': ['poddisruptionbudgets', 'poddisruptionbudgets/status'], 'policy/v1beta1': ['poddisruptionbudgets'] });
    api.collection(V1, [pdb('tenant-a', 'redis'), pdb('tenant-a', 'cache'), pdb('tenant-b', 'redis')]);
    const src = track(new ClusterPdbSource({ kubeConfig: api.kubeConfig, ...fast }));
    expect(src.pdbs('tenant-a')).toBeUndefined();
    await src.start();
    expect(src.apiVersion()).toBe('policy/v1');
    expect(api.requests).not.toContain(V1BETA1);
    expect(src.pdbs('tenant-a')).toEqual([
      { name: 'cache', namespace: 'tenant-a', selector: { matchLabels: { app: 'cache' } } },
      { name: 'redis', namespace: 'tenant-a', selector: { matchLabels: { app: 'redis' } } },
    ]);
    expect(src.pdbs('elsewhere')).toBe(NO_PDBS);
    expect(src.status()).toEqual({ ok: true, detail: 'poddisruptionbudgets: policy/v1 synced (3)' });

    const a = src.pdbs('tenant-a');
    const b = src.pdbs('tenant-b');
    expect(src.pdbs('tenant-a')).toBe(a); // a lookup, not a filter per request
    await waitFor(() => api.watching(V1) > 0);
    api.push(V1, 'ADDED', pdb('tenant-b', 'sentinel', { matchExpressions: [{ key: 'role', operator: 'In', values: ['sentinel'] }] }));
    await waitFor(() => src.pdbs('tenant-b') !== b);
    expect(src.pdbs('tenant-a')).toBe(a); // untouched namespace: the same array
    expect(src.pdbs('tenant-b')!.map((p) => p.name)).toEqual(['redis', 'sentinel']);
    expect(src.pdbs('tenant-b')![1]!.selector).toEqual({ matchExpressions: [{ key: 'role', operator: 'In', values: ['sentinel'] }] });
    api.push(V1, 'DELETED', pdb('tenant-b', 'redis'));
    api.push(V1, 'DELETED', pdb('tenant-b', 'sentinel'));
    await waitFor(() => src.pdbs('tenant-b') === NO_PDBS);
  });

  it('caches slim objects: no status, labels, annotations or managedFields', () => {
    expect(slimPdb(pdb('ns', 'p') as never)).toEqual({
      apiVersion: 'policy/v1', kind: 'PodDisruptionBudget',
      metadata: { name: 'p', namespace: 'ns' },
      spec: { selector: { matchLabels: { app: 'p' } } },
    });
  });

  it('policy/v1beta1 on an API server before 1.21 (policy/v1 is 404)', async () => {
    const api = await fakeCluster({ 'policy/v1beta1': ['poddisruptionbudgets', 'podsecuritypolicies'] });
    api.collection(V1BETA1, [{ ...pdb('tenant-a', 'redis'), apiVersion: 'policy/v1beta1' }]);
    const src = track(new ClusterPdbSource({ kubeConfig: api.kubeConfig, ...fast }));
    await src.start();
    expect(src.apiVersion()).toBe('policy/v1beta1');
    expect(src.synced()).toBe(true);
    expect(src.pdbs('tenant-a')!.map((p) => p.name)).toEqual(['redis']);
    expect(src.status().detail).toBe('poddisruptionbudgets: policy/v1beta1 synced (1)');
  });

  it('an API server that serves neither: ready at once, PDBs unknown (the rule skips), nothing listed', async () => {
    const api = await fakeCluster({ 'policy/v1beta1': ['podsecuritypolicies'] });
    const src = track(new ClusterPdbSource({ kubeConfig: api.kubeConfig, ...fast }));
    await src.start();
    expect(src.apiVersion()).toBeNull();
    expect(src.synced()).toBe(true);
    expect(src.pdbs('tenant-a')).toBeUndefined();
    expect(src.status()).toEqual({ ok: true, detail: 'poddisruptionbudgets: not served by this API server; the rules that need them skip' });
    expect(api.requests.filter((r) => r.endsWith('/poddisruptionbudgets') || r.endsWith('?watch'))).toEqual([]);
  });

  it('discovery that fails is retried with backoff; start() returns after the first failure, unready meanwhile', async () => {
    let calls = 0;
    const discovery: Record<string, number | string[]> = {};
    Object.defineProperty(discovery, 'policy/v1', { enumerable: true, get: () => (++calls <= 2 ? 503 : ['poddisruptionbudgets']) });
    const api = await fakeCluster(discovery);
    api.collection(V1, [pdb('tenant-a', 'redis')]);
    const errors: unknown[] = [];
    const src = track(new ClusterPdbSource({ kubeConfig: api.kubeConfig, ...fast, onError: (e) => errors.push(e) }));
    await src.start();
    expect(src.synced()).toBe(false);
    expect(src.apiVersion()).toBeUndefined();
    expect(src.status()).toEqual({ ok: false, detail: expect.stringMatching(/^poddisruptionbudgets: not synced yet: .*HTTP 503/) });
    await waitFor(() => src.synced());
    expect(errors).toHaveLength(2);
    expect(src.pdbs('tenant-a')!.map((p) => p.name)).toEqual(['redis']);
  });

  it('stop() during discovery retries ends them', async () => {
    const api = await fakeCluster({ 'policy/v1': 500 });
    const src = new ClusterPdbSource({ kubeConfig: api.kubeConfig, backoff: { initialMs: 20, maxMs: 20 } });
    await src.start();
    await src.stop();
    const after = api.requests.length;
    // A fixed wait on purpose: no request may come during it (four retry periods of 20 ms).
    await new Promise((r) => setTimeout(r, 80));
    expect(api.requests.length).toBe(after);
  });
});

// ---------------------------------------------------------------------------------------------

describe('Tenant cache', () => {
  const TENANTS = '/apis/redline.dev/v1alpha1/tenants';
  const tenant = (name: string, plan: string): Obj => ({ apiVersion: 'redline.dev/v1alpha1', kind: 'Tenant', metadata: { name, uid: 'u' }, spec: { plan, subjects: [] } });

  it('a Tenant CRD installed after start is found by asking discovery again, and used without a restart; ready throughout', async () => {
    const discovery: Record<string, number | string[]> = {};
    const api = await fakeCluster(discovery);
    const src = track(new ClusterTenantSource({ kubeConfig: api.kubeConfig, ...fast, rediscoverMs: 20 }));
    await src.start();
    expect(src.synced()).toBe(true);
    expect(src.planOf('acme')).toBeUndefined();
    // Several rounds of "not served" first: nothing is listed meanwhile.
    await waitFor(() => api.requests.filter((r) => r === '/apis/redline.dev/v1alpha1').length >= 3);
    expect(api.lists(TENANTS)).toBe(0);
    api.collection(TENANTS, [tenant('acme', 'premium')]);
    // Its first lists fail: while it has not listed, the source stays ready (on the label-only path).
    api.fail(TENANTS, 500, 2);
    discovery['redline.dev/v1alpha1'] = ['tenants', 'tenants/status'];
    await waitFor(() => api.lists(TENANTS) >= 1);
    expect(src.synced()).toBe(true);
    expect(src.planOf('acme')).toBeUndefined();
    await waitFor(() => src.planOf('acme') === 'premium');
    await waitFor(() => api.watching(TENANTS) > 0);
    api.push(TENANTS, 'MODIFIED', tenant('acme', 'free'));
    await waitFor(() => src.planOf('acme') === 'free');
    expect(src.synced()).toBe(true);
    expect(src.status()).toEqual({ ok: true, detail: 'tenants: redline.dev/v1alpha1 synced (1)' });
  });

  it('a source of a built-in API does not ask again (a PDB API does not appear at run time)', async () => {
    const api = await fakeCluster({});
    const src = track(new ClusterPdbSource({ kubeConfig: api.kubeConfig, ...fast }));
    await src.start();
    const asked = api.requests.length;
    // A fixed wait on purpose: no discovery may come during it.
    await new Promise((r) => setTimeout(r, 60));
    expect(api.requests.length).toBe(asked);
  });
});

// ---------------------------------------------------------------------------------------------

describe('the --namespaces file', () => {
  const text = `apiVersion: v1
kind: Namespace
metadata: {name: tenant-a, labels: {redline.dev/tenant: a, redline.dev/plan: standard}}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}
provisioner: rancher.io/local-path
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudgetList
items:
  - apiVersion: policy/v1beta1
    kind: PodDisruptionBudget
    metadata: {name: redis, namespace: tenant-a}
    spec: {maxUnavailable: 1, selector: {matchLabels: {app: redis}}}
`;

  it('its StorageClasses and PodDisruptionBudgets are used; a namespace without PDBs has none', () => {
    const parsed = parseNamespaceFile(text, 'ns.yaml');
    expect(parsed.namespaces.map((n) => n.name)).toEqual(['tenant-a']);
    const facts = new StaticClusterFacts(parsed.storageClasses, parsed.pdbs);
    expect(facts.storageClasses()).toEqual([{ name: 'local', provisioner: 'rancher.io/local-path', default: true }]);
    expect(facts.pdbs('tenant-a')).toEqual([{ name: 'redis', namespace: 'tenant-a', selector: { matchLabels: { app: 'redis' } } }]);
    expect(facts.pdbs('tenant-b')).toBe(NO_PDBS);
  });

  it('without them both are unknown (the rules skip)', () => {
    const parsed = parseNamespaceFile('apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n');
    const facts = new StaticClusterFacts(parsed.storageClasses, parsed.pdbs);
    expect(facts.storageClasses()).toBeUndefined();
    expect(facts.pdbs('x')).toBeUndefined();
  });

  it('a PDB without a namespace is a problem that says what to write', () => {
    expect(() => parseNamespaceFile('apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {}\n', 'ns.yaml')).toThrow(expect.objectContaining({ kind: 'input', code: 'namespace-file-invalid' }));
    expect(() => parseNamespaceFile('apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {}\n', 'ns.yaml')).toThrow(
      'ns.yaml: document 1 (p): PodDisruptionBudget without metadata.namespace; write the namespace it protects',
    );
  });

  it('storageClassInfo reads either default annotation, and only "true"', () => {
    expect(storageClassInfo({ metadata: { name: 'a', annotations: { [BETA]: 'true' } }, provisioner: 'x' })?.default).toBe(true);
    expect(storageClassInfo({ metadata: { name: 'a', annotations: { [GA]: 'True' } }, provisioner: 'x' })?.default).toBe(false);
    expect(storageClassInfo({ metadata: {} })).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------

describe('admission passes them to the engine', () => {
  const TENANT = { name: 'tenant-a', labels: { 'redline.dev/tenant': 'a', 'redline.dev/plan': 'standard' } };
  const inputs: ReviewInput[] = [];
  const reviewer = {
    review(input: ReviewInput): ReviewOutcome {
      inputs.push(input);
      return { redis: true, reason: '', results: [], patch: [], mutated: input.object, denied: false };
    },
  };
  const request = (namespace: string): AdmissionRequest => ({
    uid: 'u', kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' }, resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
    name: 'redis', namespace, operation: 'CREATE', userInfo: { username: 'alice', groups: [] },
    object: { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'redis', namespace } }, oldObject: null, dryRun: false,
  } as unknown as AdmissionRequest);
  const context = (cluster?: AdmissionContext['cluster']): AdmissionContext => ({
    reviewer: () => reviewer,
    namespaces: new StaticNamespaceSource([TENANT]),
    labelGuard: new LabelGuard({ users: [], groups: [], serviceAccounts: [] }),
    unknownNamespace: 'allow',
    ...(cluster ? { cluster } : {}),
  });

  it('the classes and the PDBs of the request\'s namespace, as the very arrays the cache holds', () => {
    const parsed = parseNamespaceFile(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: ebs}
provisioner: ebs.csi.aws.com
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: mine, namespace: tenant-a}
spec: {selector: {matchLabels: {app: redis}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: theirs, namespace: tenant-b}
spec: {selector: {matchLabels: {app: redis}}}
`);
    const facts = new StaticClusterFacts(parsed.storageClasses, parsed.pdbs);
    inputs.length = 0;
    admit('validate', request('tenant-a'), context(facts));
    expect(inputs).toHaveLength(1);
    expect(inputs[0]!.storageClasses).toBe(facts.storageClasses());
    expect(inputs[0]!.pdbs).toBe(facts.pdbs('tenant-a'));
    expect(inputs[0]!.pdbs!.map((p) => p.name)).toEqual(['mine']);
  });

  it('none without a source: the rules skip', () => {
    inputs.length = 0;
    admit('validate', request('tenant-a'), context());
    expect(inputs[0]!.storageClasses).toBeUndefined();
    expect(inputs[0]!.pdbs).toBeUndefined();
  });
});
