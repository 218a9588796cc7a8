// Issue 15 (tenant isolation): what the workload views carry so policies can close every escape —
// roles for Pods and templates that are not Redis, Redis recognised by operator labels, owners and
// commands, resources summed over every Redis server with 0 seen for what it is, the operator CR
// fields that reach the pod spec, Services, cross-namespace references, Secrets, issuers and
// cert-manager Certificates.

import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../policies/engine/types.js';
import { commandRunsRedis } from '../../policies/workloads/detect.js';
import { RECOGNISED_KINDS, recognise, type AdapterResult, type WorkloadView } from '../../policies/workloads/index.js';

function adapt(object: JsonObject): AdapterResult {
  const r = recognise(object);
  if (!r.redis) throw new Error(`not recognised: ${r.reason}`);
  return r.result;
}
const view = (object: JsonObject): WorkloadView => adapt(object).view;

const OT = 'redis.redis.opstreelabs.in/v1beta2';
const NS = 'tenant-acme';
const meta = (name: string, extra: JsonObject = {}): JsonObject => ({ name, namespace: NS, ...extra });
const pod = (metadata: JsonObject, spec: JsonObject): JsonObject => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });
const deployment = (template: JsonObject, metadata: JsonObject = meta('web')): JsonObject =>
  ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec: { replicas: 2, template } });
const ot = (kind: string, spec: JsonObject, name = 'orders'): JsonObject => ({ apiVersion: OT, kind, metadata: meta(name), spec });
const kubedb = (spec: JsonObject, version = 'v1', kind = 'Redis'): JsonObject =>
  ({ apiVersion: `kubedb.com/${version}`, kind, metadata: meta('sessions'), spec });

// ---- roles ---------------------------------------------------------------------------------------

describe('Pods and templates that do not run Redis still get a view', () => {
  const root = pod(meta('debug'), {
    hostPID: true, hostNetwork: true, nodeName: 'node-1',
    containers: [{ name: 'sh', image: 'busybox:1.36', securityContext: { privileged: true } }],
    volumes: [{ name: 'host', hostPath: { path: '/' } }],
  });

  it('a busybox Pod is role other-pod, not Redis, never mutated, with everything pod-security reads', () => {
    const r = recognise(root);
    expect(r.redis).toBe(true);
    const { view: v, mutable, slots } = adapt(root);
    expect(v).toMatchObject({ role: 'other-pod', redis: false, kind: 'Pod', mode: '', controlled: false, memoryLimit: '', cpuLimit: '' });
    expect(mutable).toBe(false);
    expect(slots).toEqual([{ podSecurityContext: null, affinity: null, containers: [] }]);
    expect(v.podTemplates[0]).toMatchObject({ hostPID: true, hostNetwork: true, nodeName: 'node-1', volumes: [{ name: 'host', hostPath: { path: '/' } }] });
    expect(v.containers).toEqual([expect.objectContaining({ name: 'sh', redis: false, securityContext: { privileged: true } })]);
  });

  it('KubeDB-looking images of other stores (Dragonfly, KeyDB by image only) are other-pod, reviewed all the same', () => {
    expect(view(pod(meta('d'), { containers: [{ name: 'df', image: 'docker.dragonflydb.io/dragonflydb/dragonfly:v1.20' }] })).role).toBe('other-pod');
  });

  it('a non-Redis Deployment is role other-workload', () => {
    const v = view(deployment({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } }));
    expect(v).toMatchObject({ role: 'other-workload', redis: false, pods: 2 });
    expect(v.podTemplates[0]!.containers.map((c) => c.redis)).toEqual([false]);
  });

  it('every view says redis: true for Redis workloads, pods and PDBs', () => {
    expect(view(kubedb({})).redis).toBe(true);
    expect(view(ot('RedisReplication', {})).redis).toBe(true);
    expect(view(pod(meta('r'), { containers: [{ name: 'redis', image: 'redis:7' }] })).redis).toBe(true);
    expect(view({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta('p'), spec: { selector: { matchLabels: { app: 'redis' } } } }).redis).toBe(true);
  });
});

describe('ReplicaSet, DaemonSet, Job, CronJob and ReplicationController', () => {
  const template = (image: string): JsonObject => ({
    metadata: { labels: { app: 'cache' } },
    spec: { containers: [{ name: 'server', image, resources: { limits: { memory: '1Gi', cpu: '1' } } }] },
  });
  const cases: [string, string, (t: JsonObject) => JsonObject, number, string][] = [
    ['apps/v1', 'ReplicaSet', (t) => ({ replicas: 3, selector: { matchLabels: { app: 'cache' } }, template: t }), 3, 'spec.template'],
    ['apps/v1', 'DaemonSet', (t) => ({ selector: { matchLabels: { app: 'cache' } }, template: t }), 1, 'spec.template'],
    ['batch/v1', 'Job', (t) => ({ parallelism: 2, template: t }), 2, 'spec.template'],
    ['batch/v1', 'CronJob', (t) => ({ schedule: '* * * * *', jobTemplate: { spec: { template: t } } }), 1, 'spec.jobTemplate.spec.template'],
    ['batch/v1beta1', 'CronJob', (t) => ({ schedule: '* * * * *', jobTemplate: { spec: { parallelism: 4, template: t } } }), 4, 'spec.jobTemplate.spec.template'],
    ['v1', 'ReplicationController', (t) => ({ replicas: 2, selector: { app: 'cache' }, template: t }), 2, 'spec.template'],
  ];

  it.each(cases)('%s %s running Redis is a workload with its replicas as pods; never mutable', (apiVersion, kind, spec, pods, path) => {
    const { view: v, mutable } = adapt({ apiVersion, kind, metadata: meta('cache'), spec: spec(template('redis:7.2')) });
    expect(v).toMatchObject({ kind, role: 'workload', redis: true, pods, podsPerShard: pods, memoryLimit: '1Gi', version: '7.2' });
    expect(v.mode).toBe(kind === 'DaemonSet' || pods > 1 ? 'Replicated' : 'Standalone');
    expect(v.podTemplates[0]!.path).toBe(path);
    expect(mutable).toBe(false);
  });

  it.each(cases)('%s %s not running Redis is other-workload', (apiVersion, kind, spec) => {
    expect(view({ apiVersion, kind, metadata: meta('web'), spec: spec(template('nginx:1.27')) })).toMatchObject({ role: 'other-workload', redis: false });
  });

  it('ReplicationController: the selector is a plain map', () => {
    const v = view({ apiVersion: 'v1', kind: 'ReplicationController', metadata: meta('c'), spec: { selector: { app: 'cache' }, template: template('redis:7') } });
    expect(v.podTemplates[0]!.selectorLabels).toEqual({ app: 'cache' });
  });
});

// ---- recognition by command, operator labels and owners -------------------------------------------

describe('Redis recognised by what a container runs, not only its image', () => {
  it.each([
    [['redis-server', '/etc/redis.conf']], [['/usr/local/bin/valkey-server']], [['redis-sentinel', '/s.conf']],
    [['keydb-server']], [['sh', '-c', 'exec /usr/bin/redis-server --port 6380']],
  ])('command %j runs Redis', (command) => {
    expect(commandRunsRedis(command.join(' '))).toBe(true);
    expect(view(pod(meta('p'), { containers: [{ name: 'x', image: 'ghcr.io/acme/tools:1', command }] })).role).toBe('pod');
  });

  it.each([[['redis-cli', 'ping']], [['nginx', '-g', 'daemon off;']], [['/bin/redis_exporter']], [['sh', '-c', 'echo redis-server-like']]])(
    'command %j does not', (command) => {
      expect(view(pod(meta('p'), { containers: [{ name: 'x', image: 'busybox', command }] })).role).toBe('other-pod');
    },
  );

  it('args alone (the image entrypoint is replaced by nothing) count too', () => {
    expect(view(deployment({ spec: { containers: [{ name: 'x', image: 'busybox', args: ['redis-server'] }] } })).role).toBe('workload');
  });

  it('an exporter-named image running redis-server is a Redis server: its limits count', () => {
    const v = view(pod(meta('p', { labels: { app: 'redis' } }), { containers: [
      { name: 'redis', image: 'redis:7', resources: { limits: { memory: '256Mi', cpu: '250m' } } },
      { name: 'metrics', image: 'oliver006/redis_exporter:v1.62.0', command: ['redis-server', '--save', ''], resources: { limits: { memory: '4Gi', cpu: '2' } } },
    ] }));
    expect(v.containers.map((c) => [c.name, c.redis])).toEqual([['redis', true], ['metrics', true]]);
    expect(v.memoryLimit).toBe(String(256 + 4096) + 'Mi');
    expect(v.cpuLimit).toBe('2250m');
  });
});

describe('Redis recognised by operator labels and owner references', () => {
  const otStatefulSetOwner = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'orders', uid: 'u1', controller: true };

  it('a Pod of an OT StatefulSet, image not named redis, is a Redis pod by its OT labels (controlled)', () => {
    const v = view(pod(meta('orders-0', {
      labels: { app: 'orders', redis_setup_type: 'replication', role: 'replication' },
      ownerReferences: [otStatefulSetOwner],
    }), { containers: [{ name: 'orders', image: 'ghcr.io/evil/kv:1', resources: { limits: { memory: '64Gi' } } }] }));
    expect(v).toMatchObject({ role: 'pod', redis: true, controlled: true, memoryLimit: '64Gi' });
  });

  it.each([
    [{ redis_setup_type: 'cluster' }],
    [{ redis_setup_type: 'sentinel' }],
    [{ app: 'catalog-leader', role: 'leader' }],
    [{ app: 'catalog-follower', role: 'follower' }],
    [{ 'app.kubernetes.io/managed-by': 'kubedb.com', 'app.kubernetes.io/name': 'redissentinels.kubedb.com' }],
  ])('labels %j say Redis', (labels) => {
    expect(view(pod(meta('p', { labels }), { containers: [{ name: 'x', image: 'ghcr.io/acme/kv:1' }] })).role).toBe('pod');
  });

  it.each([[{ app: 'web', role: 'leader' }], [{ redis_setup_type: 'none' }], [{ 'app.kubernetes.io/managed-by': 'kubedb.com', 'app.kubernetes.io/name': 'postgreses.kubedb.com' }]])(
    'labels %j do not', (labels) => {
      expect(view(pod(meta('p', { labels }), { containers: [{ name: 'x', image: 'ghcr.io/acme/kv:1' }] })).role).toBe('other-pod');
    },
  );

  it('a StatefulSet owned by an OT CR or a PetSet owned by a KubeDB Redis is Redis whatever its image and labels', () => {
    const sts = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: meta('orders', {
      ownerReferences: [{ apiVersion: OT, kind: 'RedisReplication', name: 'orders', uid: 'u', controller: true }],
    }), spec: { replicas: 3, template: { spec: { containers: [{ name: 'orders', image: 'ghcr.io/evil/kv:1' }] } } } };
    expect(view(sts)).toMatchObject({ role: 'workload', redis: true, controlled: true });
    const petset = { apiVersion: 'apps.k8s.appscode.com/v1', kind: 'PetSet', metadata: meta('sessions', {
      ownerReferences: [{ apiVersion: 'kubedb.com/v1', kind: 'Redis', name: 'sessions', uid: 'u', controller: true }],
    }), spec: { template: { spec: { containers: [{ name: 'db', image: 'ghcr.io/evil/kv:1' }] } } } };
    expect(view(petset).role).toBe('workload');
  });

  it('an owner of another group with a Redis-like kind does not count', () => {
    const p = pod(meta('p', { ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'Redis', name: 'x', uid: 'u' }] }), { containers: [{ name: 'x', image: 'busybox' }] });
    expect(view(p).role).toBe('other-pod');
  });
});

// ---- resources -------------------------------------------------------------------------------------

describe('resources: summed over Redis servers; 0 is no limit', () => {
  const redisPod = (containers: JsonObject[], initContainers: JsonObject[] = []): WorkloadView =>
    view(pod(meta('p', { labels: { app: 'redis' } }), { containers, initContainers }));

  it.each(['0', '0Mi', '0Gi', 0])('a memory limit of %j is no limit: memoryLimit empty, listed in zeroResources', (zero) => {
    const v = redisPod([{ name: 'redis', image: 'redis:7', resources: { limits: { memory: zero, cpu: '1' }, requests: { memory: '1Gi' } } }]);
    expect(v.memoryLimit).toBe('');
    expect(v.totalMemoryLimit).toBe('');
    expect(v.cpuLimit).toBe('1');
    expect(v.zeroResources).toEqual(['redis limits.memory']);
  });

  it('zero requests and zero resources of non-Redis containers are listed too', () => {
    const v = redisPod([
      { name: 'redis', image: 'redis:7', resources: { limits: { memory: '1Gi', cpu: '0m' }, requests: { cpu: 0 } } },
      { name: 'shipper', image: 'fluent/fluent-bit:3', resources: { limits: { memory: '0' } } },
    ]);
    expect(v.zeroResources).toEqual(['redis limits.cpu', 'redis requests.cpu', 'shipper limits.memory']);
    expect(v.cpuLimit).toBe('');
    expect(v.cpuRequest).toBe('');
  });

  it('requests are summed like limits; missing on one Redis container means unknown', () => {
    const both = redisPod([
      { name: 'redis', image: 'redis:7', resources: { requests: { memory: '1Gi', cpu: '500m' } } },
      { name: 'second', image: 'valkey/valkey:8', resources: { requests: { memory: '1Gi', cpu: '500m' } } },
      { name: 'exporter', image: 'oliver006/redis_exporter:v1', resources: { requests: { memory: '8Gi', cpu: '8' } } },
    ]);
    expect(both.memoryRequest).toBe('2Gi');
    expect(both.cpuRequest).toBe('1');
    expect(both.memoryLimit).toBe('');
    const one = redisPod([
      { name: 'redis', image: 'redis:7', resources: { limits: { memory: '1Gi' } } },
      { name: 'second', image: 'valkey/valkey:8' },
    ]);
    expect(one.memoryLimit).toBe('');
  });

  it('a restartable init container (native sidecar) running Redis counts; a plain init container does not', () => {
    const v = redisPod(
      [{ name: 'redis', image: 'redis:7', resources: { limits: { memory: '1Gi' } } }],
      [
        { name: 'side', image: 'redis:7', restartPolicy: 'Always', resources: { limits: { memory: '1Gi' } } },
        { name: 'prep', image: 'redis:7', command: ['redis-cli', '--version'] },
      ],
    );
    expect(v.containers.map((c) => [c.name, c.redis])).toEqual([['redis', true], ['side', true], ['prep', false]]);
    expect(v.memoryLimit).toBe('2Gi');
  });

  it('OT: a kubernetesConfig limit of "0" is no limit', () => {
    const v = view(ot('Redis', { kubernetesConfig: { image: 'quay.io/opstree/redis:v7', resources: { limits: { memory: '0', cpu: '1' } } } }));
    expect(v.memoryLimit).toBe('');
    expect(v.zeroResources).toEqual(['redis limits.memory']);
  });

  it('KubeDB v1alpha2: the flat main container\'s request of 0 is seen', () => {
    const v = view(kubedb({ podTemplate: { spec: { resources: { limits: { memory: '1Gi', cpu: '1' }, requests: { cpu: '0' } } } } }, 'v1alpha2'));
    expect(v.zeroResources).toEqual(['redis requests.cpu']);
    expect(v.memoryLimit).toBe('1Gi');
  });
});

// ---- scheduling fields of every template ------------------------------------------------------------

describe('scheduling and identity fields of pod templates', () => {
  const scheduling = {
    nodeName: 'node-1', priorityClassName: 'system-node-critical', tolerations: [{ operator: 'Exists' }],
    nodeSelector: { 'kubernetes.io/hostname': 'node-1' }, serviceAccountName: 'admin', automountServiceAccountToken: true,
  };
  const expected = {
    nodeName: 'node-1', priorityClassName: 'system-node-critical', tolerations: [{ operator: 'Exists' }],
    nodeSelector: { 'kubernetes.io/hostname': 'node-1' }, serviceAccountName: 'admin', automountServiceAccountToken: true,
  };

  it('Pod, Deployment and KubeDB v1 podTemplate', () => {
    expect(view(pod(meta('p'), { ...scheduling, containers: [{ name: 'redis', image: 'redis:7' }] })).podTemplates[0]).toMatchObject(expected);
    expect(view(deployment({ spec: { ...scheduling, containers: [{ name: 'x', image: 'nginx' }] } })).podTemplates[0]).toMatchObject(expected);
    expect(view(kubedb({ podTemplate: { spec: scheduling } })).podTemplates[0]).toMatchObject(expected);
  });

  it('defaults: empty strings, empty lists, automount null', () => {
    expect(view(pod(meta('p'), { containers: [{ name: 'redis', image: 'redis:7' }] })).podTemplates[0]).toMatchObject({
      nodeName: '', priorityClassName: '', tolerations: [], nodeSelector: {}, serviceAccountName: '', automountServiceAccountToken: null,
    });
    expect(view(pod(meta('p'), { automountServiceAccountToken: false, containers: [{ name: 'redis', image: 'redis:7' }] })).podTemplates[0]!.automountServiceAccountToken).toBe(false);
  });

  it('KubeDB v1alpha2 podTemplate', () => {
    const { nodeName: _n, automountServiceAccountToken: _a, ...alpha } = scheduling;
    expect(view(kubedb({ podTemplate: { spec: alpha } }, 'v1alpha2')).podTemplates[0]).toMatchObject({ ...expected, nodeName: '', automountServiceAccountToken: null });
  });

  it('OT: spec-level for Redis/RedisReplication/RedisSentinel, per role for RedisCluster', () => {
    const spec = { priorityClassName: 'system-cluster-critical', serviceAccountName: 'ops', tolerations: [{ operator: 'Exists' }], nodeSelector: { disk: 'ssd' } };
    for (const kind of ['Redis', 'RedisReplication', 'RedisSentinel']) {
      expect(view(ot(kind, spec)).podTemplates[0]).toMatchObject({ ...spec, nodeName: '', automountServiceAccountToken: null });
    }
    const cluster = view(ot('RedisCluster', {
      priorityClassName: 'p', serviceAccountName: 'sa',
      redisLeader: { tolerations: [{ key: 'a', operator: 'Exists' }], nodeSelector: { role: 'l' } },
      redisFollower: { tolerations: [{ operator: 'Exists' }] },
    }));
    expect(cluster.podTemplates.map((p) => [p.priorityClassName, p.serviceAccountName, p.tolerations, p.nodeSelector])).toEqual([
      ['p', 'sa', [{ key: 'a', operator: 'Exists' }], { role: 'l' }],
      ['p', 'sa', [{ operator: 'Exists' }], {}],
    ]);
  });
});

// ---- OT-Container-Kit fields that reach the pod spec --------------------------------------------------

describe('OT-Container-Kit CR fields that reach the pod', () => {
  it('spec.hostPort is a hostPort on the Redis container port (cluster: spec.port; sentinel: 26379)', () => {
    expect(view(ot('Redis', { hostPort: 6379 })).containers[0]!.ports).toEqual([{ containerPort: 6379, hostPort: 6379 }]);
    expect(view(ot('RedisCluster', { hostPort: 7000, port: 7001 })).podTemplates.map((p) => p.containers[0]!.ports))
      .toEqual([[{ containerPort: 7001, hostPort: 7000 }], [{ containerPort: 7001, hostPort: 7000 }]]);
    expect(view(ot('RedisSentinel', { hostPort: 1 })).containers[0]!.ports).toEqual([{ containerPort: 26379, hostPort: 1 }]);
    expect(view(ot('Redis', {})).containers[0]!.ports).toEqual([]);
  });

  it('storage.volumeMount.volume[] (hostPath /) are pod volumes; RedisSentinel keeps them at spec.volumeMount', () => {
    const hostRoot = { name: 'root', hostPath: { path: '/' } };
    for (const kind of ['Redis', 'RedisReplication', 'RedisCluster']) {
      const v = view(ot(kind, { storage: { volumeMount: { volume: [hostRoot], mountPath: [{ name: 'root', mountPath: '/host' }] } } }));
      for (const p of v.podTemplates) expect(p.volumes).toContainEqual(hostRoot);
    }
    expect(view(ot('RedisSentinel', { volumeMount: { volume: [hostRoot] } })).podTemplates[0]!.volumes).toEqual([hostRoot]);
  });

  it('TLS, ACL and external config volumes; the exporter, init and sidecar containers with env and ports', () => {
    const v = view(ot('RedisReplication', {
      TLS: { secret: { secretName: 'orders-tls' } },
      acl: { secret: { secretName: 'orders-acl' } },
      redisConfig: { additionalRedisConfig: 'orders-conf' },
      env: [{ name: 'A', value: '1' }],
      sidecars: [{ name: 'proxy', image: 'envoy', ports: [{ containerPort: 80, hostPort: 80 }], env: [{ name: 'B', value: '2' }] }],
      initContainer: { enabled: true, image: 'busybox', command: ['sh'], args: ['-c', 'true'] },
    }));
    const p = v.podTemplates[0]!;
    expect(p.volumes).toEqual([
      { name: 'tls-certs', secret: { secretName: 'orders-tls' } },
      { name: 'acl-secret', secret: { secretName: 'orders-acl' } },
      { name: 'external-config', configMap: { name: 'orders-conf' } },
    ]);
    expect(p.containers[0]!.env).toEqual({ A: '1' });
    expect(p.containers.find((c) => c.name === 'proxy')).toMatchObject({ ports: [{ containerPort: 80, hostPort: 80 }], env: { B: '2' } });
    expect(p.containers.find((c) => c.name === 'init')).toMatchObject({ kind: 'init', args: ['sh', '-c', 'true'] });
    expect(p.labels).toMatchObject({ app: 'orders', redis_setup_type: 'replication', role: 'replication' });
  });

  it('a sidecar running a Redis server counts toward the per-pod limits', () => {
    const v = view(ot('Redis', {
      kubernetesConfig: { image: 'quay.io/opstree/redis:v7', resources: { limits: { memory: '1Gi', cpu: '1' } } },
      sidecars: [{ name: 'shadow', image: 'ghcr.io/evil/tools:1', command: ['redis-server'] }, { name: 'log', image: 'fluent/fluent-bit:3' }],
    }));
    expect(v.containers.map((c) => [c.name, c.redis])).toEqual([['redis', true], ['shadow', true], ['log', false]]);
    expect(v.memoryLimit).toBe('');
    expect(adapt(ot('Redis', { sidecars: [{ name: 'shadow', image: 'redis:7' }] })).slots[0]!.containers[1]).toMatchObject({ name: 'shadow', redis: true });
  });

  it('services: kubernetesConfig.service serviceType, additional and headless types', () => {
    expect(view(ot('Redis', { kubernetesConfig: { service: { serviceType: 'LoadBalancer', additional: { type: 'NodePort' }, headless: {} } } })).services).toEqual([
      { path: 'spec.kubernetesConfig.service', type: 'LoadBalancer', externalIPs: [] },
      { path: 'spec.kubernetesConfig.service.additional', type: 'NodePort', externalIPs: [] },
      { path: 'spec.kubernetesConfig.service.headless', type: '', externalIPs: [] },
    ]);
    expect(view(ot('Redis', {})).services).toEqual([]);
  });

  it('secretRefs: redisSecret, TLS, ACL, imagePullSecrets, env secretKeyRefs, volumes', () => {
    const v = view(ot('RedisCluster', {
      kubernetesConfig: { redisSecret: { name: 'pw', key: 'password' }, imagePullSecrets: [{ name: 'pull' }] },
      TLS: { secret: { secretName: 'tls' } }, acl: { secret: { secretName: 'acl' } },
      env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'k' } } }],
      redisExporter: { enabled: true, env: [{ name: 'Y', valueFrom: { secretKeyRef: { name: 'exp-secret', key: 'k' } } }] },
      sidecars: [{ name: 's', env: [{ name: 'Z', valueFrom: { secretKeyRef: { name: 'side-secret', key: 'k' } } }] }],
      storage: { volumeMount: { volume: [{ name: 'v', secret: { secretName: 'vol-secret' } }] } },
    }));
    expect(v.secretRefs).toEqual([
      { path: 'spec.kubernetesConfig.redisSecret.name', name: 'pw', implied: false },
      { path: 'spec.kubernetesConfig.imagePullSecrets[0].name', name: 'pull', implied: false },
      { path: 'spec.TLS.secret.secretName', name: 'tls', implied: false },
      { path: 'spec.acl.secret.secretName', name: 'acl', implied: false },
      { path: 'spec.env[0].valueFrom.secretKeyRef.name', name: 'env-secret', implied: false },
      { path: 'spec.redisExporter.env[0].valueFrom.secretKeyRef.name', name: 'exp-secret', implied: false },
      { path: 'spec.sidecars[0].env[0].valueFrom.secretKeyRef.name', name: 'side-secret', implied: false },
      { path: 'spec.storage.volumeMount.volume[0].secret.secretName', name: 'vol-secret', implied: false },
    ]);
  });

  it('RedisReplication spec.sentinel is a second template of Redis sentinels; pods count the data pods', () => {
    const v = view(ot('RedisReplication', {
      clusterSize: 3,
      kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.15', resources: { limits: { memory: '1Gi', cpu: '1' } } },
      sentinel: {
        size: 3, image: 'quay.io/opstree/redis-sentinel:v7.0.15', priorityClassName: 'system-node-critical',
        resources: { limits: { memory: '128Mi', cpu: '100m' } }, securityContext: { privileged: true },
        service: { serviceType: 'NodePort' }, redisSecret: { name: 'sentinel-pw' },
      },
    }));
    expect(v).toMatchObject({ mode: 'Replicated', pods: 3, podsPerShard: 3, memoryLimit: '1Gi', totalMemoryLimit: '3456Mi' });
    const sentinel = v.podTemplates[1]!;
    expect(sentinel).toMatchObject({ path: 'spec.sentinel', role: 'sentinel', replicas: 3, priorityClassName: 'system-node-critical', volumes: [] });
    expect(sentinel.containers).toEqual([expect.objectContaining({ name: 'redis-sentinel', redis: true, securityContext: { privileged: true } })]);
    expect(v.services).toContainEqual({ path: 'spec.sentinel.service', type: 'NodePort', externalIPs: [] });
    expect(v.secretRefs).toContainEqual({ path: 'spec.sentinel.redisSecret.name', name: 'sentinel-pw', implied: false });
    expect(adapt(ot('RedisReplication', { sentinel: {} })).slots[1]).toEqual({
      podSecurityContext: ['spec', 'sentinel', 'podSecurityContext'], affinity: ['spec', 'sentinel', 'affinity'],
      containers: [{ name: 'redis-sentinel', kind: 'container', redis: true, securityContext: ['spec', 'sentinel', 'securityContext'], resources: ['spec', 'sentinel', 'resources'] }],
    });
  });

  it('PDB blocks carry the protected pods; maxUnavailable 0 and "0%" as written', () => {
    expect(view(ot('RedisReplication', { clusterSize: 1, pdb: { enabled: true, maxUnavailable: 0 } })).pdb.blocks)
      .toEqual([{ path: 'spec.pdb', present: true, enabled: true, minAvailable: '', maxUnavailable: '0', pods: 1 }]);
    expect(view(ot('RedisCluster', { clusterSize: 1, redisFollower: { replicas: 2, pdb: { enabled: true, maxUnavailable: '0%' } } })).pdb.blocks[1])
      .toMatchObject({ maxUnavailable: '0%', pods: 2 });
  });

  it('namespaceRefs: any namespace field, e.g. a volume\'s dataSourceRef', () => {
    const v = view(ot('Redis', { storage: { volumeMount: { volume: [{ name: 'v', ephemeral: { volumeClaimTemplate: { spec: { dataSourceRef: { kind: 'x', name: 'y', namespace: 'tenant-other' } } } } }] } } }));
    expect(v.namespaceRefs).toEqual([{ path: 'spec.storage.volumeMount.volume[0].ephemeral.volumeClaimTemplate.spec.dataSourceRef.namespace', namespace: 'tenant-other' }]);
  });
});

// ---- KubeDB ------------------------------------------------------------------------------------------

describe('KubeDB CR fields: services, references, secrets, issuers', () => {
  it('serviceTemplates: type and externalIPs', () => {
    expect(view(kubedb({ serviceTemplates: [
      { alias: 'primary', spec: { type: 'LoadBalancer', externalIPs: ['1.2.3.4'] } },
      { alias: 'stats', spec: {} },
    ] })).services).toEqual([
      { path: 'spec.serviceTemplates[0]', type: 'LoadBalancer', externalIPs: ['1.2.3.4'] },
      { path: 'spec.serviceTemplates[1]', type: '', externalIPs: [] },
    ]);
    expect(view(kubedb({}, 'v1alpha2', 'RedisSentinel')).services).toEqual([]);
  });

  it('namespaceRefs: init archiver and sentinelRef namespaces, with their paths', () => {
    const v = view(kubedb({
      init: { archiver: { fullDBRepository: { name: 'repo', namespace: 'tenant-other' }, encryptionSecret: { name: 'e', namespace: 'kube-system' } } },
      sentinelRef: { name: 's', namespace: NS },
    }));
    expect(v.namespaceRefs).toEqual([
      { path: 'spec.init.archiver.fullDBRepository.namespace', namespace: 'tenant-other' },
      { path: 'spec.init.archiver.encryptionSecret.namespace', namespace: 'kube-system' },
      { path: 'spec.sentinelRef.namespace', namespace: NS },
    ]);
    expect(view(kubedb({})).namespaceRefs).toEqual([]);
  });

  it('authSecret: named, or implied <name>-auth; none when auth is disabled', () => {
    expect(view(kubedb({ authSecret: { name: 'creds' } })).secretRefs).toEqual([{ path: 'spec.authSecret.name', name: 'creds', implied: false }]);
    expect(view(kubedb({})).secretRefs).toEqual([{ path: 'spec.authSecret.name', name: 'sessions-auth', implied: true }]);
    expect(view(kubedb({ disableAuth: true })).secretRefs).toEqual([]);
  });

  it('TLS: issuerRefs (kind defaults to Issuer, group from apiGroup) and certificate secrets, named or implied', () => {
    const v = view(kubedb({
      disableAuth: true,
      tls: {
        issuerRef: { apiGroup: 'cert-manager.io', kind: 'ClusterIssuer', name: 'platform-ca' },
        certificates: [{ alias: 'server', secretName: 'my-server-cert', issuerRef: { name: 'other' } }],
      },
    }));
    expect(v.issuerRefs).toEqual([
      { path: 'spec.tls.issuerRef', group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'platform-ca' },
      { path: 'spec.tls.certificates[0].issuerRef', group: '', kind: 'Issuer', name: 'other' },
    ]);
    expect(v.secretRefs).toEqual([
      { path: 'spec.tls.certificates[0].secretName', name: 'my-server-cert', implied: false },
      { path: 'spec.tls.certificates', name: 'sessions-client-cert', implied: true },
      { path: 'spec.tls.certificates', name: 'sessions-metrics-exporter-cert', implied: true },
    ]);
    expect(view(kubedb({})).issuerRefs).toEqual([]);
  });

  it('podTemplate Secrets: volumes, projected, env, envFrom, imagePullSecrets; configSecret', () => {
    const v = view(kubedb({
      authSecret: { name: 'a' }, configSecret: { name: 'conf' },
      podTemplate: { spec: {
        volumes: [{ name: 'ca', secret: { secretName: 'redline-tenant-ca' } }, { name: 'p', projected: { sources: [{ secret: { name: 'proj' } }] } }],
        containers: [{ name: 'redis', env: [{ name: 'E', valueFrom: { secretKeyRef: { name: 'env', key: 'k' } } }], envFrom: [{ secretRef: { name: 'from' } }] }],
        imagePullSecrets: [{ name: 'pull' }],
      } },
    }));
    expect(v.secretRefs.map((r) => [r.path, r.name])).toEqual([
      ['spec.podTemplate.spec.volumes[0].secret.secretName', 'redline-tenant-ca'],
      ['spec.podTemplate.spec.volumes[1].projected.sources[0].secret.name', 'proj'],
      ['spec.podTemplate.spec.containers[0].env[0].valueFrom.secretKeyRef.name', 'env'],
      ['spec.podTemplate.spec.containers[0].envFrom[0].secretRef.name', 'from'],
      ['spec.podTemplate.spec.imagePullSecrets[0].name', 'pull'],
      ['spec.authSecret.name', 'a'],
      ['spec.configSecret.name', 'conf'],
    ]);
  });

  it('init.script volume source (hostPath included) is a pod volume; monitor adds the exporter container', () => {
    const v = view(kubedb({
      init: { script: { scriptPath: '/init', hostPath: { path: '/etc' } } },
      monitor: { agent: 'prometheus.io/operator', prometheus: { exporter: { securityContext: { privileged: true }, resources: { limits: { memory: '0' } } } } },
    }, 'v1alpha2'));
    expect(v.podTemplates[0]!.volumes).toEqual([{ hostPath: { path: '/etc' }, name: 'initial-script' }]);
    expect(v.containers.map((c) => [c.name, c.redis])).toEqual([['redis', true], ['exporter', false]]);
    expect(v.containers[1]!.securityContext).toEqual({ privileged: true });
    expect(v.zeroResources).toEqual(['exporter limits.memory']);
  });
});

// ---- PodDisruptionBudget ------------------------------------------------------------------------------

describe('PodDisruptionBudget selecting Redis by expressions, operator labels or owner', () => {
  const pdb = (spec: JsonObject, extra: JsonObject = {}): JsonObject =>
    ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta('cache', extra), spec });

  it('matchExpressions In [redis, x] selects Redis', () => {
    const v = view(pdb({ maxUnavailable: 0, selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['nginx', 'redis'] }] } }));
    expect(v).toMatchObject({ role: 'pdb', redis: true, pods: 0 });
    expect(v.disruptionBudget).toEqual({ selectsRedis: true, selector: { app: 'redis' }, minAvailable: '', maxUnavailable: '0' });
  });

  it('In listing no Redis name does not', () => {
    expect(recognise(pdb({ selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['nginx', 'web'] }] } })).redis).toBe(false);
  });

  it('operator labels on Redis pods select Redis: redis_setup_type (value or Exists), KubeDB managed-by + name', () => {
    expect(view(pdb({ selector: { matchLabels: { app: 'orders', redis_setup_type: 'replication' } } })).role).toBe('pdb');
    expect(view(pdb({ selector: { matchExpressions: [{ key: 'redis_setup_type', operator: 'Exists' }] } })).role).toBe('pdb');
    expect(view(pdb({ selector: { matchLabels: { 'app.kubernetes.io/managed-by': 'kubedb.com', 'app.kubernetes.io/name': 'redises.kubedb.com' } } })).role).toBe('pdb');
  });

  it('KubeDB managed-by alone, or (policy/v1) an empty selector that selects every pod, is a Redis PDB', () => {
    expect(view(pdb({ selector: { matchLabels: { 'app.kubernetes.io/managed-by': 'kubedb.com', 'app.kubernetes.io/instance': 'x' } } })).role).toBe('pdb');
    expect(recognise(pdb({ selector: { matchLabels: { 'app.kubernetes.io/managed-by': 'kubedb.com', 'app.kubernetes.io/name': 'postgreses.kubedb.com' } } })).redis).toBe(false);
    expect(view(pdb({ maxUnavailable: 0, selector: {} })).disruptionBudget).toMatchObject({ selector: {}, maxUnavailable: '0' });
    expect(recognise({ apiVersion: 'policy/v1beta1', kind: 'PodDisruptionBudget', metadata: meta('x'), spec: { selector: {} } }).redis).toBe(false);
  });

  it('a PDB owned by an OT or KubeDB CR is a Redis PDB whatever it selects', () => {
    const owned = pdb({ maxUnavailable: '0%', selector: { matchLabels: { app: 'orders' } } },
      { ownerReferences: [{ apiVersion: OT, kind: 'RedisReplication', name: 'orders', uid: 'u', controller: true }] });
    expect(view(owned).disruptionBudget).toMatchObject({ maxUnavailable: '0%' });
  });
});

// ---- cert-manager Certificate ---------------------------------------------------------------------------

describe('cert-manager.io/v1 Certificate', () => {
  const cert = (spec: JsonObject): JsonObject => ({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: meta('orders-tls'), spec });

  it('role certificate, not Redis, never mutated; the certificate fields as written', () => {
    const { view: v, mutable, slots } = adapt(cert({
      secretName: 'orders-tls', isCA: true, commonName: 'orders', dnsNames: ['orders.tenant-acme.svc', 'evil.example.com'],
      ipAddresses: ['10.0.0.1'], uris: ['spiffe://x'], emailAddresses: ['a@b.c'], usages: ['server auth'],
      issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'platform-ca' },
    }));
    expect(v).toMatchObject({ role: 'certificate', redis: false, engine: 'cert-manager', kind: 'Certificate', name: 'orders-tls', namespace: NS, podTemplates: [] });
    expect(v.certificate).toEqual({
      secretName: 'orders-tls', isCA: true, commonName: 'orders', dnsNames: ['orders.tenant-acme.svc', 'evil.example.com'],
      ipAddresses: ['10.0.0.1'], uris: ['spiffe://x'], emailAddresses: ['a@b.c'], usages: ['server auth'],
      // only the single DNS labels; not "system:admin", "Orders" or a 64-character label
      dnsLabels: ['orders'],
    });
    const labels = (names: string[], commonName = ''): string[] =>
      (recognise({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'c' }, spec: { dnsNames: names, commonName } }) as any).result.view.certificate.dnsLabels;
    expect(labels(['cache', 'Cache', 'cache-', '-cache', 'a'.repeat(63), 'a'.repeat(64), 'ca.che', '*'], 'system:admin')).toEqual(['cache', 'a'.repeat(63)]);
    expect(v.issuerRefs).toEqual([{ path: 'spec.issuerRef', group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'platform-ca' }]);
    expect(v.secretRefs).toEqual([{ path: 'spec.secretName', name: 'orders-tls', implied: false }]);
    expect(mutable).toBe(false);
    expect(slots).toEqual([]);
  });

  it('defaults: kind Issuer, isCA false, empty lists', () => {
    const v = view(cert({ secretName: 's', issuerRef: { name: 'redline-redis-ca' } }));
    expect(v.issuerRefs).toEqual([{ path: 'spec.issuerRef', group: '', kind: 'Issuer', name: 'redline-redis-ca' }]);
    expect(v.certificate).toMatchObject({ isCA: false, dnsNames: [], ipAddresses: [], commonName: '' });
  });

  it('other kinds have certificate null', () => {
    expect(view(kubedb({})).certificate).toBeNull();
    expect(view(pod(meta('p'), { containers: [{ name: 'x', image: 'busybox' }] })).certificate).toBeNull();
  });
});

// ---- plain kinds: Secrets and references in the spec ------------------------------------------------

describe('plain kinds: Secrets and namespace references', () => {
  it('a Deployment\'s Secrets: volumes (a CSI driver\'s secret too), env, envFrom, imagePullSecrets', () => {
    const v = view(deployment({ spec: {
      volumes: [{ name: 'a', secret: { secretName: 'vol' } }, { name: 'c', csi: { driver: 'd', nodePublishSecretRef: { name: 'csi' } } }],
      containers: [{ name: 'redis', image: 'redis:7', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'env', key: 'k' } } }] }],
      initContainers: [{ name: 'i', image: 'busybox', envFrom: [{ secretRef: { name: 'from' } }] }],
      imagePullSecrets: [{ name: 'pull' }],
    } }));
    expect(v.secretRefs.map((r) => [r.path, r.name, r.implied])).toEqual([
      ['spec.template.spec.volumes[0].secret.secretName', 'vol', false],
      ['spec.template.spec.volumes[1].csi.nodePublishSecretRef.name', 'csi', false],
      ['spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name', 'env', false],
      ['spec.template.spec.initContainers[0].envFrom[0].secretRef.name', 'from', false],
      ['spec.template.spec.imagePullSecrets[0].name', 'pull', false],
    ]);
    expect(v.services).toEqual([]);
    expect(v.issuerRefs).toEqual([]);
  });

  it('a StatefulSet\'s claim templates may name another namespace', () => {
    const v = view({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: meta('r'), spec: {
      template: { spec: { containers: [{ name: 'redis', image: 'redis:7' }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { dataSourceRef: { kind: 'VolumeSnapshot', name: 's', namespace: 'tenant-other' } } }],
    } });
    expect(v.namespaceRefs).toEqual([{ path: 'spec.volumeClaimTemplates[0].spec.dataSourceRef.namespace', namespace: 'tenant-other' }]);
  });
});

// ---- robustness ------------------------------------------------------------------------------------------

describe('adapters never throw on input', () => {
  const garbage: unknown[] = [
    null, 'x', 7, [], { containers: 'nope', volumes: {}, tolerations: 'all', nodeSelector: [1] },
    { template: { spec: { containers: [null, 1, { env: 'x', resources: { limits: 'big' }, command: 'redis-server' }] } } },
    { podTemplate: null, serviceTemplates: [null, { spec: { externalIPs: 'x' } }], tls: { certificates: 'x', issuerRef: 1 }, init: { script: 'x' } },
    { kubernetesConfig: { service: 'x', redisSecret: 1 }, storage: { volumeMount: { volume: 'x' } }, sentinel: 'x', sidecars: [null], hostPort: '80' },
    { selector: { matchExpressions: [null, { key: 'app', operator: 'In', values: 'redis' }] }, jobTemplate: 1 },
    { issuerRef: 'x', dnsNames: 'x', secretName: 1 },
  ];

  it.each(RECOGNISED_KINDS.map((k) => [k.apiVersion, k.kind]))('%s %s', (apiVersion, kind) => {
    for (const spec of garbage) {
      expect(() => recognise({ apiVersion, kind, metadata: { name: 'x', ownerReferences: 'x' as never, labels: [] as never }, spec: spec as never })).not.toThrow();
    }
  });

  it('a deeply nested spec is walked to a bound, without overflowing the stack', () => {
    let deep: JsonObject = { namespace: 'deep' };
    for (let i = 0; i < 20000; i++) deep = { a: deep };
    expect(() => recognise(kubedb({ init: deep }))).not.toThrow();
  });
});
