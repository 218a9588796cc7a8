// What each supported kind uses of a tenant's entitlement, from the shipped examples (objects in the
// operators' real CRD shapes, validated against those CRDs by manifests.test.ts) and the e2e
// operators' objects: counted once at the top-level object, never again at what it owns.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { JsonObject } from '../../policies/engine/types.js';
import { countsItself, objectKey, tenantUsage, type TalliedObject } from '../../policies/tenancy/tally.js';
import { formatAmount, growth, objectUsage, planDefaults, type Amounts } from '../../policies/tenancy/usage.js';
import { failover, rec, redb, rerc } from '../e2e/helpers/operators-objects.js';

const EXAMPLES = path.join(import.meta.dirname, '..', '..', 'manifests', 'examples', 'good');

function examples(file: string): JsonObject[] {
  return parseAllDocuments(readFileSync(path.join(EXAMPLES, file), 'utf8')).map((d) => d.toJS() as JsonObject).filter((o) => o && o['kind']);
}

function example(file: string, kind: string): JsonObject {
  const o = examples(file).find((x) => x['kind'] === kind);
  if (!o) throw new Error(`${file} has no ${kind}`);
  return o;
}

/** Amounts as quantities for readable expectations. */
function shown(a: Amounts): Record<string, string> {
  return Object.fromEntries(Object.entries(a).map(([d, v]) => [d, formatAmount(v)]));
}

const usageOf = (o: JsonObject): Record<string, string> => shown(objectUsage(o).amounts);

describe('usage per kind, at the top-level object', () => {
  it('KubeDB Redis in Cluster mode: shards × replicas pods at the Redis container limit, storage per pod', () => {
    // 3 shards × 2 pods; limits 4Gi and 2 CPUs; 50Gi per pod.
    expect(usageOf(example('kubedb-cluster.yaml', 'Redis'))).toEqual({
      memory: '24Gi', cpu: '12', storage: '300Gi', pods: '6', instances: '1', namespaces: '0',
    });
  });

  it('KubeDB Sentinel mode: the Redis and its RedisSentinel are two instances; Sentinels have no data volume', () => {
    expect(usageOf(example('kubedb-sentinel.yaml', 'Redis'))).toEqual({
      memory: '6Gi', cpu: '3', storage: '30Gi', pods: '3', instances: '1', namespaces: '0',
    });
    const sentinel = objectUsage(example('kubedb-sentinel.yaml', 'RedisSentinel')).amounts;
    expect(shown(sentinel)).toMatchObject({ memory: '768Mi', pods: '3', instances: '1', storage: '0' });
  });

  it('OT-Container-Kit RedisCluster: leaders and followers, each clusterSize pods', () => {
    // 3 leaders + 3 followers at 8Gi and 2 CPUs; a 100Gi data claim each.
    expect(usageOf(example('ot-cluster.yaml', 'RedisCluster'))).toMatchObject({ memory: '48Gi', cpu: '12', pods: '6', instances: '1' });
    expect(formatAmount(objectUsage(example('ot-cluster.yaml', 'RedisCluster')).amounts.storage)).toBe('600Gi');
  });

  it('OT-Container-Kit RedisReplication: clusterSize pods', () => {
    expect(usageOf(example('ot-replication.yaml', 'RedisReplication'))).toEqual({
      memory: '3Gi', cpu: '3', storage: '15Gi', pods: '3', instances: '1', namespaces: '0',
    });
  });

  it('Spotahome RedisFailover: Redis pods with their claim, Sentinels without', () => {
    const u = objectUsage(example('spotahome-failover.yaml', 'RedisFailover')).amounts;
    expect(shown(u)).toMatchObject({ storage: '30Gi', pods: '6', instances: '1' });
    // 3 Redis at 2Gi; the example's Sentinels set no limits, so they count what the namespace
    // LimitRange gives them: the plan's Sentinel default.
    expect(shown(u)).toMatchObject({ memory: '6Gi', cpu: '3' });
    const defaults = planDefaults({ defaults: { memory: '1Gi', cpu: '500m', sentinel: { memory: '128Mi', cpu: '100m' } } });
    expect(shown(objectUsage(example('spotahome-failover.yaml', 'RedisFailover'), defaults).amounts)).toMatchObject({ memory: '6528Mi', cpu: '3300m' });
  });

  it('a plain StatefulSet and ReplicationController running Redis count as workloads', () => {
    expect(usageOf(example('statefulset-bitnami.yaml', 'StatefulSet'))).toEqual({
      memory: '6Gi', cpu: '3', storage: '30Gi', pods: '3', instances: '1', namespaces: '0',
    });
    expect(usageOf(example('replicationcontroller.yaml', 'ReplicationController'))).toEqual({
      memory: '1Gi', cpu: '500m', storage: '0', pods: '1', instances: '1', namespaces: '0',
    });
  });

  it('Redis Enterprise: the cluster holds the pods; a database is an instance inside it; a remote cluster is a reference', () => {
    // 3 nodes at 4Gi/2 CPUs with 20Gi each (the e2e REC), plus the services rigger, which runs no Redis.
    const cluster = objectUsage(rec('rec') as JsonObject).amounts;
    expect(shown(cluster)).toMatchObject({ memory: '12Gi', cpu: '6', storage: '60Gi', instances: '1' });
    expect(shown(objectUsage(redb('orders') as JsonObject).amounts)).toMatchObject({ memory: '0', pods: '0', instances: '1' });
    expect(shown(objectUsage(rerc('peer', 'tenant-acme') as JsonObject).amounts)).toMatchObject({ memory: '0', instances: '0' });
    expect(shown(objectUsage(example('enterprise-cluster.yaml', 'RedisEnterpriseCluster')).amounts)).toMatchObject({ memory: '48Gi', storage: '240Gi' });
  });

  it('a RedisFailover of the e2e suite counts the same way as the example', () => {
    expect(objectUsage(failover('sessions') as JsonObject).amounts.instances).toBe(1_000_000_000n);
  });

  it('a Redis container without a limit counts the plan default for its role, not nothing', () => {
    const sts = example('statefulset-bitnami.yaml', 'StatefulSet');
    const c = ((sts['spec'] as any).template.spec.containers as any[])[0];
    delete c.resources.limits;
    expect(shown(objectUsage(sts).amounts)).toMatchObject({ memory: '0', cpu: '0' });
    const defaults = planDefaults({ defaults: { memory: '1Gi', cpu: '500m' } });
    expect(shown(objectUsage(sts, defaults).amounts)).toMatchObject({ memory: '3Gi', cpu: '1500m' });
  });

  it('what runs no Redis uses nothing', () => {
    const nginx = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'tenant-acme' }, spec: { replicas: 5, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx', resources: { limits: { memory: '8Gi' } } }] } } } };
    expect(objectUsage(nginx).counted).toBe(false);
    expect(objectUsage({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }).counted).toBe(false);
  });
});

describe('counted once: what an owner runs is the owner\'s', () => {
  const redis = example('kubedb-standalone.yaml', 'Redis');
  const owner = { apiVersion: 'kubedb.com/v1', kind: 'Redis', name: 'cache', uid: 'uid-redis', controller: true };
  const petset = {
    apiVersion: 'apps.k8s.appscode.com/v1', kind: 'PetSet',
    metadata: { name: 'cache', namespace: 'tenant-acme', uid: 'uid-petset', ownerReferences: [owner] },
    spec: { replicas: 1, template: { metadata: { labels: { 'app.kubernetes.io/name': 'redises.kubedb.com' } }, spec: { containers: [{ name: 'redis', image: 'redis:7.2.4', resources: { limits: { memory: '256Mi', cpu: '250m' } } }] } } },
  } as unknown as JsonObject;
  const pod = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'cache-0', namespace: 'tenant-acme', uid: 'uid-pod', ownerReferences: [{ apiVersion: 'apps.k8s.appscode.com/v1', kind: 'PetSet', name: 'cache', uid: 'uid-petset', controller: true }] },
    spec: { containers: [{ name: 'redis', image: 'redis:7.2.4', resources: { limits: { memory: '256Mi', cpu: '250m' } } }] },
  } as unknown as JsonObject;
  const tallied = (o: JsonObject, uid: string): TalliedObject => {
    const md = o['metadata'] as any;
    return { key: objectKey('tenant-acme', o['apiVersion'] as string, o['kind'] as string, md.name), uid, usage: objectUsage(o) };
  };

  it('a Redis, its PetSet and its Pod together count the Redis once', () => {
    const objects = [tallied(redis, 'uid-redis'), tallied(petset, 'uid-petset'), tallied(pod, 'uid-pod')];
    const uids = new Set(objects.map((o) => o.uid));
    expect(shown(tenantUsage([{ objects, uids }]))).toEqual({
      memory: '256Mi', cpu: '250m', storage: '1Gi', pods: '1', instances: '1', namespaces: '1',
    });
  });

  it('an object that claims an owner the namespace does not have counts itself (a forged ownerReference buys nothing)', () => {
    const objects = [tallied(pod, 'uid-pod')];
    expect(countsItself(objects[0]!.usage, new Set(['uid-pod']))).toBe(true);
    expect(shown(tenantUsage([{ objects, uids: new Set(['uid-pod']) }]))).toMatchObject({ memory: '256Mi', pods: '1', instances: '1' });
  });

  it('a Redis custom resource that names another as its controller still counts itself (a tenant cannot hide one behind another)', () => {
    const hidden = JSON.parse(JSON.stringify(redis)) as any;
    hidden.metadata = { name: 'hidden', namespace: 'tenant-acme', ownerReferences: [owner] };
    const objects = [tallied(redis, 'uid-redis'), tallied(hidden as JsonObject, 'uid-hidden')];
    expect(objectUsage(hidden as JsonObject).owner).toBeNull();
    expect(shown(tenantUsage([{ objects, uids: new Set(['uid-redis', 'uid-hidden']) }]))).toMatchObject({ memory: '512Mi', instances: '2' });
  });

  it('namespaces count whether or not they hold anything', () => {
    expect(shown(tenantUsage([{ objects: [], uids: new Set() }, { objects: [], uids: new Set() }])).namespaces).toBe('2');
  });

  it('growth is per dimension and never negative: scaling memory up and pods down grows memory only', () => {
    const small = objectUsage(example('ot-replication.yaml', 'RedisReplication')).amounts;
    const bigger = example('ot-replication.yaml', 'RedisReplication');
    const spec = bigger['spec'] as any;
    spec.clusterSize = 2;
    spec.kubernetesConfig.resources.limits.memory = '4Gi';
    const g = growth(small, objectUsage(bigger).amounts);
    expect(shown(g)).toEqual({ memory: '5Gi', cpu: '0', storage: '0', pods: '0', instances: '0', namespaces: '0' });
  });
});

describe('serve watches every kind that can run Redis', () => {
  it('USAGE_RESOURCES covers the adapters\' kinds (not PDBs and Certificates, which run nothing), each at the adapters\' versions', async () => {
    const { USAGE_RESOURCES, versionsOf } = await import('../../kube/usage-source.js');
    const { RECOGNISED_KINDS } = await import('../../policies/workloads/index.js');
    const group = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');
    const runs = RECOGNISED_KINDS.filter((k) => k.kind !== 'PodDisruptionBudget' && k.kind !== 'Certificate');
    const watched = new Set(USAGE_RESOURCES.map((r) => `${r.group}/${r.kind}`));
    expect(new Set(runs.map((k) => `${group(k.apiVersion)}/${k.kind}`))).toEqual(watched);
    for (const r of USAGE_RESOURCES) expect(versionsOf(r.group, r.kind).length, `${r.group}/${r.kind}`).toBeGreaterThan(0);
    expect(versionsOf('kubedb.com', 'Redis')).toEqual(['kubedb.com/v1', 'kubedb.com/v1alpha2']);
    expect(versionsOf('', 'Pod')).toEqual(['v1']);
  });
});
