// The restartable informer and the API client against a scripted local HTTP server: relist diffs,
// restart with backoff after a dropped watch, 410 Gone → relist, token bucket on every call,
// write gate, SSA request shape.
import type { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, KubeApi, type KubeObject } from '../../kube/api-client.js';
import { Informer } from '../../kube/informer.js';
import { TokenBucket } from '../../kube/token-bucket.js';
import { scriptedApi, tokenKubeConfig, type ScriptedApi, type ScriptedHandler } from '../helpers/scripted-api.js';
import { until } from '../helpers/wait.js';

let api_: ScriptedApi | undefined;
afterEach(async () => {
  await api_?.close();
  api_ = undefined;
});

async function serve(handler: ScriptedHandler): Promise<string> {
  api_ = await scriptedApi(handler);
  return api_.url;
}

const kubeConfig = (url: string): KubeConfig => tokenKubeConfig(url);

const cm = (name: string, rv: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion: rv } });

describe('Informer', () => {
  it('a field selector goes on list and watch; transform runs before anything is cached (a Secret\'s data never is)', async () => {
    const queries: string[] = [];
    const secret = (name: string, rv: string) => ({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace: 'ns', resourceVersion: rv }, data: { password: 'c2VjcmV0' } });
    const url = await serve((req, res) => {
      const u = new URL(req.url!, 'http://x');
      queries.push(`${u.searchParams.get('watch') === '1' ? 'watch' : 'list'} ${u.searchParams.get('fieldSelector')}`);
      if (u.searchParams.get('watch') !== '1') {
        res.end(JSON.stringify({ metadata: { resourceVersion: '1' }, items: [secret('a', '1')] }));
        return;
      }
      res.writeHead(200);
      res.write(`${JSON.stringify({ type: 'ADDED', object: secret('b', '2') })}\n`);
    });
    const api = await KubeApi.create({ kubeConfig: kubeConfig(url) });
    const added: KubeObject[] = [];
    const inf = new Informer({
      api,
      path: '/api/v1/secrets',
      name: 'secrets',
      fieldSelector: 'type!=kubernetes.io/service-account-token',
      transform: ({ data: _data, ...rest }) => rest as KubeObject,
    });
    inf.on({ add: (o) => added.push(o) });
    inf.start();
    await until('both secrets', () => inf.size === 2);
    await inf.stop();
    api.close();
    expect(queries.slice(0, 2)).toEqual(['list type!=kubernetes.io/service-account-token', 'watch type!=kubernetes.io/service-account-token']);
    expect([...inf.list(), ...added].every((o) => !('data' in o))).toBe(true);
    expect(added.map((o) => o.metadata.name)).toEqual(['a', 'b']);
  });

  it('lists, watches, restarts after a dropped watch, and relists the differences (including a missed delete)', async () => {
    let lists = 0;
    const seen: string[] = [];
    const url = await serve((req, res) => {
      const u = new URL(req.url!, 'http://x');
      expect(req.headers.authorization).toBe('Bearer secret-token');
      expect(u.searchParams.get('labelSelector')).toBe('app=x');
      if (u.searchParams.get('watch') !== '1') {
        lists++;
        // 1st list: a, b. 2nd list (after the dropped watch): a changed, b gone (missed), c new.
        const items = lists === 1 ? [cm('a', '1'), cm('b', '2')] : [cm('a', '5'), cm('c', '6')];
        items.forEach((i) => delete (i as Partial<KubeObject>).kind); // lists carry no kind
        res.end(JSON.stringify({ metadata: { resourceVersion: lists === 1 ? '2' : '6' }, items }));
        return;
      }
      if (lists === 1) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write(`${JSON.stringify({ type: 'ADDED', object: cm('d', '3') })}\n`);
        setTimeout(() => res.destroy(), 30); // connection cut mid-stream
        return;
      }
      res.writeHead(200);
      res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '7' } } })}\n`);
    });
    const api = await KubeApi.create({ kubeConfig: kubeConfig(url) });
    const restarts: unknown[] = [];
    const inf = new Informer({ api, path: '/api/v1/configmaps', name: 'configmaps', labelSelector: 'app=x', kind: 'ConfigMap', apiVersion: 'v1', backoff: { initialMs: 20, maxMs: 50 }, onRestart: (e) => restarts.push(e) });
    inf.on({
      add: (o) => seen.push(`add ${o.metadata.name}`),
      update: (_o, n) => seen.push(`update ${n.metadata.name}`),
      delete: (o) => seen.push(`delete ${o.metadata.name}`),
    });
    inf.start();
    await until('second list', () => lists >= 2 && seen.includes('add c'));
    expect(inf.synced()).toBe(true);
    expect(restarts.length).toBeGreaterThanOrEqual(1);
    expect(seen).toEqual(['add a', 'add b', 'add d', 'update a', 'add c', 'delete b', 'delete d']);
    expect(inf.list().map((o) => o.metadata.name).sort()).toEqual(['a', 'c']);
    expect(inf.get('a', 'ns')?.kind).toBe('ConfigMap');
    expect(inf.inNamespace('ns')).toHaveLength(2);
    // write-through: newer wins, older is ignored
    inf.upsertIfNewer(cm('a', '9'));
    inf.upsertIfNewer(cm('a', '8'));
    expect(inf.get('a', 'ns')?.metadata.resourceVersion).toBe('9');
    await inf.stop();
    api.close();
  });

  it('410 Gone on the watch → relist (no backoff needed)', async () => {
    let lists = 0;
    let watches = 0;
    const url = await serve((req, res) => {
      if (!req.url!.includes('watch=1')) {
        lists++;
        res.end(JSON.stringify({ metadata: { resourceVersion: String(lists) }, items: [] }));
        return;
      }
      watches++;
      res.writeHead(200);
      if (watches === 1) res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version' } })}\n`);
      else res.write('');
    });
    const api = await KubeApi.create({ kubeConfig: kubeConfig(url) });
    const inf = new Informer({ api, path: '/api/v1/configmaps', name: 'cm', backoff: { initialMs: 10_000, maxMs: 10_000 } });
    inf.start();
    await until('relist after 410', () => lists >= 2, 3_000);
    expect(inf.stats.restarts).toBe(0);
    await inf.stop();
    api.close();
  });
});

describe('KubeApi', () => {
  it('server-side apply request shape; errors carry status and causes; the write gate refuses writes; every call takes a token', async () => {
    const requests: { method: string; url: string; type: string | undefined; body: string }[] = [];
    const url = await serve((req, res, body) => {
      requests.push({ method: req.method!, url: req.url!, type: req.headers['content-type'], body });
      if (req.url!.includes('conflict')) {
        res.writeHead(409, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', reason: 'Conflict', message: 'Apply failed with 1 conflict', details: { causes: [{ reason: 'FieldManagerConflict', field: '.spec.hard.pods', message: 'conflict with "helm"' }] } }));
        return;
      }
      res.end(body || '{}');
    });
    const limiter = new TokenBucket({ qps: 1000, burst: 1000 });
    let allowed = true;
    const calls: string[] = [];
    const api = await KubeApi.create({ kubeConfig: kubeConfig(url), limiter, writeGate: () => (allowed ? null : 'not the leader'), observe: (verb, code) => calls.push(`${verb} ${code}`) });
    const obj: KubeObject = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'redline-quota', namespace: 'team-a' }, spec: { hard: { pods: '2' } } };
    await api.apply(obj, 'resourcequotas', { force: true });
    await api.apply({ ...obj, apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'team-a' } }, 'networkpolicies', { force: false });
    expect(requests[0]).toEqual({ method: 'PATCH', url: '/api/v1/namespaces/team-a/resourcequotas/redline-quota?fieldManager=redline&force=true', type: 'application/apply-patch+yaml', body: JSON.stringify(obj) });
    expect(requests[1]!.url).toBe('/apis/networking.k8s.io/v1/namespaces/team-a/networkpolicies/p?fieldManager=redline');
    const err = await api.apply({ ...obj, metadata: { name: 'conflict', namespace: 'x' } }, 'resourcequotas', { force: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(409);
    expect((err as ApiError).fieldConflict).toBe(true);
    expect((err as ApiError).retryable).toBe(false);
    expect(new ApiError(409, 'update', '/', 'modified', 'Conflict').retryable).toBe(true);
    expect(new ApiError(503, 'get', '/', 'x').retryable).toBe(true);
    expect(new ApiError(0, 'get', '/', 'ECONNREFUSED').retryable).toBe(true);
    expect(new ApiError(403, 'get', '/', 'forbidden').retryable).toBe(false);
    allowed = false;
    const n = requests.length;
    await expect(api.apply(obj, 'resourcequotas', { force: true })).rejects.toThrow(expect.objectContaining({ kind: 'unavailable', code: 'write-gate-closed' }));
    await expect(api.delete('/api/v1/namespaces/x/resourcequotas/y')).rejects.toThrow(expect.objectContaining({ kind: 'unavailable', code: 'write-gate-closed' }));
    expect(requests.length).toBe(n); // nothing left the process
    await api.get('/api/v1/namespaces/x'); // reads still go
    expect(limiter.stats.taken).toBe(requests.length + 2); // the refused writes took tokens too, before the gate check
    expect(calls).toEqual(['patch 200', 'patch 200', 'patch 409', 'get 200']);
    api.close();
  });
});
