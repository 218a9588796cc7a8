// The mutation fixed point, as a property over many generated objects of every mutable kind:
//  (a) the returned patch applied to the original object yields exactly `mutated`;
//  (b) reviewing `mutated` again yields an empty patch (admission reinvocation converges);
//  (c) every operation is an `add` of a path that did not exist in the original.
// And: StatefulSets, Deployments and PetSets are never mutated; Pods only on CREATE.

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../policies/engine/engine.js';
import { loadLibrary } from '../../policies/engine/library.js';
import { PatchRecorder, applyAddPatch, pointer } from '../../policies/engine/mutate.js';
import type { Json, JsonObject, JsonPatchOp, Operation, ReviewInput } from '../../policies/engine/types.js';

let engine: Engine;
beforeAll(async () => {
  engine = new Engine(await loadLibrary('policies/library'), { timeBudgetMs: 60_000 });
});

// ---- generators -------------------------------------------------------------------------------

/** Drops undefined members, so "absent" really is absent (JSON has no undefined). */
function clean(value: unknown): JsonObject {
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

const opt = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq: 2 });
const partial = <T extends Record<string, unknown>>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<Partial<T>> =>
  fc.record(model, { requiredKeys: [] }) as fc.Arbitrary<Partial<T>>;

const memory = fc.constantFrom('64Mi', '128Mi', '256Mi', '1Gi', '0.5Gi', '4Gi', '1073741824');
const cpu = fc.constantFrom('50m', '100m', '250m', '0.5', '1', '2');
const resources = partial({
  requests: partial({ memory, cpu }),
  limits: partial({ memory, cpu }),
});
const containerSecurityContext = partial({
  allowPrivilegeEscalation: fc.boolean(),
  runAsNonRoot: fc.boolean(),
  readOnlyRootFilesystem: fc.boolean(),
  capabilities: partial({ drop: fc.constantFrom(['ALL'], ['NET_RAW'], []), add: fc.constantFrom(['NET_BIND_SERVICE'], []) }),
  seccompProfile: partial({ type: fc.constantFrom('RuntimeDefault', 'Localhost') }),
});
const podSecurityContext = partial({
  runAsNonRoot: fc.boolean(),
  runAsUser: fc.constantFrom(999, 1000),
  fsGroup: fc.constantFrom(999, 1000),
  seccompProfile: partial({ type: fc.constantFrom('RuntimeDefault', 'Localhost') }),
});
const affinityFor = (labels: Record<string, string>): fc.Arbitrary<JsonObject> => fc.constantFrom<JsonObject>(
  {},
  { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['redis'] }] }] } } },
  { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: labels } } }] } },
  { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: labels } }] } },
  { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [] } },
);
const kubedbTls = fc.constantFrom<JsonObject>(
  { issuerRef: { apiGroup: 'cert-manager.io', kind: 'ClusterIssuer', name: 'platform-ca' } },
  { issuerRef: { name: 'team-ca' } },
  { certificates: [{ alias: 'server', subject: { organizations: ['acme'] } }] },
  {},
);
const otTls = fc.constantFrom<JsonObject>({ ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key', secret: { secretName: 'redis-tls' } }, { ca: 'ca.crt' });
const otPdb = partial({ enabled: fc.boolean(), maxUnavailable: fc.constantFrom(1, 2), minAvailable: fc.constant(1) });
const initContainers = opt(fc.array(fc.record({
  name: fc.constantFrom('init', 'sysctl'), image: fc.constant('busybox:1.36'), securityContext: opt(containerSecurityContext),
}), { maxLength: 2 }).map((list) => list.map((c, i) => ({ ...c, name: `${c.name}-${i}` }))));
const name = fc.constantFrom('sessions', 'orders', 'catalog');
const kubedbStorage = fc.oneof(
  fc.constant({ storageType: 'Ephemeral' }),
  fc.constant({ storageType: 'Durable', storage: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }),
);

/** KubeDB v1: podTemplate.spec.containers may be absent, empty, or list the redis container and sidecars. */
const kubedbV1 = fc.record({
  kind: fc.constantFrom('Redis', 'RedisSentinel'),
  name,
  mode: opt(fc.constantFrom('Standalone', 'Sentinel', 'Cluster')),
  replicas: opt(fc.integer({ min: 1, max: 4 })),
  cluster: opt(partial({ shards: fc.integer({ min: 1, max: 4 }), replicas: fc.integer({ min: 1, max: 3 }) })),
  storage: kubedbStorage,
  tls: opt(kubedbTls),
  podTemplate: opt(partial({
    metadata: fc.constant({ labels: { team: 'orders' } }),
    spec: partial({
      securityContext: podSecurityContext,
      containers: fc.oneof(
        fc.constant([] as JsonObject[]),
        fc.tuple(opt(resources), opt(containerSecurityContext)).map(([r, s]) => [{ name: 'redis', resources: r, securityContext: s }]),
        fc.tuple(opt(resources), opt(containerSecurityContext)).map(([r, s]) => [
          { name: 'exporter', image: 'oliver006/redis_exporter:v1.62.0' }, { name: 'redis', resources: r, securityContext: s },
        ]),
      ),
      initContainers,
    }),
  })),
}).map(({ kind, name: n, mode, replicas, cluster, storage, tls, podTemplate }) => clean({
  apiVersion: 'kubedb.com/v1', kind, metadata: { name: n, namespace: 'tenant-acme' },
  spec: { version: '7.2.4', ...(kind === 'Redis' ? { mode, cluster } : {}), replicas, ...storage, tls, podTemplate },
}));

/** KubeDB v1alpha2: a flat main container plus affinity. */
const kubedbV1alpha2 = fc.record({
  kind: fc.constantFrom('Redis', 'RedisSentinel'),
  name,
  mode: opt(fc.constantFrom('Standalone', 'Sentinel', 'Cluster')),
  replicas: opt(fc.integer({ min: 1, max: 4 })),
  cluster: opt(partial({ master: fc.integer({ min: 1, max: 4 }), replicas: fc.integer({ min: 0, max: 2 }) })),
  storage: kubedbStorage,
  tls: opt(kubedbTls),
  podTemplate: opt(partial({
    spec: fc.record({
      resources: opt(resources),
      containerSecurityContext: opt(containerSecurityContext),
      securityContext: opt(podSecurityContext),
      affinity: opt(affinityFor({ 'app.kubernetes.io/instance': 'orders' })),
      args: opt(fc.constant(['--maxmemory-policy', 'allkeys-lru'])),
      initContainers,
    }),
  })),
}).map(({ kind, name: n, mode, replicas, cluster, storage, tls, podTemplate }) => clean({
  apiVersion: 'kubedb.com/v1alpha2', kind, metadata: { name: n, namespace: 'tenant-acme' },
  spec: { version: '7.2.4', ...(kind === 'Redis' ? { mode, cluster } : {}), replicas, ...storage, tls, podTemplate },
}));

const otCommon = {
  name,
  clusterSize: opt(fc.integer({ min: 1, max: 4 })),
  kcResources: opt(resources),
  securityContext: opt(containerSecurityContext),
  podSecurityContext: opt(podSecurityContext),
  tls: opt(otTls),
  pdb: opt(otPdb),
  exporter: opt(fc.record({ enabled: fc.boolean(), image: fc.constant('quay.io/opstree/redis-exporter:v1.44.0'), securityContext: opt(containerSecurityContext) })),
  init: opt(fc.record({ enabled: fc.boolean(), image: fc.constant('busybox:1.36'), securityContext: opt(containerSecurityContext), resources: opt(resources) })),
  sidecars: opt(fc.array(fc.record({ name: fc.constant('log-shipper'), image: fc.constant('fluent/fluent-bit:3.0'), securityContext: opt(containerSecurityContext) }), { maxLength: 2 })
    .map((list) => list.map((c, i) => ({ ...c, name: `${c.name}-${i}` })))),
  storage: opt(fc.constant({ volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } })),
};

/** OT Redis, RedisReplication, RedisSentinel: flat fields under spec. */
const otSimple = fc.record({
  kind: fc.constantFrom('Redis', 'RedisReplication', 'RedisSentinel'),
  affinity: opt(affinityFor({ app: 'orders' })),
  ...otCommon,
}).map((g) => clean({
  apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: g.kind, metadata: { name: g.name, namespace: 'tenant-acme' },
  spec: {
    clusterSize: g.kind === 'Redis' ? undefined : g.clusterSize,
    kubernetesConfig: { image: g.kind === 'RedisSentinel' ? 'quay.io/opstree/redis-sentinel:v7.0.15' : 'quay.io/opstree/redis:v7.0.15', resources: g.kcResources },
    securityContext: g.securityContext, podSecurityContext: g.podSecurityContext, affinity: g.affinity, TLS: g.tls,
    pdb: g.kind === 'Redis' ? undefined : g.pdb, redisExporter: g.exporter, initContainer: g.init, sidecars: g.sidecars,
    storage: g.kind === 'RedisSentinel' ? undefined : g.storage,
  },
}));

const clusterRole = opt(partial({
  replicas: fc.integer({ min: 1, max: 4 }),
  resources,
  securityContext: containerSecurityContext,
  affinity: affinityFor({ app: 'catalog-leader' }),
  pdb: otPdb,
}));

/** OT RedisCluster: per-role overrides under redisLeader / redisFollower. */
const otCluster = fc.record({ ...otCommon, leader: clusterRole, follower: clusterRole }).map((g) => clean({
  apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: 'RedisCluster', metadata: { name: g.name, namespace: 'tenant-acme' },
  spec: {
    clusterSize: g.clusterSize,
    kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.15', resources: g.kcResources },
    podSecurityContext: g.podSecurityContext, TLS: g.tls, redisExporter: g.exporter, initContainer: g.init, sidecars: g.sidecars,
    storage: g.storage, redisLeader: g.leader, redisFollower: g.follower,
  },
}));

/** Pods: bare, or owned by a StatefulSet/PetSet (then anti-affinity is added on CREATE). */
const pod = fc.record({
  owner: opt(fc.constantFrom('StatefulSet', 'PetSet', 'ReplicaSet')),
  resources: opt(resources),
  securityContext: opt(containerSecurityContext),
  podSecurityContext: opt(podSecurityContext),
  affinity: opt(affinityFor({ 'app.kubernetes.io/name': 'redis' })),
  exporter: fc.boolean(),
  initContainers,
  tlsEnv: fc.boolean(),
}).map((g) => clean({
  apiVersion: 'v1', kind: 'Pod',
  metadata: {
    name: 'redis-0', namespace: 'tenant-acme',
    labels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'cache' },
    ownerReferences: g.owner ? [{ apiVersion: 'apps/v1', kind: g.owner, name: 'redis', uid: 'u-1', controller: true }] : undefined,
  },
  spec: {
    securityContext: g.podSecurityContext, affinity: g.affinity, initContainers: g.initContainers,
    containers: [
      { name: 'redis', image: 'docker.io/bitnami/redis:7.2.4', resources: g.resources, securityContext: g.securityContext, env: g.tlsEnv ? [{ name: 'REDIS_TLS_ENABLED', value: 'yes' }] : undefined },
      ...(g.exporter ? [{ name: 'metrics', image: 'docker.io/bitnami/redis-exporter:1.62.0' }] : []),
    ],
  },
}));

const mutable = fc.oneof(kubedbV1, kubedbV1alpha2, otSimple, otCluster, pod);
const plan = fc.constantFrom('free', 'standard', 'premium');
const operation = fc.constantFrom<Operation>('CREATE', 'UPDATE');

// ---- helpers ------------------------------------------------------------------------------------

function review(object: JsonObject, planName: string, op: Operation): ReturnType<Engine['review']> {
  const req: ReviewInput = {
    object, operation: op, plan: planName, mutate: true, oldObject: op === 'UPDATE' ? object : null,
    namespace: { name: 'tenant-acme', labels: { 'redline.dev/plan': planName } },
  };
  return engine.review(req);
}

/** Resolves a JSON pointer; undefined when any segment is missing. */
function resolve(doc: Json, path: string): Json | undefined {
  let cur: Json | undefined = doc;
  for (const raw of path.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[Number(seg)] : cur[seg];
  }
  return cur;
}

function checkFixedPoint(object: JsonObject, planName: string, op: Operation): JsonPatchOp[] {
  const snapshot = structuredClone(object);
  const first = review(object, planName, op);
  expect(first.redis).toBe(true);
  expect(object).toEqual(snapshot); // the input is never modified
  // (c) only adds, each of a path absent from the original
  for (const p of first.patch) {
    expect(p.op).toBe('add');
    expect(resolve(object, p.path), `patch ${p.path} replaces an existing value`).toBeUndefined();
  }
  // (a) the patch turns the original into `mutated`
  expect(applyAddPatch(object, first.patch)).toEqual(first.mutated);
  // (b) a second review of `mutated` changes nothing
  const second = review(first.mutated, planName, op);
  expect(second.patch, `second patch: ${JSON.stringify(second.patch)}`).toEqual([]);
  expect(second.mutated).toEqual(first.mutated);
  // no mutation ever fails on generated objects
  expect(first.results.filter((r) => r.result === 'error')).toEqual([]);
  return first.patch;
}

// ---- properties ----------------------------------------------------------------------------------

describe('mutation fixed point (property)', () => {
  it('holds over ≥ 500 objects of every mutable kind', () => {
    const kinds = new Map<string, number>();
    let patched = 0;
    fc.assert(
      fc.property(mutable, plan, operation, (object, planName, op) => {
        const key = `${String(object['apiVersion'])}/${String(object['kind'])}`;
        kinds.set(key, (kinds.get(key) ?? 0) + 1);
        if (checkFixedPoint(object, planName, op).length > 0) patched++;
      }),
      { numRuns: 700, seed: 20240611 },
    );
    // every mutable kind was generated, and most objects actually needed a patch
    expect([...kinds.keys()].sort()).toEqual([
      'kubedb.com/v1/Redis', 'kubedb.com/v1/RedisSentinel', 'kubedb.com/v1alpha2/Redis', 'kubedb.com/v1alpha2/RedisSentinel',
      'redis.redis.opstreelabs.in/v1beta2/Redis', 'redis.redis.opstreelabs.in/v1beta2/RedisCluster',
      'redis.redis.opstreelabs.in/v1beta2/RedisReplication', 'redis.redis.opstreelabs.in/v1beta2/RedisSentinel', 'v1/Pod',
    ]);
    expect(patched).toBeGreaterThan(300);
  });

  it('holds with random seeds too', () => {
    fc.assert(fc.property(mutable, plan, operation, (object, planName, op) => {
      checkFixedPoint(object, planName, op);
    }), { numRuns: 200 });
  });
});

describe('what is never mutated', () => {
  const template = (extra: JsonObject = {}): JsonObject => ({
    metadata: { labels: { app: 'redis' } },
    spec: { containers: [{ name: 'redis', image: 'redis:7.2.4' }], ...extra },
  });
  const sets: JsonObject[] = [
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'redis', namespace: 't' }, spec: { replicas: 3, serviceName: 'redis', selector: { matchLabels: { app: 'redis' } }, template: template() } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'redis', namespace: 't' }, spec: { replicas: 2, selector: { matchLabels: { app: 'redis' } }, template: template() } },
    { apiVersion: 'apps.k8s.appscode.com/v1', kind: 'PetSet', metadata: { name: 'redis', namespace: 't' }, spec: { replicas: 3, selector: { matchLabels: { app: 'redis' } }, template: template() } },
  ];

  it.each(sets.map((s) => [s['kind'] as string, s]))('%s: empty patch even with mutate, on CREATE and UPDATE, for every plan', (_kind, object) => {
    for (const planName of ['free', 'standard', 'premium']) {
      for (const op of ['CREATE', 'UPDATE'] as const) {
        const out = review(object as JsonObject, planName, op);
        expect(out.redis).toBe(true);
        expect(out.patch).toEqual([]);
        expect(out.mutated).toBe(object);
        // …and it is validated as written: nothing was defaulted for it (the LimitRange gives its
        // pods limits, which plan-limits counts, but nothing sets runAsNonRoot)
        expect(out.results.find((r) => r.rule === 'run-as-non-root')?.result).toBe('fail');
      }
    }
  });

  it('PodDisruptionBudgets are never mutated', () => {
    const pdb: JsonObject = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'r', namespace: 't' }, spec: { selector: { matchLabels: { app: 'redis' } } } };
    expect(review(pdb, 'free', 'CREATE').patch).toEqual([]);
  });

  it('Pods are mutated on CREATE only', () => {
    const object: JsonObject = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'redis-0', namespace: 't', labels: { app: 'redis' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'redis', uid: 'u', controller: true }] },
      spec: { containers: [{ name: 'redis', image: 'redis:7.2.4' }] },
    };
    const created = review(object, 'standard', 'CREATE');
    // The official redis image runs as root: it gets its own user 999 (and fsGroup) beside runAsNonRoot.
    expect(created.patch.map((p) => p.path).sort()).toEqual([
      '/spec/affinity', '/spec/containers/0/resources', '/spec/containers/0/securityContext', '/spec/containers/0/securityContext/runAsGroup',
      '/spec/containers/0/securityContext/runAsUser', '/spec/securityContext', '/spec/securityContext/fsGroup', '/spec/topologySpreadConstraints',
    ]);
    const updated = review(object, 'standard', 'UPDATE');
    expect(updated.patch).toEqual([]);
    expect(updated.mutated).toBe(object);
  });

  it('CRs are mutated on UPDATE as well as CREATE', () => {
    const object: JsonObject = { apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 's', namespace: 't' }, spec: { version: '7.2.4', storageType: 'Ephemeral' } };
    expect(review(object, 'free', 'UPDATE').patch.length).toBeGreaterThan(0);
  });

  it('mutate false never patches', () => {
    const object: JsonObject = { apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 's', namespace: 't' }, spec: {} };
    const out = engine.review({ object, operation: 'CREATE', plan: 'free', mutate: false, namespace: null });
    expect(out.patch).toEqual([]);
    expect(out.mutated).toBe(object);
  });
});

describe('the exact patch for a bare KubeDB v1 Redis on the free plan', () => {
  it('adds the redis container, its resources and securityContext, pod defaults and the issuer', () => {
    const object: JsonObject = { apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 's', namespace: 't' }, spec: { version: '7.2.4', storageType: 'Ephemeral' } };
    const out = review(object, 'free', 'CREATE');
    expect(out.patch).toEqual([
      { op: 'add', path: '/spec/podTemplate', value: { spec: { containers: [{ name: 'redis' }] } } },
      { op: 'add', path: '/spec/podTemplate/spec/containers/0/resources', value: { requests: { memory: '128Mi', cpu: '100m' }, limits: { memory: '128Mi', cpu: '100m' } } },
      { op: 'add', path: '/spec/podTemplate/spec/securityContext', value: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } },
      { op: 'add', path: '/spec/podTemplate/spec/containers/0/securityContext', value: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } },
      { op: 'add', path: '/spec/tls', value: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'redline-redis-ca' } } },
    ]);
    expect(out.denied).toBe(false);
  });
});

describe('PatchRecorder and applyAddPatch', () => {
  it('escapes pointer segments', () => {
    expect(pointer([])).toBe('');
    expect(pointer(['metadata', 'annotations', 'a/b~c', 0])).toBe('/metadata/annotations/a~1b~0c/0');
  });

  it('adds only absent leaves, keeps present values (including null and lists)', () => {
    const doc: JsonObject = { spec: { a: 1, list: [1], nil: null, nested: { keep: 'x' } } };
    const rec = new PatchRecorder(doc);
    rec.merge(['spec'], { a: 2, list: [9], nil: { x: 1 }, nested: { keep: 'y', add: 'z' }, fresh: { deep: true } });
    expect(rec.ops).toEqual([
      { op: 'add', path: '/spec/nested/add', value: 'z' },
      { op: 'add', path: '/spec/fresh', value: { deep: true } },
    ]);
    expect(rec.doc).toEqual({ spec: { a: 1, list: [1], nil: null, nested: { keep: 'x', add: 'z' }, fresh: { deep: true } } });
    expect(doc).toEqual({ spec: { a: 1, list: [1], nil: null, nested: { keep: 'x' } } });
    expect(applyAddPatch(doc, rec.ops)).toEqual(rec.doc);
  });

  it('creates missing parents in one operation, and appends list items', () => {
    const rec = new PatchRecorder({ spec: { containers: [{ name: 'a' }] } });
    rec.merge(['spec', 'template', 'x'], { y: 1 });
    rec.ensureListItem(['spec', 'containers'], 1, { name: 'redis' });
    rec.merge(['spec', 'containers', 1, 'resources'], { limits: { cpu: '1' } });
    expect(rec.ops.map((o) => o.path)).toEqual(['/spec/template', '/spec/containers/1', '/spec/containers/1/resources']);
    expect(applyAddPatch({ spec: { containers: [{ name: 'a' }] } }, rec.ops)).toEqual(rec.doc);
  });

  it('copies only what it writes to: the original stays as it was, untouched parts are shared', () => {
    const original: JsonObject = { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'a' }], template: { keep: { x: 1 } } } };
    const snapshot = structuredClone(original);
    const rec = new PatchRecorder(original);
    rec.merge(['spec', 'template', 'keep'], { x: 2 });
    expect(rec.doc).toBe(original); // nothing added, nothing copied
    rec.ensureListItem(['spec', 'containers'], 1, { name: 'redis' });
    rec.merge(['spec', 'template', 'added'], { y: 1 });
    rec.merge(['spec', 'template', 'added'], { z: 2 }); // a second write to what was already copied
    expect(original).toEqual(snapshot);
    const doc = rec.doc as { metadata: JsonObject; spec: { containers: Json[]; template: JsonObject } };
    expect(doc.metadata).toBe(original['metadata']);
    expect(doc.spec.containers[0]).toBe((original['spec'] as { containers: Json[] }).containers[0]);
    expect(doc.spec.template['keep']).toBe((original['spec'] as { template: JsonObject }).template['keep']);
    expect(doc.spec.containers).toEqual([{ name: 'a' }, { name: 'redis' }]);
    expect(doc.spec.template['added']).toEqual({ y: 1, z: 2 });
    expect(applyAddPatch(snapshot, rec.ops)).toEqual(rec.doc);
  });

  it('does not write through non-objects', () => {
    const rec = new PatchRecorder({ spec: { x: 'scalar' } });
    expect(rec.merge(['spec', 'x', 'y'], { z: 1 })).toBe(false);
    expect(rec.ops).toEqual([]);
  });

  it('appendToLists adds the items a present list lacks, leaves the original alone, and is a fixed point', () => {
    const term = { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'x-leader' } } };
    const own = { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'x-follower' } } };
    const original: JsonObject = { spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [own] } } } };
    const snapshot = JSON.parse(JSON.stringify(original)) as JsonObject;
    const tree = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [own, term, term] } };
    const rec = new PatchRecorder(original);
    expect(rec.merge(['spec', 'affinity'], tree, true)).toBe(true);
    expect(rec.ops).toEqual([{ op: 'add', path: '/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/1', value: term }]);
    expect(original).toEqual(snapshot);
    expect(applyAddPatch(snapshot, rec.ops)).toEqual(rec.doc);
    const again = new PatchRecorder(rec.doc);
    again.merge(['spec', 'affinity'], tree, true);
    expect(again.ops).toEqual([]);
    // Without the flag a present list is left as it is.
    const plain = new PatchRecorder(original);
    plain.merge(['spec', 'affinity'], tree);
    expect(plain.ops).toEqual([]);
  });

  it('applyAddPatch rejects paths that do not exist', () => {
    expect(() => applyAddPatch({}, [{ op: 'add', path: '/a/b', value: 1 }])).toThrow(/does not exist/);
    expect(() => applyAddPatch({ a: [] }, [{ op: 'add', path: '/a/3', value: 1 }])).toThrow(/out of range/);
  });
});

describe('mutations that need the container (issue 16)', () => {
  it('an OT RedisCluster leader Pod gets anti-affinity to its shard\'s follower, once', () => {
    const pod: JsonObject = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: 'orders-leader-2', namespace: 't',
        labels: { app: 'orders-leader', role: 'leader', redis_setup_type: 'cluster', 'statefulset.kubernetes.io/pod-name': 'orders-leader-2' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'orders-leader', uid: 'u', controller: true }],
      },
      spec: { containers: [{ name: 'redis', image: 'quay.io/opstree/redis:v7.0.15' }] },
    };
    const out = review(pod, 'premium', 'CREATE');
    const terms = ((out.mutated['spec'] as JsonObject)['affinity'] as { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: Json[] } })
      .podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(terms).toContainEqual({
      labelSelector: { matchLabels: { app: 'orders-follower', role: 'follower', 'statefulset.kubernetes.io/pod-name': 'orders-follower-2' } },
      topologyKey: 'kubernetes.io/hostname',
    });
    expect(review(out.mutated, 'premium', 'CREATE').patch).toEqual([]);
  });

  it('a container whose securityContext names a user keeps it; the image user is added only where none is named', () => {
    const pod = (securityContext: JsonObject): JsonObject => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'r', namespace: 't', labels: { app: 'redis' } },
      spec: { containers: [{ name: 'redis', image: 'redis:7.2.4', securityContext }] },
    });
    const named = review(pod({ runAsUser: 1234 }), 'standard', 'CREATE').patch.map((p) => p.path);
    expect(named).not.toContain('/spec/containers/0/securityContext/runAsUser');
    expect(named).not.toContain('/spec/securityContext/fsGroup');
    const unnamed = review(pod({}), 'standard', 'CREATE').patch;
    expect(unnamed).toContainEqual({ op: 'add', path: '/spec/containers/0/securityContext/runAsUser', value: 999 });
  });
});
