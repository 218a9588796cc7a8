// OT-Container-Kit redis-operator, redis.redis.opstreelabs.in/v1beta2. These CRs have no PodSpec:
// the pod is described by flat fields, which we assemble into a PodView as the operator does
// (pkg/k8sutils/statefulset.go):
//   pod securityContext  spec.podSecurityContext
//   redis container      image spec.kubernetesConfig.image, resources spec.kubernetesConfig.resources
//                        (RedisCluster: redisLeader/redisFollower.resources override it),
//                        securityContext spec.securityContext (RedisCluster: per role), env spec.env,
//                        port spec.hostPort as a hostPort
//   scheduling           spec.nodeSelector, spec.tolerations (RedisCluster: per role),
//                        spec.priorityClassName, spec.serviceAccountName, spec.hostNetwork
//   affinity             spec.affinity (RedisCluster: redisLeader/redisFollower.affinity)
//   extra containers     spec.initContainer, spec.sidecars[], spec.redisExporter
//   volumes              spec.storage.volumeMount.volume[] (RedisSentinel: spec.volumeMount),
//                        spec.TLS.secret, spec.acl.secret / persistentVolumeClaim,
//                        spec.redisConfig.additionalRedisConfig (a ConfigMap)
//   services             spec.kubernetesConfig.service (serviceType, additional, headless)
//   TLS                  spec.TLS;  PDB  spec.pdb (RedisCluster: redisLeader/redisFollower.pdb)
//   storage per pod      storage.volumeClaimTemplate, plus (RedisCluster, storage.nodeConfVolume: true) the
//                        node-conf claim from storage.nodeConfVolumeClaimTemplate: view.storage.size is the sum
// RedisReplication's spec.sentinel, when present, is a second pod template (the sentinels).

import { Quantity } from '../engine/quantity.js';
import type { Json, JsonObject, Mode } from '../engine/types.js';
import { OT_SETUP_LABEL, containerRunsRedis, imageVersion, isOpstreeImage } from './detect.js';
import { containerView, envSecretRefs, pullSecretRefs, pushSecret, volumeSecretRefs } from './podspec.js';
import { namespaceRefs } from './refs.js';
import { summarise } from './summary.js';
import {
  type ContainerSlot, type ContainerView, type OperatorPdbView, type PodSlots, type PodView,
  type Recognition, type SecretRefView, type Segments, type ServiceTemplateView, type WorkloadAdapter,
  int, list, obj, str, stringMap,
} from './view.js';

type Kind = 'Redis' | 'RedisReplication' | 'RedisSentinel' | 'RedisCluster';

const REDIS_PORT = 6379;
const SENTINEL_PORT = 26379;
const SETUP_TYPE: Record<Kind, string> = { Redis: 'standalone', RedisReplication: 'replication', RedisSentinel: 'sentinel', RedisCluster: 'cluster' };

/** One pod template and where the CR keeps each of its fields. */
interface Layout {
  name: string;
  /** Where the template's own fields are: [] for spec, ['redisLeader'], ['sentinel']. */
  at: Segments;
  replicas: number;
  appLabel: string;
  setupType: string;
  roleLabel: string;
  /** Where the fields shared by the whole CR are read: the role for RedisCluster, else the template. */
  schedulingAt: Segments;
  resourcesAt: Segments;
  image: Json | undefined;
  port: number;
  /** The data template gets the CR's extra containers, env, volumes and hostPort; the embedded sentinel does not. */
  extras: boolean;
}

const KC_RESOURCES: Segments = ['kubernetesConfig', 'resources'];
const SENTINEL_AT: Segments = ['sentinel'];

function get(spec: JsonObject, at: Segments, field: string): Json | undefined {
  let cur: JsonObject = spec;
  for (const seg of at) cur = obj(cur[seg as string]);
  return cur[field];
}

function layouts(kind: Kind, name: string, spec: JsonObject): Layout[] {
  const size = int(spec['clusterSize'], kind === 'Redis' ? 1 : 3);
  const image = obj(spec['kubernetesConfig'])['image'];
  const data = (roleName: string, replicas: number, appLabel: string, roleLabel: string, port: number): Layout => ({
    name: roleName, at: [], replicas, appLabel, setupType: SETUP_TYPE[kind], roleLabel,
    schedulingAt: [], resourcesAt: KC_RESOURCES, image, port, extras: true,
  });
  switch (kind) {
    case 'Redis':
      return [data('redis', 1, name, 'standalone', REDIS_PORT)];
    case 'RedisSentinel':
      return [data('sentinel', size, `${name}-sentinel`, 'sentinel', SENTINEL_PORT)];
    case 'RedisReplication': {
      const out = [data('replication', size, name, 'replication', REDIS_PORT)];
      const sentinel = spec['sentinel'];
      if (sentinel !== undefined && sentinel !== null) {
        out.push({
          name: 'sentinel', at: SENTINEL_AT, replicas: int(obj(sentinel)['size'], 3), appLabel: `${name}-sentinel`,
          setupType: 'sentinel', roleLabel: 'sentinel', schedulingAt: SENTINEL_AT, resourcesAt: ['sentinel', 'resources'],
          image: obj(sentinel)['image'] ?? image, port: SENTINEL_PORT, extras: false,
        });
      }
      return out;
    }
    case 'RedisCluster': {
      const port = int(spec['port'], REDIS_PORT);
      const role = (roleName: 'leader' | 'follower', at: string): Layout => {
        const l = data(roleName, int(obj(spec[at])['replicas'], size), `${name}-${roleName}`, roleName, port);
        l.at = [at];
        l.schedulingAt = l.at;
        if (obj(spec[at])['resources'] !== undefined) l.resourcesAt = [at, 'resources'];
        return l;
      };
      return [role('leader', 'redisLeader'), role('follower', 'redisFollower')];
    }
  }
}

interface Built { pod: PodView; slots: PodSlots }

function buildPod(kind: Kind, spec: JsonObject, l: Layout, crLabels: Record<string, string>): Built {
  const cluster = kind === 'RedisCluster';
  // Pod-level fields: the template's own place (RedisCluster keeps them at spec, its roles only scheduling).
  const podAt: Segments = cluster ? [] : l.at;
  const own = (field: string): Json | undefined => get(spec, l.schedulingAt, field);
  const securityAt: Segments = ['spec', ...l.schedulingAt, 'securityContext'];
  const affinityAt: Segments = ['spec', ...l.schedulingAt, 'affinity'];

  const containers: ContainerView[] = [];
  const slots: ContainerSlot[] = [];
  const add = (raw: Json, kindOf: ContainerView['kind'], redis: boolean, slot: ContainerSlot | null): void => {
    containers.push(containerView(raw, kindOf, redis));
    if (slot) slots.push(slot);
  };
  const main: JsonObject = {
    name: l.name === 'sentinel' && !l.extras ? 'redis-sentinel' : 'redis',
    image: l.image ?? '', resources: get(spec, l.resourcesAt.slice(0, -1), 'resources') ?? {},
    securityContext: own('securityContext') ?? {},
  };
  if (l.extras) {
    main['env'] = spec['env'] ?? [];
    const hostPort = spec['hostPort'];
    if (typeof hostPort === 'number') main['ports'] = [{ containerPort: l.port, hostPort }];
  }
  add(main, 'container', true, {
    name: str(main['name']), kind: 'container', redis: true, securityContext: securityAt, resources: ['spec', ...l.resourcesAt],
  });

  if (l.extras) {
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
    // A sidecar running a Redis server (by image or command) counts toward the plan like the main one.
    list(spec['sidecars']).forEach((raw, i) => add(raw, 'container', containerRunsRedis(raw), {
      name: str(obj(raw)['name']), kind: 'container', redis: containerRunsRedis(raw),
      securityContext: ['spec', 'sidecars', i, 'securityContext'], resources: ['spec', 'sidecars', i, 'resources'],
    }));
  }

  const selectorLabels = { app: l.appLabel };
  const labels = Object.assign({}, crLabels);
  labels['app'] = l.appLabel;
  labels[OT_SETUP_LABEL] = l.setupType;
  labels['role'] = l.roleLabel;
  const pod: PodView = {
    path: l.at.length ? `spec.${l.at.join('.')}` : 'spec',
    role: l.name,
    replicas: l.replicas,
    labels,
    hostNetwork: spec['hostNetwork'] === true && l.extras,
    hostPID: false,
    hostIPC: false,
    os: 'linux',
    securityContext: obj(get(spec, podAt, 'podSecurityContext')),
    annotations: {},
    containers,
    volumes: l.extras ? volumesOf(kind, spec) : [],
    affinity: obj(own('affinity')),
    affinitySupported: true,
    affinityUnsupportedReason: '',
    topologySpreadConstraints: list(own('topologySpreadConstraints')).map(obj),
    selectorLabels,
    nodeName: '',
    priorityClassName: str(get(spec, podAt, 'priorityClassName')),
    tolerations: list(own('tolerations')).map(obj),
    nodeSelector: stringMap(own('nodeSelector')),
    serviceAccountName: str(get(spec, podAt, 'serviceAccountName')),
    runtimeClassName: '',
    schedulerName: '',
    automountServiceAccountToken: null,
  };
  return { pod, slots: { podSecurityContext: ['spec', ...podAt, 'podSecurityContext'], affinity: affinityAt, containers: slots } };
}

/** The volumes the operator adds to the data pods from CR fields. */
function volumesOf(kind: Kind, spec: JsonObject): JsonObject[] {
  const out: JsonObject[] = [];
  for (const v of list(volumeMountOf(kind, spec)['volume'])) out.push(obj(v));
  const tls = spec['TLS'];
  if (tls !== undefined) out.push({ name: 'tls-certs', secret: obj(obj(tls)['secret']) });
  const acl = obj(spec['acl']);
  if (acl['secret'] !== undefined) out.push({ name: 'acl-secret', secret: obj(acl['secret']) });
  if (str(acl['persistentVolumeClaim'])) out.push({ name: 'acl-pvc', persistentVolumeClaim: { claimName: str(acl['persistentVolumeClaim']) } });
  const config = str(obj(spec['redisConfig'])['additionalRedisConfig']);
  if (config) out.push({ name: 'external-config', configMap: { name: config } });
  return out;
}

function volumeMountOf(kind: Kind, spec: JsonObject): JsonObject {
  return kind === 'RedisSentinel' ? obj(spec['volumeMount']) : obj(obj(spec['storage'])['volumeMount']);
}

function secretsOf(kind: Kind, spec: JsonObject): SecretRefView[] {
  const out: SecretRefView[] = [];
  const kc = obj(spec['kubernetesConfig']);
  pushSecret(out, 'spec.kubernetesConfig.redisSecret.name', str(obj(kc['redisSecret'])['name']));
  pullSecretRefs(kc['imagePullSecrets'], 'spec.kubernetesConfig.imagePullSecrets', out);
  pushSecret(out, 'spec.TLS.secret.secretName', str(obj(obj(spec['TLS'])['secret'])['secretName']));
  pushSecret(out, 'spec.acl.secret.secretName', str(obj(obj(spec['acl'])['secret'])['secretName']));
  envSecretRefs(spec['env'], 'spec.env', out);
  envSecretRefs(obj(spec['redisExporter'])['env'], 'spec.redisExporter.env', out);
  envSecretRefs(obj(spec['initContainer'])['env'], 'spec.initContainer.env', out);
  list(spec['sidecars']).forEach((s, i) => envSecretRefs(obj(s)['env'], `spec.sidecars[${i}].env`, out));
  const mountAt = kind === 'RedisSentinel' ? 'spec.volumeMount' : 'spec.storage.volumeMount';
  list(volumeMountOf(kind, spec)['volume']).forEach((v, i) => volumeSecretRefs(v, `${mountAt}.volume[${i}]`, out));
  const password = obj(obj(obj(spec['redisSentinelConfig'])['redisReplicationPassword'])['secretKeyRef']);
  pushSecret(out, 'spec.redisSentinelConfig.redisReplicationPassword.secretKeyRef.name', str(password['name']));
  const sentinel = obj(spec['sentinel']);
  pushSecret(out, 'spec.sentinel.redisSecret.name', str(obj(sentinel['redisSecret'])['name']));
  pullSecretRefs(sentinel['imagePullSecrets'], 'spec.sentinel.imagePullSecrets', out);
  return out;
}

/** The Services the operator creates with a tenant-chosen type. */
function servicesOf(spec: JsonObject): ServiceTemplateView[] {
  const out: ServiceTemplateView[] = [];
  const add = (raw: Json | undefined, path: string): void => {
    if (raw === undefined || raw === null) return;
    const service = obj(raw);
    out.push({ path, type: str(service['serviceType']), externalIPs: [] });
    for (const extra of ['additional', 'headless']) {
      if (service[extra] !== undefined) out.push({ path: `${path}.${extra}`, type: str(obj(service[extra])['type']), externalIPs: [] });
    }
  };
  add(obj(spec['kubernetesConfig'])['service'], 'spec.kubernetesConfig.service');
  add(obj(spec['sentinel'])['service'], 'spec.sentinel.service');
  return out;
}

function pdbOf(kind: Kind, spec: JsonObject, layoutsOf: Layout[]): OperatorPdbView {
  if (kind === 'Redis') return { supported: false, blocks: [] };
  const places: Segments[] = kind === 'RedisCluster' ? [['redisLeader'], ['redisFollower']] : [[]];
  return {
    supported: true,
    blocks: places.map((at, i) => {
      const raw = get(spec, at, 'pdb');
      const pdb = obj(raw);
      return {
        path: ['spec', ...at, 'pdb'].join('.'),
        present: raw !== undefined,
        enabled: pdb['enabled'] === true,
        minAvailable: str(pdb['minAvailable']),
        maxUnavailable: str(pdb['maxUnavailable']),
        pods: layoutsOf[i]?.replicas ?? 0,
      };
    }),
  };
}

/**
 * Storage per pod: the data claim, plus (RedisCluster with storage.nodeConfVolume) the node-conf claim
 * the operator adds to every pod from nodeConfVolumeClaimTemplate. '' when a claim in use has no size.
 */
function storageSize(kind: Kind, spec: JsonObject, dataSpec: JsonObject): string {
  const data = str(obj(obj(dataSpec['resources'])['requests'])['storage']);
  const storage = obj(spec['storage']);
  if (kind !== 'RedisCluster' || storage['nodeConfVolume'] !== true) return data;
  const nodeConf = str(obj(obj(obj(obj(storage['nodeConfVolumeClaimTemplate'])['spec'])['resources'])['requests'])['storage']);
  const a = Quantity.tryParse(data);
  const b = Quantity.tryParse(nodeConf);
  return a && b ? a.plus(b).text : '';
}

/** Shape of the data pods (an embedded sentinel is not a shard member). */
function shape(kind: Kind, pods: PodView[]): { mode: Mode; shards: number; podsPerShard: number; pods: number } {
  let total = 0;
  for (const p of pods) if (kind !== 'RedisReplication' || p.role !== 'sentinel') total += p.replicas;
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
      const crLabels = stringMap(meta['labels']);
      const ls = layouts(kind, name, spec);
      const built = ls.map((l) => buildPod(kind, spec, l, crLabels));
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
              size: storageSize(kind, spec, storageSpec),
              storageClass: str(storageSpec['storageClassName']),
              ephemeral: spec['storage'] === undefined,
              known: true,
            },
        tls: tlsOf(spec, secretName),
        podTemplates: pods,
        pdb: pdbOf(kind, spec, ls),
        services: servicesOf(spec),
        namespaceRefs: namespaceRefs(spec, 'spec'),
        secretRefs: secretsOf(kind, spec),
      });
      return { redis: true, result: { view, slots: built.map((b) => b.slots), mutable: true } };
    },
  };
}

/**
 * The env the operator derives from spec.TLS (GenerateTLSEnvironmentVariables). spec.env is
 * appended after it and sorted by name (getEnvironmentVariables), so an entry of the same name is
 * the one the container gets: TLS_MODE other than "true" starts the server without TLS, and the
 * file variables point it at other certificates than the Secret of spec.TLS.
 */
const OPERATOR_TLS_ENV = new Set(['TLS_MODE', 'REDIS_TLS_CA_KEY', 'REDIS_TLS_CERT', 'REDIS_TLS_CERT_KEY']);

function tlsOf(spec: JsonObject, secretName: string): { enabled: boolean; detail: string } {
  if (!secretName) return { enabled: false, detail: 'spec.TLS is not set' };
  const image = str(obj(spec['kubernetesConfig'])['image']);
  if (!isOpstreeImage(image)) {
    return { enabled: false, detail: `spec.kubernetesConfig.image ${image || '(none)'} is not the operator's image (quay.io/opstree/redis), whose entrypoint alone turns spec.TLS on` };
  }
  for (const e of list(spec['env']).map(obj)) {
    const name = str(e['name']);
    if (!OPERATOR_TLS_ENV.has(name)) continue;
    if (name === 'TLS_MODE' && e['valueFrom'] === undefined && str(e['value']) === 'true') continue; // what the operator sets
    return { enabled: false, detail: `spec.env ${name} replaces what the operator derives from spec.TLS; remove the entry` };
  }
  return { enabled: true, detail: `spec.TLS.secret.secretName ${secretName}` };
}

export const opstreeAdapters: WorkloadAdapter[] =
  (['Redis', 'RedisReplication', 'RedisSentinel', 'RedisCluster'] as const).map(makeAdapter);
