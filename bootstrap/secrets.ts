// Which Secrets of a tenant namespace the tenant may read. RBAC matches Secrets by exact name only
// (resourceNames), so the controller keeps a Role `redline-tenant-secrets` per tenant namespace
// whose one rule names exactly:
//   - the Secrets the namespace's Redis objects use (credentials, TLS: the adapters' secretRefs,
//     names the operator derives included),
//   - the Secrets named by the namespace's cert-manager Certificates (spec.secretName),
//   - the Secrets the tenant created (label redline.dev/tenant-secret=true, set by the webhook),
// and never a ServiceAccount token, the tenant CA (its key signs the tenant's certificates) or a
// Secret Redline manages. Only Secrets that exist (in the informer cache) are named: a name granted
// ahead of its Secret could be claimed by a Secret of a kind that must never be readable.
//
// A reference alone is not enough: a tenant can name any Secret of its namespace in a Redis object
// (`authSecret.name: platform-registry`). A referenced Secret is granted only when it says it is the
// tenant's or its Redis's: the tenant created it (the label above), cert-manager wrote it for a
// Certificate (annotation cert-manager.io/certificate-name), a Redis operator wrote it
// (app.kubernetes.io/managed-by of KubeDB or OT-Container-Kit), or a Redis object or Certificate
// owns it. The Redis Enterprise operator sets no managed-by label Redline knows: what it writes (the
// REC's admin credentials, a REDB's redb-<name>) is granted through its owner reference to the
// REC/REDB, else the tenant creates it itself (labelled). Spotahome creates no Secret at all. Image pull secrets are never granted: pods use them, tenants have no need to read them.

import type { KubeObject } from '../kube/api-client.js';
import type { JsonObject } from '../policies/engine/types.js';
import { recognise } from '../policies/workloads/index.js';
import { LABEL_MANAGED_BY, LABEL_TENANT_SECRET, MANAGED_BY_REDLINE, SECRET_TYPE_SERVICE_ACCOUNT_TOKEN, TENANT_CA_SECRET } from '../core/vocabulary.js';


/** A Redis custom resource kind whose objects may reference Secrets; the first served version is watched. */
export interface RedisKind {
  group: string;
  /** Preferred first. */
  versions: readonly string[];
  plural: string;
  kind: string;
}

export const REDIS_KINDS: readonly RedisKind[] = Object.freeze([
  { group: 'kubedb.com', versions: ['v1', 'v1alpha2'], plural: 'redises', kind: 'Redis' },
  { group: 'kubedb.com', versions: ['v1', 'v1alpha2'], plural: 'redissentinels', kind: 'RedisSentinel' },
  { group: 'redis.redis.opstreelabs.in', versions: ['v1beta2', 'v1beta1'], plural: 'redis', kind: 'Redis' },
  { group: 'redis.redis.opstreelabs.in', versions: ['v1beta2', 'v1beta1'], plural: 'redisclusters', kind: 'RedisCluster' },
  { group: 'redis.redis.opstreelabs.in', versions: ['v1beta2', 'v1beta1'], plural: 'redisreplications', kind: 'RedisReplication' },
  { group: 'redis.redis.opstreelabs.in', versions: ['v1beta2', 'v1beta1'], plural: 'redissentinels', kind: 'RedisSentinel' },
  // Redis Enterprise: the cluster serves v1 (storage) and v1alpha1; the others v1alpha1 only.
  { group: 'app.redislabs.com', versions: ['v1', 'v1alpha1'], plural: 'redisenterpriseclusters', kind: 'RedisEnterpriseCluster' },
  { group: 'app.redislabs.com', versions: ['v1alpha1'], plural: 'redisenterprisedatabases', kind: 'RedisEnterpriseDatabase' },
  { group: 'app.redislabs.com', versions: ['v1alpha1'], plural: 'redisenterpriseactiveactivedatabases', kind: 'RedisEnterpriseActiveActiveDatabase' },
  { group: 'app.redislabs.com', versions: ['v1alpha1'], plural: 'redisenterpriseremoteclusters', kind: 'RedisEnterpriseRemoteCluster' },
  { group: 'databases.spotahome.com', versions: ['v1'], plural: 'redisfailovers', kind: 'RedisFailover' },
]);

/** What the grant is computed from: the informer caches of one namespace. */
export interface SecretSources {
  redis: readonly KubeObject[];
  certificates: readonly KubeObject[];
  secrets: readonly KubeObject[];
  /** False while one of the caches has not listed yet (its objects may be missing). */
  complete?: boolean;
}

export interface SecretGrant {
  /** Sorted names the tenant may get/watch. */
  names: string[];
  /** Referenced or labelled names left out, with why (for logs). */
  refused: { name: string; why: string }[];
}

interface SecretRefLike {
  name?: unknown;
  path?: unknown;
}

/** Secret names one Redis object uses, by the adapters' view (empty when not recognised). */
export function referencedSecrets(obj: KubeObject): string[] {
  let rec;
  try {
    rec = recognise(obj as unknown as JsonObject);
  } catch {
    return []; // an object the adapters cannot read references nothing we can name
  }
  if (!rec.redis || !rec.result.view.redis) return []; // only Redis objects: a plain Pod's refs grant nothing
  const refs = (rec.result.view as unknown as { secretRefs?: readonly SecretRefLike[] }).secretRefs ?? [];
  return refs
    .filter((r) => typeof r.path !== 'string' || !r.path.includes('imagePullSecrets'))
    .map((r) => r.name)
    .filter((n): n is string => typeof n === 'string' && n !== '');
}

/** Operators whose app.kubernetes.io/managed-by label on a Secret says they wrote it for a Redis. */
const REDIS_OPERATORS: ReadonlySet<string> = new Set(['kubedb.com', 'redis-operator', 'redis.redis.opstreelabs.in']);
/** Owner kinds by API group: a Redis object, or a cert-manager Certificate. */
const OWNER_KINDS: ReadonlySet<string> = new Set([...REDIS_KINDS.map((k) => `${k.group}/${k.kind}`), 'cert-manager.io/Certificate']);
export const CERTIFICATE_NAME_ANNOTATION = 'cert-manager.io/certificate-name';
/**
 * The keys cert-manager writes into a Certificate's Secret. cert-manager adopts a Secret that
 * already exists and keeps its other keys, so a tenant Certificate naming someone else's Secret
 * would otherwise make all of it grantable once cert-manager has written there.
 */
const CERT_MANAGER_KEYS: ReadonlySet<string> = new Set(['tls.crt', 'tls.key', 'ca.crt', 'keystore.jks', 'truststore.jks', 'keystore.p12', 'truststore.p12']);

/** Why a referenced Secret belongs to the tenant's Redis, or undefined when nothing says so. */
function provenance(s: KubeObject): string | undefined {
  const labels = s.metadata.labels ?? {};
  if (labels[LABEL_TENANT_SECRET] === 'true') return 'created by the tenant';
  if (s.metadata.annotations?.[CERTIFICATE_NAME_ANNOTATION] && dataKeysOf(s).every((k) => CERT_MANAGER_KEYS.has(k))) return 'written by cert-manager';
  if (REDIS_OPERATORS.has(labels[LABEL_MANAGED_BY] ?? '')) return 'written by a Redis operator';
  const owners = (s.metadata as { ownerReferences?: { apiVersion?: string; kind?: string }[] }).ownerReferences ?? [];
  if (owners.some((o) => OWNER_KINDS.has(`${(o.apiVersion ?? '').split('/')[0]}/${o.kind ?? ''}`))) return 'owned by a Redis object or Certificate';
  return undefined;
}

/** The names of a Secret's data keys (the informer keeps them as `dataKeys`, never the values). */
function dataKeysOf(s: KubeObject): string[] {
  const kept = s['dataKeys'];
  if (Array.isArray(kept)) return kept.filter((k): k is string => typeof k === 'string');
  const data = s['data'];
  return data && typeof data === 'object' && !Array.isArray(data) ? Object.keys(data) : [];
}

function certificateSecret(cert: KubeObject): string | undefined {
  const name = (cert['spec'] as Record<string, unknown> | undefined)?.['secretName'];
  return typeof name === 'string' && name !== '' ? name : undefined;
}

export function grantableSecrets(src: SecretSources): SecretGrant {
  const wanted = new Set<string>();
  for (const o of src.redis) for (const n of referencedSecrets(o)) wanted.add(n);
  for (const c of src.certificates) {
    const n = certificateSecret(c);
    if (n) wanted.add(n);
  }
  for (const s of src.secrets) if (s.metadata.labels?.[LABEL_TENANT_SECRET] === 'true') wanted.add(s.metadata.name);

  const byName = new Map(src.secrets.map((s) => [s.metadata.name, s]));
  const names: string[] = [];
  const refused: SecretGrant['refused'] = [];
  for (const name of [...wanted].sort()) {
    const s = byName.get(name);
    if (name === TENANT_CA_SECRET) refused.push({ name, why: 'the tenant CA key' });
    else if (!s) refused.push({ name, why: 'does not exist (yet)' });
    else if (s['type'] === SECRET_TYPE_SERVICE_ACCOUNT_TOKEN) refused.push({ name, why: 'a ServiceAccount token' });
    else if (s.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_REDLINE) refused.push({ name, why: 'managed by Redline' });
    else if (!provenance(s)) refused.push({ name, why: 'referenced, but neither the tenant, cert-manager nor a Redis operator wrote it' });
    else names.push(name);
  }
  return { names, refused };
}

/** What the Secret informer keeps of a Secret: never its data, only the names of its keys. */
export function secretMetadataOnly(s: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion, labels, deletionTimestamp } = s.metadata;
  const certificate = s.metadata.annotations?.[CERTIFICATE_NAME_ANNOTATION];
  const owners = (s.metadata as { ownerReferences?: { apiVersion?: string; kind?: string; name?: string }[] }).ownerReferences;
  const keys = dataKeysOf(s);
  return {
    apiVersion: s.apiVersion ?? 'v1',
    kind: s.kind ?? 'Secret',
    metadata: { name, ...(namespace ? { namespace } : {}), ...(uid ? { uid } : {}), ...(resourceVersion ? { resourceVersion } : {}), ...(labels ? { labels } : {}), ...(deletionTimestamp ? { deletionTimestamp } : {}),
      ...(certificate ? { annotations: { [CERTIFICATE_NAME_ANNOTATION]: certificate } } : {}),
      ...(owners?.length ? { ownerReferences: owners.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.name })) } : {}) },
    ...(typeof s['type'] === 'string' ? { type: s['type'] } : {}),
    ...(keys.length ? { dataKeys: keys } : {}),
  };
}
