// Normalises a Kubernetes PodSpec (wherever a kind keeps it) into a PodView plus the slots that
// mutations write into.

import type { Json } from '../engine/types.js';
import { isRedisImage } from './detect.js';
import {
  type ContainerKind, type ContainerSlot, type ContainerView, type PodSlots, type PodView,
  type Segments, int, list, obj, quantityMap, str,
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
  return {
    name: str(c['name']),
    kind,
    image: str(c['image']),
    redis,
    securityContext: obj(c['securityContext']),
    resources: { limits: quantityMap(resources['limits']), requests: quantityMap(resources['requests']) },
    ports: list(c['ports']).map((p) => ({
      containerPort: int(obj(p)['containerPort'], 0),
      hostPort: int(obj(p)['hostPort'], 0),
    })),
    args: [...list(c['command']), ...list(c['args'])].map(str),
    env,
  };
}

/** Index of the Redis container: named redis/valkey, else a Redis image, else the first. */
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
  /** Mutations are not allowed at all (StatefulSet/Deployment/PetSet). */
  readOnly: boolean;
}

export function podFromSpec(rawSpec: Json | undefined, o: PodSpecOptions): { pod: PodView; slots: PodSlots } {
  const spec = obj(rawSpec);
  const containers: ContainerView[] = [];
  const containerSlots: ContainerSlot[] = [];
  const mainList = list(spec['containers']);
  const redisIndex = o.implicitRedisContainer
    ? mainList.findIndex((c) => str(obj(c)['name']) === o.implicitRedisContainer)
    : redisContainerIndex(mainList);
  for (const [field, kind] of CONTAINER_LISTS) {
    list(spec[field]).forEach((raw, i) => {
      const redis = kind === 'container' && i === redisIndex;
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
  };
  const slots: PodSlots = {
    podSecurityContext: o.readOnly ? null : [...o.at, 'securityContext'],
    affinity: o.readOnly || !affinitySupported ? null : [...o.at, 'affinity'],
    containers: containerSlots,
  };
  return { pod, slots };
}
