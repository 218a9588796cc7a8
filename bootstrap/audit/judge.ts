// The audit's judgement of stored objects: the engine, called as the validating webhook calls it
// (webhook/admission.ts: the namespace's labels and plan, the cluster's StorageClasses and the
// namespace's PodDisruptionBudgets, validate only, no mutation), for an object that is re-written
// unchanged — operation UPDATE with the object as its own old object, so a Pod's nodeName (set by
// the scheduler after creation) is judged as admission judges later updates of it.
// Pure: no I/O. Used by the controller's background audit and by `redline audit` / `plan-check`.

import type { ClusterFacts } from '../../kube/cluster-facts-source.js';
import type { JsonObject, NamespaceInfo, ReviewInput, ReviewOutcome, RuleResult } from '../../policies/engine/types.js';
import { LABEL_MANAGED_BY, LABEL_PLAN, LABEL_TENANT, MANAGED_BY_REDLINE, TENANT_CA_SECRET } from '../../core/vocabulary.js';
import { isEnforcedNamespace } from '../../core/vocabulary.js';

/** What the audit needs of the engine (policies/engine's Engine; the webhook's Reviewer). */
export interface Judge {
  review(input: ReviewInput): ReviewOutcome;
}

/** Who a result is about: enough to find the object (and its incarnation: uid). */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

export interface ObjectVerdict {
  ref: ObjectRef;
  /** The object as stored (what the tenant ledger counts). */
  object: StoredObject;
  results: RuleResult[];
  /** Admission would refuse this object now. */
  denied: boolean;
}

export interface NamespaceVerdict {
  namespace: string;
  tenant: string;
  /** The plan judged against (the namespace's, or plan-check's). */
  plan: string;
  objects: ObjectVerdict[];
}

/** An object of the cluster as listed (apiVersion and kind filled in). */
export type StoredObject = JsonObject & { metadata: { name: string; namespace?: string; uid?: string; labels?: Record<string, string> } };

export function namespaceInfo(ns: { metadata: { name: string; labels?: Record<string, string> } }): NamespaceInfo {
  return { name: ns.metadata.name, labels: { ...(ns.metadata.labels ?? {}) } };
}

/** A tenant's namespace: the ones the audit reports on (offboarding namespaces are on their way out). */
export function isTenantNamespace(ns: NamespaceInfo): boolean {
  return Object.hasOwn(ns.labels, LABEL_TENANT) && isEnforcedNamespace(ns.labels);
}

/**
 * Objects the controller itself writes into tenant namespaces, which admission lets through by the
 * controller's identity (the tenant CA Certificate): not the tenant's to fix. Only that one name
 * with Redline's label is skipped, so a tenant cannot hide its own objects by copying the label.
 */
export function isRedlineOwn(obj: StoredObject): boolean {
  return obj['kind'] === 'Certificate' && obj.metadata.name === TENANT_CA_SECRET && obj.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_REDLINE;
}

export function refOf(obj: StoredObject): ObjectRef {
  return {
    apiVersion: String(obj['apiVersion'] ?? ''),
    kind: String(obj['kind'] ?? ''),
    name: obj.metadata.name,
    namespace: obj.metadata.namespace ?? '',
    uid: obj.metadata.uid ?? '',
  };
}

/** The engine input for a stored object in `ns`, judged against `plan` (the namespace's by default). */
export function auditInput(obj: StoredObject, ns: NamespaceInfo, facts: ClusterFacts | undefined, plan = ns.labels[LABEL_PLAN] ?? ''): ReviewInput {
  const labels = plan === ns.labels[LABEL_PLAN] ? ns.labels : { ...ns.labels, [LABEL_PLAN]: plan };
  return {
    object: obj,
    oldObject: obj,
    operation: 'UPDATE',
    namespace: { name: ns.name, labels },
    plan,
    mutate: false,
    validate: true,
    storageClasses: facts?.storageClasses(),
    pdbs: facts?.pdbs(ns.name),
  };
}

/**
 * Judges the objects of one namespace. An engine exception (never expected: results are values)
 * becomes an error result on that object rather than stopping the audit.
 */
export function judgeNamespace(engine: Judge, ns: NamespaceInfo, objects: Iterable<StoredObject>, facts: ClusterFacts | undefined, plan?: string): NamespaceVerdict {
  const judgedPlan = plan ?? ns.labels[LABEL_PLAN] ?? '';
  const verdicts: ObjectVerdict[] = [];
  for (const obj of objects) {
    if (isRedlineOwn(obj)) continue;
    let results: RuleResult[];
    let denied: boolean;
    try {
      const outcome = engine.review(auditInput(obj, ns, facts, judgedPlan));
      if (!outcome.redis && outcome.results.length === 0) continue; // not a Redis workload (as admission allows it)
      results = outcome.results;
      denied = outcome.denied;
    } catch (e) {
      results = [{ policy: 'redline', rule: 'audit', result: 'error', action: 'Deny', message: `could not be judged: ${e instanceof Error ? e.message : String(e)}`, denies: true }];
      denied = true;
    }
    verdicts.push({ ref: refOf(obj), object: obj, results, denied });
  }
  verdicts.sort((a, b) => compareRefs(a.ref, b.ref));
  return { namespace: ns.name, tenant: ns.labels[LABEL_TENANT] ?? '', plan: judgedPlan, objects: verdicts };
}

export function compareRefs(a: ObjectRef, b: ObjectRef): number {
  return a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name) || a.apiVersion.localeCompare(b.apiVersion);
}

/** Results worth reporting object by object: failures, warnings, errors, and skips an exception caused. */
export function isReported(r: RuleResult): boolean {
  return r.result === 'fail' || r.result === 'warn' || r.result === 'error' || (r.result === 'skip' && isWaived(r));
}

/**
 * A skip caused by a PolicyException (named, with its owner) rather than a rule that does not apply.
 * The engine marks such results; until it does, no skip is one.
 */
export function isWaived(r: RuleResult): boolean {
  return typeof (r as { exception?: unknown }).exception === 'object' && (r as { exception?: unknown }).exception !== null;
}
