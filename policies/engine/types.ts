// Public types of the policy engine. The webhook, the review CLI and the bootstrapper depend on
// these; keep them small and stable.

import type { WorkloadView } from '../workloads/view.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
export type Action = 'Deny' | 'Warn' | 'Audit';
export type ResultKind = 'pass' | 'fail' | 'warn' | 'skip' | 'error';
export type Mode = 'Standalone' | 'Replicated' | 'Cluster';

export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
}

export interface UserInfo {
  username: string;
  groups: string[];
}

export interface JsonPatchOp {
  op: 'add';
  path: string;
  value: Json;
}

export interface RuleResult {
  policy: string;
  rule: string;
  result: ResultKind;
  /** The action of the policy (or the rule's override) — decides what a `fail` means. */
  action: Action;
  message: string;
  /** For `error`: whether the policy's failure mode turned it into a denial. */
  denies: boolean;
  /**
   * A failing `violations` rule: the field paths its offenders start with (`spec.template.nodeName
   * node-1` → spec.template.nodeName), where review points. Absent otherwise.
   */
  paths?: readonly string[];
  /** Set on a `skip` that a PolicyException made: the exception, and the result it waived. */
  exception?: ExceptionRef;
  excepted?: 'fail' | 'warn' | 'error';
}

/** A PolicyException as results and notices name it. */
export interface ExceptionRef {
  name: string;
  owner: string;
  reason: string;
  /** As written in the document (a date or an RFC 3339 time). */
  expires: string;
  ticket?: string;
}

/**
 * active: in effect; expiring: in effect, expiring within the library's expiryWarningDays;
 * expired: past `expires`, ignored; pending: before `approved`, not in effect yet.
 */
export type ExceptionState = 'active' | 'expiring' | 'expired' | 'pending';

/** An exception that matched the object and waived rules, or would have (expired, pending). */
export interface ExceptionNotice {
  exception: ExceptionRef;
  state: ExceptionState;
  /** "policy.rule" of each rule it waived (or, expired or pending, did not). */
  rules: string[];
  /** One line for people, naming the exception and its owner first (admission warnings). */
  message: string;
}

/** A StorageClass of the cluster: `default` from the storageclass.kubernetes.io/is-default-class annotation. */
export interface StorageClassInfo { name: string; provisioner: string; default: boolean }

/** A PodDisruptionBudget of the cluster: its namespace and label selector. */
export interface PdbInfo {
  name: string;
  namespace: string;
  selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
}

export interface ReviewInput {
  object: JsonObject;
  oldObject?: JsonObject | null;
  operation: Operation;
  namespace: NamespaceInfo | null;
  /** Plan name to apply; its absence from the library is an `error` result, never a crash. */
  plan: string;
  userInfo?: UserInfo;
  /** Apply declared mutations first, then validate the mutated object (what admission stores). */
  mutate: boolean;
  /**
   * Evaluate the rules (default true). The mutating webhook passes false: its job is the patch,
   * and the validating webhook judges the final object after every mutation.
   */
  validate?: boolean;
  /** Restrict evaluation to these policy names. */
  only?: readonly string[];
  /**
   * The cluster's StorageClasses, for rules on where data lands (node-local provisioners, the
   * default class). Absent: not known here, and those rules skip. `review` passes the
   * StorageClass objects of its input files; `serve` does not fill it yet.
   */
  storageClasses?: readonly StorageClassInfo[];
  /** The PodDisruptionBudgets of the object's namespace, likewise (absent: not known). */
  pdbs?: readonly PdbInfo[];
  /** The wall clock PolicyExceptions are judged by (absent: the engine's clock). */
  now?: Date;
}

export interface ReviewOutcome {
  /**
   * False when Redline does not review the object (a kind it does not know, a PDB of other pods);
   * then results and patch are empty. True also for Pods, pod templates and Certificates that do
   * not run Redis: policies matching their roles (other-pod, other-workload, certificate) judge them.
   */
  redis: boolean;
  reason: string;
  results: RuleResult[];
  /** add-if-absent operations that turn `object` into `mutated`; empty when nothing changes. */
  patch: JsonPatchOp[];
  mutated: JsonObject;
  /** True when any Deny failure, or an error whose failure mode denies (after exceptions). */
  denied: boolean;
  /** The PolicyExceptions that matched the object and waived rules or would have; absent: none. */
  exceptions?: ExceptionNotice[];
  /**
   * The workload view of `mutated` the rules judged, for callers that need it again (review's tenant
   * totals) instead of recognising the object anew; absent when no rule judged `mutated` itself.
   */
  view?: WorkloadView;
}
