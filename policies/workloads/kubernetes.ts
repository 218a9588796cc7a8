// Plain Kubernetes kinds: the pod-template kinds StatefulSet, Deployment, ReplicaSet, DaemonSet
// (apps/v1), Job, CronJob (batch/v1, CronJob also batch/v1beta1), ReplicationController (v1) and
// PetSet (apps.k8s.appscode.com/v1, what KubeDB creates instead of StatefulSets); Pod (v1) and
// PodDisruptionBudget (policy/v1, v1beta1). Sets are validated only — never mutated, since an
// owning operator would revert us and loop. A Pod or template that does not run Redis still gets
// a view (role other-pod / other-workload): every Pod of a tenant is reviewed by pod-security.

import { LABEL_MANAGED_BY } from '../../core/vocabulary.js';
import { memoize } from '../engine/memo.js';
import type { Json, JsonObject } from '../engine/types.js';
import {
  REDIS_LABEL_KEYS, containerRunsRedis, imageVersion, labelSaysRedis, labelsSayRedis, redisOwnerKind,
} from './detect.js';
import { podFromSpec } from './podspec.js';
import { namespaceRefs } from './refs.js';
import { summarise } from './summary.js';
import {
  type ContainerView, type Recognition, type Segments, type WorkloadAdapter, type WorkloadView,
  at, int, list, obj, str, stringMap,
} from './view.js';

/** Labels that identify the members of one workload; anti-affinity selectors are built from these. */
const IDENTITY_LABELS = [
  'app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component',
  'app.kubernetes.io/managed-by', 'app', 'role', 'redis.kubedb.com/shard', 'redis_setup_type',
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

/** Labels, an owning Redis CR, or a container's image or command say Redis. */
function recognisedAsRedis(labels: Record<string, string>, ownerReferences: Json | undefined, spec: JsonObject): boolean {
  if (labelsSayRedis(labels)) return true;
  if (redisOwnerKind(ownerReferences)) return true;
  for (const c of list(spec['containers'])) if (containerRunsRedis(c)) return true;
  for (const c of list(spec['initContainers'])) if (containerRunsRedis(c)) return true;
  return false;
}

const NO_STORAGE: WorkloadView['storage'] = { size: '', storageClass: '', ephemeral: false, known: false };

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

type TemplateKind = 'StatefulSet' | 'Deployment' | 'PetSet' | 'ReplicaSet' | 'DaemonSet' | 'Job' | 'CronJob' | 'ReplicationController';

interface TemplateKindSpec {
  kind: TemplateKind;
  apiVersions: string[];
  /** Where the pod template is, from the object root. */
  template: Segments;
  /** Pods per template (DaemonSet: unknown, one per node, so 1). */
  replicas(spec: JsonObject): number;
  /** matchLabels of the selector (ReplicationController: the selector is the map itself). */
  selector(spec: JsonObject): Record<string, string>;
  /** Persistent storage from volumeClaimTemplates (StatefulSet/PetSet); otherwise not known. */
  claims: boolean;
  /** Mode when replicas does not decide it (DaemonSet runs on many nodes). */
  mode?: 'Replicated';
}

const matchLabels = (spec: JsonObject): Record<string, string> => stringMap(obj(spec['selector'])['matchLabels']);
const specReplicas = (spec: JsonObject): number => int(spec['replicas'], 1);

const TEMPLATE_KINDS: TemplateKindSpec[] = [
  { kind: 'StatefulSet', apiVersions: ['apps/v1'], template: ['spec', 'template'], replicas: specReplicas, selector: matchLabels, claims: true },
  { kind: 'Deployment', apiVersions: ['apps/v1'], template: ['spec', 'template'], replicas: specReplicas, selector: matchLabels, claims: false },
  { kind: 'PetSet', apiVersions: ['apps.k8s.appscode.com/v1'], template: ['spec', 'template'], replicas: specReplicas, selector: matchLabels, claims: true },
  { kind: 'ReplicaSet', apiVersions: ['apps/v1'], template: ['spec', 'template'], replicas: specReplicas, selector: matchLabels, claims: false },
  { kind: 'DaemonSet', apiVersions: ['apps/v1'], template: ['spec', 'template'], replicas: () => 1, selector: matchLabels, claims: false, mode: 'Replicated' },
  { kind: 'Job', apiVersions: ['batch/v1'], template: ['spec', 'template'], replicas: (s) => int(s['parallelism'], 1), selector: matchLabels, claims: false },
  {
    kind: 'CronJob', apiVersions: ['batch/v1', 'batch/v1beta1'], template: ['spec', 'jobTemplate', 'spec', 'template'],
    replicas: (s) => int(obj(obj(s['jobTemplate'])['spec'])['parallelism'], 1),
    selector: (s) => stringMap(obj(obj(obj(s['jobTemplate'])['spec'])['selector'])['matchLabels']),
    claims: false,
  },
  { kind: 'ReplicationController', apiVersions: ['v1'], template: ['spec', 'template'], replicas: specReplicas, selector: (s) => stringMap(s['selector']), claims: false },
];

function makeTemplateAdapter(k: TemplateKindSpec): WorkloadAdapter {
  const templatePath = k.template.join('.');
  const podSpecAt: Segments = [...k.template, 'spec'];
  return {
    apiVersions: k.apiVersions,
    kind: k.kind,
    recognise(object): Recognition {
      const meta = obj(object['metadata']);
      const spec = obj(object['spec']);
      const template = obj(at(object, k.template));
      const tmeta = obj(template['metadata']);
      const podSpec = obj(template['spec']);
      const labels = stringMap(tmeta['labels'], stringMap(meta['labels']));
      const redis = recognisedAsRedis(labels, meta['ownerReferences'], podSpec);
      const replicas = k.replicas(spec);
      const selector = k.selector(spec);
      const { pod, slots, secretRefs } = podFromSpec(podSpec, {
        path: templatePath, role: redis ? 'redis' : 'other', replicas,
        labels: stringMap(tmeta['labels']), annotations: stringMap(tmeta['annotations']),
        selectorLabels: Object.keys(selector).length > 0 ? selector : identity(stringMap(tmeta['labels'])),
        at: podSpecAt, readOnly: true, notRedis: !redis,
      });
      const main = pod.containers.find((c) => c.redis);
      const mounts = list(obj(list(podSpec['containers'])[0])['volumeMounts']).map((m) => str(obj(m)['name']));
      // Any controller owner: an operator's set (KubeDB PetSet, OT StatefulSet) is checked on its owner.
      const controlled = list(meta['ownerReferences']).some((r) => obj(r)['controller'] === true);
      const view = summarise({
        controlled,
        apiVersion: str(object['apiVersion']), kind: k.kind, engine: 'kubernetes',
        role: redis ? 'workload' : 'other-workload', redis,
        name: str(meta['name']), namespace: str(meta['namespace']),
        mode: k.mode ?? (replicas > 1 ? 'Replicated' : 'Standalone'), shards: 1, podsPerShard: replicas, pods: replicas,
        version: imageVersion(main?.image ?? ''),
        storage: k.claims ? storageFromClaims(list(spec['volumeClaimTemplates']).map(obj), mounts) : NO_STORAGE,
        tls: containerTls(main),
        podTemplates: [pod],
        secretRefs,
        namespaceRefs: namespaceRefs(spec, 'spec'),
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
    const redis = recognisedAsRedis(labels, meta['ownerReferences'], spec);
    const controlled = redis && list(meta['ownerReferences'])
      .some((r) => obj(r)['controller'] === true && SET_OWNERS.has(str(obj(r)['kind'])));
    const { pod, slots, secretRefs } = podFromSpec(spec, {
      path: 'spec', role: redis ? 'redis' : 'other', replicas: 1, labels, annotations: stringMap(meta['annotations']),
      selectorLabels: identity(labels), at: ['spec'], readOnly: !redis, notRedis: !redis,
    });
    const main = pod.containers.find((c) => c.redis);
    const view = summarise({
      apiVersion: 'v1', kind: 'Pod', engine: 'kubernetes', role: redis ? 'pod' : 'other-pod', redis,
      name: str(meta['name']) || str(meta['generateName']), namespace: str(meta['namespace']),
      mode: !redis || controlled ? '' : 'Standalone', shards: 1, podsPerShard: 1, pods: 1,
      version: imageVersion(main?.image ?? ''),
      storage: NO_STORAGE,
      tls: containerTls(main),
      podTemplates: [pod],
      controlled,
      secretRefs,
      namespaceRefs: namespaceRefs(spec, 'spec'),
    });
    // A Pod that is not Redis is judged as written, like Pod Security Admission does: never patched.
    return { redis: true, result: { view, slots: [slots], mutable: redis } };
  },
};

function intOrString(value: unknown): string {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' ? value : '';
}

const KUBEDB_NAME = 'app.kubernetes.io/name';

/**
 * The selector's labels, and whether it picks Redis pods: a Redis label value (in matchLabels or
 * in any value of an `In` expression), `Exists` on a label only operators put on Redis pods,
 * KubeDB's managed-by label without another kind's name, or (policy/v1) an empty selector, which
 * selects every pod of the namespace.
 */
function pdbSelector(raw: Json | undefined, apiVersion: string): { selector: Record<string, string>; redis: boolean } {
  const sel = obj(raw);
  const selector = stringMap(sel['matchLabels']);
  const expressions = list(sel['matchExpressions']);
  let redis = labelsSayRedis(selector)
    || (selector[LABEL_MANAGED_BY] === 'kubedb.com' && selector[KUBEDB_NAME] === undefined)
    || (apiVersion === 'policy/v1' && raw !== undefined && raw !== null && Object.keys(selector).length === 0 && expressions.length === 0);
  for (const e of expressions) {
    const expr = obj(e);
    const key = str(expr['key']);
    const operator = str(expr['operator']);
    if (operator === 'Exists' && REDIS_LABEL_KEYS.has(key)) redis = true;
    if (operator !== 'In') continue;
    const values = list(expr['values']).map(str);
    const redisValue = values.find((v) => labelSaysRedis(key, v));
    if (values.length === 1) selector[key] = values[0] ?? '';
    else if (redisValue !== undefined && selector[key] === undefined) selector[key] = redisValue;
    if (redisValue !== undefined) redis = true;
  }
  return { selector, redis };
}

const pdbAdapter: WorkloadAdapter = {
  apiVersions: ['policy/v1', 'policy/v1beta1'],
  kind: 'PodDisruptionBudget',
  recognise(object): Recognition {
    const meta = obj(object['metadata']);
    const spec = obj(object['spec']);
    const { selector, redis } = pdbSelector(spec['selector'], str(object['apiVersion']));
    // The PDB an operator writes for a Redis CR (OT: <cr>-pdb, owned by the CR) is a Redis PDB too.
    const owner = redisOwnerKind(meta['ownerReferences']);
    if (!redis && !owner) {
      return { redis: false, reason: 'PodDisruptionBudget does not select Redis pods' };
    }
    const view = summarise({
      apiVersion: str(object['apiVersion']), kind: 'PodDisruptionBudget', engine: 'kubernetes', role: 'pdb',
      name: str(meta['name']), namespace: str(meta['namespace']),
      mode: '', shards: 0, podsPerShard: 0, pods: 0, version: '',
      storage: NO_STORAGE,
      tls: { enabled: false, detail: '' },
      podTemplates: [],
      disruptionBudget: {
        selectsRedis: true,
        selector,
        minAvailable: intOrString(spec['minAvailable']),
        maxUnavailable: intOrString(spec['maxUnavailable']),
      },
      // Written by the operator of a Redis CR: judged through the CR, which knows the replicas it protects.
      controlled: owner !== '',
    });
    return { redis: true, result: { view, slots: [], mutable: false } };
  },
};

export const kubernetesAdapters: WorkloadAdapter[] = [...TEMPLATE_KINDS.map(makeTemplateAdapter), podAdapter, pdbAdapter];
