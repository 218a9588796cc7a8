// The objects that count, per source (one per watched kind) and namespace, and a tenant's snapshot
// summed from them from scratch: what serve's usage caches answer (kube/usage-source.ts). Pure.

import { countsItself, tenantUsage, type NamespaceObjects, type TalliedObject } from './tally.js';
import type { Amounts } from './usage.js';

export interface TenantSnapshot {
  used: Amounts;
  /** The usage each object counts with, by object key (reservations are netted against it). */
  byKey: Map<string, Amounts>;
  /** Every object uid per namespace (is an owner known?). */
  uids: Map<string, ReadonlySet<string>>;
}

export class UsageIndex {
  private readonly sources: Map<string, TalliedObject[]>[] = [];

  constructor(sourceCount: number) {
    for (let i = 0; i < sourceCount; i++) this.sources.push(new Map());
  }

  /** Replaces what one source holds in one namespace. */
  set(source: number, namespace: string, objects: TalliedObject[]): void {
    const index = this.sources[source]!;
    if (objects.length) index.set(namespace, objects);
    else index.delete(namespace);
  }

  /** The objects of one namespace, every source together. */
  objects(namespace: string): NamespaceObjects {
    const objects: TalliedObject[] = [];
    for (const index of this.sources) {
      const list = index.get(namespace);
      if (list) for (const o of list) objects.push(o);
    }
    return { objects, uids: new Set(objects.map((o) => o.uid)) };
  }

  /** A tenant's usage over these namespaces, from scratch. */
  snapshot(namespaces: readonly string[]): TenantSnapshot {
    const all = namespaces.map((ns) => this.objects(ns));
    const byKey = new Map<string, Amounts>();
    const uids = new Map<string, ReadonlySet<string>>();
    all.forEach((ns, i) => {
      uids.set(namespaces[i]!, ns.uids);
      for (const o of ns.objects) if (countsItself(o.usage, ns.uids)) byKey.set(o.key, o.usage.amounts);
    });
    return { used: tenantUsage(all), byKey, uids };
  }
}
