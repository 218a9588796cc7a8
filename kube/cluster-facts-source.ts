// What admission tells the policy engine about the cluster besides the namespace: its
// StorageClasses (where data lands) and the PodDisruptionBudgets of the request's namespace. Served
// from memory — by the cluster caches of storage-class-source.ts and pdb-source.ts, or fixed from
// the `--namespaces` file — as ready-made lists: a request only looks one up.
// `undefined` means "not known here": the rules that need it skip rather than guess.

import type { PdbInfo, StorageClassInfo } from '../policies/engine/types.js';

export interface ClusterFacts {
  storageClasses(): readonly StorageClassInfo[] | undefined;
  /** The PodDisruptionBudgets of `namespace` (precomputed; the same array until one changes). */
  pdbs(namespace: string): readonly PdbInfo[] | undefined;
}

export const NO_PDBS: readonly PdbInfo[] = Object.freeze([]);

/** Either annotation marks the default class (the API server's DefaultStorageClass admission reads both). */
export const DEFAULT_CLASS_ANNOTATIONS: readonly string[] = Object.freeze([
  'storageclass.kubernetes.io/is-default-class',
  'storageclass.beta.kubernetes.io/is-default-class',
]);

type Loose = Record<string, unknown>;

function record(v: unknown): Loose | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Loose) : undefined;
}

export function isDefaultClass(annotations: unknown): boolean {
  const a = record(annotations);
  return a !== undefined && DEFAULT_CLASS_ANNOTATIONS.some((k) => a[k] === 'true');
}

/** A StorageClass object (from a watch or a file) as the engine sees it; undefined without a name. */
export function storageClassInfo(obj: unknown): StorageClassInfo | undefined {
  const o = record(obj);
  const md = record(o?.['metadata']);
  const name = md?.['name'];
  if (typeof name !== 'string' || name === '') return undefined;
  const provisioner = o?.['provisioner'];
  return Object.freeze({ name, provisioner: typeof provisioner === 'string' ? provisioner : '', default: isDefaultClass(md?.['annotations']) });
}

/**
 * The label selector of a PDB, only its two fields (a malformed one becomes empty, which selects
 * nothing). The engine reads it defensively anyway.
 */
function selectorOf(spec: unknown): PdbInfo['selector'] {
  const sel = record(record(spec)?.['selector']);
  const out: PdbInfo['selector'] = {};
  const labels = record(sel?.['matchLabels']);
  if (labels) {
    const m: Record<string, string> = {};
    for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') m[k] = v;
    out.matchLabels = m;
  }
  const exprs = sel?.['matchExpressions'];
  if (Array.isArray(exprs)) {
    out.matchExpressions = exprs.flatMap((e) => {
      const r = record(e);
      if (!r || typeof r['key'] !== 'string' || typeof r['operator'] !== 'string') return [];
      const values = Array.isArray(r['values']) ? r['values'].filter((v): v is string => typeof v === 'string') : undefined;
      return [{ key: r['key'], operator: r['operator'], ...(values ? { values } : {}) }];
    });
  }
  return out;
}

/** A PodDisruptionBudget object as the engine sees it: name, namespace, selector; undefined without a name. */
export function pdbInfo(obj: unknown): PdbInfo | undefined {
  const o = record(obj);
  const md = record(o?.['metadata']);
  const name = md?.['name'];
  if (typeof name !== 'string' || name === '') return undefined;
  const namespace = typeof md?.['namespace'] === 'string' ? (md['namespace'] as string) : '';
  return Object.freeze({ name, namespace, selector: selectorOf(o?.['spec']) });
}

/** Per namespace, frozen, sorted by name (stable answers). */
export function pdbsByNamespace(pdbs: Iterable<PdbInfo>): Map<string, readonly PdbInfo[]> {
  const groups = new Map<string, PdbInfo[]>();
  for (const p of pdbs) {
    let g = groups.get(p.namespace);
    if (!g) groups.set(p.namespace, (g = []));
    g.push(p);
  }
  const out = new Map<string, readonly PdbInfo[]>();
  for (const [ns, g] of groups) out.set(ns, Object.freeze(g.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))));
  return out;
}

/**
 * The classes with the one a claim without storageClassName gets first: with several defaults the
 * API server (1.26+) picks the newest, ties by name. `created` is the creationTimestamp ('' unknown).
 */
export function orderStorageClasses(classes: readonly { info: StorageClassInfo; created: string }[]): readonly StorageClassInfo[] {
  const sorted = [...classes].sort((a, b) => {
    if (a.info.default !== b.info.default) return a.info.default ? -1 : 1;
    if (a.info.default && a.created !== b.created) return a.created > b.created ? -1 : 1;
    return a.info.name < b.info.name ? -1 : a.info.name > b.info.name ? 1 : 0;
  });
  return Object.freeze(sorted.map((c) => c.info));
}

/**
 * Facts fixed at start (the `--namespaces` file): StorageClasses known only when the file has some,
 * PodDisruptionBudgets likewise (then a namespace without any has none).
 */
export class StaticClusterFacts implements ClusterFacts {
  private readonly classes: readonly StorageClassInfo[] | undefined;
  private readonly byNamespace: Map<string, readonly PdbInfo[]> | undefined;

  constructor(storageClasses: readonly { info: StorageClassInfo; created: string }[] = [], pdbs: readonly PdbInfo[] = []) {
    this.classes = storageClasses.length ? orderStorageClasses(storageClasses) : undefined;
    this.byNamespace = pdbs.length ? pdbsByNamespace(pdbs) : undefined;
  }

  storageClasses(): readonly StorageClassInfo[] | undefined {
    return this.classes;
  }

  pdbs(namespace: string): readonly PdbInfo[] | undefined {
    return this.byNamespace ? (this.byNamespace.get(namespace) ?? NO_PDBS) : undefined;
  }

  describe(): { storageClasses: string; pdbs: string } {
    return {
      storageClasses: this.classes ? `${this.classes.length} from the namespaces file` : 'none in the namespaces file; the rules that need them skip',
      pdbs: this.byNamespace ? `${[...this.byNamespace.values()].reduce((n, l) => n + l.length, 0)} from the namespaces file` : 'none in the namespaces file; the rules that need them skip',
    };
  }
}
