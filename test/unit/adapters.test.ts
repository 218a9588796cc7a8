// Workload adapters: the normalised view (shape, limits, storage, TLS, version, placement,
// selectors) and the slots mutations write into, for every supported apiVersion/kind, plus the
// rule that decides whether a plain Kubernetes object runs Redis.

import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../policies/engine/types.js';
import { imageVersion, isRedisImage, labelsSayRedis } from '../../policies/workloads/detect.js';
import { RECOGNISED_KINDS, adapterFor, recognise, type AdapterResult } from '../../policies/workloads/index.js';
import { containerTls } from '../../policies/workloads/kubernetes.js';
import { V1_NO_AFFINITY } from '../../policies/workloads/kubedb.js';

function adapt(object: JsonObject): AdapterResult {
  const r = recognise(object);
  if (!r.redis) throw new Error(`not recognised: ${r.reason}`);
  return r.result;
}

/** Whether the view says Redis, and its role: non-Redis Pods and templates still get a view. */
function verdict(object: JsonObject): [boolean, string] {
  const { view } = adapt(object);
  return [view.redis, view.role];
}

function notRedis(object: JsonObject): string {
  const r = recognise(object);
  if (r.redis) throw new Error('unexpectedly recognised as Redis');
  return r.reason;
}

const OT = 'redis.redis.opstreelabs.in/v1beta2';
const meta = (name: string, extra: JsonObject = {}): JsonObject => ({ name, namespace: 'tenant-acme', ...extra });

// ---- KubeDB kubedb.com/v1 ------------------------------------------------------------------

describe('KubeDB kubedb.com/v1 Redis', () => {
  const redis = (spec: JsonObject): JsonObject => ({ apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: meta('sessions'), spec });

  it('standalone by default: 1 shard of 1 pod', () => {
    const { view, mutable } = adapt(redis({ version: '7.2.4' }));
    expect(view).toMatchObject({
      apiVersion: 'kubedb.com/v1', kind: 'Redis', engine: 'kubedb', role: 'workload', name: 'sessions',
      namespace: 'tenant-acme', mode: 'Standalone', shards: 1, podsPerShard: 1, pods: 1, version: '7.2.4', controlled: false,
    });
    expect(mutable).toBe(true);
  });

  it('Sentinel mode is Replicated with spec.replicas pods', () => {
    const { view } = adapt(redis({ version: '7.2.4', mode: 'Sentinel', replicas: 3 }));
    expect(view).toMatchObject({ mode: 'Replicated', shards: 1, podsPerShard: 3, pods: 3 });
  });

  it('Cluster mode: cluster.shards shards of cluster.replicas pods (replicas counts the master)', () => {
    expect(adapt(redis({ mode: 'Cluster', cluster: { shards: 4, replicas: 3 } })).view)
      .toMatchObject({ mode: 'Cluster', shards: 4, podsPerShard: 3, pods: 12 });
    expect(adapt(redis({ mode: 'Cluster' })).view).toMatchObject({ mode: 'Cluster', shards: 3, podsPerShard: 2, pods: 6 });
  });

  it('reads limits of the container named redis, wherever it is listed', () => {
    const { view } = adapt(redis({
      mode: 'Cluster', cluster: { shards: 3, replicas: 2 },
      podTemplate: { spec: { containers: [
        { name: 'exporter', image: 'oliver006/redis_exporter:v1.62.0', resources: { limits: { memory: '64Mi', cpu: '50m' } } },
        { name: 'redis', resources: { requests: { cpu: '500m' }, limits: { memory: '2Gi', cpu: '1' } } },
      ] } },
    }));
    expect(view.memoryLimit).toBe('2Gi');
    expect(view.cpuLimit).toBe('1');
    expect(view.totalMemoryLimit).toBe('12Gi');
    expect(view.containers.map((c) => [c.name, c.redis])).toEqual([['exporter', false], ['redis', true]]);
  });

  it('limits are empty when the Redis container has none, and so is the total', () => {
    const { view } = adapt(redis({ podTemplate: { spec: { containers: [{ name: 'redis', resources: { requests: { memory: '1Gi' } } }] } } }));
    expect(view.memoryLimit).toBe('');
    expect(view.cpuLimit).toBe('');
    expect(view.totalMemoryLimit).toBe('');
  });

  it('storage: size and class from spec.storage; storageType Ephemeral has none', () => {
    expect(adapt(redis({
      storageType: 'Durable',
      storage: { storageClassName: 'standard-rwo', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
    })).view.storage).toEqual({ size: '10Gi', storageClass: 'standard-rwo', ephemeral: false, known: true });
    expect(adapt(redis({ storageType: 'Ephemeral' })).view.storage).toEqual({ size: '', storageClass: '', ephemeral: true, known: true });
    expect(adapt(redis({})).view.storage).toEqual({ size: '', storageClass: '', ephemeral: false, known: true });
  });

  it('TLS is on when spec.tls.issuerRef names an issuer', () => {
    expect(adapt(redis({ tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'ClusterIssuer', name: 'platform-ca' } } })).view.tls)
      .toEqual({ enabled: true, detail: 'spec.tls.issuerRef ClusterIssuer/platform-ca' });
    expect(adapt(redis({ tls: { issuerRef: { name: 'team-ca' } } })).view.tls)
      .toEqual({ enabled: true, detail: 'spec.tls.issuerRef Issuer/team-ca' });
    expect(adapt(redis({ tls: { certificates: [{ alias: 'server' }] } })).view.tls)
      .toEqual({ enabled: false, detail: 'spec.tls.issuerRef is not set' });
    expect(adapt(redis({})).view.tls.enabled).toBe(false);
  });

  it('has no affinity field: affinity null, unsupported with a reason, no affinity slot', () => {
    const { view, slots } = adapt(redis({ mode: 'Sentinel', replicas: 3, podTemplate: { spec: { podPlacementPolicy: { name: 'default' } } } }));
    const pod = view.podTemplates[0]!;
    expect(pod.affinity).toBeNull();
    expect(pod.affinitySupported).toBe(false);
    expect(pod.affinityUnsupportedReason).toBe(V1_NO_AFFINITY);
    expect(slots[0]!.affinity).toBeNull();
  });

  it('selector labels are the KubeDB instance labels; Cluster adds the per-shard label', () => {
    const standalone = adapt(redis({ podTemplate: { metadata: { labels: { team: 'orders' } } } })).view.podTemplates[0]!;
    expect(standalone.selectorLabels).toEqual({
      'app.kubernetes.io/instance': 'sessions',
      'app.kubernetes.io/managed-by': 'kubedb.com',
      'app.kubernetes.io/name': 'redises.kubedb.com',
    });
    expect(standalone.labels).toEqual({ team: 'orders', ...standalone.selectorLabels });
    const cluster = adapt(redis({ mode: 'Cluster' })).view.podTemplates[0]!;
    expect(cluster.selectorLabels['redis.kubedb.com/shard']).toBe('${SHARD_INDEX}');
  });

  it('slots: pod securityContext and per-container paths under spec.podTemplate.spec', () => {
    const { slots } = adapt(redis({ podTemplate: { spec: {
      initContainers: [{ name: 'init', image: 'busybox:1.36' }],
      containers: [{ name: 'redis' }, { name: 'exporter', image: 'oliver006/redis_exporter:v1.62.0' }],
    } } }));
    expect(slots).toHaveLength(1);
    expect(slots[0]!.podSecurityContext).toEqual(['spec', 'podTemplate', 'spec', 'securityContext']);
    expect(slots[0]!.containers).toEqual([
      { name: 'redis', kind: 'container', redis: true, securityContext: ['spec', 'podTemplate', 'spec', 'containers', 0, 'securityContext'], resources: ['spec', 'podTemplate', 'spec', 'containers', 0, 'resources'] },
      { name: 'exporter', kind: 'container', redis: false, securityContext: ['spec', 'podTemplate', 'spec', 'containers', 1, 'securityContext'], resources: ['spec', 'podTemplate', 'spec', 'containers', 1, 'resources'] },
      { name: 'init', kind: 'init', redis: false, securityContext: ['spec', 'podTemplate', 'spec', 'initContainers', 0, 'securityContext'], resources: ['spec', 'podTemplate', 'spec', 'initContainers', 0, 'resources'] },
    ]);
  });

  it('an unlisted redis container is implied (the operator adds it) and its slot creates it', () => {
    for (const spec of [{}, { podTemplate: { spec: { containers: [] } } }] as JsonObject[]) {
      const { view, slots } = adapt(redis(spec));
      expect(view.containers.map((c) => [c.name, c.redis])).toEqual([['redis', true]]);
      expect(slots[0]!.containers[0]).toEqual({
        name: 'redis', kind: 'container', redis: true,
        securityContext: ['spec', 'podTemplate', 'spec', 'containers', 0, 'securityContext'],
        resources: ['spec', 'podTemplate', 'spec', 'containers', 0, 'resources'],
        create: { list: ['spec', 'podTemplate', 'spec', 'containers'], index: 0, value: { name: 'redis' } },
      });
    }
  });

  it('reads pod-level host namespaces, OS, volumes and annotations', () => {
    const pod = adapt(redis({ podTemplate: {
      metadata: { annotations: { 'container.apparmor.security.beta.kubernetes.io/redis': 'runtime/default' } },
      spec: { hostNetwork: true, os: { name: 'linux' }, volumes: [{ name: 'tmp', emptyDir: {} }], securityContext: { runAsUser: 999 } },
    } })).view.podTemplates[0]!;
    expect(pod).toMatchObject({
      path: 'spec.podTemplate', hostNetwork: true, hostPID: false, hostIPC: false, os: 'linux',
      volumes: [{ name: 'tmp', emptyDir: {} }], securityContext: { runAsUser: 999 },
      annotations: { 'container.apparmor.security.beta.kubernetes.io/redis': 'runtime/default' },
    });
  });
});

describe('KubeDB kubedb.com/v1 RedisSentinel', () => {
  it('is Replicated with 3 pods by default; selector name is redissentinels.kubedb.com', () => {
    const { view } = adapt({ apiVersion: 'kubedb.com/v1', kind: 'RedisSentinel', metadata: meta('orders-sentinel'), spec: { version: '7.2.4' } });
    expect(view).toMatchObject({ kind: 'RedisSentinel', engine: 'kubedb', mode: 'Replicated', shards: 1, podsPerShard: 3, pods: 3, version: '7.2.4' });
    expect(view.podTemplates[0]!.selectorLabels['app.kubernetes.io/name']).toBe('redissentinels.kubedb.com');
    expect(view.podTemplates[0]!.affinitySupported).toBe(false);
  });

  it('reads the listed sentinel container limits', () => {
    const { view } = adapt({
      apiVersion: 'kubedb.com/v1', kind: 'RedisSentinel', metadata: meta('s'),
      spec: { replicas: 5, podTemplate: { spec: { containers: [{ name: 'redissentinel', resources: { limits: { memory: '256Mi', cpu: '200m' } } }] } } },
    });
    expect(view).toMatchObject({ pods: 5, memoryLimit: '256Mi', cpuLimit: '200m', totalMemoryLimit: '1280Mi' });
  });
});

// ---- KubeDB kubedb.com/v1alpha2 ------------------------------------------------------------

describe('KubeDB kubedb.com/v1alpha2 Redis', () => {
  const redis = (spec: JsonObject): JsonObject => ({ apiVersion: 'kubedb.com/v1alpha2', kind: 'Redis', metadata: meta('catalog'), spec });

  it('Cluster mode: cluster.master shards of cluster.replicas + 1 pods', () => {
    expect(adapt(redis({ mode: 'Cluster', cluster: { master: 3, replicas: 2 } })).view)
      .toMatchObject({ mode: 'Cluster', shards: 3, podsPerShard: 3, pods: 9 });
    expect(adapt(redis({ mode: 'Cluster' })).view).toMatchObject({ shards: 3, podsPerShard: 2, pods: 6 });
  });

  it('Standalone and Sentinel modes', () => {
    expect(adapt(redis({})).view).toMatchObject({ mode: 'Standalone', shards: 1, podsPerShard: 1, pods: 1 });
    expect(adapt(redis({ mode: 'Sentinel', replicas: 3 })).view).toMatchObject({ mode: 'Replicated', podsPerShard: 3, pods: 3 });
  });

  it('the flat main container: resources, containerSecurityContext, args and env', () => {
    const { view } = adapt(redis({
      mode: 'Cluster', cluster: { master: 3, replicas: 1 },
      podTemplate: { spec: {
        resources: { limits: { memory: '4Gi', cpu: '2' } },
        containerSecurityContext: { allowPrivilegeEscalation: false },
        args: ['--maxmemory-policy', 'allkeys-lru'],
        env: [{ name: 'REDIS_EXTRA', value: 'x' }],
        initContainers: [{ name: 'init', image: 'busybox:1.36' }],
      } },
    }));
    expect(view.memoryLimit).toBe('4Gi');
    expect(view.cpuLimit).toBe('2');
    expect(view.totalMemoryLimit).toBe('24Gi');
    const redisC = view.containers.find((c) => c.redis)!;
    expect(redisC).toMatchObject({
      name: 'redis', kind: 'container', securityContext: { allowPrivilegeEscalation: false },
      args: ['--maxmemory-policy', 'allkeys-lru'], env: { REDIS_EXTRA: 'x' },
    });
    expect(view.containers.map((c) => [c.name, c.kind])).toEqual([['redis', 'container'], ['init', 'init']]);
  });

  it('has affinity and topology spread; the affinity slot is spec.podTemplate.spec.affinity', () => {
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } };
    const spread = [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule' }];
    const { view, slots } = adapt(redis({ podTemplate: { spec: { affinity, topologySpreadConstraints: spread } } }));
    const pod = view.podTemplates[0]!;
    expect(pod.affinitySupported).toBe(true);
    expect(pod.affinity).toEqual(affinity);
    expect(pod.topologySpreadConstraints).toEqual(spread);
    expect(adapt(redis({})).view.podTemplates[0]!.affinity).toEqual({});
    expect(slots[0]!.affinity).toEqual(['spec', 'podTemplate', 'spec', 'affinity']);
  });

  it('slots: the main container writes to the flat fields', () => {
    const { slots } = adapt(redis({ podTemplate: { spec: { initContainers: [{ name: 'init' }] } } }));
    expect(slots[0]!.podSecurityContext).toEqual(['spec', 'podTemplate', 'spec', 'securityContext']);
    expect(slots[0]!.containers).toEqual([
      { name: 'redis', kind: 'container', redis: true, securityContext: ['spec', 'podTemplate', 'spec', 'containerSecurityContext'], resources: ['spec', 'podTemplate', 'spec', 'resources'] },
      { name: 'init', kind: 'init', redis: false, securityContext: ['spec', 'podTemplate', 'spec', 'initContainers', 0, 'securityContext'], resources: ['spec', 'podTemplate', 'spec', 'initContainers', 0, 'resources'] },
    ]);
  });

  it('storage, TLS and version as in v1', () => {
    const { view } = adapt(redis({
      version: '7.0.15', storageType: 'Durable',
      storage: { storageClassName: 'fast', resources: { requests: { storage: '50Gi' } } },
      tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'redline-redis-ca' } },
    }));
    expect(view.version).toBe('7.0.15');
    expect(view.storage).toEqual({ size: '50Gi', storageClass: 'fast', ephemeral: false, known: true });
    expect(view.tls).toEqual({ enabled: true, detail: 'spec.tls.issuerRef Issuer/redline-redis-ca' });
  });

  it('Cluster selector carries the per-shard label', () => {
    const pod = adapt(redis({ mode: 'Cluster' })).view.podTemplates[0]!;
    expect(pod.selectorLabels).toEqual({
      'app.kubernetes.io/instance': 'catalog', 'app.kubernetes.io/managed-by': 'kubedb.com',
      'app.kubernetes.io/name': 'redises.kubedb.com', 'redis.kubedb.com/shard': '${SHARD_INDEX}',
    });
  });
});

describe('KubeDB kubedb.com/v1alpha2 RedisSentinel', () => {
  it('is Replicated, flat, with affinity', () => {
    const { view, slots } = adapt({
      apiVersion: 'kubedb.com/v1alpha2', kind: 'RedisSentinel', metadata: meta('orders-sentinel'),
      spec: { replicas: 3, podTemplate: { spec: { resources: { limits: { memory: '128Mi', cpu: '100m' } } } } },
    });
    expect(view).toMatchObject({ mode: 'Replicated', pods: 3, memoryLimit: '128Mi', cpuLimit: '100m', totalMemoryLimit: '384Mi' });
    expect(view.podTemplates[0]!.affinitySupported).toBe(true);
    expect(view.podTemplates[0]!.selectorLabels['app.kubernetes.io/name']).toBe('redissentinels.kubedb.com');
    expect(slots[0]!.affinity).toEqual(['spec', 'podTemplate', 'spec', 'affinity']);
  });
});

// ---- OT-Container-Kit ------------------------------------------------------------------------

describe('OT-Container-Kit Redis (standalone)', () => {
  const ot = (spec: JsonObject): JsonObject => ({ apiVersion: OT, kind: 'Redis', metadata: meta('cache'), spec });

  it('is one standalone pod; version from the image tag', () => {
    const { view, mutable } = adapt(ot({ kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.15' } }));
    expect(view).toMatchObject({ engine: 'opstree', mode: 'Standalone', shards: 1, podsPerShard: 1, pods: 1, version: '7.0.15' });
    expect(view.pdb).toEqual({ supported: false, blocks: [] });
    expect(mutable).toBe(true);
  });

  it('assembles the pod from flat fields', () => {
    const { view, slots } = adapt(ot({
      kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.15', resources: { limits: { memory: '256Mi', cpu: '250m' } } },
      securityContext: { runAsNonRoot: true },
      podSecurityContext: { fsGroup: 1000 },
      affinity: { podAntiAffinity: {} },
      redisExporter: { enabled: true, image: 'quay.io/opstree/redis-exporter:v1.44.0' },
      initContainer: { enabled: true, image: 'busybox:1.36' },
      sidecars: [{ name: 'log-shipper', image: 'fluent/fluent-bit:3.0' }],
    }));
    expect(view.memoryLimit).toBe('256Mi');
    expect(view.cpuLimit).toBe('250m');
    const pod = view.podTemplates[0]!;
    expect(pod).toMatchObject({ path: 'spec', role: 'redis', securityContext: { fsGroup: 1000 }, affinity: { podAntiAffinity: {} }, affinitySupported: true });
    expect(pod.containers.map((c) => [c.name, c.kind, c.redis])).toEqual([
      ['redis', 'container', true], ['redis-exporter', 'container', false], ['init', 'init', false], ['log-shipper', 'container', false],
    ]);
    expect(pod.containers[0]!.securityContext).toEqual({ runAsNonRoot: true });
    expect(slots[0]).toEqual({
      podSecurityContext: ['spec', 'podSecurityContext'],
      affinity: ['spec', 'affinity'],
      containers: [
        { name: 'redis', kind: 'container', redis: true, securityContext: ['spec', 'securityContext'], resources: ['spec', 'kubernetesConfig', 'resources'] },
        { name: 'redis-exporter', kind: 'container', redis: false, securityContext: ['spec', 'redisExporter', 'securityContext'], resources: ['spec', 'redisExporter', 'resources'] },
        { name: 'init', kind: 'init', redis: false, securityContext: ['spec', 'initContainer', 'securityContext'], resources: ['spec', 'initContainer', 'resources'] },
        { name: 'log-shipper', kind: 'container', redis: false, securityContext: ['spec', 'sidecars', 0, 'securityContext'], resources: ['spec', 'sidecars', 0, 'resources'] },
      ],
    });
  });

  it('a disabled exporter or init container is not a container', () => {
    const { view } = adapt(ot({ redisExporter: { enabled: false, image: 'x' }, initContainer: { image: 'y' } }));
    expect(view.containers.map((c) => c.name)).toEqual(['redis']);
  });

  it('storage from storage.volumeClaimTemplate; none means ephemeral', () => {
    expect(adapt(ot({ storage: { volumeClaimTemplate: { spec: { storageClassName: 'ssd', resources: { requests: { storage: '1Gi' } } } } } })).view.storage)
      .toEqual({ size: '1Gi', storageClass: 'ssd', ephemeral: false, known: true });
    expect(adapt(ot({})).view.storage).toEqual({ size: '', storageClass: '', ephemeral: true, known: true });
  });

  it('TLS from spec.TLS.secret.secretName, on the operator\'s image (whose entrypoint alone reads TLS_MODE)', () => {
    const tls = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key', secret: { secretName: 'cache-tls' } };
    expect(adapt(ot({ kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.15' }, TLS: tls })).view.tls)
      .toEqual({ enabled: true, detail: 'spec.TLS.secret.secretName cache-tls' });
    expect(adapt(ot({ kubernetesConfig: { image: 'registry.internal:5000/opstree/redis:v7.0.15' }, TLS: tls })).view.tls.enabled).toBe(true);
    expect(adapt(ot({ kubernetesConfig: { image: 'redis:7.2.4' }, TLS: tls })).view.tls).toEqual({
      enabled: false, detail: "spec.kubernetesConfig.image redis:7.2.4 is not the operator's image (quay.io/opstree/redis), whose entrypoint alone turns spec.TLS on",
    });
    expect(adapt(ot({ TLS: { ca: 'ca.crt' } })).view.tls).toEqual({ enabled: false, detail: 'spec.TLS is not set' });
  });

  it('selects its pods by app=<name>', () => {
    expect(adapt(ot({})).view.podTemplates[0]!.selectorLabels).toEqual({ app: 'cache' });
  });
});

describe('OT-Container-Kit RedisReplication and RedisSentinel', () => {
  it('RedisReplication: clusterSize pods (default 3), one operator PDB block', () => {
    const rep = (spec: JsonObject): JsonObject => ({ apiVersion: OT, kind: 'RedisReplication', metadata: meta('orders'), spec });
    expect(adapt(rep({})).view).toMatchObject({ mode: 'Replicated', shards: 1, podsPerShard: 3, pods: 3 });
    const { view } = adapt(rep({
      clusterSize: 2,
      kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.15', resources: { limits: { memory: '4Gi', cpu: '2' } } },
      pdb: { enabled: true, maxUnavailable: 1 },
      storage: { volumeClaimTemplate: { spec: { resources: { requests: { storage: '20Gi' } } } } },
    }));
    expect(view).toMatchObject({ pods: 2, memoryLimit: '4Gi', totalMemoryLimit: '8Gi', storage: { size: '20Gi', ephemeral: false } });
    expect(view.pdb).toEqual({ supported: true, blocks: [{ path: 'spec.pdb', present: true, enabled: true, minAvailable: '', maxUnavailable: '1', pods: 2 }] });
    expect(adapt(rep({})).view.pdb.blocks).toEqual([{ path: 'spec.pdb', present: false, enabled: false, minAvailable: '', maxUnavailable: '', pods: 3 }]);
    expect(adapt(rep({})).view.podTemplates[0]!.selectorLabels).toEqual({ app: 'orders' });
  });

  it('RedisSentinel: Replicated, no storage, selector app=<name>-sentinel', () => {
    const { view } = adapt({
      apiVersion: OT, kind: 'RedisSentinel', metadata: meta('orders'),
      spec: { clusterSize: 3, kubernetesConfig: { image: 'quay.io/opstree/redis-sentinel:v7.0.15' }, pdb: { enabled: true, minAvailable: 2 } },
    });
    expect(view).toMatchObject({ mode: 'Replicated', pods: 3, version: '7.0.15', storage: { ephemeral: true, known: true } });
    expect(view.podTemplates[0]!.selectorLabels).toEqual({ app: 'orders-sentinel' });
    expect(view.pdb.blocks[0]).toMatchObject({ present: true, enabled: true, minAvailable: '2' });
  });
});

describe('OT-Container-Kit RedisCluster', () => {
  const cluster = (spec: JsonObject): JsonObject => ({ apiVersion: OT, kind: 'RedisCluster', metadata: meta('catalog'), spec });

  it('leaders are shards; pods per shard counts leader plus followers', () => {
    expect(adapt(cluster({})).view).toMatchObject({ mode: 'Cluster', shards: 3, podsPerShard: 2, pods: 6 });
    expect(adapt(cluster({ clusterSize: 6, redisFollower: { replicas: 12 } })).view)
      .toMatchObject({ shards: 6, podsPerShard: 3, pods: 18 });
    expect(adapt(cluster({ clusterSize: 3, redisLeader: { replicas: 4 } })).view)
      .toMatchObject({ shards: 4, podsPerShard: 2, pods: 7 });
  });

  it('role resources override kubernetesConfig; the largest per pod, the sum in total', () => {
    const { view, slots } = adapt(cluster({
      clusterSize: 3,
      kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.15', resources: { limits: { memory: '2Gi', cpu: '1' } } },
      redisLeader: { resources: { limits: { memory: '8Gi', cpu: '4' } } },
    }));
    expect(view.memoryLimit).toBe('8Gi');
    expect(view.cpuLimit).toBe('4');
    expect(view.totalMemoryLimit).toBe('30Gi');
    expect(slots.map((s) => s.containers[0]!.resources)).toEqual([
      ['spec', 'redisLeader', 'resources'], ['spec', 'kubernetesConfig', 'resources'],
    ]);
  });

  it('two pod templates with per-role securityContext, affinity and selector', () => {
    const { view, slots } = adapt(cluster({
      redisLeader: { securityContext: { runAsUser: 1000 }, affinity: { podAntiAffinity: {} } },
      redisFollower: { topologySpreadConstraints: [{ maxSkew: 1 }] },
      podSecurityContext: { fsGroup: 1000 },
    }));
    expect(view.podTemplates.map((p) => [p.path, p.role, p.selectorLabels])).toEqual([
      ['spec.redisLeader', 'leader', { app: 'catalog-leader' }],
      ['spec.redisFollower', 'follower', { app: 'catalog-follower' }],
    ]);
    expect(view.podTemplates[0]!.containers[0]!.securityContext).toEqual({ runAsUser: 1000 });
    expect(view.podTemplates[0]!.affinity).toEqual({ podAntiAffinity: {} });
    expect(view.podTemplates[1]!.affinity).toEqual({});
    expect(view.podTemplates[1]!.topologySpreadConstraints).toEqual([{ maxSkew: 1 }]);
    expect(view.podTemplates[1]!.securityContext).toEqual({ fsGroup: 1000 });
    expect(slots.map((s) => [s.affinity, s.podSecurityContext, s.containers[0]!.securityContext])).toEqual([
      [['spec', 'redisLeader', 'affinity'], ['spec', 'podSecurityContext'], ['spec', 'redisLeader', 'securityContext']],
      [['spec', 'redisFollower', 'affinity'], ['spec', 'podSecurityContext'], ['spec', 'redisFollower', 'securityContext']],
    ]);
  });

  it('hostNetwork applies to both roles', () => {
    expect(adapt(cluster({ hostNetwork: true })).view.podTemplates.map((p) => p.hostNetwork)).toEqual([true, true]);
  });

  it('one PDB block per role', () => {
    const { view } = adapt(cluster({ redisLeader: { pdb: { enabled: true, maxUnavailable: 1 } } }));
    expect(view.pdb).toEqual({ supported: true, blocks: [
      { path: 'spec.redisLeader.pdb', present: true, enabled: true, minAvailable: '', maxUnavailable: '1', pods: 3 },
      { path: 'spec.redisFollower.pdb', present: false, enabled: false, minAvailable: '', maxUnavailable: '', pods: 3 },
    ] });
  });
});

// ---- plain Kubernetes kinds ------------------------------------------------------------------

const podSpec = (containers: JsonObject[], extra: JsonObject = {}): JsonObject => ({ containers, ...extra });
const set = (kind: 'StatefulSet' | 'Deployment' | 'PetSet', spec: JsonObject, metadata: JsonObject = meta('redis')): JsonObject => ({
  apiVersion: kind === 'PetSet' ? 'apps.k8s.appscode.com/v1' : 'apps/v1', kind, metadata, spec,
});

describe.each(['StatefulSet', 'Deployment', 'PetSet'] as const)('%s', (kind) => {
  const base = (replicas: number, extra: JsonObject = {}): JsonObject => set(kind, {
    replicas,
    selector: { matchLabels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'cache' } },
    template: {
      metadata: { labels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'cache', 'pod-template-hash': 'abc' } },
      spec: podSpec([
        { name: 'redis', image: 'docker.io/bitnami/redis:7.2.4-debian-12-r9', resources: { limits: { memory: '1Gi', cpu: '500m' } }, volumeMounts: [{ name: 'data', mountPath: '/data' }] },
        { name: 'metrics', image: 'docker.io/bitnami/redis-exporter:1.62.0' },
      ], { affinity: { podAntiAffinity: {} } }),
    },
    ...extra,
  });

  it('mode from replicas; shards 1; limits of the Redis container', () => {
    expect(adapt(base(1)).view).toMatchObject({ engine: 'kubernetes', role: 'workload', kind, mode: 'Standalone', shards: 1, podsPerShard: 1, pods: 1 });
    const { view } = adapt(base(3));
    expect(view).toMatchObject({ mode: 'Replicated', podsPerShard: 3, pods: 3, memoryLimit: '1Gi', cpuLimit: '500m', totalMemoryLimit: '3Gi', version: '7.2.4' });
    expect(view.containers.map((c) => [c.name, c.redis])).toEqual([['redis', true], ['metrics', false]]);
  });

  it('is validated only: never mutable, no slots to write', () => {
    const { mutable, slots } = adapt(base(3));
    expect(mutable).toBe(false);
    expect(slots).toEqual([{ podSecurityContext: null, affinity: null, containers: [] }]);
  });

  it('affinity is read (supported); selector labels come from spec.selector.matchLabels', () => {
    const pod = adapt(base(3)).view.podTemplates[0]!;
    expect(pod).toMatchObject({ path: 'spec.template', affinitySupported: true, affinity: { podAntiAffinity: {} } });
    expect(pod.selectorLabels).toEqual({ 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'cache' });
  });

  it('without a selector, the identity labels of the template are the selector', () => {
    const o = base(3);
    delete (o['spec'] as JsonObject)['selector'];
    expect(adapt(o).view.podTemplates[0]!.selectorLabels).toEqual({ 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'cache' });
  });

  it('TLS from args or env', () => {
    const withArgs = base(1);
    const c = (((withArgs['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject)['containers'] as JsonObject[];
    c[0]!['args'] = ['--tls-port', '6379', '--port', '0'];
    expect(adapt(withArgs).view.tls).toEqual({ enabled: true, detail: '--tls-port 6379 --port 0' });
    expect(adapt(base(1)).view.tls.enabled).toBe(false);
  });

  if (kind === 'Deployment') {
    it('has no persistent storage to know about', () => {
      expect(adapt(base(1)).view.storage).toEqual({ size: '', storageClass: '', ephemeral: false, known: false });
    });
  } else {
    it('storage from the volumeClaimTemplate the Redis container mounts', () => {
      const o = base(1, { volumeClaimTemplates: [
        { metadata: { name: 'logs' }, spec: { resources: { requests: { storage: '1Gi' } } } },
        { metadata: { name: 'data' }, spec: { storageClassName: 'ssd', resources: { requests: { storage: '8Gi' } } } },
      ] });
      expect(adapt(o).view.storage).toEqual({ size: '8Gi', storageClass: 'ssd', ephemeral: false, known: true });
      expect(adapt(base(1)).view.storage).toEqual({ size: '', storageClass: '', ephemeral: true, known: true });
    });
  }
});

describe('v1 Pod', () => {
  const pod = (metadata: JsonObject, spec: JsonObject): JsonObject => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });

  it('a bare Redis pod is a standalone pod, mutable, with slots under spec', () => {
    const { view, slots, mutable } = adapt(pod(meta('scratch', { labels: { app: 'redis' } }), podSpec(
      [{ name: 'redis', image: 'redis:7.2.4', resources: { limits: { memory: '64Mi', cpu: '100m' } } }],
      { initContainers: [{ name: 'init', image: 'busybox' }], ephemeralContainers: [{ name: 'debug', image: 'busybox' }] },
    )));
    expect(view).toMatchObject({ role: 'pod', engine: 'kubernetes', mode: 'Standalone', pods: 1, controlled: false, memoryLimit: '64Mi', cpuLimit: '100m', version: '7.2.4' });
    expect(mutable).toBe(true);
    expect(view.containers.map((c) => [c.name, c.kind])).toEqual([['redis', 'container'], ['init', 'init'], ['debug', 'ephemeral']]);
    expect(slots[0]!.podSecurityContext).toEqual(['spec', 'securityContext']);
    expect(slots[0]!.affinity).toEqual(['spec', 'affinity']);
    expect(slots[0]!.containers.map((c) => c.securityContext)).toEqual([
      ['spec', 'containers', 0, 'securityContext'], ['spec', 'initContainers', 0, 'securityContext'],
    ]);
    expect(view.podTemplates[0]!.selectorLabels).toEqual({ app: 'redis' });
  });

  it('a Pod of a StatefulSet or PetSet is controlled and has no mode of its own', () => {
    for (const owner of ['StatefulSet', 'PetSet']) {
      const { view } = adapt(pod(meta('redis-0', {
        labels: { 'app.kubernetes.io/name': 'redis', 'statefulset.kubernetes.io/pod-name': 'redis-0' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: owner, name: 'redis', uid: 'u', controller: true }],
      }), podSpec([{ name: 'redis', image: 'redis:7' }])));
      expect(view.controlled).toBe(true);
      expect(view.mode).toBe('');
      expect(view.podTemplates[0]!.selectorLabels).toEqual({ 'app.kubernetes.io/name': 'redis' });
    }
  });

  it('a Pod of a ReplicaSet, or with a non-controller owner, is not controlled', () => {
    for (const ref of [{ kind: 'ReplicaSet', controller: true }, { kind: 'StatefulSet', controller: false }]) {
      const { view } = adapt(pod(meta('p', { ownerReferences: [{ apiVersion: 'apps/v1', name: 'x', uid: 'u', ...ref }] }), podSpec([{ name: 'redis', image: 'redis:7' }])));
      expect(view.controlled).toBe(false);
      expect(view.mode).toBe('Standalone');
    }
  });

  it('uses generateName when there is no name', () => {
    expect(adapt(pod({ generateName: 'redis-', namespace: 'x' }, podSpec([{ name: 'r', image: 'redis:7' }]))).view.name).toBe('redis-');
  });

  it('the main Redis container is the one named redis/valkey, else the one with a Redis image; every Redis image counts', () => {
    const byImage = adapt(pod(meta('p'), podSpec([{ name: 'proxy', image: 'envoyproxy/envoy:v1.30' }, { name: 'server', image: 'valkey/valkey:8.0' }]))).view;
    expect(byImage.containers.map((c) => c.redis)).toEqual([false, true]);
    expect(byImage.version).toBe('8.0');
    // Changed with issue 15: a second container running a Redis image is a Redis server too.
    const byName = adapt(pod(meta('p', { labels: { app: 'redis' } }), podSpec([{ name: 'sidecar', image: 'redis:6' }, { name: 'valkey', image: 'ghcr.io/acme/kv:1.0' }]))).view;
    expect(byName.containers.map((c) => c.redis)).toEqual([true, true]);
    const labelled = adapt(pod(meta('p', { labels: { app: 'redis' } }), podSpec([{ name: 'proxy', image: 'envoyproxy/envoy:v1.30' }, { name: 'valkey', image: 'ghcr.io/acme/kv:1.0' }]))).view;
    expect(labelled.containers.map((c) => c.redis)).toEqual([false, true]);
  });
});

describe('policy/v1 PodDisruptionBudget', () => {
  const pdb = (spec: JsonObject, apiVersion = 'policy/v1'): JsonObject => ({ apiVersion, kind: 'PodDisruptionBudget', metadata: meta('cache'), spec });

  it('selecting Redis pods: role pdb, the budget as strings', () => {
    const { view, slots, mutable } = adapt(pdb({ maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'redis', tier: 'cache' } } }));
    expect(view).toMatchObject({ role: 'pdb', kind: 'PodDisruptionBudget', podTemplates: [], pods: 0 });
    expect(view.disruptionBudget).toEqual({ selectsRedis: true, selector: { 'app.kubernetes.io/name': 'redis', tier: 'cache' }, minAvailable: '', maxUnavailable: '1' });
    expect(slots).toEqual([]);
    expect(mutable).toBe(false);
    expect(adapt(pdb({ minAvailable: '50%', selector: { matchLabels: { app: 'valkey' } } })).view.disruptionBudget)
      .toMatchObject({ minAvailable: '50%', maxUnavailable: '' });
  });

  it('single-value In expressions count as labels; policy/v1beta1 is understood', () => {
    const { view } = adapt(pdb({ maxUnavailable: '1', selector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['redises.kubedb.com'] }] } }, 'policy/v1beta1'));
    expect(view.disruptionBudget!.selector).toEqual({ 'app.kubernetes.io/name': 'redises.kubedb.com' });
  });

  it('a PDB of other pods is not Redis', () => {
    expect(notRedis(pdb({ maxUnavailable: 1, selector: { matchLabels: { app: 'nginx' } } }))).toBe('PodDisruptionBudget does not select Redis pods');
    expect(notRedis(pdb({ maxUnavailable: 1, selector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['redis'] }] } }))).toMatch(/does not select Redis/);
    expect(notRedis(pdb({ maxUnavailable: 1 }))).toMatch(/does not select Redis/);
  });
});

// ---- recognition of plain kinds ---------------------------------------------------------------

describe('Redis recognition of plain kinds', () => {
  const deployment = (labels: Record<string, string>, images: string[], init: string[] = []): JsonObject => set('Deployment', {
    replicas: 1,
    template: {
      metadata: { labels },
      spec: podSpec(images.map((image, i) => ({ name: `c${i}`, image })), { initContainers: init.map((image, i) => ({ name: `i${i}`, image })) }),
    },
  });
  const pod = (labels: Record<string, string>, images: string[]): JsonObject =>
    ({ apiVersion: 'v1', kind: 'Pod', metadata: meta('p', { labels }), spec: podSpec(images.map((image, i) => ({ name: `c${i}`, image }))) });

  it.each([
    [{ 'app.kubernetes.io/name': 'redis' }],
    [{ 'app.kubernetes.io/name': 'valkey' }],
    [{ 'app.kubernetes.io/name': 'redises.kubedb.com' }],
    [{ 'app.kubernetes.io/name': 'Redis' }],
    [{ 'app.kubernetes.io/component': 'redis' }],
    [{ app: 'redis' }],
    [{ app: 'redis-cluster' }],
  ])('labels %j say Redis', (labels) => {
    expect(verdict(deployment(labels, ['ghcr.io/acme/kv:1.0']))).toEqual([true, 'workload']);
    expect(verdict(pod(labels, ['ghcr.io/acme/kv:1.0']))).toEqual([true, 'pod']);
  });

  it.each([
    'redis:7', 'redis', 'redis:7.2.4-alpine', 'docker.io/library/redis:7.2', 'bitnami/redis:7.2.4', 'docker.io/bitnami/redis-cluster:7.2',
    'valkey/valkey:8', 'redis/redis-stack-server:7.2.0-v10', 'registry.internal:5000/redis:7',
    'redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', 'quay.io/opstree/redis-sentinel:v7.0.15',
    'eqalpha/keydb:x86_64_v6.3.4', 'docker.io/bitnami/keydb:6.3', 'redislabs/redisearch:2.8', 'redislabs/rejson:2.6', 'redislabs/redismod:latest',
  ])('image %s says Redis', (image) => {
    expect(isRedisImage(image)).toBe(true);
    expect(verdict(deployment({ app: 'cache' }, [image]))).toEqual([true, 'workload']);
    expect(verdict(pod({}, [image]))).toEqual([true, 'pod']);
  });

  it.each([
    'oliver006/redis_exporter:v1.62.0', 'bitnami/redis-exporter:1.62.0', 'nginx:1.27', 'nginx',
    'ghcr.io/acme/rediscache:1', 'registry.internal:5000/nginx:1', 'postgres:16',
    'quay.io/opstree/redis-operator:v0.18.0', 'rediscommander/redis-commander:latest', 'redis/redisinsight:2.60',
    'ghcr.io/acme/keydbtool:1', 'acme/keydb-exporter:1',
  ])('image %s alone does not say Redis: other-workload / other-pod (changed with issue 15: was not recognised)', (image) => {
    expect(isRedisImage(image)).toBe(false);
    expect(verdict(deployment({ app: 'web' }, [image]))).toEqual([false, 'other-workload']);
    expect(verdict(pod({ app: 'web' }, [image]))).toEqual([false, 'other-pod']);
  });

  it('an exporter next to nginx is not Redis; next to redis it is', () => {
    expect(verdict(deployment({}, ['nginx:1.27', 'oliver006/redis_exporter:v1.62.0']))).toEqual([false, 'other-workload']);
    expect(verdict(deployment({}, ['redis:7', 'oliver006/redis_exporter:v1.62.0']))).toEqual([true, 'workload']);
  });

  it('labels that do not say Redis', () => {
    expect(labelsSayRedis({ app: 'nginx', 'app.kubernetes.io/name': 'redis-exporter', 'app.kubernetes.io/part-of': 'redis' })).toBe(false);
    expect(labelsSayRedis({ redis: 'true' })).toBe(false);
  });

  it('set labels may be on the set or on its pod template; init containers count', () => {
    const onSet = set('StatefulSet', { template: { spec: podSpec([{ name: 'kv', image: 'ghcr.io/acme/kv:1' }]) } }, meta('s', { labels: { app: 'redis' } }));
    expect(verdict(onSet)).toEqual([true, 'workload']);
    expect(verdict(deployment({}, ['ghcr.io/acme/kv:1'], ['redis:7']))).toEqual([true, 'workload']);
  });

  it('imageVersion reads the leading version of the tag', () => {
    expect(imageVersion('bitnami/redis:7.2.4-debian-12-r9')).toBe('7.2.4');
    expect(imageVersion('quay.io/opstree/redis:v7.0.15')).toBe('7.0.15');
    expect(imageVersion('registry.internal:5000/redis:7')).toBe('7');
    expect(imageVersion('redis:latest')).toBe('');
    expect(imageVersion('redis')).toBe('');
    expect(imageVersion('redis:7.2@sha256:abc')).toBe('7.2');
  });
});

describe('containerTls', () => {
  const c = (args: string[], env: Record<string, string> = {}) => ({
    name: 'redis', kind: 'container' as const, image: 'redis:7', redis: true, securityContext: {},
    resources: { limits: {}, requests: {} }, ports: [], args, env, imageUser: 999, imageRunsAsNonRoot: false,
  });

  it('TLS port with the plain port disabled', () => {
    expect(containerTls(c(['redis-server', '--tls-port', '6379', '--port', '0'])).enabled).toBe(true);
    expect(containerTls(c(['--port=0', '--tls-port=6380'])).enabled).toBe(true);
  });

  it('TLS port with the plain port open, or TLS port 0, is not TLS only', () => {
    expect(containerTls(c(['--tls-port', '6380']))).toEqual({ enabled: false, detail: '--tls-port is set but the plain port is not disabled (--port 0)' });
    expect(containerTls(c(['--tls-port', '0', '--port', '0'])).enabled).toBe(false);
    expect(containerTls(c(['--port', '6379']))).toEqual({ enabled: false, detail: 'no --tls-port and no REDIS_TLS_ENABLED' });
  });

  it('REDIS_TLS_ENABLED / VALKEY_TLS_ENABLED yes|true', () => {
    expect(containerTls(c([], { REDIS_TLS_ENABLED: 'yes' }))).toEqual({ enabled: true, detail: 'REDIS_TLS_ENABLED=yes' });
    expect(containerTls(c([], { VALKEY_TLS_ENABLED: 'TRUE' })).enabled).toBe(true);
    expect(containerTls(c([], { REDIS_TLS_ENABLED: 'no' })).enabled).toBe(false);
    expect(containerTls(undefined)).toEqual({ enabled: false, detail: 'no Redis container' });
  });
});

describe('unsupported kinds', () => {
  it.each([
    ['apps/v1beta2', 'ReplicaSet'], ['v1', 'Service'], ['v1', 'ConfigMap'], ['batch/v2alpha1', 'CronJob'], ['kubedb.com/v1', 'Postgres'],
    ['cert-manager.io/v1alpha2', 'Certificate'], ['cert-manager.io/v1', 'Issuer'],
    ['kubedb.com/v1beta1', 'Redis'], ['redis.redis.opstreelabs.in/v1beta1', 'RedisCluster'], ['apps/v1beta1', 'StatefulSet'],
  ])('%s %s is not a supported kind', (apiVersion, kind) => {
    expect(notRedis({ apiVersion, kind, metadata: meta('x'), spec: { template: { metadata: { labels: { app: 'redis' } } } } }))
      .toBe(`${apiVersion}/${kind} is not a supported kind`);
  });

  it('an object without apiVersion or kind', () => {
    expect(notRedis({})).toBe('?/? is not a supported kind');
  });

  it('lists every supported apiVersion/kind', () => {
    expect(RECOGNISED_KINDS.map((k) => `${k.apiVersion}/${k.kind}`).sort()).toEqual([
      'apps.k8s.appscode.com/v1/PetSet', 'apps/v1/Deployment', 'apps/v1/StatefulSet',
      'apps/v1/ReplicaSet', 'apps/v1/DaemonSet', 'batch/v1/Job', 'batch/v1/CronJob', 'batch/v1beta1/CronJob', 'v1/ReplicationController',
      'cert-manager.io/v1/Certificate',
      'kubedb.com/v1/Redis', 'kubedb.com/v1/RedisSentinel', 'kubedb.com/v1alpha2/Redis', 'kubedb.com/v1alpha2/RedisSentinel',
      'policy/v1/PodDisruptionBudget', 'policy/v1beta1/PodDisruptionBudget',
      `${OT}/Redis`, `${OT}/RedisCluster`, `${OT}/RedisReplication`, `${OT}/RedisSentinel`,
      'app.redislabs.com/v1/RedisEnterpriseCluster', 'app.redislabs.com/v1alpha1/RedisEnterpriseCluster',
      'app.redislabs.com/v1alpha1/RedisEnterpriseDatabase', 'app.redislabs.com/v1alpha1/RedisEnterpriseActiveActiveDatabase',
      'app.redislabs.com/v1alpha1/RedisEnterpriseRemoteCluster', 'databases.spotahome.com/v1/RedisFailover',
      'v1/Pod',
    ].sort());
    expect(adapterFor('kubedb.com/v1', 'Redis')?.kind).toBe('Redis');
    expect(adapterFor('kubedb.com/v1', 'Nope')).toBeUndefined();
  });
});

// ---- regressions: adapter defects found by these tests, since fixed -------------------------

describe('BUG (fixed): adapter defects', () => {
  it('BUG kubernetes.ts: a StatefulSet owned by an operator CR (controller ownerReference) is controlled', () => {
    // view.ts documents `controlled` as "a set with a controller ownerReference (an operator's)",
    // but the set adapter only accepts StatefulSet/PetSet owners, so the StatefulSet the OT operator
    // creates for a RedisReplication (or the PetSet KubeDB creates for a Redis) is validated as if
    // a tenant had written it (TLS, plan limits, anti-affinity) — and denied.
    const { view } = adapt(set('StatefulSet', {
      replicas: 3,
      selector: { matchLabels: { app: 'orders' } },
      template: { metadata: { labels: { app: 'orders' } }, spec: podSpec([{ name: 'orders', image: 'quay.io/opstree/redis:v7.0.15' }]) },
    }, meta('orders', { ownerReferences: [{ apiVersion: OT, kind: 'RedisReplication', name: 'orders', uid: 'u', controller: true }] })));
    expect(view.controlled).toBe(true);
  });

  it('BUG kubedb.ts: the implied main container of a KubeDB v1 RedisSentinel is "redissentinel"', () => {
    // KubeDB's defaulting looks the sentinel container up by name (kubedb.RedisSentinelContainerName
    // = "redissentinel"). Creating a container named "redis" adds an image-less extra container
    // instead of configuring the sentinel one.
    const { view, slots } = adapt({ apiVersion: 'kubedb.com/v1', kind: 'RedisSentinel', metadata: meta('s'), spec: { replicas: 3 } });
    expect(view.containers.find((c) => c.redis)?.name).toBe('redissentinel');
    expect(slots[0]!.containers[0]!.create?.value).toEqual({ name: 'redissentinel' });
  });

  it('BUG kubedb.ts/podspec.ts: a KubeDB v1 sidecar is not the Redis container', () => {
    // KubeDB merges podTemplate containers by name; one not named "redis" is a sidecar and the
    // operator still adds the `redis` container. The adapter falls back to the first container, so
    // a tenant can list a small sidecar to pass memory-per-pod while Redis itself runs unchecked.
    const { view } = adapt({
      apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: meta('s'),
      spec: { podTemplate: { spec: { containers: [{ name: 'log-shipper', image: 'fluent/fluent-bit:3.0', resources: { limits: { memory: '64Mi', cpu: '50m' } } }] } } },
    });
    expect(view.containers.find((c) => c.redis)?.name).toBe('redis');
    expect(view.memoryLimit).toBe('');
  });

  it('BUG podspec.ts: integer quantities in CRs (x-kubernetes-int-or-string, e.g. cpu: 2) are read', () => {
    // CRDs keep int-or-string values as written, so `limits: {cpu: 2}` arrives as a number;
    // stringMap() drops it and cpu-per-pod then denies with "has no CPU limit".
    const { view } = adapt({
      apiVersion: OT, kind: 'RedisReplication', metadata: meta('orders'),
      spec: { clusterSize: 3, kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.15', resources: { limits: { cpu: 2, memory: '4Gi' } } } },
    });
    expect(view.cpuLimit).toBe('2');
  });
});
