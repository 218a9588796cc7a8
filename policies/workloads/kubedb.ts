// KubeDB Redis and RedisSentinel, kubedb.com/v1 and v1alpha2.
//  v1:       spec.podTemplate.spec.containers[] (the operator adds the `redis` container when it is
//            not listed), no affinity field (placement goes through podPlacementPolicy).
//  v1alpha2: spec.podTemplate.spec is flat for the main container (resources,
//            containerSecurityContext, args, env) and has affinity/topologySpreadConstraints.
// Pods per shard: v1 cluster.replicas counts the master; v1alpha2 cluster.replicas does not.
// Besides the pod template the operator puts into the pod: spec.init.script (a volume source),
// spec.monitor's exporter container, spec.coordinator (v1alpha2). Services come from
// spec.serviceTemplates, Secrets from spec.authSecret (else the implied <name>-auth),
// configSecret, acl, spec.configuration (secretName, acl.secretRef) and spec.tls (else the implied <name>-<alias>-cert), issuers from spec.tls.

import type { Json, JsonObject, Mode } from '../engine/types.js';
import {
  containerSecretRefs, containerView, envSecretRefs, podFromSpec, pushSecret, volumeSecretRefs,
  type PodFromSpec, type PodSpecOptions,
} from './podspec.js';
import { issuerRef, namespaceRefs } from './refs.js';
import { summarise } from './summary.js';
import {
  type AdapterResult, type ContainerView, type IssuerRefView, type Recognition, type SecretRefView,
  type ServiceTemplateView, type WorkloadAdapter, int, list, obj, str, stringMap,
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

function template(object: JsonObject, kind: keyof typeof MAIN_CONTAINER, version: string, replicas: number, selectorLabels: Record<string, string>): PodFromSpec {
  const built = podTemplate(object, kind, version, replicas, selectorLabels);
  addOperatorParts(obj(object['spec']), built);
  return built;
}

function podTemplate(object: JsonObject, kind: keyof typeof MAIN_CONTAINER, version: string, replicas: number, selectorLabels: Record<string, string>): PodFromSpec {
  const spec = obj(object['spec']);
  const tpl = obj(spec['podTemplate']);
  const meta = obj(tpl['metadata']);
  // Built by assignment: object spread measured microseconds per review here.
  const labels = Object.assign(stringMap(meta['labels']), selectorLabels);
  const options: PodSpecOptions = {
    path: 'spec.podTemplate',
    // Sentinels get the plan's Sentinel defaults (default-resources picks by role).
    role: kind === 'RedisSentinel' ? 'sentinel' : 'redis',
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
  const built = podFromSpec(Object.assign({}, flat, { containers: [] }), options);
  const { pod, slots, secretRefs } = built;
  const redis: ContainerView = containerView(
    { name: MAIN_CONTAINER[kind], resources: flat['resources'] ?? {}, securityContext: flat['containerSecurityContext'] ?? {},
      args: flat['args'] ?? [], env: flat['env'] ?? [] },
    'container', true,
  );
  envSecretRefs(flat['env'], 'spec.podTemplate.spec.env', secretRefs);
  pod.containers.unshift(redis);
  slots.containers.unshift({
    name: MAIN_CONTAINER[kind], kind: 'container', redis: true,
    securityContext: ['spec', 'podTemplate', 'spec', 'containerSecurityContext'],
    resources: ['spec', 'podTemplate', 'spec', 'resources'],
  });
  return built;
}

/**
 * What the operator adds to the pod from other CR fields: the init script's volume (any volume
 * source, hostPath included), the exporter container of spec.monitor, and (v1alpha2) the
 * coordinator container's resources and securityContext.
 */
function addOperatorParts(spec: JsonObject, built: PodFromSpec): void {
  const { pod, slots, secretRefs } = built;
  const script = obj(obj(spec['init'])['script']);
  const source: JsonObject = {};
  for (const key in script) if (key !== 'scriptPath') source[key] = script[key] ?? null;
  if (Object.keys(source).length > 0) {
    source['name'] = 'initial-script';
    pod.volumes.push(source);
    volumeSecretRefs(source, 'spec.init.script', secretRefs);
  }
  const monitor = obj(spec['monitor']);
  if (str(monitor['agent'])) {
    const exporter = obj(obj(monitor['prometheus'])['exporter']);
    pod.containers.push(containerView(Object.assign({}, exporter, { name: 'exporter' }), 'container', false));
    containerSecretRefs(exporter, 'spec.monitor.prometheus.exporter', secretRefs);
    slots.containers.push({
      name: 'exporter', kind: 'container', redis: false,
      securityContext: ['spec', 'monitor', 'prometheus', 'exporter', 'securityContext'],
      resources: ['spec', 'monitor', 'prometheus', 'exporter', 'resources'],
    });
  }
  if (spec['coordinator'] !== undefined) {
    pod.containers.push(containerView(Object.assign({}, obj(spec['coordinator']), { name: 'rd-coordinator' }), 'container', false));
    slots.containers.push({
      name: 'rd-coordinator', kind: 'container', redis: false,
      securityContext: ['spec', 'coordinator', 'securityContext'], resources: ['spec', 'coordinator', 'resources'],
    });
  }
}

/** KubeDB's certificate aliases for Redis and RedisSentinel; each gets `<name>-<alias>-cert` unless named. */
const CERT_ALIASES = ['server', 'client', 'metrics-exporter'];

function secretsOf(name: string, spec: JsonObject, out: SecretRefView[]): void {
  const auth = spec['authSecret'];
  if (auth !== undefined && str(obj(auth)['name'])) pushSecret(out, 'spec.authSecret.name', str(obj(auth)['name']));
  else if (spec['disableAuth'] !== true) pushSecret(out, 'spec.authSecret.name', `${name}-auth`, true);
  pushSecret(out, 'spec.configSecret.name', str(obj(spec['configSecret'])['name']));
  pushSecret(out, 'spec.acl.secretRef.name', str(obj(obj(spec['acl'])['secretRef'])['name']));
  // v1's spec.configuration, the successor of configSecret and acl: the same Secrets, other fields.
  const configuration = obj(spec['configuration']);
  pushSecret(out, 'spec.configuration.secretName', str(configuration['secretName']));
  pushSecret(out, 'spec.configuration.acl.secretRef.name', str(obj(obj(configuration['acl'])['secretRef'])['name']));
  const tls = obj(spec['tls']);
  const named = new Set<string>();
  list(tls['certificates']).forEach((c, i) => {
    const cert = obj(c);
    const secretName = str(cert['secretName']);
    if (secretName) named.add(str(cert['alias']));
    pushSecret(out, `spec.tls.certificates[${i}].secretName`, secretName);
  });
  if (spec['tls'] !== undefined) {
    for (const alias of CERT_ALIASES) {
      if (!named.has(alias)) pushSecret(out, 'spec.tls.certificates', `${name}-${alias}-cert`, true);
    }
  }
}

function issuersOf(spec: JsonObject): IssuerRefView[] {
  const tls = obj(spec['tls']);
  const out: IssuerRefView[] = [];
  if (tls['issuerRef'] !== undefined) out.push(issuerRef(tls['issuerRef'], 'spec.tls.issuerRef'));
  list(tls['certificates']).forEach((c, i) => {
    const ref = obj(c)['issuerRef'];
    if (ref !== undefined) out.push(issuerRef(ref, `spec.tls.certificates[${i}].issuerRef`));
  });
  return out;
}

function servicesOf(spec: JsonObject): ServiceTemplateView[] {
  return list(spec['serviceTemplates']).map((t: Json, i) => {
    const s = obj(obj(t)['spec']);
    return { path: `spec.serviceTemplates[${i}]`, type: str(s['type']), externalIPs: list(s['externalIPs']).map(str) };
  });
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
      const { pod, slots, secretRefs } = template(object, kind, version, pods, kubedbSelector(name, kindLabel, shape.mode === 'Cluster'));
      secretsOf(name, spec, secretRefs);
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
        services: servicesOf(spec),
        namespaceRefs: namespaceRefs(spec, 'spec'),
        secretRefs,
        issuerRefs: issuersOf(spec),
      });
      return { redis: true, result: { view, slots: [slots], mutable: true } };
    },
  };
}

export const kubedbAdapters: WorkloadAdapter[] = [makeAdapter('Redis'), makeAdapter('RedisSentinel')];
