// Namespace sources of the webhook: the file source (multi-document YAML), the cluster source's
// restart-with-backoff and periodic relist (driven by fake informers that fail like client-node's:
// an 'error' callback, then silence), and the one seam for cluster access.

import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1Namespace } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveClusterAccess, loadKubeConfig, KubeConfigError } from '../../kube/client.js';
import {
  backoffDelay,
  ClusterNamespaceSource,
  FileNamespaceSource,
  NamespaceFileError,
  parseNamespaceManifests,
  type NamespaceInformer,
} from '../../kube/namespaces.js';
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
    expect(err).toBeInstanceOf(NamespaceFileError);
    const problems = (err as NamespaceFileError).problems;
    expect(problems[0]).toMatch(/^document 1: Namespace without metadata.name/);
    expect(problems[1]).toMatch(/^document 2 \(x\): metadata.labels must be a map/);
    expect(problems[2]).toMatch(/^document 3 line \d+ column \d+/);
  });

  it('fails start() on a missing file', async () => {
    await expect(new FileNamespaceSource('/nonexistent/ns.yaml').start()).rejects.toThrow(/ENOENT/);
  });
});

// ---------------------------------------------------------------------------------------------

class FakeInformer implements NamespaceInformer {
  private errorCbs: ((e?: unknown) => void)[] = [];
  stopped = false;
  constructor(
    private readonly data: Map<string, V1Namespace>,
    private readonly failList: boolean,
  ) {}
  on(_verb: 'error', cb: (e?: unknown) => void): void {
    this.errorCbs.push(cb);
  }
  async start(): Promise<void> {
    await new Promise((r) => setTimeout(r, 1));
    // client-node: a failed list calls the error callbacks and resolves start().
    if (this.failList) for (const cb of this.errorCbs) cb(new Error('list failed: connection refused'));
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  get(name: string): V1Namespace | undefined {
    return this.failList ? undefined : this.data.get(name);
  }
  /** A broken watch: client-node calls the error callbacks and stops for good. */
  breakWatch(): void {
    for (const cb of this.errorCbs) cb(new Error('watch ended: ECONNRESET'));
  }
}

/** This file's pace: fake informers settle within milliseconds. */
const waitFor = (cond: () => boolean, ms = 2000): Promise<void> => waitForCondition(cond, ms, 5);

function ns(name: string, labels: Record<string, string> = {}): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}


describe('cluster source', () => {
  it('retries a failing list with capped, jittered exponential backoff until it syncs', async () => {
    const informers: FakeInformer[] = [];
    const data = new Map([['tenant-a', ns('tenant-a', { 'redline.dev/tenant': 'a' })]]);
    let failures = 3;
    const errors: unknown[] = [];
    const src = new ClusterNamespaceSource({
      makeInformer: () => {
        const i = new FakeInformer(data, failures-- > 0);
        informers.push(i);
        return i;
      },
      backoff: { initialMs: 10, maxMs: 40, factor: 2 },
      random: () => 1,
      resyncMs: 0,
      onError: (e) => errors.push(e),
    });
    const started = Date.now();
    await src.start();
    expect(src.synced()).toBe(false);
    await waitFor(() => src.synced());
    // 10 + 20 + 40 ms of backoff (random=1 → the full base each time).
    expect(Date.now() - started).toBeGreaterThanOrEqual(65);
    expect(informers).toHaveLength(4);
    expect(errors).toHaveLength(3);
    expect(informers.slice(0, 3).every((i) => i.stopped)).toBe(true);
    expect(src.get('tenant-a')).toEqual({ name: 'tenant-a', labels: { 'redline.dev/tenant': 'a' } });
    await src.stop();
  });

  it('keeps serving the last cache while a broken watch restarts, then swaps to the new list', async () => {
    const informers: FakeInformer[] = [];
    let data = new Map([['tenant-a', ns('tenant-a', { 'redline.dev/plan': 'standard' })]]);
    const src = new ClusterNamespaceSource({
      makeInformer: () => {
        const i = new FakeInformer(data, false);
        informers.push(i);
        return i;
      },
      backoff: { initialMs: 30, maxMs: 30, factor: 2 },
      random: () => 1,
      resyncMs: 0,
    });
    await src.start();
    expect(src.synced()).toBe(true);
    data = new Map([['tenant-b', ns('tenant-b')]]);
    informers[0]!.breakWatch();
    expect(informers[0]!.stopped).toBe(true);
    // Still answering from the old cache, still synced (readiness does not flap on a watch error).
    expect(src.get('tenant-a')?.labels).toEqual({ 'redline.dev/plan': 'standard' });
    expect(src.synced()).toBe(true);
    await waitFor(() => src.stats.swaps === 2);
    expect(src.get('tenant-a')).toBeUndefined();
    expect(src.get('tenant-b')).toEqual({ name: 'tenant-b', labels: {} });
    // An error from the replaced informer is ignored.
    const failuresBefore = src.stats.failures;
    informers[0]!.breakWatch();
    expect(src.stats.failures).toBe(failuresBefore);
    await src.stop();
    expect(informers.every((i) => i.stopped)).toBe(true);
  });

  it('relists periodically and drops namespaces deleted meanwhile', async () => {
    let data = new Map([['old', ns('old')]]);
    const src = new ClusterNamespaceSource({ makeInformer: () => new FakeInformer(data, false), resyncMs: 40 });
    await src.start();
    expect(src.get('old')).toBeDefined();
    data = new Map([['new', ns('new')]]);
    await waitFor(() => src.get('new') !== undefined);
    expect(src.get('old')).toBeUndefined();
    expect(src.stats.swaps).toBeGreaterThanOrEqual(2);
    await src.stop();
  });

  it('a list+watch that never starts counts as failed: start() returns, the source retries', async () => {
    // e.g. list allowed but watch forbidden: the first start() of the informer never settles.
    const hung: FakeInformer[] = [];
    const data = new Map([['tenant-a', ns('tenant-a', { 'redline.dev/tenant': 'a' })]]);
    let made = 0;
    const src = new ClusterNamespaceSource({
      makeInformer: () => {
        made++;
        if (made <= 2) {
          const informer = new FakeInformer(data, false);
          informer.start = () => new Promise<void>(() => undefined);
          hung.push(informer);
          return informer;
        }
        return new FakeInformer(data, false);
      },
      startTimeoutMs: 30,
      backoff: { initialMs: 5, maxMs: 10, factor: 2 },
      random: () => 0.5,
    });
    const started = Date.now();
    await src.start();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(src.synced()).toBe(false);
    await waitFor(() => src.synced());
    expect(src.get('tenant-a')?.labels['redline.dev/tenant']).toBe('a');
    expect(hung.every((i) => i.stopped)).toBe(true);
    await src.stop();
  });

  it('stop() cancels a scheduled restart', async () => {
    let made = 0;
    const src = new ClusterNamespaceSource({
      makeInformer: () => {
        made++;
        return new FakeInformer(new Map(), true);
      },
      backoff: { initialMs: 20, maxMs: 20, factor: 1 },
    });
    await src.start();
    await src.stop();
    await new Promise((r) => setTimeout(r, 60));
    expect(made).toBe(1);
  });

  it('backoff grows exponentially, is capped, and jitters within [base/2, base]', () => {
    const o = { initialMs: 100, maxMs: 1000, factor: 2 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, o, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(2, o, () => 0)).toBe(200);
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(3, o);
      expect(d).toBeGreaterThanOrEqual(400);
      expect(d).toBeLessThanOrEqual(800);
    }
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
    expect(() => loadKubeConfig({ kind: 'file', files: [bad], from: 'env' })).toThrow(KubeConfigError);
    expect(() => loadKubeConfig({ kind: 'file', files: [path.join(dir, 'missing')], from: 'env' })).toThrow(/cannot load .*missing/);
  });
});
