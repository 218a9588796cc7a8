// The cluster facts admission passes to the engine (kube/cluster-facts-source.ts), built from
// listed or watched objects: the StorageClasses (the default first) and each namespace's
// PodDisruptionBudgets. Unknown (undefined) when not listed: the rules that need them skip.

import type { KubeObject } from '../../kube/api-client.js';
import { NO_PDBS, orderStorageClasses, pdbInfo, storageClassInfo, type ClusterFacts } from '../../kube/cluster-facts-source.js';
import type { PdbInfo, StorageClassInfo } from '../../policies/engine/types.js';

export function storageClassesOf(objects: readonly KubeObject[]): readonly StorageClassInfo[] {
  return orderStorageClasses(objects.flatMap((o) => {
    const info = storageClassInfo(o);
    const created = o.metadata['creationTimestamp'];
    return info ? [{ info, created: typeof created === 'string' ? created : '' }] : [];
  }));
}

export function pdbsOf(objects: readonly KubeObject[]): readonly PdbInfo[] {
  const out = objects.flatMap((o) => pdbInfo(o) ?? []);
  return out.length ? Object.freeze(out.sort((a, b) => a.name.localeCompare(b.name))) : NO_PDBS;
}

/** Facts from sources that say undefined while they do not know (not served, not listed yet). */
export function clusterFacts(sources: {
  storageClasses: () => readonly KubeObject[] | undefined;
  pdbs: (namespace: string) => readonly KubeObject[] | undefined;
}): ClusterFacts {
  let classes: readonly StorageClassInfo[] | undefined | null = null; // computed once per facts object
  return {
    storageClasses: () => {
      if (classes === null) {
        const objects = sources.storageClasses();
        classes = objects ? storageClassesOf(objects) : undefined;
      }
      return classes;
    },
    pdbs: (namespace) => {
      const objects = sources.pdbs(namespace);
      return objects ? pdbsOf(objects) : undefined;
    },
  };
}
