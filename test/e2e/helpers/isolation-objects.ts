// Objects for the isolation e2e suite: each builder makes a compliant object (restricted pod
// security, within the standard plan) so that a test changes exactly the one field it attacks.

type Obj = Record<string, unknown>;

function isPlain(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects; arrays and scalars of `patch` replace. */
export function merge<T extends Obj>(base: T, patch: Obj): T {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = isPlain(v) && isPlain(out[k]) ? merge(out[k] as Obj, v) : v;
  return out as T;
}

export const RESTRICTED_CONTAINER = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true };
export const RESTRICTED_POD = { runAsNonRoot: true, runAsUser: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } };

export function container(name: string, image: string, memory = '1Gi', cpu = '500m', extra: Obj = {}): Obj {
  return {
    name,
    image,
    resources: { limits: { memory, cpu }, requests: { memory, cpu } },
    securityContext: RESTRICTED_CONTAINER,
    ...extra,
  };
}

export function podSpec(containers: Obj[], extra: Obj = {}): Obj {
  return { automountServiceAccountToken: false, securityContext: RESTRICTED_POD, containers, ...extra };
}

export function pod(ns: string, name: string, spec: Obj, metadata: Obj = {}): Obj {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, ...metadata }, spec };
}

export function statefulSet(ns: string, name: string, labels: Record<string, string>, spec: Obj, metadata: Obj = {}): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: ns, labels, ...metadata },
    spec: { serviceName: name, replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec } },
  };
}

export function deployment(ns: string, name: string, labels: Record<string, string>, spec: Obj): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec } },
  };
}

/** A KubeDB standalone Redis within the standard plan (admission adds TLS and the securityContext). */
export function kubedbRedis(ns: string, name: string, patch: Obj = {}): Obj {
  return merge(
    {
      apiVersion: 'kubedb.com/v1',
      kind: 'Redis',
      metadata: { name, namespace: ns },
      spec: {
        version: '7.2.4',
        mode: 'Standalone',
        storageType: 'Durable',
        storage: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        podTemplate: { spec: { containers: [{ name: 'redis', resources: { limits: { memory: '1Gi', cpu: '500m' } } }] } },
        deletionPolicy: 'Delete',
      },
    },
    patch,
  );
}

/** KubeDB podTemplate.spec fields merged into the compliant Redis. */
export function kubedbWithPodSpec(ns: string, name: string, spec: Obj): Obj {
  return kubedbRedis(ns, name, { spec: { podTemplate: { spec } } });
}

const OT_BASE = {
  kubernetesConfig: {
    image: 'quay.io/opstree/redis:v7.0.15',
    imagePullPolicy: 'IfNotPresent',
    resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
  },
  podSecurityContext: { runAsUser: 1000, fsGroup: 1000 },
  storage: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } },
};

/** An OT-Container-Kit standalone Redis with TLS, within the standard plan. */
export function otRedis(ns: string, name: string, patch: Obj = {}): Obj {
  return merge(
    {
      apiVersion: 'redis.redis.opstreelabs.in/v1beta2',
      kind: 'Redis',
      metadata: { name, namespace: ns },
      spec: { ...OT_BASE, TLS: { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key', secret: { secretName: `${name}-tls` } } },
    },
    patch,
  );
}

export function otReplication(ns: string, name: string, patch: Obj = {}): Obj {
  return merge(
    {
      apiVersion: 'redis.redis.opstreelabs.in/v1beta2',
      kind: 'RedisReplication',
      metadata: { name, namespace: ns },
      spec: { clusterSize: 1, ...OT_BASE, TLS: { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key', secret: { secretName: `${name}-tls` } } },
    },
    patch,
  );
}

/** The labels and controller owner reference OT-Container-Kit puts on a standalone Redis's StatefulSet and Pod. */
export function otOwned(name: string): { labels: Record<string, string>; ownerReferences: Obj[] } {
  return {
    labels: { app: name, redis_setup_type: 'standalone', role: 'standalone' },
    ownerReferences: [
      { apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: 'Redis', name, uid: '0f8b6a2e-3c1d-4e5f-9a7b-1c2d3e4f5a6b', controller: true, blockOwnerDeletion: true },
    ],
  };
}

export function certificate(ns: string, name: string, spec: Obj): Obj {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name, namespace: ns },
    spec: { secretName: `${name}-tls`, issuerRef: { group: 'cert-manager.io', kind: 'Issuer', name: 'redline-redis-ca' }, ...spec },
  };
}

export function pdb(ns: string, name: string, spec: Obj, metadata: Obj = {}): Obj {
  return { apiVersion: 'policy/v1beta1', kind: 'PodDisruptionBudget', metadata: { name, namespace: ns, ...metadata }, spec };
}
