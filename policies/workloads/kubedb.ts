// KubeDB Redis and RedisSentinel, kubedb.com/v1 and v1alpha2.
//  v1:       spec.podTemplate.spec.containers[] (the operator adds the `redis` container when it is
//            not listed), no affinity field (placement goes through podPlacementPolicy).
//  v1alpha2: spec.podTemplate.spec is flat for the main container (resources,
//            containerSecurityContext, args, env) and has affinity/topologySpreadConstraints.
// Pods per shard: v1 cluster.replicas counts the master; v1alpha2 cluster.replicas does not.

import type { JsonObject, Mode } from '../engine/types.js';
import { containerView, podFromSpec, type PodSpecOptions } from './podspec.js';
import { summarise } from './summary.js';
import {
  type AdapterResult, type ContainerView, type PodSlots, type PodView, type Recognition,
  type WorkloadAdapter, int, obj, str, stringMap,
} from './view.js';

export const V1_NO_AFFINITY =
  'KubeDB v1 has no affinity field in spec.podTemplate; anti-affinity is enforced on its Pods';
const SHARD_LABEL = 'redis.kubedb.com/shard';

function kubedbSelector(name: string, kindLabel: string, cluster: boolean): Record<string, string> {
  const labels: Record<string, string> = {
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/managed-by': 'kubedb.com',
    'app.kubernetes.io/name': kindLabel,
  };
  // KubeDB substitutes ${SHARD_INDEX} per shard StatefulSet, so one template can select its shard.
  if (cluster) labels[SHARD_LABEL] = '${SHARD_INDEX}';
  return labels;
}

interface Shape { mode: Mode; shards: number; podsPerShard: number }

function redisShape(spec: JsonObject, version: string): Shape {
  const mode = str(spec['mode']) || 'Standalone';
  if (mode === 'Cluster') {
    const cluster = obj(spec['cluster']);
    if (version === 'v1alpha2') {
      return { mode: 'Cluster', shards: int(cluster['master'], 3), podsPerShard: int(cluster['replicas'], 1) + 1 };
    }
    return { mode: 'Cluster', shards: int(cluster['shards'], 3), podsPerShard: int(cluster['replicas'], 2) };
  }
  const replicas = int(spec['replicas'], 1);
  return { mode: mode === 'Sentinel' ? 'Replicated' : 'Standalone', shards: 1, podsPerShard: replicas };
}

/** The name KubeDB gives the main container of each kind (it merges podTemplate containers by name). */
const MAIN_CONTAINER = { Redis: 'redis', RedisSentinel: 'redissentinel' } as const;

function template(object: JsonObject, kind: keyof typeof MAIN_CONTAINER, version: string, replicas: number, selectorLabels: Record<string, string>): { pod: PodView; slots: PodSlots } {
  const spec = obj(object['spec']);
  const tpl = obj(spec['podTemplate']);
  const meta = obj(tpl['metadata']);
  // Built by assignment: object spread measured microseconds per review here.
  const labels = Object.assign(stringMap(meta['labels']), selectorLabels);
  const options: PodSpecOptions = {
    path: 'spec.podTemplate',
    role: 'redis',
    replicas,
    labels,
    annotations: stringMap(meta['annotations']),
    selectorLabels,
    at: ['spec', 'podTemplate', 'spec'],
    readOnly: false,
  };
  if (version === 'v1') {
    options.affinitySupported = false;
    options.affinityUnsupportedReason = V1_NO_AFFINITY;
    options.implicitRedisContainer = MAIN_CONTAINER[kind];
    return podFromSpec(tpl['spec'], options);
  }
  // v1alpha2: a flat main container; reshape it so the rest of Redline sees a normal PodSpec.
  const flat = obj(tpl['spec']);
  const { pod, slots } = podFromSpec(Object.assign({}, flat, { containers: [] }), options);
  const redis: ContainerView = containerView(
    { name: MAIN_CONTAINER[kind], resources: flat['resources'] ?? {}, securityContext: flat['containerSecurityContext'] ?? {},
      args: flat['args'] ?? [], env: flat['env'] ?? [] },
    'container', true,
  );
  pod.containers.unshift(redis);
  slots.containers.unshift({
    name: MAIN_CONTAINER[kind], kind: 'container', redis: true,
    securityContext: ['spec', 'podTemplate', 'spec', 'containerSecurityContext'],
    resources: ['spec', 'podTemplate', 'spec', 'resources'],
  });
  return { pod, slots };
}

function storageOf(spec: JsonObject): AdapterResult['view']['storage'] {
  if (str(spec['storageType']) === 'Ephemeral') return { size: '', storageClass: '', ephemeral: true, known: true };
  const storage = obj(spec['storage']);
  return {
    size: str(obj(obj(storage['resources'])['requests'])['storage']),
    storageClass: str(storage['storageClassName']),
    ephemeral: false,
    known: true,
  };
}

function tlsOf(spec: JsonObject): { enabled: boolean; detail: string } {
  const issuer = obj(obj(spec['tls'])['issuerRef']);
  return str(issuer['name'])
    ? { enabled: true, detail: `spec.tls.issuerRef ${str(issuer['kind']) || 'Issuer'}/${str(issuer['name'])}` }
    : { enabled: false, detail: 'spec.tls.issuerRef is not set' };
}

function makeAdapter(kind: 'Redis' | 'RedisSentinel'): WorkloadAdapter {
  const kindLabel = kind === 'Redis' ? 'redises.kubedb.com' : 'redissentinels.kubedb.com';
  return {
    apiVersions: ['kubedb.com/v1', 'kubedb.com/v1alpha2'],
    kind,
    recognise(object): Recognition {
      const version = str(object['apiVersion']).split('/')[1] ?? '';
      const meta = obj(object['metadata']);
      const spec = obj(object['spec']);
      const name = str(meta['name']);
      const shape: Shape = kind === 'Redis'
        ? redisShape(spec, version)
        : { mode: 'Replicated', shards: 1, podsPerShard: int(spec['replicas'], 3) };
      const pods = shape.shards * shape.podsPerShard;
      const { pod, slots } = template(object, kind, version, pods, kubedbSelector(name, kindLabel, shape.mode === 'Cluster'));
      const view = summarise({
        apiVersion: str(object['apiVersion']),
        kind,
        engine: 'kubedb',
        role: 'workload',
        name,
        namespace: str(meta['namespace']),
        ...shape,
        pods,
        version: str(spec['version']),
        storage: storageOf(spec),
        tls: tlsOf(spec),
        podTemplates: [pod],
      });
      return { redis: true, result: { view, slots: [slots], mutable: true } };
    },
  };
}

export const kubedbAdapters: WorkloadAdapter[] = [makeAdapter('Redis'), makeAdapter('RedisSentinel')];
