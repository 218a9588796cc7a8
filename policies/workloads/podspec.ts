// Normalises a Kubernetes PodSpec (wherever a kind keeps it) into a PodView plus the slots that
// mutations write into, and collects the Secrets it uses.

import type { Json, JsonObject } from '../engine/types.js';
import { imageUserOf } from './images.js';
import { containerRunsRedis, isRedisImage } from './detect.js';
import {
  type ContainerKind, type ContainerSlot, type ContainerView, type PodSlots, type PodView,
  type Segments, type SecretRefView, int, list, obj, quantityMap, str, stringMap,
} from './view.js';

const CONTAINER_LISTS: readonly [string, ContainerKind][] = [
  ['containers', 'container'], ['initContainers', 'init'], ['ephemeralContainers', 'ephemeral'],
];

export function containerView(raw: Json, kind: ContainerKind, redis: boolean): ContainerView {
  const c = obj(raw);
  const resources = obj(c['resources']);
  const env: Record<string, string> = {};
  for (const e of list(c['env'])) {
    const name = str(obj(e)['name']);
    if (name) env[name] = str(obj(e)['value']);
  }
  const image = str(c['image']);
  // Fields, not a spread of imageUserOf's answer: a spread at the end of a literal copies at run time.
  const user = imageUserOf(image);
  return {
    name: str(c['name']),
    kind,
    image,
    redis,
    securityContext: obj(c['securityContext']),
    resources: { limits: quantityMap(resources['limits']), requests: quantityMap(resources['requests']) },
    ports: list(c['ports']).map((p) => ({
      containerPort: int(obj(p)['containerPort'], 0),
      hostPort: int(obj(p)['hostPort'], 0),
    })),
    args: [...list(c['command']), ...list(c['args'])].map(str),
    env,
    imageUser: user.imageUser,
    imageRunsAsNonRoot: user.imageRunsAsNonRoot,
  };
}

/**
 * Every container that runs a Redis server counts toward the plan, not only the main one: by
 * image or command, and a restartable init container (a native sidecar runs for the pod's life).
 * A plain init container must finish before the pod starts; ephemeral ones have no resources.
 */
function runsRedisServer(raw: Json, kind: ContainerKind, main: boolean): boolean {
  if (kind === 'container') return main || containerRunsRedis(raw);
  if (kind === 'init') return obj(raw)['restartPolicy'] === 'Always' && containerRunsRedis(raw);
  return false;
}

/** Index of the main Redis container: named redis/valkey, else a Redis image, else the first. */
export function redisContainerIndex(containers: Json[]): number {
  const named = containers.findIndex((c) => ['redis', 'valkey'].includes(str(obj(c)['name'])));
  if (named >= 0) return named;
  const byImage = containers.findIndex((c) => isRedisImage(str(obj(c)['image'])));
  return byImage >= 0 ? byImage : containers.length > 0 ? 0 : -1;
}

export interface PodSpecOptions {
  path: string;
  role: string;
  replicas: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  selectorLabels: Record<string, string>;
  /** Segments of the PodSpec inside the object. */
  at: Segments;
  /** false when the kind's PodSpec has no affinity field (KubeDB v1). */
  affinitySupported?: boolean;
  affinityUnsupportedReason?: string;
  /**
   * Operators that merge containers by name (KubeDB v1): the Redis container is the one with this
   * name, and when it is not listed the operator adds it — so it is implied, never a sidecar.
   */
  implicitRedisContainer?: string;
  /** Mutations are not allowed at all (sets, and Pods that are not Redis). */
  readOnly: boolean;
  /** The object is not Redis: no container is the Redis container, whatever it runs. */
  notRedis?: boolean;
}

export interface PodFromSpec { pod: PodView; slots: PodSlots; secretRefs: SecretRefView[] }

export function podFromSpec(rawSpec: Json | undefined, o: PodSpecOptions): PodFromSpec {
  const spec = obj(rawSpec);
  const containers: ContainerView[] = [];
  const containerSlots: ContainerSlot[] = [];
  const mainList = list(spec['containers']);
  const redisIndex = o.notRedis ? -1
    : o.implicitRedisContainer
      ? mainList.findIndex((c) => str(obj(c)['name']) === o.implicitRedisContainer)
      : redisContainerIndex(mainList);
  for (const [field, kind] of CONTAINER_LISTS) {
    list(spec[field]).forEach((raw, i) => {
      const redis = !o.notRedis && runsRedisServer(raw, kind, i === redisIndex);
      containers.push(containerView(raw, kind, redis));
      if (o.readOnly || kind === 'ephemeral') return; // ephemeral containers are added by subresource
      containerSlots.push({
        name: str(obj(raw)['name']),
        kind,
        redis,
        securityContext: [...o.at, field, i, 'securityContext'],
        resources: [...o.at, field, i, 'resources'],
      });
    });
  }
  if (redisIndex < 0 && o.implicitRedisContainer) {
    const name = o.implicitRedisContainer;
    containers.unshift(containerView({ name }, 'container', true));
    if (!o.readOnly) {
      containerSlots.unshift({
        name, kind: 'container', redis: true,
        securityContext: [...o.at, 'containers', mainList.length, 'securityContext'],
        resources: [...o.at, 'containers', mainList.length, 'resources'],
        create: { list: [...o.at, 'containers'], index: mainList.length, value: { name } },
      });
    }
  }
  const affinitySupported = o.affinitySupported ?? true;
  const automount = spec['automountServiceAccountToken'];
  const pod: PodView = {
    path: o.path,
    role: o.role,
    replicas: o.replicas,
    labels: o.labels,
    hostNetwork: spec['hostNetwork'] === true,
    hostPID: spec['hostPID'] === true,
    hostIPC: spec['hostIPC'] === true,
    os: str(obj(spec['os'])['name']) || 'linux',
    securityContext: obj(spec['securityContext']),
    annotations: o.annotations,
    containers,
    volumes: list(spec['volumes']).map(obj),
    affinity: affinitySupported ? obj(spec['affinity']) : null,
    affinitySupported,
    affinityUnsupportedReason: o.affinityUnsupportedReason ?? '',
    topologySpreadConstraints: list(spec['topologySpreadConstraints']).map(obj),
    selectorLabels: o.selectorLabels,
    nodeName: str(spec['nodeName']),
    priorityClassName: str(spec['priorityClassName']),
    tolerations: list(spec['tolerations']).map(obj),
    nodeSelector: stringMap(spec['nodeSelector']),
    serviceAccountName: str(spec['serviceAccountName']) || str(spec['serviceAccount']),
    runtimeClassName: str(spec['runtimeClassName']),
    schedulerName: str(spec['schedulerName']),
    automountServiceAccountToken: typeof automount === 'boolean' ? automount : null,
  };
  const slots: PodSlots = {
    podSecurityContext: o.readOnly ? null : [...o.at, 'securityContext'],
    affinity: o.readOnly || !affinitySupported ? null : [...o.at, 'affinity'],
    containers: containerSlots,
  };
  return { pod, slots, secretRefs: podSecretRefs(spec, dotted(o.at)) };
}

/** Segments as a dotted path with [i] for array indexes: spec.template.spec.volumes[0]. */
export function dotted(at: Segments): string {
  let out = '';
  for (const seg of at) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

/** Secrets a PodSpec uses: volumes (secret, projected, a driver's secretRef), env, envFrom, imagePullSecrets. */
export function podSecretRefs(spec: JsonObject, prefix: string, out: SecretRefView[] = []): SecretRefView[] {
  list(spec['volumes']).forEach((v, i) => volumeSecretRefs(v, `${prefix}.volumes[${i}]`, out));
  for (const [field] of CONTAINER_LISTS) {
    list(spec[field]).forEach((c, i) => containerSecretRefs(c, `${prefix}.${field}[${i}]`, out));
  }
  pullSecretRefs(spec['imagePullSecrets'], `${prefix}.imagePullSecrets`, out);
  return out;
}

export function pullSecretRefs(value: Json | undefined, path: string, out: SecretRefView[]): void {
  list(value).forEach((r, i) => pushSecret(out, `${path}[${i}].name`, str(obj(r)['name'])));
}

/** Volume sources that name a Secret, and where (besides secret.secretName and projected). */
const DRIVER_SECRET_FIELDS = ['secretRef', 'nodePublishSecretRef', 'controllerPublishSecretRef', 'nodeStageSecretRef'];

export function volumeSecretRefs(raw: Json, path: string, out: SecretRefView[]): void {
  const v = obj(raw);
  const secret = v['secret'];
  if (secret !== undefined) pushSecret(out, `${path}.secret.secretName`, str(obj(secret)['secretName']));
  list(obj(v['projected'])['sources']).forEach((s, j) => {
    const src = obj(s)['secret'];
    if (src !== undefined) pushSecret(out, `${path}.projected.sources[${j}].secret.name`, str(obj(src)['name']));
  });
  for (const key in v) {
    if (key === 'secret' || key === 'projected' || key === 'name') continue;
    const source = v[key];
    if (source === null || typeof source !== 'object' || Array.isArray(source)) continue;
    if (key === 'azureFile') pushSecret(out, `${path}.azureFile.secretName`, str(source['secretName']));
    for (const f of DRIVER_SECRET_FIELDS) {
      if (source[f] !== undefined) pushSecret(out, `${path}.${key}.${f}.name`, str(obj(source[f])['name']));
    }
  }
}

export function containerSecretRefs(raw: Json, path: string, out: SecretRefView[]): void {
  const c = obj(raw);
  envSecretRefs(c['env'], `${path}.env`, out);
  list(c['envFrom']).forEach((e, i) => {
    const ref = obj(e)['secretRef'];
    if (ref !== undefined) pushSecret(out, `${path}.envFrom[${i}].secretRef.name`, str(obj(ref)['name']));
  });
}

export function envSecretRefs(env: Json | undefined, path: string, out: SecretRefView[]): void {
  list(env).forEach((e, i) => {
    const ref = obj(obj(e)['valueFrom'])['secretKeyRef'];
    if (ref !== undefined) pushSecret(out, `${path}[${i}].valueFrom.secretKeyRef.name`, str(obj(ref)['name']));
  });
}

export function pushSecret(out: SecretRefView[], path: string, name: string, implied = false): void {
  if (name) out.push({ path, name, implied });
}
