// Review: what admission would do, offline. Each object is mutated (unless --no-mutate) and the
// result validated; the plan comes from the object's Namespace in the input, else --plan.

import type { Engine } from '../engine/engine.js';
import type { SourceDocument } from '../engine/documents.js';
import type { JsonObject, PdbInfo, ResultKind, RuleResult, StorageClassInfo } from '../engine/types.js';

export const PLAN_LABEL = 'redline.dev/plan';
export const TENANT_LABEL = 'redline.dev/tenant';

export interface ReviewOptions {
  plan: string;
  mutate: boolean;
  only?: readonly string[];
}

export interface ObjectReview {
  doc: SourceDocument;
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  plan: string;
  results: RuleResult[];
  patched: boolean;
  mutated: JsonObject;
  denied: boolean;
}

export type Summary = Record<ResultKind, number>;

function meta(o: JsonObject): JsonObject {
  const m = o['metadata'];
  return m && typeof m === 'object' && !Array.isArray(m) ? m : {};
}

function labels(o: JsonObject): Record<string, string> {
  const l = meta(o)['labels'];
  const out: Record<string, string> = {};
  if (l && typeof l === 'object' && !Array.isArray(l)) for (const [k, v] of Object.entries(l)) if (typeof v === 'string') out[k] = v;
  return out;
}

const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

/** The StorageClasses among the input documents: the cluster as far as review can see it. */
export function storageClassesOf(docs: readonly SourceDocument[]): StorageClassInfo[] {
  return docs.filter((d) => d.value['kind'] === 'StorageClass' && String(d.value['apiVersion']).startsWith('storage.k8s.io/')).map((d) => {
    const annotations = meta(d.value)['annotations'];
    const isDefault = annotations && typeof annotations === 'object' && !Array.isArray(annotations) && annotations[DEFAULT_CLASS_ANNOTATION] === 'true';
    return { name: String(meta(d.value)['name'] ?? ''), provisioner: String(d.value['provisioner'] ?? ''), default: Boolean(isDefault) };
  });
}

/** The PodDisruptionBudgets among the input documents. */
export function pdbsOf(docs: readonly SourceDocument[]): PdbInfo[] {
  return docs.filter((d) => d.value['kind'] === 'PodDisruptionBudget' && String(d.value['apiVersion']).startsWith('policy/')).map((d) => {
    const spec = d.value['spec'];
    const selector = spec && typeof spec === 'object' && !Array.isArray(spec) ? spec['selector'] : undefined;
    return {
      name: String(meta(d.value)['name'] ?? ''),
      namespace: String(meta(d.value)['namespace'] ?? ''),
      selector: (selector && typeof selector === 'object' && !Array.isArray(selector) ? selector : {}) as PdbInfo['selector'],
    };
  });
}

export function reviewDocuments(engine: Engine, docs: readonly SourceDocument[], options: ReviewOptions): ObjectReview[] {
  const namespaces = new Map<string, Record<string, string>>();
  for (const d of docs) {
    if (d.value['kind'] === 'Namespace' && d.value['apiVersion'] === 'v1') {
      namespaces.set(String(meta(d.value)['name'] ?? ''), labels(d.value));
    }
  }
  // Review sees the cluster only through its input: the StorageClasses and PDBs listed there.
  const storageClasses = storageClassesOf(docs);
  const pdbs = pdbsOf(docs);
  const out: ObjectReview[] = [];
  for (const doc of docs) {
    const object = doc.value;
    const namespace = String(meta(object)['namespace'] ?? '');
    const nsLabels = namespaces.get(namespace);
    const plan = nsLabels?.[PLAN_LABEL] ?? options.plan;
    const outcome = engine.review({
      object,
      operation: 'CREATE',
      namespace: { name: namespace, labels: nsLabels ?? { [TENANT_LABEL]: namespace || 'default', [PLAN_LABEL]: plan } },
      plan,
      mutate: options.mutate,
      ...(options.only ? { only: options.only } : {}),
      storageClasses,
      pdbs: pdbs.filter((p) => p.namespace === namespace),
    });
    if (!outcome.redis) continue;
    out.push({
      doc,
      kind: String(object['kind']),
      apiVersion: String(object['apiVersion']),
      namespace,
      name: String(meta(object)['name'] ?? meta(object)['generateName'] ?? ''),
      plan,
      results: outcome.results,
      patched: outcome.patch.length > 0,
      mutated: outcome.mutated,
      denied: outcome.denied,
    });
  }
  return out;
}

export function summarise(reviews: readonly ObjectReview[]): Summary {
  const summary: Summary = { pass: 0, fail: 0, warn: 0, skip: 0, error: 0 };
  for (const r of reviews) for (const res of r.results) summary[res.result]++;
  return summary;
}
