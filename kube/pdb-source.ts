// The cluster's PodDisruptionBudgets for `serve`: policy/v1 where served (1.21+), else
// policy/v1beta1 (found by discovery, retried while the API server does not answer); an API
// server that serves neither leaves them unknown (availability/pdb-present skips) and does not
// hold readiness back. Only name, namespace and selector are cached; each namespace's list is
// rebuilt when one of its PDBs changes, so a request reads a ready array.

import type { PdbInfo } from '../policies/engine/types.js';
import type { KubeApi, KubeObject } from './api-client.js';
import { servedResources } from './discovery.js';
import { NO_PDBS, pdbInfo, pdbsByNamespace } from './cluster-facts-source.js';
import type { Informer } from './informer.js';
import { slimMetadata, WatchedSource, type ClusterCacheOptions, type ServedResource, type SourceStatus } from './watched-source.js';

export const PDB_VERSIONS = ['policy/v1', 'policy/v1beta1'] as const;

/** The newest policy version that serves poddisruptionbudgets; null when none does. Other failures throw. */
export async function locatePdbs(api: KubeApi, signal?: AbortSignal): Promise<ServedResource | null> {
  for (const apiVersion of PDB_VERSIONS) {
    if ((await servedResources(api, apiVersion, signal)).has('poddisruptionbudgets')) {
      return { path: `/apis/${apiVersion}/poddisruptionbudgets`, apiVersion, kind: 'PodDisruptionBudget' };
    }
  }
  return null;
}

/** Name, namespace, resourceVersion and spec.selector: nothing else is kept. */
export function slimPdb(obj: KubeObject): KubeObject {
  const spec = obj['spec'] as { selector?: unknown } | undefined;
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: slimMetadata(obj.metadata),
    spec: spec && typeof spec === 'object' && spec.selector !== undefined ? { selector: spec.selector } : {},
  };
}

export class ClusterPdbSource {
  readonly name = 'poddisruptionbudgets';
  private readonly byNamespace = new Map<string, readonly PdbInfo[]>();
  private count = 0;
  private readonly source: WatchedSource;

  constructor(opts: ClusterCacheOptions) {
    this.source = new WatchedSource(
      {
        name: this.name,
        locate: (api, signal) => locatePdbs(api, signal),
        transform: slimPdb,
        changed: (informer, namespaces) => this.rebuild(informer, namespaces),
      },
      opts,
    );
  }

  /** The PDBs of `namespace`; undefined until the first list (or when the API server serves none). */
  pdbs(namespace: string): readonly PdbInfo[] | undefined {
    if (!this.source.listed()) return undefined;
    return this.byNamespace.get(namespace) ?? NO_PDBS;
  }

  /** policy/v1 or policy/v1beta1 once discovery answered; null when neither is served. */
  apiVersion(): string | null | undefined {
    const r = this.source.resource();
    return r === undefined ? undefined : (r?.apiVersion ?? null);
  }

  synced(): boolean {
    return this.source.synced();
  }

  status(): SourceStatus {
    return this.source.status(() => this.count);
  }

  start(): Promise<void> {
    return this.source.start();
  }

  stop(): Promise<void> {
    return this.source.stop();
  }

  private rebuild(informer: Informer, namespaces: ReadonlySet<string>): void {
    // Synchronous, so no request sees a half-built map; each namespace's array is replaced, never changed.
    const next = this.byNamespace;
    for (const ns of namespaces) {
      const infos = informer.inNamespace(ns).flatMap((o) => {
        const p = pdbInfo(o);
        return p ? [p] : [];
      });
      const grouped = pdbsByNamespace(infos).get(ns);
      if (grouped) next.set(ns, grouped);
      else next.delete(ns);
    }
    this.count = informer.size;
  }
}
