// Plain Kubernetes kinds: StatefulSet, Deployment (apps/v1), PetSet (apps.k8s.appscode.com/v1,
// what KubeDB creates instead of StatefulSets), Pod (v1) and PodDisruptionBudget (policy/v1).
// Sets are validated only — never mutated, since an owning operator would revert us and loop.

import { memoize } from '../engine/memo.js';
import type { JsonObject } from '../engine/types.js';
import { imageVersion, isRedisImage, labelsSayRedis } from './detect.js';
import { podFromSpec } from './podspec.js';
import { summarise } from './summary.js';
import {
  type ContainerView, type Recognition, type WorkloadAdapter, type WorkloadView,
  int, list, obj, str, stringMap,
} from './view.js';

/** Labels that identify the members of one workload; anti-affinity selectors are built from these. */
const IDENTITY_LABELS = [
  'app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component',
  'app.kubernetes.io/managed-by', 'app', 'role', 'redis.kubedb.com/shard',
];

const TLS_ENV = ['REDIS_TLS_ENABLED', 'VALKEY_TLS_ENABLED'];

/** Pods of these owners get the per-pod checks their owner cannot carry (anti-affinity on KubeDB v1). */
const SET_OWNERS: ReadonlySet<string> = new Set(['StatefulSet', 'PetSet']);

/** What a command line says about TLS: the TLS port (or ''), and whether the plain port is off. */
const tlsArgs = memoize((line: string): { tlsPort: string; plainOff: boolean } => ({
  tlsPort: /\s--tls-port[\s=]+(\d+)\s/.exec(line)?.[1] ?? '',
  plainOff: /\s--port[\s=]+0\s/.test(line),
}));

/** TLS of a plain Redis container: `--tls-port N` with `--port 0`, or REDIS_TLS_ENABLED=yes|true. */
export function containerTls(c: ContainerView | undefined): { enabled: boolean; detail: string } {
  if (!c) return { enabled: false, detail: 'no Redis container' };
  const { tlsPort, plainOff } = tlsArgs(` ${c.args.join(' ')} `);
  if (tlsPort && tlsPort !== '0' && plainOff) return { enabled: true, detail: `--tls-port ${tlsPort} --port 0` };
  for (const name of TLS_ENV) {
    const v = (c.env[name] ?? '').toLowerCase();
    if (v === 'yes' || v === 'true') return { enabled: true, detail: `${name}=${c.env[name]}` };
  }
  return {
    enabled: false,
    detail: tlsPort ? '--tls-port is set but the plain port is not disabled (--port 0)' : 'no --tls-port and no REDIS_TLS_ENABLED',
  };
}

function identity(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of IDENTITY_LABELS) if (labels[k] !== undefined) out[k] = labels[k];
  return Object.keys(out).length > 0 ? out : labels;
}

function notRedis(kind: string): Recognition {
  return { redis: false, reason: `${kind} does not run Redis (no Redis labels or image)` };
}

function recognisedAsRedis(labels: Record<string, string>, spec: JsonObject): boolean {
  if (labelsSayRedis(labels)) return true;
  return [...list(spec['containers']), ...list(spec['initContainers'])]
    .some((c) => isRedisImage(str(obj(c)['image'])));
}

function storageFromClaims(claims: JsonObject[], mounts: string[]): WorkloadView['storage'] {
  const claim = claims.find((c) => mounts.includes(str(obj(c['metadata'])['name']))) ?? claims[0];
  if (!claim) return { size: '', storageClass: '', ephemeral: true, known: true };
  const spec = obj(claim['spec']);
  return {
    size: str(obj(obj(spec['resources'])['requests'])['storage']),
    storageClass: str(spec['storageClassName']),
    ephemeral: false,
    known: true,
  };
}

function makeSetAdapter(kind: 'StatefulSet' | 'Deployment' | 'PetSet', apiVersions: string[]): WorkloadAdapter {
  return {
    apiVersions,
    kind,
    recognise(object): Recognition {
      const meta = obj(object['metadata']);
      const spec = obj(object['spec']);
      const template = obj(spec['template']);
      const tmeta = obj(template['metadata']);
      const podSpec = obj(template['spec']);
      const labels = stringMap(tmeta['labels'], stringMap(meta['labels']));
      if (!recognisedAsRedis(labels, podSpec)) return notRedis(kind);
      const replicas = int(spec['replicas'], 1);
      const selector = stringMap(obj(spec['selector'])['matchLabels']);
      const { pod, slots } = podFromSpec(podSpec, {
        path: 'spec.template', role: 'redis', replicas,
        labels: stringMap(tmeta['labels']), annotations: stringMap(tmeta['annotations']),
        selectorLabels: Object.keys(selector).length > 0 ? selector : identity(stringMap(tmeta['labels'])),
        at: ['spec', 'template', 'spec'], readOnly: true,
      });
      const redis = pod.containers.find((c) => c.redis);
      const mounts = list(obj(list(podSpec['containers'])[0])['volumeMounts']).map((m) => str(obj(m)['name']));
      const storage = kind === 'Deployment'
        ? { size: '', storageClass: '', ephemeral: false, known: false }
        : storageFromClaims(list(spec['volumeClaimTemplates']).map(obj), mounts);
      // Any controller owner: an operator's set (KubeDB PetSet, OT StatefulSet) is checked on its owner.
      const controlled = list(meta['ownerReferences']).some((r) => obj(r)['controller'] === true);
      const view = summarise({
        controlled,
        apiVersion: str(object['apiVersion']), kind, engine: 'kubernetes', role: 'workload',
        name: str(meta['name']), namespace: str(meta['namespace']),
        mode: replicas > 1 ? 'Replicated' : 'Standalone', shards: 1, podsPerShard: replicas, pods: replicas,
        version: imageVersion(redis?.image ?? ''),
        storage,
        tls: containerTls(redis),
        podTemplates: [pod],
      });
      return { redis: true, result: { view, slots: [slots], mutable: false } };
    },
  };
}

const podAdapter: WorkloadAdapter = {
  apiVersions: ['v1'],
  kind: 'Pod',
  recognise(object): Recognition {
    const meta = obj(object['metadata']);
    const spec = obj(object['spec']);
    const labels = stringMap(meta['labels']);
    if (!recognisedAsRedis(labels, spec)) return notRedis('Pod');
    const controlled = list(meta['ownerReferences'])
      .some((r) => obj(r)['controller'] === true && SET_OWNERS.has(str(obj(r)['kind'])));
    const { pod, slots } = podFromSpec(spec, {
      path: 'spec', role: 'redis', replicas: 1, labels, annotations: stringMap(meta['annotations']),
      selectorLabels: identity(labels), at: ['spec'], readOnly: false,
    });
    const redis = pod.containers.find((c) => c.redis);
    const view = summarise({
      apiVersion: 'v1', kind: 'Pod', engine: 'kubernetes', role: 'pod',
      name: str(meta['name']) || str(meta['generateName']), namespace: str(meta['namespace']),
      mode: controlled ? '' : 'Standalone', shards: 1, podsPerShard: 1, pods: 1,
      version: imageVersion(redis?.image ?? ''),
      storage: { size: '', storageClass: '', ephemeral: false, known: false },
      tls: containerTls(redis),
      podTemplates: [pod],
      controlled,
    });
    return { redis: true, result: { view, slots: [slots], mutable: true } };
  },
};

function intOrString(value: unknown): string {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' ? value : '';
}

const pdbAdapter: WorkloadAdapter = {
  apiVersions: ['policy/v1', 'policy/v1beta1'],
  kind: 'PodDisruptionBudget',
  recognise(object): Recognition {
    const meta = obj(object['metadata']);
    const spec = obj(object['spec']);
    const selector = stringMap(obj(spec['selector'])['matchLabels']);
    for (const e of list(obj(spec['selector'])['matchExpressions'])) {
      const expr = obj(e);
      const values = list(expr['values']).map(str);
      if (str(expr['operator']) === 'In' && values.length === 1) selector[str(expr['key'])] = values[0] ?? '';
    }
    if (!labelsSayRedis(selector)) {
      return { redis: false, reason: 'PodDisruptionBudget does not select Redis pods' };
    }
    const view = summarise({
      apiVersion: str(object['apiVersion']), kind: 'PodDisruptionBudget', engine: 'kubernetes', role: 'pdb',
      name: str(meta['name']), namespace: str(meta['namespace']),
      mode: '', shards: 0, podsPerShard: 0, pods: 0, version: '',
      storage: { size: '', storageClass: '', ephemeral: false, known: false },
      tls: { enabled: false, detail: '' },
      podTemplates: [],
      disruptionBudget: {
        selectsRedis: true,
        selector,
        minAvailable: intOrString(spec['minAvailable']),
        maxUnavailable: intOrString(spec['maxUnavailable']),
      },
    });
    return { redis: true, result: { view, slots: [], mutable: false } };
  },
};

export const kubernetesAdapters: WorkloadAdapter[] = [
  makeSetAdapter('StatefulSet', ['apps/v1']),
  makeSetAdapter('Deployment', ['apps/v1']),
  makeSetAdapter('PetSet', ['apps.k8s.appscode.com/v1']),
  podAdapter,
  pdbAdapter,
];
