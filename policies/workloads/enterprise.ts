// Redis Enterprise for Kubernetes (app.redislabs.com): RedisEnterpriseCluster (v1, v1alpha1),
// RedisEnterpriseDatabase, RedisEnterpriseActiveActiveDatabase, RedisEnterpriseRemoteCluster (v1alpha1).
//
// Shapes, and why:
//  - REC: `nodes` pods (default 3) of one StatefulSet; each pod is a Redis Enterprise node that hosts
//    shards of many databases, so the REC is mode Cluster, shards 1, podsPerShard = pods = nodes (the
//    operator spreads all nodes of a cluster apart). A second template is the services rigger
//    Deployment (1 pod, runs no Redis). The node pod is assembled as the operator builds it:
//      redis container   `redis-enterprise-node`: image redisEnterpriseImageSpec, resources
//                        redisEnterpriseNodeResources (operator default 2 CPU / 4Gi when absent),
//                        securityContext as documented (drop ALL; allowAutoAdjustment adds SYS_RESOURCE
//                        and allowPrivilegeEscalation), env extraEnvVars
//      `bootstrapper`    bootstrapperResources, the same securityContext
//      sidecars          sideContainersSpec[]; initContainers from redisEnterpriseAdditionalPodSpecAttributes
//      pod fields        redisEnterpriseAdditionalPodSpecAttributes (hostNetwork, securityContext, …) with
//                        podTolerations, nodeSelector, priorityClassName, serviceAccountName (default: the
//                        REC's name), hostAliases, extraLabels, podAnnotations laid over it
//      volumes           spec.volumes, the attributes' volumes, containerTimezone.propagateHost (hostPath)
//      affinity          podAntiAffinity, else the operator's required anti-affinity on hostname
//    storage: persistentSpec (volumeSize; when absent the operator asks 5 × the node memory request).
//  - REDB / REAADB: run no pods of their own (their shards live in the REC's pods): role workload with
//    pods 0 and no templates; what the plan sells is in view.enterprise.database (memory, shards,
//    replication). REAADB reads the same fields from spec.globalConfigurations. mode: Cluster when
//    shardCount > 1, else Replicated with replication, else Standalone.
//  - RERC: a pointer to a (possibly remote) REC: role workload, no pods, view.enterprise says where.
// Mutation slots exist only where the CR has the field and the operator does not fill it in: the
// pod security context (redisEnterpriseAdditionalPodSpecAttributes.securityContext), bootstrapper,
// sidecar and init-container resources and security contexts. Never the RS container's
// securityContext, resources (the operator's default applies) or affinity (the operator's default
// anti-affinity already spreads the nodes), nor anything of the services rigger's pod but its init
// containers: the operator overrides its pod securityContext.

import { Quantity } from '../engine/quantity.js';
import type { Json, JsonObject, Mode } from '../engine/types.js';
import { containerRunsRedis } from './detect.js';
import { containerView, dotted, envSecretRefs, podSecretRefs, pullSecretRefs, pushSecret, containerSecretRefs, volumeSecretRefs } from './podspec.js';
import { namespaceRefs } from './refs.js';
import { summarise } from './summary.js';
import {
  type ContainerSlot, type ContainerView, type EnterpriseDatabaseView, type EnterpriseView, type NamespaceRefView,
  type PodSlots, type PodView, type Recognition, type SecretRefView, type ServiceTemplateView, type WorkloadAdapter,
  type WorkloadView, int, list, obj, quantityMap, str, stringMap,
} from './view.js';

export const ENTERPRISE_GROUP = 'app.redislabs.com';
const REC_DEFAULT_NODES = 3;
const REC_DEFAULT_IMAGE = 'redislabs/redis';
/** What the operator gives a node when redisEnterpriseNodeResources is absent (its documented default). */
const REC_DEFAULT_RESOURCES: JsonObject = { limits: { cpu: '2', memory: '4Gi' }, requests: { cpu: '2', memory: '4Gi' } };
const ATTRS = 'redisEnterpriseAdditionalPodSpecAttributes';
const RIGGER_ATTRS = 'servicesRiggerAdditionalPodSpecAttributes';

const NO_STORAGE: WorkloadView['storage'] = { size: '', storageClass: '', ephemeral: false, known: false };
const RERC_TLS = { enabled: true, detail: 'a remote cluster reference serves nothing; the operator reaches its API over HTTPS' };

// ---- Secrets named by string fields --------------------------------------------------------

/** String fields that name a Secret: *SecretName, *Secret (credentialsSecret, vaultCASecret), secretName. */
const SECRET_FIELD = /(?:SecretName|Secret)$|^secretName$/;
/** Subtrees read as pod specs and containers instead (their secrets come from podspec's readers). */
const POD_SUBTREES: ReadonlySet<string> = new Set([ATTRS, RIGGER_ATTRS, 'volumes', 'sideContainersSpec', 'extraEnvVars', 'pullSecrets']);
const MAX_DEPTH = 24;

function secretFields(value: Json | undefined, path: string, out: SecretRefView[], depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => secretFields(v, `${path}[${i}]`, out, depth + 1));
    return;
  }
  for (const key in value) {
    if (POD_SUBTREES.has(key)) continue;
    const child = value[key];
    if (typeof child === 'string') {
      if (SECRET_FIELD.test(key)) pushSecret(out, `${path}.${key}`, child);
    } else if (key === 'clientAuthenticationCertificates') {
      list(child).forEach((c, i) => pushSecret(out, `${path}.${key}[${i}]`, str(c)));
    } else if (key === 'replicaSources') {
      list(child).forEach((raw, i) => {
        const source = obj(raw);
        if (str(source['replicaSourceType']).toUpperCase() === 'SECRET') {
          pushSecret(out, `${path}.${key}[${i}].replicaSourceName`, str(source['replicaSourceName']));
        }
        secretFields(source, `${path}.${key}[${i}]`, out, depth + 1);
      });
    } else {
      secretFields(child, `${path}.${key}`, out, depth + 1);
    }
  }
}

// ---- RedisEnterpriseCluster ------------------------------------------------------------------

function imageOf(spec: Json | undefined, fallback: string): string {
  const s = obj(spec);
  const repo = str(s['repository']) || fallback;
  const digest = str(s['digestHash']);
  if (digest) return `${repo}@${digest}`;
  const tag = str(s['versionTag']);
  return tag ? `${repo}:${tag}` : repo;
}

/** The RS and bootstrapper containers' securityContext, as the operator documents it. */
function recContainerSecurity(spec: JsonObject): JsonObject {
  const sc = obj(spec['securityContext']);
  const auto = obj(sc['resourceLimits'])['allowAutoAdjustment'] === true;
  const readOnly = obj(sc['readOnlyRootFilesystemPolicy'])['enabled'] === true;
  const capabilities: JsonObject = auto ? { add: ['SYS_RESOURCE'], drop: ['ALL'] } : { drop: ['ALL'] };
  return { allowPrivilegeEscalation: auto, capabilities, privileged: false, readOnlyRootFilesystem: readOnly };
}

function recLabels(name: string, role: string): Record<string, string> {
  return { app: 'redis-enterprise', 'redis.io/cluster': name, 'redis.io/role': role };
}

interface Built { pod: PodView; slots: PodSlots }

function recNodePod(name: string, spec: JsonObject, secrets: SecretRefView[]): Built {
  const attrs = obj(spec[ATTRS]);
  const containers: ContainerView[] = [];
  const slots: ContainerSlot[] = [];
  const security = recContainerSecurity(spec);
  const env = spec['extraEnvVars'] ?? [];
  envSecretRefs(spec['extraEnvVars'], 'spec.extraEnvVars', secrets);

  containers.push(containerView({
    name: 'redis-enterprise-node', image: imageOf(spec['redisEnterpriseImageSpec'], REC_DEFAULT_IMAGE),
    resources: spec['redisEnterpriseNodeResources'] ?? REC_DEFAULT_RESOURCES, securityContext: security, env,
  }, 'container', true));
  // No resources slot: absent resources are the operator's 2 CPU / 4Gi, not "none" — a plan default
  // written over them could be too small for a Redis Enterprise node to start.
  slots.push({ name: 'redis-enterprise-node', kind: 'container', redis: true, securityContext: null, resources: null });
  containers.push(containerView({
    name: 'bootstrapper', image: imageOf(spec['bootstrapperImageSpec'], 'redislabs/operator'),
    resources: spec['bootstrapperResources'] ?? {}, securityContext: security, env,
  }, 'container', false));
  slots.push({ name: 'bootstrapper', kind: 'container', redis: false, securityContext: null, resources: ['spec', 'bootstrapperResources'] });

  list(spec['sideContainersSpec']).forEach((raw, i) => {
    const redis = containerRunsRedis(raw);
    containers.push(containerView(raw, 'container', redis));
    containerSecretRefs(raw, `spec.sideContainersSpec[${i}]`, secrets);
    slots.push({
      name: str(obj(raw)['name']), kind: 'container', redis,
      securityContext: ['spec', 'sideContainersSpec', i, 'securityContext'], resources: ['spec', 'sideContainersSpec', i, 'resources'],
    });
  });
  list(attrs['initContainers']).forEach((raw, i) => {
    const redis = obj(raw)['restartPolicy'] === 'Always' && containerRunsRedis(raw);
    containers.push(containerView(raw, 'init', redis));
    slots.push({
      name: str(obj(raw)['name']), kind: 'init', redis,
      securityContext: ['spec', ATTRS, 'initContainers', i, 'securityContext'], resources: ['spec', ATTRS, 'initContainers', i, 'resources'],
    });
  });
  for (const raw of list(attrs['ephemeralContainers'])) containers.push(containerView(raw, 'ephemeral', false));
  podSecretRefs(attrs, `spec.${ATTRS}`, secrets);

  const volumes = list(spec['volumes']).map(obj);
  list(spec['volumes']).forEach((v, i) => volumeSecretRefs(v, `spec.volumes[${i}]`, secrets));
  for (const v of list(attrs['volumes'])) volumes.push(obj(v));
  const timezone = obj(spec['containerTimezone']);
  if (timezone['propagateHost'] !== undefined && timezone['propagateHost'] !== null) {
    volumes.push({ name: 'container-timezone', hostPath: { path: '/etc/localtime', type: 'File' } });
  }

  const labels = stringMap(spec['extraLabels']);
  Object.assign(labels, recLabels(name, 'node'));
  const annotations = stringMap(spec['redisEnterprisePodAnnotations'], stringMap(spec['podAnnotations']));
  const affinity = Object.assign({}, obj(attrs['affinity']));
  affinity['podAntiAffinity'] = spec['podAntiAffinity'] !== undefined && spec['podAntiAffinity'] !== null
    ? obj(spec['podAntiAffinity'])
    : { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: recLabels(name, 'node') }, topologyKey: 'kubernetes.io/hostname' }] };
  const automount = attrs['automountServiceAccountToken'];
  const pod: PodView = {
    path: 'spec',
    role: 'node',
    replicas: int(spec['nodes'], REC_DEFAULT_NODES),
    labels,
    hostNetwork: attrs['hostNetwork'] === true,
    hostPID: attrs['hostPID'] === true,
    hostIPC: attrs['hostIPC'] === true,
    os: str(obj(attrs['os'])['name']) || 'linux',
    securityContext: obj(attrs['securityContext']),
    annotations,
    containers,
    volumes,
    affinity,
    affinitySupported: true,
    affinityUnsupportedReason: '',
    topologySpreadConstraints: list(attrs['topologySpreadConstraints']).map(obj),
    selectorLabels: recLabels(name, 'node'),
    nodeName: str(attrs['nodeName']),
    priorityClassName: str(spec['priorityClassName']) || str(attrs['priorityClassName']),
    tolerations: [...list(spec['podTolerations']), ...list(attrs['tolerations'])].map(obj),
    nodeSelector: stringMap(spec['nodeSelector'], stringMap(attrs['nodeSelector'])),
    serviceAccountName: str(spec['serviceAccountName']) || name,
    runtimeClassName: str(attrs['runtimeClassName']),
    schedulerName: str(attrs['schedulerName']),
    automountServiceAccountToken: typeof automount === 'boolean' ? automount : null,
  };
  return {
    pod,
    slots: { podSecurityContext: ['spec', ATTRS, 'securityContext'], affinity: null, containers: slots },
  };
}

/**
 * The services rigger Deployment: the operator sets its container, serviceAccountName, imagePullSecrets,
 * nodeSelector, priorityClassName and pod securityContext; the rest of its attributes are the tenant's.
 */
function riggerPod(name: string, spec: JsonObject, secrets: SecretRefView[]): Built {
  const rigger = obj(spec['servicesRiggerSpec']);
  const attrs = obj(rigger[RIGGER_ATTRS]);
  const containers: ContainerView[] = [containerView({
    name: 'services-rigger', image: imageOf(spec['redisEnterpriseServicesRiggerImageSpec'], 'redislabs/k8s-controller'),
    resources: spec['redisEnterpriseServicesRiggerResources'] ?? {}, env: rigger['extraEnvVars'] ?? [],
  }, 'container', false)];
  envSecretRefs(rigger['extraEnvVars'], 'spec.servicesRiggerSpec.extraEnvVars', secrets);
  const slots: ContainerSlot[] = [{
    name: 'services-rigger', kind: 'container', redis: false, securityContext: null, resources: ['spec', 'redisEnterpriseServicesRiggerResources'],
  }];
  const attrsAt = ['spec', 'servicesRiggerSpec', RIGGER_ATTRS] as const;
  list(attrs['initContainers']).forEach((raw, i) => {
    containers.push(containerView(raw, 'init', false));
    slots.push({
      name: str(obj(raw)['name']), kind: 'init', redis: false,
      securityContext: [...attrsAt, 'initContainers', i, 'securityContext'], resources: [...attrsAt, 'initContainers', i, 'resources'],
    });
  });
  for (const raw of list(attrs['ephemeralContainers'])) containers.push(containerView(raw, 'ephemeral', false));
  podSecretRefs(attrs, dotted(attrsAt), secrets);
  const labels = stringMap(spec['extraLabels']);
  Object.assign(labels, recLabels(name, 'service-rigger'));
  const automount = attrs['automountServiceAccountToken'];
  const pod: PodView = {
    path: 'spec.servicesRiggerSpec',
    role: 'services-rigger',
    replicas: 1,
    labels,
    hostNetwork: attrs['hostNetwork'] === true,
    hostPID: attrs['hostPID'] === true,
    hostIPC: attrs['hostIPC'] === true,
    os: str(obj(attrs['os'])['name']) || 'linux',
    // The operator overrides the rigger's pod securityContext; what it writes is not in the CR.
    securityContext: {},
    securityManaged: 'the operator sets the services rigger\'s pod and container security contexts when it creates the Deployment, and the REC does not show them',
    annotations: stringMap(rigger['podAnnotations'], stringMap(spec['podAnnotations'])),
    containers,
    volumes: list(attrs['volumes']).map(obj),
    affinity: obj(attrs['affinity']),
    affinitySupported: true,
    affinityUnsupportedReason: '',
    topologySpreadConstraints: list(attrs['topologySpreadConstraints']).map(obj),
    selectorLabels: recLabels(name, 'service-rigger'),
    nodeName: str(attrs['nodeName']),
    priorityClassName: str(spec['priorityClassName']),
    tolerations: [...list(spec['podTolerations']), ...list(attrs['tolerations'])].map(obj),
    nodeSelector: stringMap(spec['nodeSelector']),
    serviceAccountName: str(spec['serviceAccountName']) || name,
    runtimeClassName: str(attrs['runtimeClassName']),
    schedulerName: str(attrs['schedulerName']),
    automountServiceAccountToken: typeof automount === 'boolean' ? automount : null,
  };
  // A single pod: nothing to spread, and the operator owns its security context.
  return { pod, slots: { podSecurityContext: null, affinity: null, containers: slots } };
}

const DB_SERVICE_TYPES: Record<string, string> = { cluster_ip: 'ClusterIP', headless: 'ClusterIP', load_balancer: 'LoadBalancer' };

/**
 * Services and other ways in the REC asks for: UI and API Services, the database Services the
 * rigger creates (databaseServiceType, default cluster_ip,headless), LoadBalancers for OSS cluster
 * external access, and Ingress/Route objects (type "Ingress"/"Route": not a Service type, so a
 * plan's serviceTypes must name them to allow them).
 */
function recServices(spec: JsonObject): ServiceTemplateView[] {
  const out: ServiceTemplateView[] = [];
  out.push({ path: 'spec.uiServiceType', type: str(spec['uiServiceType']), externalIPs: [] });
  const api = obj(spec['services'])['apiService'];
  if (api !== undefined) out.push({ path: 'spec.services.apiService.type', type: str(obj(api)['type']), externalIPs: [] });
  const dbTypes = str(obj(spec['servicesRiggerSpec'])['databaseServiceType']) || 'cluster_ip,headless';
  for (const t of dbTypes.split(',')) {
    const name = t.trim();
    if (name) out.push({ path: 'spec.servicesRiggerSpec.databaseServiceType', type: DB_SERVICE_TYPES[name] ?? name, externalIPs: [] });
  }
  const oss = obj(spec['ossClusterSettings']);
  if (str(oss['externalAccessType']) === 'LoadBalancer') {
    out.push({ path: 'spec.ossClusterSettings.externalAccessType', type: 'LoadBalancer', externalIPs: [] });
  }
  for (const field of ['ingressOrRouteSpec', 'activeActive']) {
    const ingress = spec[field];
    if (ingress === undefined || ingress === null) continue;
    out.push({ path: `spec.${field}`, type: str(obj(ingress)['method']) === 'openShiftRoute' ? 'Route' : 'Ingress', externalIPs: [] });
  }
  return out;
}

/**
 * persistentSpec: a PVC per node; without volumeSize the operator asks 5 × the node memory request.
 * Auto Tiering (redisOnFlashSpec.enabled) adds a flash PVC per node of flashDiskSize: counted in the size.
 */
function recStorage(spec: JsonObject, nodeResources: Record<string, string>): WorkloadView['storage'] {
  const persistent = obj(spec['persistentSpec']);
  if (persistent['enabled'] === false) return { size: '', storageClass: '', ephemeral: true, known: true };
  let size = str(persistent['volumeSize']);
  if (!size) {
    const memory = Quantity.tryParse(nodeResources['memory'] ?? '');
    size = memory ? memory.times(5n).text : '';
  }
  const flash = obj(spec['redisOnFlashSpec']);
  const flashSize = str(flash['flashDiskSize']);
  if (flash['enabled'] === true && flashSize) {
    const a = Quantity.tryParse(size);
    const b = Quantity.tryParse(flashSize);
    size = a && b ? a.plus(b).text : '';
  }
  return { size, storageClass: str(persistent['storageClassName']), ephemeral: false, known: true };
}

function recTls(spec: JsonObject): { enabled: boolean; detail: string } {
  const proxy = str(obj(spec['certificates'])['proxyCertificateSecretName']);
  // The cluster always serves TLS with its own (or this) proxy certificate; per database it is tlsMode.
  return proxy
    ? { enabled: true, detail: `spec.certificates.proxyCertificateSecretName ${proxy}` }
    : { enabled: true, detail: 'the operator-generated proxy certificate; databases choose TLS with tlsMode' };
}

const recAdapter: WorkloadAdapter = {
  apiVersions: [`${ENTERPRISE_GROUP}/v1`, `${ENTERPRISE_GROUP}/v1alpha1`],
  kind: 'RedisEnterpriseCluster',
  recognise(object): Recognition {
    const meta = obj(object['metadata']);
    const spec = obj(object['spec']);
    const name = str(meta['name']);
    const secretRefs: SecretRefView[] = [];
    const node = recNodePod(name, spec, secretRefs);
    const rigger = riggerPod(name, spec, secretRefs);
    pullSecretRefs(spec['pullSecrets'], 'spec.pullSecrets', secretRefs);
    secretFields(spec, 'spec', secretRefs);
    if (!str(spec['clusterCredentialSecretName'])) pushSecret(secretRefs, 'spec.clusterCredentialSecretName', name, true);
    const nodes = node.pod.replicas;
    // Requests default to limits, as the API server does.
    const resources = obj(spec['redisEnterpriseNodeResources'] ?? REC_DEFAULT_RESOURCES);
    const nodeResources = Object.assign(quantityMap(resources['limits']), quantityMap(resources['requests']));
    const view = summarise({
      apiVersion: str(object['apiVersion']), kind: 'RedisEnterpriseCluster', engine: 'redis-enterprise', role: 'workload',
      name, namespace: str(meta['namespace']),
      mode: 'Cluster', shards: 1, podsPerShard: nodes, pods: nodes,
      version: str(obj(spec['redisEnterpriseImageSpec'])['versionTag']).split('-')[0] ?? '',
      storage: recStorage(spec, nodeResources),
      tls: recTls(spec),
      podTemplates: [node.pod, rigger.pod],
      services: recServices(spec),
      namespaceRefs: namespaceRefs(spec, 'spec'),
      secretRefs,
      enterprise: {
        object: 'cluster', clusterName: name, clusterNamespace: '',
        rackAwarenessNodeLabel: str(spec['rackAwarenessNodeLabel']),
        activeActive: spec['activeActive'] !== undefined && spec['activeActive'] !== null,
        participatingClusters: [], endpoints: recEndpoints(spec), database: null,
      },
    });
    return { redis: true, result: { view, slots: [node.slots, rigger.slots], mutable: true } };
  },
};

function recEndpoints(spec: JsonObject): string[] {
  const out: string[] = [];
  for (const field of ['ingressOrRouteSpec', 'activeActive']) {
    const o = obj(spec[field]);
    for (const key of ['apiFqdnUrl', 'dbFqdnSuffix', 'apiIngressUrl', 'dbIngressSuffix']) if (str(o[key])) out.push(str(o[key]));
  }
  return out;
}

// ---- Databases -------------------------------------------------------------------------------

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*$/i;

/**
 * Redis Enterprise sizes ("100MB", "0.5GB") as a Kubernetes quantity. The operator counts in
 * powers of 1024, so MB/GB read as Mi/Gi — the larger reading, never an under-count.
 */
export function enterpriseMemory(text: string): string {
  const m = SIZE.exec(text);
  if (!m) return '';
  const unit = (m[2] ?? '').toUpperCase();
  const q = Quantity.tryParse(`${m[1]}${unit ? `${unit}i` : ''}`);
  return q ? q.text : '';
}

function databaseOf(spec: JsonObject): EnterpriseDatabaseView {
  const memorySize = str(spec['memorySize']);
  const memory = enterpriseMemory(memorySize);
  const shards = int(spec['shardCount'], 1);
  const replication = spec['replication'] === true;
  const q = memory ? Quantity.tryParse(memory) : undefined;
  return {
    memorySize,
    memory,
    shards,
    replication,
    totalMemory: q ? (replication ? q.times(2n) : q).text : '',
    tlsMode: str(spec['tlsMode']),
    clientCertificates: list(spec['clientAuthenticationCertificates']).length > 0,
    ossCluster: spec['ossCluster'] === true,
    port: int(spec['databasePort'], 0),
    replicaSources: list(spec['replicaSources']).map((r) => ({
      type: str(obj(r)['replicaSourceType']), name: str(obj(r)['replicaSourceName']),
    })),
  };
}

function databaseShape(db: EnterpriseDatabaseView): { mode: Mode; shards: number; podsPerShard: number } {
  const mode: Mode = db.shards > 1 ? 'Cluster' : db.replication ? 'Replicated' : 'Standalone';
  return { mode, shards: db.shards, podsPerShard: db.replication ? 2 : 1 };
}

function databaseTls(db: EnterpriseDatabaseView, at: string): { enabled: boolean; detail: string } {
  return db.tlsMode === 'enabled'
    ? { enabled: true, detail: `${at}.tlsMode enabled` }
    : { enabled: false, detail: `${at}.tlsMode is ${db.tlsMode || 'not set (disabled)'}` };
}

function noPods(object: JsonObject, kind: string, enterprise: EnterpriseView, rest: {
  mode: Mode | ''; shards: number; podsPerShard: number; tls: { enabled: boolean; detail: string };
  secretRefs: SecretRefView[]; namespaceRefs: NamespaceRefView[]; version: string;
}): Recognition {
  const meta = obj(object['metadata']);
  const view = summarise({
    apiVersion: str(object['apiVersion']), kind, engine: 'redis-enterprise', role: 'workload',
    name: str(meta['name']), namespace: str(meta['namespace']),
    mode: rest.mode, shards: rest.shards, podsPerShard: rest.podsPerShard, pods: 0,
    version: rest.version,
    storage: NO_STORAGE,
    tls: rest.tls,
    podTemplates: [],
    namespaceRefs: rest.namespaceRefs,
    secretRefs: rest.secretRefs,
    enterprise,
  });
  return { redis: true, result: { view, slots: [], mutable: false } };
}

const redbAdapter: WorkloadAdapter = {
  apiVersions: [`${ENTERPRISE_GROUP}/v1alpha1`],
  kind: 'RedisEnterpriseDatabase',
  recognise(object): Recognition {
    const spec = obj(object['spec']);
    const name = str(obj(object['metadata'])['name']);
    const db = databaseOf(spec);
    const secretRefs: SecretRefView[] = [];
    secretFields(spec, 'spec', secretRefs);
    // The operator creates redb-<name> when no Secret is named (not for Active-Active members or memcached).
    const memcached = str(spec['type']) === 'memcached';
    if (!str(spec['databaseSecretName']) && !memcached && spec['activeActive'] === undefined) {
      pushSecret(secretRefs, 'spec.databaseSecretName', `redb-${name}`, true);
    }
    const activeActive = obj(spec['activeActive']);
    return noPods(object, 'RedisEnterpriseDatabase', {
      object: 'database',
      clusterName: str(obj(spec['redisEnterpriseCluster'])['name']),
      clusterNamespace: '',
      rackAwarenessNodeLabel: '',
      activeActive: spec['activeActive'] !== undefined && spec['activeActive'] !== null,
      participatingClusters: str(activeActive['participatingClusterName'])
        ? [{ name: str(activeActive['participatingClusterName']), namespace: '' }] : [],
      endpoints: [],
      database: db,
    }, {
      ...databaseShape(db), tls: databaseTls(db, 'spec'), secretRefs,
      namespaceRefs: namespaceRefs(spec, 'spec'), version: str(spec['redisVersion']),
    });
  },
};

const reaadbAdapter: WorkloadAdapter = {
  apiVersions: [`${ENTERPRISE_GROUP}/v1alpha1`],
  kind: 'RedisEnterpriseActiveActiveDatabase',
  recognise(object): Recognition {
    const spec = obj(object['spec']);
    const global = obj(spec['globalConfigurations']);
    const db = databaseOf(global);
    const secretRefs: SecretRefView[] = [];
    secretFields(spec, 'spec', secretRefs);
    const participating = list(spec['participatingClusters']).map((p) => ({ name: str(obj(p)['name']), namespace: str(obj(p)['namespace']) }));
    return noPods(object, 'RedisEnterpriseActiveActiveDatabase', {
      object: 'active-active',
      clusterName: str(obj(spec['redisEnterpriseCluster'])['name']),
      clusterNamespace: '',
      rackAwarenessNodeLabel: '',
      activeActive: true,
      participatingClusters: participating,
      endpoints: [],
      database: db,
    }, {
      ...databaseShape(db), tls: databaseTls(db, 'spec.globalConfigurations'), secretRefs,
      // participatingClusters[].namespace is the namespace on each (remote) participating cluster.
      namespaceRefs: namespaceRefs(spec, 'spec'), version: str(global['redisVersion']),
    });
  },
};

const rercAdapter: WorkloadAdapter = {
  apiVersions: [`${ENTERPRISE_GROUP}/v1alpha1`],
  kind: 'RedisEnterpriseRemoteCluster',
  recognise(object): Recognition {
    const spec = obj(object['spec']);
    const name = str(obj(object['metadata'])['name']);
    const secretRefs: SecretRefView[] = [];
    const secretName = str(spec['secretName']);
    if (secretName) pushSecret(secretRefs, 'spec.secretName', secretName);
    else pushSecret(secretRefs, 'spec.secretName', `redis-enterprise-${name}`, true);
    const refs = namespaceRefs(spec, 'spec');
    const recNamespace = str(spec['recNamespace']);
    if (recNamespace) refs.push({ path: 'spec.recNamespace', namespace: recNamespace });
    const endpoints: string[] = [];
    for (const key of ['apiFqdnUrl', 'dbFqdnSuffix']) if (str(spec[key])) endpoints.push(str(spec[key]));
    return noPods(object, 'RedisEnterpriseRemoteCluster', {
      object: 'remote-cluster',
      clusterName: str(spec['recName']),
      clusterNamespace: recNamespace,
      rackAwarenessNodeLabel: '',
      activeActive: true,
      participatingClusters: [],
      endpoints,
      database: null,
    }, {
      // A pointer, not a server: the operator reaches the remote cluster's API over HTTPS.
      mode: '', shards: 0, podsPerShard: 0, tls: RERC_TLS, secretRefs, namespaceRefs: refs, version: '',
    });
  },
};

export const enterpriseAdapters: WorkloadAdapter[] = [recAdapter, redbAdapter, reaadbAdapter, rercAdapter];
