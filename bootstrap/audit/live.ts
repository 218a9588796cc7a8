// One read of a cluster for `redline audit` and `redline plan-check`: the tenant namespaces in
// scope, every audited object in them, the StorageClasses and their PodDisruptionBudgets. Read-only
// (get and list calls only), paginated.

import { RedlineError } from '../../core/errors.js';
import { LABEL_TENANT } from '../../core/vocabulary.js';
import { ApiError, resourcePath, type KubeApi, type KubeObject } from '../../kube/api-client.js';
import type { ClusterFacts } from '../../kube/cluster-facts-source.js';
import type { Engine } from '../../policies/engine/engine.js';
import type { NamespaceInfo } from '../../policies/engine/types.js';
import { clusterFacts } from './facts.js';
import { isTenantNamespace, judgeNamespace, namespaceInfo, type NamespaceVerdict, type StoredObject } from './judge.js';
import { servedAuditedKinds } from './kinds.js';

export type Scope = { namespace: string } | { tenant: string } | { all: true };

export interface LiveCluster {
  namespaces: NamespaceInfo[];
  objects: Map<string, StoredObject[]>;
  facts: ClusterFacts;
}

/** The scope names nothing Redline audits: bad usage (exit code 2). */
function scopeError(message: string): RedlineError {
  return new RedlineError('usage', message);
}

interface List {
  metadata?: { continue?: string };
  items?: KubeObject[];
}

async function listAll(api: KubeApi, path: string, apiVersion: string, kind: string, labelSelector?: string): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  let cont: string | undefined;
  do {
    const page = await api.request<List>({ method: 'GET', path, verb: 'list', query: { limit: 500, continue: cont, labelSelector } });
    for (const item of page.items ?? []) out.push({ ...item, apiVersion: item.apiVersion ?? apiVersion, kind: item.kind ?? kind });
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return out;
}

async function tenantNamespaces(api: KubeApi, scope: Scope): Promise<NamespaceInfo[]> {
  if ('namespace' in scope) {
    let ns: KubeObject;
    try {
      ns = await api.get<KubeObject>(resourcePath('v1', 'namespaces', undefined, scope.namespace));
    } catch (e) {
      if (e instanceof ApiError && e.notFound) throw scopeError(`namespace ${scope.namespace} does not exist`);
      throw e;
    }
    const info = namespaceInfo(ns);
    if (!isTenantNamespace(info)) throw scopeError(`namespace ${scope.namespace} is not a tenant namespace (no ${LABEL_TENANT} label): Redline does not judge it`);
    return [info];
  }
  const selector = 'tenant' in scope ? `${LABEL_TENANT}=${scope.tenant}` : LABEL_TENANT;
  const found = (await listAll(api, resourcePath('v1', 'namespaces'), 'v1', 'Namespace', selector)).map(namespaceInfo).filter(isTenantNamespace);
  if ('tenant' in scope && found.length === 0) throw scopeError(`tenant ${scope.tenant} has no namespace (none labelled ${LABEL_TENANT}=${scope.tenant})`);
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

export async function readCluster(api: KubeApi, scope: Scope): Promise<LiveCluster> {
  const namespaces = await tenantNamespaces(api, scope);
  const wanted = new Set(namespaces.map((n) => n.name));
  const objects = new Map<string, StoredObject[]>(namespaces.map((n) => [n.name, []]));
  let pdbsKnown = false;
  for (const k of await servedAuditedKinds(api)) {
    // One namespace: list there; more: one cluster-wide list per kind rather than one per namespace.
    const listed = await listAll(api, resourcePath(k.apiVersion, k.plural, 'namespace' in scope ? scope.namespace : undefined), k.apiVersion, k.kind);
    if (k.kind === 'PodDisruptionBudget') pdbsKnown = true;
    for (const o of listed) {
      const ns = o.metadata.namespace;
      if (ns && wanted.has(ns)) objects.get(ns)!.push(o as unknown as StoredObject);
    }
  }
  let storageClasses: KubeObject[] | undefined;
  try {
    storageClasses = await listAll(api, '/apis/storage.k8s.io/v1/storageclasses', 'storage.k8s.io/v1', 'StorageClass');
  } catch (e) {
    if (!(e instanceof ApiError && (e.status === 403 || e.notFound))) throw e;
    storageClasses = undefined; // not readable here: the rules that need them skip, as in admission before its cache syncs
  }
  const facts = clusterFacts({
    storageClasses: () => storageClasses,
    pdbs: (ns) => (pdbsKnown ? (objects.get(ns) ?? []).filter((o) => o['kind'] === 'PodDisruptionBudget') as unknown as KubeObject[] : undefined),
  });
  return { namespaces, objects, facts };
}

/** The verdict of every namespace, against its own plan or `plan`. */
export function judgeCluster(engine: Engine, live: LiveCluster, plan?: string): NamespaceVerdict[] {
  return live.namespaces.map((ns) => judgeNamespace(engine, ns, live.objects.get(ns.name) ?? [], live.facts, plan));
}
