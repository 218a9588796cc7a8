// Review: what admission would do, offline. Each object is mutated (unless --no-mutate) and the
// result validated; the plan comes from the object's Namespace in the input, else --plan.

import { LABEL_MANAGED, LABEL_PLAN, LABEL_TENANT } from '../../core/vocabulary.js';
import type { Engine } from '../engine/engine.js';
import type { SourceDocument } from '../engine/documents.js';
import type { ExceptionNotice, JsonObject, PdbInfo, ResultKind, RuleResult, StorageClassInfo } from '../engine/types.js';
import { RECOGNISED_KINDS, recognise, type WorkloadView } from '../workloads/index.js';
import { judgeTenantTotals, TENANT_TOTALS_POLICY } from './tenant-totals.js';
import type { CompiledRule } from '../engine/library.js';
import { locate, type Location } from './locations.js';


export interface ReviewOptions {
  plan: string;
  mutate: boolean;
  only?: readonly string[];
  /** The tenant of objects whose Namespace is not in the input (default: each namespace is its own tenant). */
  tenant?: string;
}

export interface ObjectReview {
  doc: SourceDocument;
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  plan: string;
  results: RuleResult[];
  /** Where each result points (same order as results): the offending field, else the object. */
  where: Location[];
  patched: boolean;
  mutated: JsonObject;
  denied: boolean;
  /** The PolicyExceptions that matched it (see ReviewOutcome.exceptions); absent: none. */
  exceptions?: ExceptionNotice[];
}

/** An object review looked at but did not judge, with the reason (listed in every format). */
export interface NotReviewed {
  doc: SourceDocument;
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  /** unknown-kind: looks like Redis, but Redline has no adapter for it; not-tenant: admission allows it unreviewed. */
  why: 'unknown-kind' | 'not-tenant';
  reason: string;
}

export interface ReviewReport {
  reviews: ObjectReview[];
  notReviewed: NotReviewed[];
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

/** Whether admission enforces a namespace with these labels: a tenant's, or one being offboarded (as the webhook decides). */
export function isEnforcedNamespace(labels: Readonly<Record<string, string>>): boolean {
  return Object.hasOwn(labels, LABEL_TENANT) || labels[LABEL_MANAGED] === 'true';
}

/** Words that make an unknown kind or apiVersion look like Redis. */
const REDIS_WORDS = /redis|valkey|keydb|dragonfly/i;

/** The API groups of Redis operators Redline supports, with their kinds and versions. */
const REDIS_GROUPS: ReadonlyMap<string, { kinds: Set<string>; versions: Map<string, string[]> }> = (() => {
  const groups = new Map<string, { kinds: Set<string>; versions: Map<string, string[]> }>();
  for (const { apiVersion, kind } of RECOGNISED_KINDS) {
    const slash = apiVersion.indexOf('/');
    if (slash < 0) continue;
    const group = apiVersion.slice(0, slash);
    if (!REDIS_WORDS.test(group) && !['kubedb.com', 'databases.spotahome.com', 'app.redislabs.com'].includes(group)) continue;
    const entry = groups.get(group) ?? { kinds: new Set<string>(), versions: new Map<string, string[]>() };
    entry.kinds.add(kind);
    entry.versions.set(kind, [...(entry.versions.get(kind) ?? []), apiVersion]);
    groups.set(group, entry);
  }
  return groups;
})();

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), case-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[x.length]![y.length]!;
}

/**
 * Why an object of a kind Redline has no adapter for looks like Redis, or null when it does not:
 * a typo'd kind in a Redis operator's group (Rediss in kubedb.com/v1), a known kind in a version
 * Redline does not support (kubedb.com/v1alpha1 Redis), or a kind or apiVersion that mentions
 * redis, valkey, keydb or dragonfly (RedisCluster in redis.example.com/v1).
 */
export function unknownRedisKind(apiVersion: string, kind: string): string | null {
  if (RECOGNISED_KINDS.some((k) => k.apiVersion === apiVersion && k.kind === kind)) return null;
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const known = REDIS_GROUPS.get(group);
  const base = `kind ${kind} in apiVersion ${apiVersion} is not a kind Redline knows`;
  if (known) {
    const versions = known.versions.get(kind);
    if (versions) return `${base}; it supports ${kind} in ${versions.join(', ')}`;
    const near = [...known.kinds].filter((k) => distance(k, kind) <= (k.length <= 5 ? 1 : 2) || k.toLowerCase() === kind.toLowerCase());
    if (near.length > 0) return `${base}; did you mean ${near.join(' or ')}?`;
    if (REDIS_WORDS.test(kind)) return base;
    return null;
  }
  return REDIS_WORDS.test(kind) || REDIS_WORDS.test(apiVersion) ? base : null;
}

/** Reviews the Redis objects among the documents, and lists the ones it did not review (see NotReviewed). */
export function reviewInput(engine: Engine, docs: readonly SourceDocument[], options: ReviewOptions): ReviewReport {
  const namespaces = new Map<string, Record<string, string>>();
  for (const d of docs) {
    if (d.value['kind'] === 'Namespace' && d.value['apiVersion'] === 'v1') {
      namespaces.set(String(meta(d.value)['name'] ?? ''), labels(d.value));
    }
  }
  // Review sees the cluster only through its input: the StorageClasses and PDBs listed there.
  const storageClasses = storageClassesOf(docs);
  // By namespace once: filtering every PDB of the input for each object was quadratic.
  const pdbsByNamespace = new Map<string, PdbInfo[]>();
  for (const p of pdbsOf(docs)) {
    const list = pdbsByNamespace.get(p.namespace);
    if (list) list.push(p);
    else pdbsByNamespace.set(p.namespace, [p]);
  }
  const out: ObjectReview[] = [];
  // Each reviewed object's view as the engine built it, for the tenant totals.
  const views = new Map<JsonObject, WorkloadView>();
  const notReviewed: NotReviewed[] = [];
  const rules = new Map<string, CompiledRule>();
  for (const p of engine.library.policies) for (const r of p.rules) rules.set(`${p.name}/${r.name}`, r);
  for (const doc of docs) {
    const object = doc.value;
    const namespace = String(meta(object)['namespace'] ?? '');
    const nsLabels = namespaces.get(namespace);
    const kind = String(object['kind']);
    const apiVersion = String(object['apiVersion']);
    const name = String(meta(object)['name'] ?? meta(object)['generateName'] ?? '');
    const unknown = unknownRedisKind(apiVersion, kind);
    if (nsLabels && !isEnforcedNamespace(nsLabels)) {
      // Admission allows every object in a namespace Redline does not enforce; list the Redis ones.
      if (unknown !== null || recognise(object).redis) {
        const reason = `namespace ${namespace} is not a tenant namespace (its Namespace in the input has no ${LABEL_TENANT} or ${LABEL_MANAGED} label): admission allows it unreviewed`;
        notReviewed.push({ doc, kind, apiVersion, namespace, name, why: 'not-tenant', reason });
      }
      continue;
    }
    if (unknown !== null) {
      notReviewed.push({ doc, kind, apiVersion, namespace, name, why: 'unknown-kind', reason: unknown });
      continue;
    }
    const plan = nsLabels?.[LABEL_PLAN] ?? options.plan;
    const outcome = engine.review({
      object,
      operation: 'CREATE',
      namespace: { name: namespace, labels: nsLabels ?? { [LABEL_TENANT]: options.tenant ?? (namespace || 'default'), [LABEL_PLAN]: plan } },
      plan,
      mutate: options.mutate,
      ...(options.only ? { only: options.only } : {}),
      storageClasses,
      pdbs: pdbsByNamespace.get(namespace) ?? [],
    });
    if (!outcome.redis) continue;
    if (outcome.view) views.set(outcome.mutated, outcome.view);
    out.push({
      doc,
      kind,
      apiVersion,
      namespace,
      name,
      plan,
      results: outcome.results,
      // Passes and skips are about the object as a whole; findings point at their field.
      where: outcome.results.map((r) => (r.result === 'pass' || r.result === 'skip'
        ? { line: doc.line, column: doc.column, path: '' }
        : locate(doc, r, rules.get(`${r.policy}/${r.rule}`)))),
      patched: outcome.patch.length > 0,
      mutated: outcome.mutated,
      denied: outcome.denied,
      ...(outcome.exceptions ? { exceptions: outcome.exceptions } : {}),
    });
  }
  // Only the policies asked for (--only) when it is named among them.
  if (!options.only || options.only.includes(TENANT_TOTALS_POLICY)) {
    judgeTenantTotals(out, (ns) => {
      const l = namespaces.get(ns);
      return { tenant: l?.[LABEL_TENANT] ?? options.tenant ?? (ns || 'default'), plan: l?.[LABEL_PLAN] ?? options.plan };
    }, engine.library.plans, (r) => views.get(r.mutated));
  }
  return { reviews: out, notReviewed };
}

/** The reviews of reviewInput alone. */
export function reviewDocuments(engine: Engine, docs: readonly SourceDocument[], options: ReviewOptions): ObjectReview[] {
  return reviewInput(engine, docs, options).reviews;
}

export function summarise(reviews: readonly ObjectReview[]): Summary {
  const summary: Summary = { pass: 0, fail: 0, warn: 0, skip: 0, error: 0 };
  for (const r of reviews) for (const res of r.results) summary[res.result]++;
  return summary;
}
