// The derived facts policies read as `practices` (policies/workloads/practices.ts), the cluster
// inputs review reads from its files (StorageClasses, PodDisruptionBudgets), and the zone-spread
// mutation's fixed point. The rules themselves are covered by the PolicyTest cases.

import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../policies/engine/engine.js';
import { parseDocuments } from '../../policies/engine/documents.js';
import { loadLibrary } from '../../policies/engine/library.js';
import type { JsonObject, PdbInfo, ReviewInput } from '../../policies/engine/types.js';
import { pdbsOf, reviewDocuments, storageClassesOf } from '../../policies/review/review.js';
import { practicesOf, redisBytes } from '../../policies/workloads/practices.js';
import { viewOf } from '../helpers/workloads.js';

let engine: Engine;
beforeAll(async () => {
  engine = new Engine(await loadLibrary('policies/library'), { timeBudgetMs: 60_000 });
});


const statefulSet = (spec: JsonObject = {}): JsonObject => ({
  apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'redis', namespace: 'tenant-acme' },
  spec: {
    replicas: 3, selector: { matchLabels: { app: 'redis' } },
    template: { metadata: { labels: { app: 'redis', tier: 'cache' } }, spec: { containers: [{ name: 'redis', image: 'redis:7.2' }], ...spec } },
  },
});

describe('redisBytes', () => {
  it.each([
    ['100', 100], ['1k', 1000], ['1kb', 1024], ['1KB', 1024], ['2m', 2_000_000], ['768mb', 768 * 1024 ** 2],
    ['1g', 1e9], ['1gb', 1024 ** 3], ['1Gi', 1024 ** 3], ['512Mi', 512 * 1024 ** 2],
    ['lots', -1], ['', -1], ['1.5gb', -1],
  ])('%s is %d bytes', (text, bytes) => {
    expect(redisBytes(text)).toBe(bytes);
  });
});

describe('practicesOf', () => {
  it('computes the maxmemory the plan headroom allows, in bytes and in Redis mb', () => {
    const object = statefulSet({ containers: [{ name: 'redis', image: 'redis:7.2', args: ['--maxmemory', '900mb'], resources: { limits: { memory: '1Gi' } } }] });
    const facts = practicesOf(viewOf(object), object, { maxmemoryHeadroomPercent: 25 });
    expect(facts.maxmemory).toEqual([{
      where: 'container redis args', value: '900mb', bytes: 900 * 1024 ** 2, limit: '1Gi', limitBytes: 1024 ** 3,
      allowedBytes: 768 * 1024 ** 2, allowed: '768mb',
    }]);
  });

  it('reads hostUsers: false per template, and probe hosts anywhere in the spec', () => {
    const object = statefulSet({ hostUsers: false, containers: [{ name: 'redis', image: 'redis:7.2', livenessProbe: { httpGet: { port: 1, host: 'x' } } }] });
    const facts = practicesOf(viewOf(object), object);
    expect(facts.userNamespaceTemplates).toEqual(['spec.template']);
    expect(facts.probeHosts).toEqual(['container redis livenessProbe.httpGet.host x']);
  });

  it('lists a container\'s probe and handler hosts in a fixed order, before any found inside it, whatever the key order', () => {
    // A tenant cannot hide a host by the order of its keys, nor by nesting one container-like object in another.
    const object = statefulSet({
      containers: [{
        lifecycle: { preStop: { tcpSocket: { port: 1, host: 'e' } }, postStart: { httpGet: { port: 1, host: 'd' } } },
        sidecar: { name: 'inner', startupProbe: { httpGet: { port: 1, host: 'f' } } },
        readinessProbe: { tcpSocket: { port: 1, host: 'b' } },
        startupProbe: { httpGet: { port: 1, host: 'c' } },
        name: 'redis', image: 'redis:7.2',
        livenessProbe: { httpGet: { port: 1, host: 'a' }, tcpSocket: { port: 1, host: 'a2' } },
      }],
      initContainers: [{ image: 'busybox', readinessProbe: { httpGet: { port: 1, host: 'g' } } }],
    });
    expect(practicesOf(viewOf(object), object).probeHosts).toEqual([
      'container redis livenessProbe.httpGet.host a',
      'container redis livenessProbe.tcpSocket.host a2',
      'container redis readinessProbe.tcpSocket.host b',
      'container redis startupProbe.httpGet.host c',
      'container redis lifecycle.postStart.httpGet.host d',
      'container redis lifecycle.preStop.tcpSocket.host e',
      'container inner startupProbe.httpGet.host f',
      'container (unnamed) readinessProbe.httpGet.host g',
    ]);
  });

  it('resolves the default StorageClass when none is named, and says when the list is unknown', () => {
    const object: JsonObject = {
      ...statefulSet(),
      spec: { ...(statefulSet()['spec'] as JsonObject), volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { resources: { requests: { storage: '1Gi' } } } }] },
    };
    const view = viewOf(object);
    expect(practicesOf(view, object).storageClass).toEqual({ known: false, name: '', provisioner: '' });
    const classes = [{ name: 'a', provisioner: 'x', default: false }, { name: 'b', provisioner: 'rancher.io/local-path', default: true }];
    expect(practicesOf(view, object, { storageClasses: classes }).storageClass).toEqual({ known: true, name: 'b', provisioner: 'rancher.io/local-path' });
  });

  it('matches PDB selectors by labels and expressions, in the same namespace only, ignoring prototype keys', () => {
    const object = statefulSet();
    const view = viewOf(object);
    const covering = { name: 'ok', namespace: 'tenant-acme', selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['cache'] }] } };
    const elsewhere = { name: 'far', namespace: 'other', selector: { matchLabels: { app: 'redis' } } };
    const prototype = { name: 'proto', namespace: 'tenant-acme', selector: { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] } };
    expect(practicesOf(view, object, { pdbs: [covering, elsewhere, prototype] }).pdb).toEqual({ known: true, covering: ['ok'], uncovered: [] });
    expect(practicesOf(view, object, { pdbs: [elsewhere, prototype] }).pdb.uncovered).toEqual([{ path: 'spec.template', name: 'redis', selector: { app: 'redis' } }]);
  });

  it('picks the same covering PDBs from a long list (indexed by a matchLabels pair) as one by one, in list order', () => {
    const object = statefulSet();
    const view = viewOf(object);
    const pdbs: PdbInfo[] = [
      { name: 'other-namespace', namespace: 'other', selector: { matchLabels: { app: 'redis' } } },
      { name: 'wrong-value', namespace: 'tenant-acme', selector: { matchLabels: { app: 'redis-x' } } },
      { name: 'second-label-differs', namespace: 'tenant-acme', selector: { matchLabels: { app: 'redis', tier: 'db' } } },
      { name: 'z-both-labels', namespace: 'tenant-acme', selector: { matchLabels: { tier: 'cache', app: 'redis' } } },
      { name: 'number-value', namespace: 'tenant-acme', selector: { matchLabels: { app: 7 } } } as never,
      { name: 'number-then-matching-string', namespace: 'tenant-acme', selector: { matchLabels: { replicas: 3, tier: 'cache' } } } as never,
      { name: 'expressions-only', namespace: 'tenant-acme', selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['redis'] }] } },
      { name: 'label-and-failing-expression', namespace: 'tenant-acme', selector: { matchLabels: { app: 'redis' }, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] } },
      { name: 'empty-selector', namespace: 'tenant-acme', selector: {} },
      { name: 'prototype-key', namespace: 'tenant-acme', selector: { matchLabels: JSON.parse('{"__proto__": "x", "app": "redis"}') as Record<string, string> } },
      { name: 'constructor-key', namespace: 'tenant-acme', selector: { matchLabels: { constructor: 'x' } } },
      { name: 'a-any-namespace', namespace: '', selector: { matchLabels: { app: 'redis' } } },
      ...Array.from({ length: 20 }, (_, i) => ({ name: `filler-${i}`, namespace: 'tenant-acme', selector: { matchLabels: { app: `other-${i}` } } })),
    ];
    const oneByOne = pdbs.flatMap((p) => practicesOf(view, object, { pdbs: [p] }).pdb.covering);
    expect(oneByOne).toEqual(['z-both-labels', 'expressions-only', 'a-any-namespace']);
    expect(practicesOf(view, object, { pdbs }).pdb).toEqual({ known: true, covering: oneByOne, uncovered: [] });
    // Reviewed again with the same list (its index already built), and after the list grew.
    expect(practicesOf(view, object, { pdbs }).pdb.covering).toEqual(oneByOne);
    const fillers = pdbs.filter((p) => p.name.startsWith('filler-') || p.name === 'other-namespace' || p.name === 'wrong-value');
    expect(practicesOf(view, object, { pdbs: fillers }).pdb.uncovered).toEqual([{ path: 'spec.template', name: 'redis', selector: { app: 'redis' } }]);
    fillers.push({ name: 'late', namespace: 'tenant-acme', selector: { matchLabels: { tier: 'cache' } } });
    expect(practicesOf(view, object, { pdbs: fillers }).pdb).toEqual({ known: true, covering: ['late'], uncovered: [] });
  });

  it('never throws on damaged objects or inputs', () => {
    const damaged: unknown[] = [null, 7, 'x', [], { containers: 'x' }, { containers: [null, 1, { env: 'x', args: 9, volumeMounts: [null] }] }];
    const badPdb = { name: 'p', namespace: '', selector: { matchLabels: 'x', matchExpressions: [null, { key: 1, values: 'x' }] } } as never;
    for (const spec of damaged) {
      const object = statefulSet({ containers: [{ name: 'redis', image: 'redis:7.2' }] });
      const view = viewOf(object);
      const broken = { ...object, spec: { template: { spec } , kubernetesConfig: spec, redis: spec, redisConfig: spec } } as unknown as JsonObject;
      expect(() => practicesOf(view, broken, { pdbs: [badPdb], storageClasses: [] })).not.toThrow();
    }
  });
});

describe('review reads the cluster from its input files', () => {
  const text = [
    'apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: local\n  annotations: {storageclass.kubernetes.io/is-default-class: "true"}\nprovisioner: rancher.io/local-path',
    'apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: redis, namespace: tenant-acme}\nspec: {maxUnavailable: 1, selector: {matchLabels: {app: redis}}}',
    'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: redis, namespace: tenant-acme}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: redis}}\n'
      + '  template:\n    metadata: {labels: {app: redis}}\n    spec: {containers: [{name: redis, image: "redis:7.2"}]}\n'
      + '  volumeClaimTemplates: [{metadata: {name: data}, spec: {resources: {requests: {storage: 1Gi}}}}]',
  ].join('\n---\n');
  const { docs } = parseDocuments('input.yaml', text);

  it('collects StorageClasses (with the default-class annotation) and PDBs', () => {
    expect(storageClassesOf(docs)).toEqual([{ name: 'local', provisioner: 'rancher.io/local-path', default: true }]);
    expect(pdbsOf(docs)).toEqual([{ name: 'redis', namespace: 'tenant-acme', selector: { matchLabels: { app: 'redis' } } }]);
  });

  it('judges the StatefulSet against them: node-local default class denied, PDB found', () => {
    const set = reviewDocuments(engine, docs, { plan: 'standard', mutate: false }).find((r) => r.kind === 'StatefulSet');
    const result = (rule: string) => set!.results.find((r) => r.rule === rule);
    expect(result('network-storage')).toMatchObject({ result: 'fail' });
    expect(result('network-storage')!.message).toContain('StorageClass local (the cluster default) provisions node-local volumes (rancher.io/local-path)');
    expect(result('pdb-present')).toMatchObject({ result: 'pass' });
  });
});

describe('zone-spread mutation', () => {
  const input = (object: JsonObject, plan: string): ReviewInput => ({
    object, operation: 'CREATE', namespace: { name: 'tenant-acme', labels: {} }, plan, mutate: true, only: ['availability'],
  });
  const replication: JsonObject = {
    apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: 'RedisReplication', metadata: { name: 'orders', namespace: 'tenant-acme' },
    spec: { clusterSize: 3, kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.15' } },
  };

  it('adds the spread once: the mutated object yields an empty patch', () => {
    const first = engine.review(input(replication, 'premium'));
    expect(first.patch.map((p) => p.path)).toEqual(['/spec/topologySpreadConstraints']);
    expect(engine.review(input(first.mutated, 'premium')).patch).toEqual([]);
  });

  it('adds nothing on a plan without zones, nor where a spread is already written', () => {
    expect(engine.review(input(replication, 'free')).patch).toEqual([]);
    const spread = { ...replication, spec: { ...(replication['spec'] as JsonObject), topologySpreadConstraints: [] } };
    expect(engine.review(input(spread, 'premium')).patch).toEqual([]);
  });
});
