// OT-Container-Kit redis-operator, redis.redis.opstreelabs.in/v1beta2. These CRs have no PodSpec:
// the pod is described by flat fields, which we assemble into a PodView:
//   pod securityContext  spec.podSecurityContext
//   redis container      image spec.kubernetesConfig.image, resources spec.kubernetesConfig.resources
//                        (RedisCluster: redisLeader/redisFollower.resources override it),
//                        securityContext spec.securityContext (RedisCluster: per role)
//   affinity             spec.affinity (RedisCluster: redisLeader/redisFollower.affinity)
//   extra containers     spec.initContainer, spec.sidecars[], spec.redisExporter
//   TLS                  spec.TLS;  PDB  spec.pdb (RedisCluster: redisLeader/redisFollower.pdb)

import type { Json, JsonObject, Mode } from '../engine/types.js';
import { imageVersion } from './detect.js';
import { containerView } from './podspec.js';
import { summarise } from './summary.js';
import {
  type ContainerSlot, type ContainerView, type OperatorPdbView, type PodSlots, type PodView,
  type Recognition, type Segments, type WorkloadAdapter, int, list, obj, str,
} from './view.js';

type Kind = 'Redis' | 'RedisReplication' | 'RedisSentinel' | 'RedisCluster';

interface Role {
  name: string;
  /** Where the role keeps its own overrides (RedisCluster leader/follower), or [] for spec. */
  at: Segments;
  replicas: number;
  appLabel: string;
}

function roles(kind: Kind, name: string, spec: JsonObject): Role[] {
  const size = int(spec['clusterSize'], kind === 'Redis' ? 1 : 3);
  switch (kind) {
    case 'Redis': return [{ name: 'redis', at: [], replicas: 1, appLabel: name }];
    case 'RedisReplication': return [{ name: 'replication', at: [], replicas: size, appLabel: name }];
    case 'RedisSentinel': return [{ name: 'sentinel', at: [], replicas: size, appLabel: `${name}-sentinel` }];
    case 'RedisCluster': return [
      { name: 'leader', at: ['redisLeader'], replicas: int(obj(spec['redisLeader'])['replicas'], size), appLabel: `${name}-leader` },
      { name: 'follower', at: ['redisFollower'], replicas: int(obj(spec['redisFollower'])['replicas'], size), appLabel: `${name}-follower` },
    ];
  }
}

function get(spec: JsonObject, at: Segments, field: string): Json | undefined {
  let cur: JsonObject = spec;
  for (const seg of at) cur = obj(cur[seg as string]);
  return cur[field];
}

function rolePod(kind: Kind, spec: JsonObject, role: Role): { pod: PodView; slots: PodSlots } {
  const cluster = kind === 'RedisCluster';
  const kc = obj(spec['kubernetesConfig']);
  const roleResources = cluster ? get(spec, role.at, 'resources') : undefined;
  const resourcesAt: Segments = roleResources !== undefined ? ['spec', ...role.at, 'resources'] : ['spec', 'kubernetesConfig', 'resources'];
  const securityAt: Segments = cluster ? ['spec', ...role.at, 'securityContext'] : ['spec', 'securityContext'];
  const affinityAt: Segments = cluster ? ['spec', ...role.at, 'affinity'] : ['spec', 'affinity'];
  const topology = cluster ? get(spec, role.at, 'topologySpreadConstraints') : spec['topologySpreadConstraints'];

  const containers: ContainerView[] = [];
  const slots: ContainerSlot[] = [];
  const add = (raw: Json, kind: ContainerView['kind'], redis: boolean, slot: ContainerSlot | null): void => {
    containers.push(containerView(raw, kind, redis));
    if (slot) slots.push(slot);
  };
  add({
    name: 'redis', image: kc['image'] ?? '', resources: roleResources ?? kc['resources'] ?? {},
    securityContext: cluster ? get(spec, role.at, 'securityContext') ?? {} : spec['securityContext'] ?? {},
  }, 'container', true, { name: 'redis', kind: 'container', redis: true, securityContext: securityAt, resources: resourcesAt });

  const exporter = obj(spec['redisExporter']);
  if (exporter['enabled'] === true) {
    add(Object.assign({}, exporter, { name: 'redis-exporter' }), 'container', false, {
      name: 'redis-exporter', kind: 'container', redis: false,
      securityContext: ['spec', 'redisExporter', 'securityContext'], resources: ['spec', 'redisExporter', 'resources'],
    });
  }
  const init = obj(spec['initContainer']);
  if (init['enabled'] === true) {
    add(Object.assign({}, init, { name: 'init' }), 'init', false, {
      name: 'init', kind: 'init', redis: false,
      securityContext: ['spec', 'initContainer', 'securityContext'], resources: ['spec', 'initContainer', 'resources'],
    });
  }
  list(spec['sidecars']).forEach((raw, i) => add(raw, 'container', false, {
    name: str(obj(raw)['name']), kind: 'container', redis: false,
    securityContext: ['spec', 'sidecars', i, 'securityContext'], resources: ['spec', 'sidecars', i, 'resources'],
  }));

  const selectorLabels = { app: role.appLabel };
  const pod: PodView = {
    path: role.at.length ? `spec.${role.at.join('.')}` : 'spec',
    role: role.name,
    replicas: role.replicas,
    labels: selectorLabels,
    hostNetwork: spec['hostNetwork'] === true,
    hostPID: false,
    hostIPC: false,
    os: 'linux',
    securityContext: obj(spec['podSecurityContext']),
    annotations: {},
    containers,
    volumes: [],
    affinity: obj(cluster ? get(spec, role.at, 'affinity') : spec['affinity']),
    affinitySupported: true,
    affinityUnsupportedReason: '',
    topologySpreadConstraints: list(topology).map(obj),
    selectorLabels,
  };
  return { pod, slots: { podSecurityContext: ['spec', 'podSecurityContext'], affinity: affinityAt, containers: slots } };
}

function pdbOf(kind: Kind, spec: JsonObject): OperatorPdbView {
  if (kind === 'Redis') return { supported: false, blocks: [] };
  const places: Segments[] = kind === 'RedisCluster' ? [['redisLeader'], ['redisFollower']] : [[]];
  return {
    supported: true,
    blocks: places.map((at) => {
      const raw = get(spec, at, 'pdb');
      const pdb = obj(raw);
      return {
        path: ['spec', ...at, 'pdb'].join('.'),
        present: raw !== undefined,
        enabled: pdb['enabled'] === true,
        minAvailable: str(pdb['minAvailable']),
        maxUnavailable: str(pdb['maxUnavailable']),
      };
    }),
  };
}

function shape(kind: Kind, pods: PodView[]): { mode: Mode; shards: number; podsPerShard: number; pods: number } {
  const total = pods.reduce((n, p) => n + p.replicas, 0);
  if (kind === 'RedisCluster') {
    const shards = pods[0]?.replicas ?? 0;
    return { mode: 'Cluster', shards, podsPerShard: shards > 0 ? Math.ceil(total / shards) : 0, pods: total };
  }
  if (kind === 'Redis') return { mode: 'Standalone', shards: 1, podsPerShard: 1, pods: 1 };
  return { mode: 'Replicated', shards: 1, podsPerShard: total, pods: total };
}

function makeAdapter(kind: Kind): WorkloadAdapter {
  return {
    apiVersions: ['redis.redis.opstreelabs.in/v1beta2'],
    kind,
    recognise(object): Recognition {
      const meta = obj(object['metadata']);
      const spec = obj(object['spec']);
      const name = str(meta['name']);
      const built = roles(kind, name, spec).map((r) => rolePod(kind, spec, r));
      const pods = built.map((b) => b.pod);
      const storageSpec = obj(obj(obj(spec['storage'])['volumeClaimTemplate'])['spec']);
      const tls = obj(spec['TLS']);
      const secretName = str(obj(tls['secret'])['secretName']);
      const view = summarise({
        apiVersion: str(object['apiVersion']),
        kind,
        engine: 'opstree',
        role: 'workload',
        name,
        namespace: str(meta['namespace']),
        ...shape(kind, pods),
        version: imageVersion(str(obj(spec['kubernetesConfig'])['image'])),
        storage: kind === 'RedisSentinel'
          ? { size: '', storageClass: '', ephemeral: true, known: true }
          : {
              size: str(obj(obj(storageSpec['resources'])['requests'])['storage']),
              storageClass: str(storageSpec['storageClassName']),
              ephemeral: spec['storage'] === undefined,
              known: true,
            },
        tls: secretName
          ? { enabled: true, detail: `spec.TLS.secret.secretName ${secretName}` }
          : { enabled: false, detail: 'spec.TLS is not set' },
        podTemplates: pods,
        pdb: pdbOf(kind, spec),
      });
      return { redis: true, result: { view, slots: built.map((b) => b.slots), mutable: true } };
    },
  };
}

export const opstreeAdapters: WorkloadAdapter[] =
  (['Redis', 'RedisReplication', 'RedisSentinel', 'RedisCluster'] as const).map(makeAdapter);
