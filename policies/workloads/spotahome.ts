// Spotahome redis-operator, databases.spotahome.com/v1 RedisFailover: a Redis StatefulSet
// (spec.redis, default 3 replicas) and a Sentinel Deployment (spec.sentinel, default 3), each built
// from flat fields as the operator does (operator/redisfailover/service/generator.go):
//   pod          securityContext (absent: the operator's runAsUser/runAsGroup/fsGroup 1000,
//                runAsNonRoot), affinity (absent: a *preferred* anti-affinity on hostname),
//                tolerations, nodeSelector, priorityClassName, serviceAccountName, hostNetwork,
//                topologySpreadConstraints, imagePullSecrets, podAnnotations
//   containers   redis / sentinel (image, command, resources, containerSecurityContext — absent: drop
//                ALL, non-root 1000, read-only root, no escalation), the exporter (exporter.enabled),
//                extraContainers, initContainers; the sentinel's sentinel-config-copy init container
//   volumes      the operator's ConfigMaps, the data volume (storage.emptyDir, or an emptyDir when
//                storage is absent; a PVC comes from storage.persistentVolumeClaim), extraVolumes
// Mode Replicated: one shard of spec.redis.replicas pods; the sentinels are a second template and are
// not counted as data pods. Auth is spec.auth.secretPath, a Secret name (key `password`). The
// operator creates only ClusterIP Services and has no TLS settings.

import type { Json, JsonObject } from '../engine/types.js';
import { containerRunsRedis, imageVersion } from './detect.js';
import { containerSecretRefs, containerView, pullSecretRefs, pushSecret, volumeSecretRefs } from './podspec.js';
import { namespaceRefs } from './refs.js';
import { summarise } from './summary.js';
import {
  type ContainerSlot, type ContainerView, type OperatorPdbBlock, type PodSlots, type PodView, type Recognition, type SecretRefView,
  type WorkloadAdapter, type WorkloadView, int, list, obj, str, stringMap,
} from './view.js';

const DEFAULT_IMAGE = 'redis:6.2.6-alpine';
const DEFAULT_REPLICAS = 3;

/**
 * A count or port as the operator reads it: RedisFailover.Validate() (api/redisfailover/v1/
 * validate.go) replaces 0 and negative replicas and ports by its defaults, and the CRD sets no
 * minimum. `replicas: 0` runs three pods.
 */
function positive(value: Json | undefined, fallback: number): number {
  const n = int(value, fallback);
  return n > 0 ? n : fallback;
}
const PART_OF = 'redis-failover';

function defaultPodSecurity(): JsonObject {
  return { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, fsGroup: 1000 };
}

function defaultContainerSecurity(): JsonObject {
  return {
    capabilities: { drop: ['ALL'] }, privileged: false, runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true,
    readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
  };
}

function present(value: Json | undefined): value is Json {
  return value !== undefined && value !== null;
}

/** The operator's selector labels for one component (generateSelectorLabels). */
function selector(name: string, component: string): Record<string, string> {
  return { 'app.kubernetes.io/component': component, 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': PART_OF };
}

type Role = 'redis' | 'sentinel';

interface Built { pod: PodView; slots: PodSlots }

function buildPod(name: string, role: Role, spec: JsonObject, auth: string, secrets: SecretRefView[]): Built {
  const s = obj(spec[role]);
  const at = ['spec', role] as const;
  const path = `spec.${role}`;
  const containers: ContainerView[] = [];
  const slots: ContainerSlot[] = [];
  const image = str(s['image']) || DEFAULT_IMAGE;
  const securityContext = present(s['containerSecurityContext']) ? s['containerSecurityContext'] : defaultContainerSecurity();
  const port = positive(s['port'], 6379);
  const command = list(s['command']).length > 0 ? s['command'] ?? []
    : role === 'redis' ? ['redis-server', '/redis/redis.conf'] : ['redis-server', '/redis/sentinel.conf', '--sentinel'];
  const env: Json[] = auth && role === 'redis'
    ? [{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: auth, key: 'password' } } }] : [];

  containers.push(containerView({
    name: role, image, command, resources: s['resources'] ?? {}, securityContext, env,
    ports: [{ containerPort: role === 'redis' ? port : 26379 }],
  }, 'container', true));
  slots.push({ name: role, kind: 'container', redis: true, securityContext: [...at, 'containerSecurityContext'], resources: [...at, 'resources'] });

  const exporter = obj(s['exporter']);
  if (exporter['enabled'] === true) {
    const exporterName = role === 'redis' ? 'redis-exporter' : 'sentinel-exporter';
    containers.push(containerView({
      name: exporterName, image: exporter['image'] ?? '', args: exporter['args'] ?? [], env: exporter['env'] ?? [],
      resources: exporter['resources'] ?? {}, securityContext: exporter['containerSecurityContext'] ?? {},
    }, 'container', false));
    containerSecretRefs(exporter, `${path}.exporter`, secrets);
    slots.push({
      name: exporterName, kind: 'container', redis: false,
      securityContext: [...at, 'exporter', 'containerSecurityContext'], resources: [...at, 'exporter', 'resources'],
    });
  }
  list(s['extraContainers']).forEach((raw, i) => {
    const redis = containerRunsRedis(raw);
    containers.push(containerView(raw, 'container', redis));
    containerSecretRefs(raw, `${path}.extraContainers[${i}]`, secrets);
    slots.push({
      name: str(obj(raw)['name']), kind: 'container', redis,
      securityContext: [...at, 'extraContainers', i, 'securityContext'], resources: [...at, 'extraContainers', i, 'resources'],
    });
  });
  if (role === 'sentinel') {
    const copy = obj(s['configCopy']);
    containers.push(containerView({
      name: 'sentinel-config-copy', image,
      resources: { limits: { cpu: '10m', memory: '32Mi' }, requests: { cpu: '10m', memory: '32Mi' } },
      securityContext: present(copy['containerSecurityContext']) ? copy['containerSecurityContext'] : defaultContainerSecurity(),
    }, 'init', false));
    slots.push({
      name: 'sentinel-config-copy', kind: 'init', redis: false,
      securityContext: [...at, 'configCopy', 'containerSecurityContext'], resources: null,
    });
  }
  list(s['initContainers']).forEach((raw, i) => {
    const redis = obj(raw)['restartPolicy'] === 'Always' && containerRunsRedis(raw);
    containers.push(containerView(raw, 'init', redis));
    containerSecretRefs(raw, `${path}.initContainers[${i}]`, secrets);
    slots.push({
      name: str(obj(raw)['name']), kind: 'init', redis,
      securityContext: [...at, 'initContainers', i, 'securityContext'], resources: [...at, 'initContainers', i, 'resources'],
    });
  });

  const volumes: JsonObject[] = role === 'redis'
    ? [
        { name: 'redis-config', configMap: { name: `rfr-${name}` } },
        { name: 'redis-shutdown-config', configMap: { name: `rfr-shutdown-${name}` } },
        { name: 'redis-readiness-config', configMap: { name: `rfr-readiness-${name}` } },
      ]
    : [
        { name: 'sentinel-config', configMap: { name: `rfs-${name}` } },
        { name: 'sentinel-config-writable', emptyDir: {} },
      ];
  list(s['extraVolumes']).forEach((v, i) => {
    volumes.push(obj(v));
    volumeSecretRefs(v, `${path}.extraVolumes[${i}]`, secrets);
  });
  if (role === 'redis') {
    const storage = obj(s['storage']);
    if (!present(storage['persistentVolumeClaim'])) volumes.push({ name: 'redis-data', emptyDir: obj(storage['emptyDir']) });
  }
  pullSecretRefs(s['imagePullSecrets'], `${path}.imagePullSecrets`, secrets);

  const selectorLabels = selector(name, role);
  const labels = Object.assign({}, selectorLabels);
  const pod: PodView = {
    path,
    role,
    replicas: positive(s['replicas'], DEFAULT_REPLICAS),
    labels,
    hostNetwork: s['hostNetwork'] === true,
    hostPID: false,
    hostIPC: false,
    os: 'linux',
    securityContext: present(s['securityContext']) ? obj(s['securityContext']) : defaultPodSecurity(),
    annotations: stringMap(s['podAnnotations']),
    containers,
    volumes,
    affinity: present(s['affinity'])
      ? obj(s['affinity'])
      : { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selectorLabels } } }] } },
    affinitySupported: true,
    affinityUnsupportedReason: '',
    topologySpreadConstraints: list(s['topologySpreadConstraints']).map(obj),
    selectorLabels,
    nodeName: '',
    priorityClassName: str(s['priorityClassName']),
    tolerations: list(s['tolerations']).map(obj),
    nodeSelector: stringMap(s['nodeSelector']),
    serviceAccountName: str(s['serviceAccountName']),
    runtimeClassName: '',
    schedulerName: '',
    automountServiceAccountToken: null,
  };
  return { pod, slots: { podSecurityContext: [...at, 'securityContext'], affinity: [...at, 'affinity'], containers: slots } };
}

function storageOf(spec: JsonObject): WorkloadView['storage'] {
  const claim = obj(obj(obj(spec['redis'])['storage'])['persistentVolumeClaim']);
  if (Object.keys(claim).length === 0) return { size: '', storageClass: '', ephemeral: true, known: true };
  const claimSpec = obj(claim['spec']);
  return {
    size: str(obj(obj(claimSpec['resources'])['requests'])['storage']),
    storageClass: str(claimSpec['storageClassName']),
    ephemeral: false,
    known: true,
  };
}

/**
 * The PodDisruptionBudget the operator writes for each component (rfr-/rfs-<name>): minAvailable 2,
 * or replicas − 1 when there are two pods or fewer (EnsureRedisPodDisruptionBudget). No CR field changes it.
 */
function operatorPdb(role: Role, name: string, pods: number): OperatorPdbBlock {
  const prefix = role === 'redis' ? 'rfr' : 'rfs';
  return {
    path: `spec.${role}.replicas (the operator's PodDisruptionBudget ${prefix}-${name})`,
    present: true, enabled: true, minAvailable: String(pods <= 2 ? pods - 1 : 2), maxUnavailable: '', pods, fixed: true,
  };
}

const redisFailoverAdapter: WorkloadAdapter = {
  apiVersions: ['databases.spotahome.com/v1'],
  kind: 'RedisFailover',
  recognise(object): Recognition {
    const meta = obj(object['metadata']);
    const spec = obj(object['spec']);
    const name = str(meta['name']);
    const auth = str(obj(spec['auth'])['secretPath']);
    const secretRefs: SecretRefView[] = [];
    pushSecret(secretRefs, 'spec.auth.secretPath', auth);
    const redis = buildPod(name, 'redis', spec, auth, secretRefs);
    const sentinel = buildPod(name, 'sentinel', spec, auth, secretRefs);
    const replicas = redis.pod.replicas;
    const view = summarise({
      apiVersion: str(object['apiVersion']), kind: 'RedisFailover', engine: 'spotahome', role: 'workload',
      name, namespace: str(meta['namespace']),
      mode: 'Replicated', shards: 1, podsPerShard: replicas, pods: replicas,
      version: imageVersion(str(obj(spec['redis'])['image']) || DEFAULT_IMAGE),
      storage: storageOf(spec),
      tls: { enabled: false, detail: 'RedisFailover has no TLS settings', supported: false },
      podTemplates: [redis.pod, sentinel.pod],
      pdb: { supported: true, blocks: [operatorPdb('redis', name, replicas), operatorPdb('sentinel', name, sentinel.pod.replicas)] },
      namespaceRefs: namespaceRefs(spec, 'spec'),
      secretRefs,
    });
    return { redis: true, result: { view, slots: [redis.slots, sentinel.slots], mutable: true } };
  },
};

export const spotahomeAdapters: WorkloadAdapter[] = [redisFailoverAdapter];
