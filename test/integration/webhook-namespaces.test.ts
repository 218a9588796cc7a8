// Namespace sources of the webhook: the file source (multi-document YAML), the cluster source's
// restart-with-backoff and periodic relist (against a scripted local API server), and the one seam
// for cluster access.

import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig, type V1Namespace } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { RedlineError } from '../../core/errors.js';
import { resolveClusterAccess, loadKubeConfig } from '../../kube/kubeconfig.js';
import { ClusterNamespaceSource, FileNamespaceSource, parseNamespaceManifests } from '../../kube/namespaces.js';
import { scriptedApi, tokenKubeConfig, type ScriptedApi } from '../helpers/scripted-api.js';
import { waitFor as waitForCondition } from '../helpers/wait.js';

const tmp: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'redline-ns-'));
  tmp.push(d);
  return d;
}
afterEach(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('file source', () => {
  it('reads Namespaces from multi-document YAML (and kind: List), ignoring other kinds', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'ns.yaml');
    writeFileSync(
      file,
      `apiVersion: v1
kind: Namespace
metadata:
  name: tenant-acme
  labels: {redline.dev/tenant: acme, redline.dev/plan: standard}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored}
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: default}
---
`,
    );
    const src = new FileNamespaceSource(file);
    expect(src.synced()).toBe(false);
    await src.start();
    expect(src.synced()).toBe(true);
    expect(src.get('tenant-acme')).toEqual({ name: 'tenant-acme', labels: { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'standard' } });
    expect(src.get('default')).toEqual({ name: 'default', labels: {} });
    expect(src.get('ignored')).toBeUndefined();
    expect(src.size()).toBe(2);
  });

  it('reports every problem with its document and line', () => {
    let err: unknown;
    try {
      parseNamespaceManifests('kind: Namespace\nmetadata: {labels: {a: b}}\n---\nkind: Namespace\nmetadata:\n  name: x\n  labels: [1]\n---\n"a": [\n', 'ns.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RedlineError);
    expect((err as RedlineError).code).toBe('namespace-file-invalid');
    const problems = (err as RedlineError).problems;
    expect(problems[0]).toMatch(/^document 1: Namespace without metadata.name/);
    expect(problems[1]).toMatch(/^document 2 \(x\): metadata.labels must be a map/);
    expect(problems[2]).toMatch(/^document 3 line \d+ column \d+/);
  });

  it('fails start() on a missing file', async () => {
    await expect(new FileNamespaceSource('/nonexistent/ns.yaml').start()).rejects.toThrow(/ENOENT/);
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * A scripted API server for /api/v1/namespaces: `list(n)` answers the n-th list (a status code,
 * the namespaces, or 'hang'); `watch(n)` the watch that follows it ('silent' keeps the stream open
 * without events, 'cut' closes the connection after 20 ms, a number answers that status).
 */
async function namespacesApi(script: {
  list: (n: number) => number | 'hang' | V1Namespace[];
  watch?: (n: number) => 'silent' | 'cut' | number;
}): Promise<{ kubeConfig: KubeConfig; lists: () => number; requests: () => number }> {
  let lists = 0;
  let requests = 0;
  const api = await scriptedApi((req, res) => {
    requests++;
    const u = new URL(req.url!, 'http://x');
    if (u.pathname !== '/api/v1/namespaces') {
      res.writeHead(404).end();
      return;
    }
    if (u.searchParams.get('watch') !== '1') {
      const answer = script.list(++lists);
      if (answer === 'hang') return;
      if (typeof answer === 'number') {
        res.writeHead(answer, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: answer, message: 'scripted failure' }));
        return;
      }
      const items = answer.map((n) => ({ metadata: { ...n.metadata, resourceVersion: String(lists) } }));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ metadata: { resourceVersion: String(lists) }, items }));
      return;
    }
    const w = script.watch?.(lists) ?? 'silent';
    if (typeof w === 'number') {
      res.writeHead(w, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: w, message: 'scripted failure' }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(lists) } } })}\n`);
    if (w === 'cut') setTimeout(() => res.destroy(), 20);
    // Like the API server: a watch ends after its timeoutSeconds.
    else setTimeout(() => res.end(), 1000 * Number(u.searchParams.get('timeoutSeconds') ?? 300)).unref();
  });
  apis.push(api);
  return { kubeConfig: tokenKubeConfig(api.url), lists: () => lists, requests: () => requests };
}

const apis: ScriptedApi[] = [];
const sources: ClusterNamespaceSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
  await Promise.all(apis.splice(0).map((a) => a.close()));
});

function source(opts: ConstructorParameters<typeof ClusterNamespaceSource>[0]): ClusterNamespaceSource {
  const s = new ClusterNamespaceSource(opts);
  sources.push(s);
  return s;
}

/** This file's pace: a local scripted API server answers within milliseconds. */
const waitFor = (cond: () => boolean, ms = 3000): Promise<void> => waitForCondition(cond, ms, 5);

function ns(name: string, labels: Record<string, string> = {}): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

describe('cluster source (a restartable list+watch against a scripted API server)', () => {
  it('retries a failing list with capped exponential backoff until it syncs; start() returns after the first failure', async () => {
    const api = await namespacesApi({ list: (n) => (n <= 3 ? 500 : [ns('tenant-a', { 'redline.dev/tenant': 'a' })]) });
    const errors: unknown[] = [];
    const src = source({ kubeConfig: api.kubeConfig, backoff: { initialMs: 10, maxMs: 40 }, random: () => 1, resyncMs: 0, onError: (e) => errors.push(e) });
    const started = Date.now();
    await src.start();
    expect(src.synced()).toBe(false);
    expect(src.get('tenant-a')).toBeUndefined();
    await waitFor(() => src.synced());
    // 10 + 20 + 40 ms of backoff (random=1 → the full base each time).
    expect(Date.now() - started).toBeGreaterThanOrEqual(65);
    expect(api.lists()).toBe(4);
    expect(errors).toHaveLength(3);
    expect(src.get('tenant-a')).toEqual({ name: 'tenant-a', labels: { 'redline.dev/tenant': 'a' } });
    // Built when the namespace changed, not per lookup: the hot path gets the same object.
    expect(src.get('tenant-a')).toBe(src.get('tenant-a'));
  });

  it('keeps serving the last cache while a broken watch restarts, then swaps to the new list', async () => {
    // List 1: tenant-a; its watch is cut. Lists 2-4 fail (the API server is away), list 5 has tenant-b.
    const api = await namespacesApi({
      list: (n) => (n === 1 ? [ns('tenant-a', { 'redline.dev/plan': 'standard' })] : n <= 4 ? 503 : [ns('tenant-b')]),
      watch: (n) => (n === 1 ? 'cut' : 'silent'),
    });
    const errors: unknown[] = [];
    const src = source({ kubeConfig: api.kubeConfig, backoff: { initialMs: 30, maxMs: 30 }, random: () => 1, resyncMs: 0, onError: (e) => errors.push(e) });
    await src.start();
    expect(src.synced()).toBe(true);
    await waitFor(() => api.lists() >= 3);
    // Still answering from the old cache, still synced (readiness does not flap on a watch error).
    expect(src.get('tenant-a')?.labels).toEqual({ 'redline.dev/plan': 'standard' });
    expect(src.synced()).toBe(true);
    await waitFor(() => src.get('tenant-b') !== undefined);
    expect(src.get('tenant-a')).toBeUndefined();
    expect(src.get('tenant-b')).toEqual({ name: 'tenant-b', labels: {} });
    expect(errors.length).toBeGreaterThanOrEqual(4); // the cut watch and three failed lists
  });

  it('relists every resyncMs and drops namespaces deleted meanwhile', async () => {
    let data = [ns('old')];
    const api = await namespacesApi({ list: () => data });
    const src = source({ kubeConfig: api.kubeConfig, resyncMs: 40 });
    await src.start();
    expect(src.get('old')).toBeDefined();
    data = [ns('new')];
    await waitFor(() => src.get('new') !== undefined);
    expect(src.get('old')).toBeUndefined();
    expect(api.lists()).toBeGreaterThanOrEqual(2);
  });

  it('a watch the API server refuses (list allowed, watch forbidden) counts as failed and is retried', async () => {
    const api = await namespacesApi({ list: () => [ns('tenant-a', { 'redline.dev/tenant': 'a' })], watch: () => 403 });
    const errors: unknown[] = [];
    const src = source({ kubeConfig: api.kubeConfig, backoff: { initialMs: 5, maxMs: 10 }, resyncMs: 0, onError: (e) => errors.push(e) });
    await src.start();
    await waitFor(() => errors.length >= 3);
    expect(src.synced()).toBe(true);
    expect(src.get('tenant-a')?.labels['redline.dev/tenant']).toBe('a');
  });

  it('a list that never answers: start() returns after startTimeoutMs, not synced; stop() ends it', async () => {
    const api = await namespacesApi({ list: () => 'hang' });
    const src = source({ kubeConfig: api.kubeConfig, startTimeoutMs: 50 });
    const started = Date.now();
    await src.start();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(src.synced()).toBe(false);
    const t0 = Date.now();
    await src.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('stop() ends the retries', async () => {
    const api = await namespacesApi({ list: () => 500 });
    const src = source({ kubeConfig: api.kubeConfig, backoff: { initialMs: 20, maxMs: 20 } });
    await src.start();
    await src.stop();
    const after = api.requests();
    // A fixed wait on purpose: no request may come during it (four retry periods of 20 ms).
    await new Promise((r) => setTimeout(r, 80));
    expect(api.requests()).toBe(after);
  });

  it('a kubeconfig without a current cluster fails start() with the reason', async () => {
    await expect(source({ kubeConfig: new KubeConfig() }).start()).rejects.toThrow(/no current cluster/);
  });
});

describe('cluster access seam', () => {
  it('prefers the flag, then KUBECONFIG, then in-cluster, then ~/.kube/config, else none', () => {
    const home = tempDir();
    const token = path.join(home, 'token');
    expect(resolveClusterAccess({ kubeconfig: '/x/kc', env: { KUBECONFIG: '/y' }, home })).toEqual({ kind: 'file', files: ['/x/kc'], from: 'flag' });
    expect(resolveClusterAccess({ env: { KUBECONFIG: `/a${path.delimiter}/b` }, home })).toEqual({ kind: 'file', files: ['/a', '/b'], from: 'env' });
    expect(resolveClusterAccess({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, home, tokenPath: token })).toBeNull();
    writeFileSync(token, 't');
    expect(resolveClusterAccess({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, home, tokenPath: token })).toEqual({ kind: 'in-cluster' });
    expect(resolveClusterAccess({ env: {}, home, tokenPath: token })).toBeNull();
    mkdirSync(path.join(home, '.kube'));
    writeFileSync(path.join(home, '.kube', 'config'), '');
    expect(resolveClusterAccess({ env: {}, home })).toEqual({ kind: 'file', files: [path.join(home, '.kube', 'config')], from: 'home' });
  });

  it('loads a kubeconfig file and names the file when it is broken', () => {
    const dir = tempDir();
    const good = path.join(dir, 'kc');
    writeFileSync(
      good,
      `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: abc}}]
contexts: [{name: ctx, context: {cluster: c, user: u}}]
current-context: ctx
`,
    );
    expect(loadKubeConfig({ kind: 'file', files: [good], from: 'flag' }).getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    const bad = path.join(dir, 'bad');
    writeFileSync(bad, 'apiVersion: v1\nkind: Config\ncurrent-context: nope\n');
    expect(() => loadKubeConfig({ kind: 'file', files: [bad], from: 'env' })).toThrow(expect.objectContaining({ kind: 'input', code: 'kubeconfig-invalid' }));
    expect(() => loadKubeConfig({ kind: 'file', files: [path.join(dir, 'missing')], from: 'env' })).toThrow(/cannot load .*missing/);
  });
});
