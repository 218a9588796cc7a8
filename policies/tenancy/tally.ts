// A tenant's used amounts from the objects in its namespaces, summed from scratch each time it is
// asked (nothing is kept incrementally, so a missed event or a resync can never leave it drifted).
// The objects come from the cluster caches in serve and from the input files in `redline review`.

import { add, count, zero, type Amounts, type ObjectUsage } from './usage.js';

export interface TalliedObject {
  /** namespace/group/kind/name (objectKey). */
  key: string;
  uid: string;
  usage: ObjectUsage;
}

/** namespace/group/kind/name: the identity of an object across API versions. */
export function objectKey(namespace: string, apiVersion: string, kind: string, name: string): string {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  return `${namespace}/${group}/${kind}/${name}`;
}

/** The key a namespace's membership is reserved under. */
export function namespaceKey(name: string): string {
  return `ns:${name}`;
}

/**
 * Whether an object is counted by itself: a Redis workload or pod that has no controller, or whose
 * controller is not among the namespace's objects (a claim to an owner that does not exist, or is
 * not known yet, is no reason to count nothing).
 */
export function countsItself(usage: ObjectUsage, namespaceUids: ReadonlySet<string>): boolean {
  if (!usage.counted) return false;
  return !usage.owner || !usage.owner.uid || !namespaceUids.has(usage.owner.uid);
}

export interface NamespaceObjects {
  objects: Iterable<TalliedObject>;
  uids: ReadonlySet<string>;
}

/** The used amounts of a tenant whose namespaces hold these objects; `namespaces` counts them. */
export function tenantUsage(namespaces: readonly NamespaceObjects[]): Amounts {
  const out = zero();
  for (const ns of namespaces) {
    for (const o of ns.objects) if (countsItself(o.usage, ns.uids)) add(out, o.usage.amounts);
  }
  out.namespaces = count(namespaces.length);
  return out;
}
