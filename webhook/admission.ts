// From a checked AdmissionRequest to the AdmissionResponse: route (Namespace label guard, quick
// allows), look up the namespace, guard Secrets, call the reviewer, and shape the answer (denial
// messages, warnings, audit annotations, JSONPatch). Pure apart from counting a reviewer's
// exceptions: no I/O, nothing written anywhere — so dryRun requests need no special path. The
// policy results to count come back with the result: the server counts them after the answer.
// (The tenant ledger's reservation, the one write of serve, comes after it: AdmissionContext.ledger,
// called by the server.)

import type { Logger } from 'pino';
import { errorMessage, RedlineError } from '../core/errors.js';
import { LABEL_PLAN } from '../core/vocabulary.js';
import type { ClusterFacts } from '../kube/cluster-facts-source.js';
import type { NamespaceSource } from '../kube/namespaces.js';
import type { JsonPatchOp, ReviewInput, ReviewOutcome, RuleResult } from '../policies/engine/types.js';
import type { AdmissionRequest, AdmissionResponse } from './admission-review.js';
import { isEnforcedNamespace } from '../core/vocabulary.js';
import { LabelGuard, metadataNamePatch } from './label-guard.js';
import { LogKey } from './log-keys.js';
import type { AdmissionOutcome, WebhookMetrics } from './metrics.js';
import { checkNamespaceName, type PlanSpecs } from './namespace-pattern.js';
import type { TenantPlans } from '../kube/tenant-source.js';
import type { ParentReader } from './scale.js';
import { checkSecret, tenantSecretPatch, type SecretRequest } from './secret-guard.js';

/** What the webhook needs from the policy engine (policies/engine's Engine satisfies it). */
export interface Reviewer {
  review(input: ReviewInput): ReviewOutcome;
}

export type AdmissionEndpoint = 'validate' | 'mutate';

export interface AdmissionContext {
  /** The current reviewer (a getter, so a reloaded library can be swapped in). */
  reviewer: () => Reviewer;
  namespaces: NamespaceSource;
  /**
   * The cluster's StorageClasses and each namespace's PodDisruptionBudgets, passed to the engine
   * as ready lists. Absent (or a list it does not know): the rules that need them skip.
   */
  cluster?: ClusterFacts;
  labelGuard: LabelGuard;
  /** The plans of the library, for the namespace-name check (absent: no plan requires a pattern). */
  plans?: () => PlanSpecs;
  /** Which plan each Tenant names (absent or unknown: the namespace's own plan label). */
  tenants?: TenantPlans;
  metrics?: WebhookMetrics;
  /**
   * A namespace the source does not know: "allow" (a file/static source knows every namespace, so
   * unknown means not a tenant) or "deny" (a cluster cache may lag a just-created tenant namespace:
   * fail closed with a retry hint).
   */
  unknownNamespace: 'allow' | 'deny';
  /**
   * The tenant ledger (webhook/ledger.ts), consulted by the server after admit() allowed: a request
   * that grows a tenant's usage waits for its reservation (the one write of serve). Absent: no ledger.
   */
  /**
   * Reads the parent of a scale subresource (webhook/scale.ts), which is judged as an UPDATE of it.
   * Absent (no cluster access): a scale in an enforced namespace is refused.
   */
  parents?: ParentReader;
  ledger?: { hold(endpoint: AdmissionEndpoint, req: AdmissionRequest, result: AdmissionResult): Promise<AdmissionResult> | null };
}

export interface AdmissionResult {
  response: AdmissionResponse;
  outcome: AdmissionOutcome;
  /** Short machine-readable reason for the log line. */
  reason: string;
  patchOps: number;
  /** "policy.rule=result" for results other than pass/skip, "policy.rule=excepted:NAME" for waived ones (log line). */
  notable: string[];
  /**
   * The rule results to count in redline_policy_results_total (a validating review, or any denial
   * by the policies); the server counts them once the answer is written. Absent: none.
   */
  policyResults?: readonly RuleResult[] | undefined;
}

export const MAX_WARNING_LENGTH = 120;
export const MAX_AUDIT_VALUE_LENGTH = 1024;
const ANNOTATION_NAME_MAX = 63;

/** An exception from the reviewer: answered 500 so the API server applies the failurePolicy. */
export function reviewerError(cause: unknown): RedlineError {
  return new RedlineError('reviewer-failed', `policy evaluation failed: ${errorMessage(cause)}`, { status: 500, cause });
}

/** The fixed per-request log keys (never object bodies). */
export function requestFields(endpoint: AdmissionEndpoint, req: AdmissionRequest): Record<string, string> {
  return {
    [LogKey.endpoint]: endpoint,
    [LogKey.uid]: req.uid,
    [LogKey.operation]: req.operation,
    [LogKey.kind]: req.kind.kind,
    [LogKey.namespace]: req.namespace,
    [LogKey.name]: req.name,
    [LogKey.user]: req.userInfo.username,
  };
}

/** Child logger bound to the fixed per-request keys. */
export function requestLogger(base: Logger, endpoint: AdmissionEndpoint, req: AdmissionRequest): Logger {
  return base.child(requestFields(endpoint, req));
}

/**
 * A warning as the API server wants it: one line, ≤ 120 characters, no "Warning:" prefix (kubectl
 * adds its own). `source` (the policy) goes first so truncation cuts the message, not the origin.
 */
export function formatWarning(source: string, text: string): string {
  const message = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().replace(/^warning:\s*/i, '');
  let s = source ? `${source}: ${message}` : message;
  if (s.length > MAX_WARNING_LENGTH) s = `${s.slice(0, MAX_WARNING_LENGTH - 1).trimEnd()}…`;
  return s;
}

/**
 * Audit annotation key for a rule. The API server prefixes our key with the webhook's name
 * (`<webhook>/<key>`) and requires the result to be a qualified name, so the key must be a bare
 * name: ≤ 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric, and no "/".
 */
export function auditAnnotationKey(policy: string, rule: string): string {
  let s = `${policy}.${rule}`.replace(/[^A-Za-z0-9_.-]+/g, '-');
  s = s.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
  if (s.length > ANNOTATION_NAME_MAX) {
    // Keep it unique: a short hash of the full name replaces the tail.
    const hash = fnv1a(`${policy}.${rule}`);
    s = `${s.slice(0, ANNOTATION_NAME_MAX - hash.length - 1).replace(/[^A-Za-z0-9]+$/, '')}-${hash}`;
  }
  return s || `rule-${fnv1a(`${policy}.${rule}`)}`;
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

function allow(uid: string, reason: string): AdmissionResult {
  return { response: { uid, allowed: true }, outcome: 'allowed', reason, patchOps: 0, notable: [] };
}

export function deny(uid: string, reason: string, message: string): AdmissionResult {
  return {
    response: { uid, allowed: false, status: { code: 403, reason: 'Forbidden', message } },
    outcome: 'denied',
    reason,
    patchOps: 0,
    notable: [],
  };
}

function patched(uid: string, reason: string, ops: JsonPatchOp[]): AdmissionResult {
  if (ops.length === 0) return allow(uid, reason);
  return {
    response: { uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') },
    outcome: 'patched',
    reason,
    patchOps: ops.length,
    notable: [],
  };
}

function isDenying(r: RuleResult): boolean {
  return (r.result === 'fail' && r.action === 'Deny') || (r.result === 'error' && r.denies);
}

/** Shape an engine outcome into the response fields. */
export function shapeOutcome(
  endpoint: AdmissionEndpoint,
  uid: string,
  outcome: ReviewOutcome,
): { response: AdmissionResponse; outcome: AdmissionOutcome; notable: string[]; patchOps: number } {
  const response: AdmissionResponse = { uid, allowed: !outcome.denied };
  const notable: string[] = [];
  const denials: string[] = [];
  const warnings: string[] = [];
  const seenWarnings = new Set<string>();
  let audit: Record<string, string> | undefined;
  for (const r of outcome.results) {
    if (r.exception) notable.push(`${r.policy}.${r.rule}=excepted:${r.exception.name}`);
    if (r.result === 'pass' || r.result === 'skip') continue;
    notable.push(`${r.policy}.${r.rule}=${r.result}`);
    if (isDenying(r)) {
      denials.push(r.result === 'error' ? `${r.policy}.${r.rule}: could not be evaluated: ${r.message}` : `${r.policy}.${r.rule}: ${r.message}`);
      continue;
    }
    let warning: string | undefined;
    if (r.result === 'warn' || (r.result === 'fail' && r.action === 'Warn')) warning = formatWarning(r.policy, r.message);
    else if (r.result === 'error') warning = formatWarning(`${r.policy}.${r.rule}`, `could not be evaluated: ${r.message}`);
    if (warning !== undefined) {
      const w = warning;
      if (!seenWarnings.has(w)) {
        seenWarnings.add(w);
        warnings.push(w);
      }
    }
    if (r.action === 'Audit' && (r.result === 'fail' || r.result === 'error')) {
      audit ??= {};
      const v = r.message.length > MAX_AUDIT_VALUE_LENGTH ? `${r.message.slice(0, MAX_AUDIT_VALUE_LENGTH - 1)}…` : r.message;
      audit[auditAnnotationKey(r.policy, r.rule)] = v;
    }
  }
  // Every exception that waived a rule here (or, expired or not yet in effect, did not), naming its owner.
  for (const notice of outcome.exceptions ?? []) {
    const w = formatWarning('', notice.message);
    if (!seenWarnings.has(w)) {
      seenWarnings.add(w);
      warnings.push(w);
    }
  }
  if (outcome.denied) {
    response.status = {
      code: 403,
      reason: 'Forbidden',
      message: denials.length ? denials.join('; ') : outcome.reason || 'denied by Redline policy',
    };
  }
  // The mutating call answers only patch and denial; warnings and audit annotations come from the
  // validating call (which re-checks the stored object), so a user never sees a warning twice.
  if (endpoint === 'validate') {
    if (warnings.length) response.warnings = warnings;
    if (audit) response.auditAnnotations = audit;
  }
  let patchOps = 0;
  if (endpoint === 'mutate' && !outcome.denied && outcome.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(outcome.patch)).toString('base64');
    patchOps = outcome.patch.length;
  }
  const o: AdmissionOutcome = outcome.denied ? 'denied' : patchOps > 0 ? 'patched' : 'allowed';
  return { response, outcome: o, notable, patchOps };
}

/** Decide one checked AdmissionRequest. Throws a 'reviewer-failed' RedlineError when the engine throws. */
export function admit(endpoint: AdmissionEndpoint, req: AdmissionRequest, ctx: AdmissionContext): AdmissionResult {
  const { uid } = req;

  // Every Namespace write, subresources (status, finalize) included: they can change labels too.
  if (req.kind.group === '' && req.kind.kind === 'Namespace') {
    if (endpoint === 'mutate') {
      const ops = req.operation === 'CREATE' && !req.subResource ? metadataNamePatch(req.object) : [];
      return patched(uid, 'namespace-name', ops);
    }
    const v = ctx.labelGuard.check({
      operation: req.operation,
      name: req.name,
      subResource: req.subResource,
      object: req.object,
      oldObject: req.oldObject,
      userInfo: req.userInfo,
    });
    if (!v.allowed) return deny(uid, v.reason, v.message);
    if (ctx.plans) {
      const n = checkNamespaceName({ operation: req.operation, name: req.name, object: req.object, oldObject: req.oldObject }, ctx.plans(), ctx.tenants);
      if (!n.allowed) return deny(uid, 'namespace-pattern', n.message);
    }
    return allow(uid, v.reason);
  }

  const isPdb = req.kind.group === 'policy' && req.kind.kind === 'PodDisruptionBudget';
  if (req.operation === 'CONNECT') return allow(uid, 'connect-not-reviewed');
  if (req.operation === 'DELETE' && !isPdb) return allow(uid, 'delete-not-reviewed');
  if (req.subResource === 'status') return allow(uid, 'status-not-reviewed');
  if (!req.namespace) return allow(uid, 'cluster-scoped');

  const ns = ctx.namespaces.get(req.namespace);
  if (req.kind.group === '' && req.kind.kind === 'Secret') {
    // The API server calls for Secrets only in the namespaces Redline enforces; this guard needs
    // no plan, so a namespace the cluster cache has not seen yet is guarded rather than refused
    // (the token controller writes Secrets the moment a namespace exists).
    const enforced = ns ? isEnforcedNamespace(ns.labels) : ctx.unknownNamespace === 'deny';
    return enforced ? admitSecret(endpoint, req, ctx) : allow(uid, 'not-tenant');
  }
  if (!ns) {
    // Mutation fails open; the validating call is the one that denies an unknown namespace.
    if (ctx.unknownNamespace === 'allow' || endpoint === 'mutate') return allow(uid, 'unknown-namespace');
    return deny(
      uid,
      'unknown-namespace',
      `namespace "${req.namespace}" is not in Redline's namespace cache yet (just created?); retry in a moment`,
    );
  }
  // A tenant's namespace, or one being offboarded (redline.dev/managed without the tenant label:
  // enforced until the controller has removed the tenant's access).
  if (!isEnforcedNamespace(ns.labels)) return allow(uid, 'not-tenant');
  // The tenant CA Certificate the controller stamps is a CA from the platform ClusterIssuer: what
  // the certificates policy refuses a tenant. Only the controller's own identity writes it.
  if (req.kind.group === 'cert-manager.io' && req.kind.kind === 'Certificate' && ctx.labelGuard.isController(req.userInfo)) {
    return allow(uid, 'redline-controller');
  }

  const object = req.operation === 'DELETE' ? req.oldObject : req.object;
  if (!object) return allow(uid, 'no-object');
  const mutate = endpoint === 'mutate' && req.operation !== 'DELETE';
  if (endpoint === 'mutate' && !mutate) return allow(uid, 'not-mutated');
  const input: ReviewInput = {
    object,
    oldObject: req.operation === 'UPDATE' || req.operation === 'DELETE' ? req.oldObject : null,
    operation: req.operation,
    namespace: ns,
    plan: ns.labels[LABEL_PLAN] ?? '',
    userInfo: req.userInfo,
    mutate,
    // /mutate only patches; /validate judges the final object (after every mutating webhook).
    validate: endpoint === 'validate',
    storageClasses: ctx.cluster?.storageClasses(),
    pdbs: ctx.cluster?.pdbs(req.namespace),
  };
  let outcome: ReviewOutcome;
  try {
    outcome = ctx.reviewer().review(input);
  } catch (e) {
    ctx.metrics?.error('reviewer');
    throw reviewerError(e);
  }
  // Not a kind the engine knows (every Pod and pod template in an enforced namespace is one).
  if (!outcome.redis && outcome.results.length === 0 && outcome.patch.length === 0) return allow(uid, 'not-redis');

  const shaped = shapeOutcome(endpoint, uid, outcome);
  return {
    response: shaped.response,
    outcome: shaped.outcome,
    reason: outcome.denied ? 'policy' : 'reviewed',
    patchOps: shaped.patchOps,
    notable: shaped.notable,
    policyResults: endpoint === 'validate' || outcome.denied ? outcome.results : undefined,
  };
}

/** Secrets: no policy engine, no plan; only `type` and labels are read (see secret-guard.ts). */
function admitSecret(endpoint: AdmissionEndpoint, req: AdmissionRequest, ctx: AdmissionContext): AdmissionResult {
  const input: SecretRequest = {
    operation: req.operation,
    name: req.name,
    namespace: req.namespace,
    object: req.object,
    oldObject: req.oldObject,
    userInfo: req.userInfo,
  };
  if (endpoint === 'mutate') return patched(req.uid, 'tenant-secret', tenantSecretPatch(input, ctx.labelGuard));
  const v = checkSecret(input, ctx.labelGuard);
  return v.allowed ? allow(req.uid, v.reason) : deny(req.uid, v.reason, v.message);
}
