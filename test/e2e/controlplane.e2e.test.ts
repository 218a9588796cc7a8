import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiException, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from './controlplane/index.js';
import { installCrds, reducedCrds } from './controlplane/crds.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function kubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

describe('e2e control plane (etcd + kube-apiserver v1.20.2)', () => {
  let cp: ControlPlane | undefined;

  beforeAll(async () => {
    cp = await startControlPlane({
      users: [{ name: 'tenant-a-user', token: randomBytes(16).toString('hex'), groups: ['redline:tenant:a'] }],
    });
    await installCrds(cp.adminKubeconfig);
  }, 120_000);

  afterAll(async () => {
    await cp?.stop();
  }, 30_000);

  it('serves version v1.20.2 over TLS with the reported CA', async () => {
    const kc = kubeConfig(cp!.adminKubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const ns = await core.readNamespace({ name: 'default' });
    expect(ns.metadata?.name).toBe('default');
    expect(cp!.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(cp!.caPem).toContain('BEGIN CERTIFICATE');
  });

  it('installed the reduced CRDs as Established', async () => {
    const client = KubernetesObjectApi.makeApiClient(kubeConfig(cp!.adminKubeconfig));
    for (const crd of reducedCrds()) {
      const cur = (await client.read({ apiVersion: crd.apiVersion, kind: crd.kind, metadata: { name: crd.metadata.name } })) as KubernetesObject & {
        status?: { conditions?: Array<{ type: string; status: string }> };
      };
      expect(cur.status?.conditions?.find((c) => c.type === 'Established')?.status, crd.metadata.name).toBe('True');
    }
  });

  it('server-side applies a KubeDB Redis and reads it back', async () => {
    const kc = kubeConfig(cp!.adminKubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'team-a', labels: { 'redline.dev/tenant': 'a' } } } });

    const client = KubernetesObjectApi.makeApiClient(kc);
    const redis = {
      apiVersion: 'kubedb.com/v1',
      kind: 'Redis',
      metadata: { name: 'cache', namespace: 'team-a', labels: { app: 'cache' } },
      spec: {
        version: '7.2.4',
        mode: 'Cluster',
        cluster: { shards: 3, replicas: 1 },
        storageType: 'Durable',
        storage: { storageClassName: 'standard', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        podTemplate: { spec: { containers: [{ name: 'redis', resources: { requests: { cpu: '250m', memory: '512Mi' } } }] } },
        deletionPolicy: 'WipeOut',
      },
    };
    const applied: KubernetesObject = await client.patch<KubernetesObject>(redis, undefined, undefined, 'redline-e2e', true, PatchStrategy.ServerSideApply);
    expect(applied.metadata?.uid).toBeTruthy();
    expect(applied.metadata?.managedFields?.some((m) => m.manager === 'redline-e2e' && m.operation === 'Apply')).toBe(true);

    const back = (await client.read({ apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'cache', namespace: 'team-a' } })) as typeof redis;
    expect(back.spec).toEqual(redis.spec);

    // second apply of a change by the same manager: an update, not a conflict
    const changed = { ...redis, spec: { ...redis.spec, cluster: { shards: 4, replicas: 1 } } };
    const updated = (await client.patch(changed, undefined, undefined, 'redline-e2e', true, PatchStrategy.ServerSideApply)) as typeof redis;
    expect(updated.spec.cluster.shards).toBe(4);
  });

  it('authenticates tenant-a-user by token and RBAC denies listing namespaces (403)', async () => {
    const core = kubeConfig(cp!.kubeconfigFor('tenant-a-user')).makeApiClient(CoreV1Api);
    const err = await core.listNamespace().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiException);
    const ex = err as ApiException<string>;
    expect(ex.code).toBe(403);
    expect(String(ex.body)).toContain('User \\"tenant-a-user\\" cannot list resource \\"namespaces\\"');
    expect(() => cp!.kubeconfigFor('nobody')).toThrow(/unknown control plane user/);
  });

  it('stop() kills etcd and kube-apiserver and removes the temp dir', async () => {
    const { etcd, apiserver } = cp!.pids;
    expect(alive(etcd)).toBe(true);
    expect(alive(apiserver)).toBe(true);
    await cp!.stop();
    await cp!.stop(); // idempotent
    expect(alive(etcd)).toBe(false);
    expect(alive(apiserver)).toBe(false);
    if (process.env.REDLINE_KEEP_E2E !== '1') expect(fs.existsSync(cp!.dir)).toBe(false);
  }, 30_000);
});
