// The users of the images Redline knows: what admission may add beside runAsNonRoot.

import { describe, expect, it } from 'vitest';
import { imageUserOf } from '../../policies/workloads/images.js';
import { recognise } from '../../policies/workloads/index.js';

describe('imageUserOf', () => {
  it.each([
    ['redis:7.2.4', 999, false],
    ['docker.io/library/redis:7.2-alpine', 999, false],
    ['mirror.gcr.io/library/redis@sha256:abc', 999, false],
    ['valkey/valkey:8.0', 999, false],
    ['bitnami/redis:7.2', 1001, true],
    ['docker.io/bitnami/redis-sentinel:7.2', 1001, true],
    ['oliver006/redis_exporter:v1.62.0', 59000, true],
    ['busybox:1.36', 0, false],
    ['alpine', 0, false],
  ] as const)('%s runs as %i (own non-root USER: %s)', (image, uid, nonRoot) => {
    expect(imageUserOf(image)).toEqual({ imageUser: uid, imageRunsAsNonRoot: nonRoot });
  });

  it('another registry\'s image of the same name is not the official one', () => {
    expect(imageUserOf('registry.example.com/redis:7').imageUser).toBe(-1);
    expect(imageUserOf('localhost:5000/redis:7').imageUser).toBe(-1);
    expect(imageUserOf('quay.io/opstree/redis:v7.0.15').imageUser).toBe(-1);
    expect(imageUserOf('').imageUser).toBe(-1);
  });

  it('is on every container of a view', () => {
    const r = recognise({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 't' }, spec: { containers: [{ name: 'redis', image: 'redis:7' }] } });
    if (!r.redis) throw new Error(r.reason);
    expect(r.result.view.containers[0]).toMatchObject({ imageUser: 999, imageRunsAsNonRoot: false });
  });
});

describe('views issue 16 relies on', () => {
  it('the REC services rigger says its security contexts are set out of sight', () => {
    const r = recognise({ apiVersion: 'app.redislabs.com/v1', kind: 'RedisEnterpriseCluster', metadata: { name: 'rec', namespace: 't' }, spec: {} });
    if (!r.redis) throw new Error(r.reason);
    const rigger = r.result.view.podTemplates.find((p) => p.role === 'services-rigger')!;
    expect(rigger.securityManaged).toContain('the operator sets the services rigger');
    expect(r.result.view.podTemplates.find((p) => p.role === 'node')!.securityManaged).toBe('');
  });

  it('RedisFailover: no TLS settings, and the operator\'s budgets with the pods they protect', () => {
    const r = recognise({ apiVersion: 'databases.spotahome.com/v1', kind: 'RedisFailover', metadata: { name: 'f', namespace: 't' }, spec: { redis: { replicas: 2 } } });
    if (!r.redis) throw new Error(r.reason);
    expect(r.result.view.tls.supported).toBe(false);
    expect(r.result.view.pdb.blocks.map((b) => [b.minAvailable, b.pods, b.fixed])).toEqual([['1', 2, true], ['2', 3, true]]);
  });

  it('a PodDisruptionBudget written for a Redis CR is controlled by it', () => {
    const r = recognise({
      apiVersion: 'policy/v1', kind: 'PodDisruptionBudget',
      metadata: { name: 'rfr-f', namespace: 't', ownerReferences: [{ apiVersion: 'databases.spotahome.com/v1', kind: 'RedisFailover', name: 'f', uid: 'u', controller: true }] },
      spec: { minAvailable: 2, selector: { matchLabels: { 'app.kubernetes.io/part-of': 'redis-failover' } } },
    });
    if (!r.redis) throw new Error(r.reason);
    expect(r.result.view.controlled).toBe(true);
  });

  it('KubeDB RedisSentinel templates have the sentinel role (the plan\'s Sentinel defaults)', () => {
    const r = recognise({ apiVersion: 'kubedb.com/v1', kind: 'RedisSentinel', metadata: { name: 's', namespace: 't' }, spec: { version: '7.2.4', replicas: 3 } });
    if (!r.redis) throw new Error(r.reason);
    expect(r.result.view.podTemplates[0]!.role).toBe('sentinel');
  });
});
