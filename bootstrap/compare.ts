// Does the live object already hold what Redline would apply? Used to skip writes when nothing
// drifted (a resync must not write 500 namespaces × 11 objects every 5 minutes).
//
// Two notions:
//  - covers(live, desired): desired is a SUBSET of live (maps), lists element-wise with equal
//    length. Right for objects Redline does NOT own as a whole (the Namespace: others' labels stay).
//  - matchesDesired(live, desired): for the objects Redline stamps and owns. metadata.labels and
//    annotations are a subset match (others may add theirs); everything else except status must be
//    EXACTLY what Redline renders. A field someone added (an `ingress` rule on the default-deny
//    policy, a `scopeSelector` on the quota, a `matchLabels` on an empty pod selector) is drift:
//    server-side apply alone does not remove fields another manager added, so the reconciler
//    removes them explicitly (extraFieldPaths → a JSON merge patch of nulls).
// Quantities compare by value ("0.5" and "500m" are equal): the API server re-serialises them.

import { Quantity } from '../policies/engine/quantity.js';

function sameScalar(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'string') return String(a) === b;
  if (typeof a === 'string' && typeof b === 'number') return a === String(b);
  if (typeof a === 'string' && typeof b === 'string') {
    const x = Quantity.tryParse(a);
    const y = Quantity.tryParse(b);
    return x !== undefined && y !== undefined && x.compareTo(y) === 0;
  }
  return false;
}

/** True when every field of `desired` is present in `actual` with an equal value. */
export function covers(actual: unknown, desired: unknown): boolean {
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual) || actual.length !== desired.length) return false;
    return desired.every((d, i) => covers(actual[i], d));
  }
  if (desired !== null && typeof desired === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const a = actual as Record<string, unknown>;
    for (const [k, v] of Object.entries(desired as Record<string, unknown>)) {
      if (v === undefined) continue;
      if (!(k in a)) {
        // An empty desired map/list is satisfied by an absent field (the server drops {} / []).
        if ((Array.isArray(v) && v.length === 0) || (v !== null && typeof v === 'object' && Object.keys(v).length === 0)) continue;
        return false;
      }
      if (!covers(a[k], v)) return false;
    }
    return true;
  }
  return sameScalar(actual, desired);
}

/** The top-level field paths of `desired` that `actual` does not cover (for events and logs). */
export function driftedFields(actual: unknown, desired: Record<string, unknown>): string[] {
  const out: string[] = [];
  const a = (actual ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(desired)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata' && v && typeof v === 'object') {
      const md = (a['metadata'] ?? {}) as Record<string, unknown>;
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) {
        if (mk === 'name' || mk === 'namespace') continue;
        if (!covers(md[mk], mv)) out.push(`metadata.${mk}`);
      }
      continue;
    }
    if (!covers(a[k], v) || !sameValue(a[k], v)) out.push(k);
  }
  return out;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const emptyList = (v: unknown): boolean => Array.isArray(v) && v.length === 0;
const absent = (v: unknown): boolean => v === null || v === undefined;

/** Exact structural equality (both directions), quantity-aware for strings; an empty list equals an absent one (the server returns a Role's `rules: []` as null). */
export function sameValue(a: unknown, b: unknown): boolean {
  if ((emptyList(a) && absent(b)) || (absent(a) && emptyList(b))) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  }
  if (isMap(a) || isMap(b)) {
    if (!isMap(a) || !isMap(b)) return false;
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => k in b && sameValue(a[k], b[k]));
  }
  return sameScalar(a, b);
}

const IGNORED_TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'status']);

/** For objects Redline owns: labels/annotations subset, all other content (but status) exact. */
export function matchesDesired(live: unknown, desired: Record<string, unknown>): boolean {
  if (!isMap(live)) return false;
  const lm = (live['metadata'] ?? {}) as Record<string, unknown>;
  const dm = (desired['metadata'] ?? {}) as Record<string, unknown>;
  if (!covers(lm['labels'] ?? {}, dm['labels'] ?? {}) || !covers(lm['annotations'] ?? {}, dm['annotations'] ?? {})) return false;
  const keys = new Set([...Object.keys(live), ...Object.keys(desired)].filter((k) => !IGNORED_TOP_LEVEL.has(k)));
  for (const k of keys) if (!sameValue(live[k], desired[k])) return false;
  return true;
}

/**
 * Paths (as key lists) of map entries present in `live` but absent from `desired`, outside
 * metadata/status; lists are not descended into (they are atomic: apply replaces them whole).
 */
export function extraFieldPaths(live: unknown, desired: unknown, at: string[] = []): string[][] {
  if (!isMap(live) || !isMap(desired)) return [];
  const out: string[][] = [];
  for (const k of Object.keys(live)) {
    if (at.length === 0 && IGNORED_TOP_LEVEL.has(k)) continue;
    if (live[k] === undefined) continue;
    if (!(k in desired)) out.push([...at, k]);
    else out.push(...extraFieldPaths(live[k], desired[k], [...at, k]));
  }
  return out;
}

/** A JSON merge patch that deletes the given paths. */
export function nullPatch(paths: readonly string[][]): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const p of paths) {
    let node = patch;
    p.forEach((key, i) => {
      if (i === p.length - 1) node[key] = null;
      else node = (node[key] ??= {}) as Record<string, unknown>;
    });
  }
  return patch;
}
