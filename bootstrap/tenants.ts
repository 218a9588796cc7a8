// Tenants as objects (tenants.redline.dev, cluster-scoped, named by the tenant id): what a Tenant
// says to the namespace reconcile, and the status the controller writes on it.
//
//  - spec.plan is stamped as redline.dev/plan on every namespace labelled redline.dev/tenant=<id>;
//    spec.subjects (optional) are the subjects of the tenant's RoleBindings there.
//  - A tenant id without a Tenant object keeps the label-only path: the namespace's own
//    redline.dev/plan label, the settings' tenantSubjects.
//  - Deleting a Tenant offboards its namespaces (the finalizer below): access first, enforcement
//    last, then the tenant label goes, and the namespaces and their data stay.
//
// Status fields the controller owns here: observedGeneration, plan, namespaces, namespaceCount
// and the Ready condition. The ledger's fields (usage, entitlement, reservations, the
// OverEntitlement condition) come from ledgerStatus(), over the facts of bootstrap/ledger-view.ts:
// usage counted as serve's ledger counts it, the live reservations of the tenant's ledger record.
// While those caches are not synced the fields keep what the object has.

import type { KubeObject } from '../kube/api-client.js';
import { namespaceNameRefusal, tenancyOf } from '../policies/tenancy/namespaces.js';
import { fail, ok, type Result } from '../core/result.js';
import { ANNOTATION_BOOTSTRAP, LABEL_MANAGED, LABEL_PLAN, LABEL_TENANT } from '../core/vocabulary.js';
import { canonicalJson, parseBootstrapAnnotation, type PlanLike } from './render.js';
import { SUBJECT_KINDS, type SubjectTemplate } from '../core/settings/controller.js';
import type { JsonObject } from '../policies/engine/types.js';
import { entitlementOf, partitionExpired, type Reservation } from '../policies/tenancy/ledger.js';
import { DIMENSIONS, formatAmount, type Amounts, type Dimension } from '../policies/tenancy/usage.js';

export const TENANT_API_VERSION = 'redline.dev/v1alpha1';
export const TENANT_KIND = 'Tenant';
export const TENANT_PLURAL = 'tenants';
export const TENANT_GROUP = 'redline.dev';
/** Held on every Tenant: its deletion waits until its namespaces are offboarded. */
export const TENANT_FINALIZER = 'redline.dev/offboard-namespaces';
/** Work-queue keys of Tenants (namespace names never contain a slash). */
export const TENANT_KEY_PREFIX = 'tenant/';

export const tenantKey = (id: string): string => `${TENANT_KEY_PREFIX}${id}`;
export const tenantIdOfKey = (key: string): string | undefined => (key.startsWith(TENANT_KEY_PREFIX) ? key.slice(TENANT_KEY_PREFIX.length) : undefined);

/** Condition reasons of Ready. */
export const ReadyReason = {
  stamped: 'Stamped',
  noNamespaces: 'NoNamespaces',
  stamping: 'Stamping',
  unknownPlan: 'UnknownPlan',
  invalidSpec: 'InvalidSpec',
  namespaceNameRefused: 'NamespaceNameRefused',
  offboarding: 'Offboarding',
} as const;

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** The per-dimension figures of the ledger: memory, cpu, storage as quantities; the rest counts. */
export interface TenantDimensions {
  memory?: string;
  cpu?: string;
  storage?: string;
  pods?: number;
  instances?: number;
  namespaces?: number;
}

export interface TenantReservation {
  id: string;
  namespace: string;
  kind: string;
  name: string;
  amounts?: TenantDimensions;
  expiresAt: string;
}

export interface TenantStatus {
  observedGeneration?: number;
  plan?: string;
  namespaces?: string[];
  namespaceCount?: number;
  usage?: TenantDimensions;
  entitlement?: TenantDimensions;
  reservations?: TenantReservation[];
  conditions?: Condition[];
}

export interface TenantSpec {
  plan: string;
  /** Absent: the settings' tenantSubjects. */
  subjects?: SubjectTemplate[];
}

/** spec of a Tenant, or why it cannot be used (the API server validates the schema; this is a second look). */
export function tenantSpec(tenant: KubeObject): Result<TenantSpec, string> {
  const spec = (tenant['spec'] ?? {}) as Record<string, unknown>;
  const plan = spec['plan'];
  if (typeof plan !== 'string' || plan === '') return fail('spec.plan is missing');
  if (spec['subjects'] === undefined) return ok({ plan });
  if (!Array.isArray(spec['subjects']) || spec['subjects'].length === 0) return fail('spec.subjects must be a non-empty list');
  const subjects: SubjectTemplate[] = [];
  for (const [i, s] of (spec['subjects'] as unknown[]).entries()) {
    const o = (s ?? {}) as Record<string, unknown>;
    const kind = o['kind'];
    const name = o['name'];
    if (typeof kind !== 'string' || !(SUBJECT_KINDS as readonly string[]).includes(kind)) return fail(`spec.subjects[${i}].kind must be one of ${SUBJECT_KINDS.join(', ')}`);
    if (typeof name !== 'string' || name === '') return fail(`spec.subjects[${i}].name is missing`);
    if (kind === 'ServiceAccount') {
      if (typeof o['namespace'] !== 'string' || o['namespace'] === '') return fail(`spec.subjects[${i}].namespace is required for a ServiceAccount`);
      subjects.push({ kind, name, namespace: o['namespace'] });
    } else subjects.push({ kind: kind as SubjectTemplate['kind'], name });
  }
  return ok({ plan, subjects });
}

/** Whether a namespace carries the plan the Tenant names, fully stamped (labels and bootstrap annotation). */
export function stampedWith(ns: KubeObject, plan: string): boolean {
  const labels = ns.metadata.labels ?? {};
  return labels[LABEL_PLAN] === plan && labels[LABEL_MANAGED] === 'true' && parseBootstrapAnnotation(ns.metadata.annotations?.[ANNOTATION_BOOTSTRAP])?.plan === plan;
}

/** The namespaces of tenant `id` among `all`, sorted by name. */
export function membersOf(id: string, all: Iterable<KubeObject>): KubeObject[] {
  return [...all].filter((n) => n.metadata.labels?.[LABEL_TENANT] === id).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
}

/** What the ledger adds to a Tenant's status; a field left out keeps the value the object has. */
export interface LedgerStatus {
  usage?: TenantDimensions;
  entitlement?: TenantDimensions;
  reservations?: TenantReservation[];
  /** Conditions the ledger owns (OverEntitlement), each with its lastTransitionTime handled by setCondition. */
  conditions?: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>[];
}

/** What the cluster says of a tenant's ledger: its usage (serve's arithmetic) and its ledger record's reservations. */
export interface LedgerFacts {
  used: Amounts;
  reservations: readonly Reservation[];
}

/** Condition reasons of OverEntitlement. */
export const OverEntitlementReason = {
  over: 'OverEntitlement',
  within: 'WithinEntitlement',
  unknownPlan: 'UnknownPlan',
} as const;

const QUANTITY_DIMENSIONS: readonly Dimension[] = ['memory', 'cpu', 'storage'];
const NANOS = 1_000_000_000n;

/** Amounts as status fields: memory, cpu, storage as quantities, the rest as integers; `only` limits the dimensions. */
export function dimensionsOf(amounts: Partial<Amounts>, only?: (d: Dimension) => boolean): TenantDimensions {
  const out: Record<string, string | number> = {};
  for (const d of DIMENSIONS) {
    const v = amounts[d];
    if (v === undefined || (only && !only(d))) continue;
    out[d] = QUANTITY_DIMENSIONS.includes(d) ? formatAmount(v) : Number(v / NANOS);
  }
  return out as TenantDimensions;
}

/** A reservation as the status shows it; its key is namespace/group/kind/name or ns:<name> (a joining namespace). */
export function reservationStatus(r: Reservation): TenantReservation {
  const where = r.key.startsWith('ns:')
    ? { namespace: r.key.slice(3), kind: 'Namespace', name: r.key.slice(3) }
    : (() => {
        const [namespace = '', group = '', kind = '', ...name] = r.key.split('/');
        return { namespace, kind: group ? `${kind}.${group}` : kind, name: name.join('/') };
      })();
  const amounts = dimensionsOf(r.amounts, (d) => r.amounts[d] !== 0n);
  return { id: r.uid, ...where, ...(Object.keys(amounts).length ? { amounts } : {}), expiresAt: new Date(r.expires).toISOString() };
}

/**
 * The ledger's part of a Tenant's status: usage and entitlement per dimension, the live
 * reservations, the OverEntitlement condition. Without facts (the usage caches or the ledger
 * records not listed yet) nothing: the status keeps what it holds rather than show a false zero.
 */
export function ledgerStatus(input: { tenant: KubeObject; plan: PlanLike | undefined; facts: LedgerFacts | undefined; now: Date }): LedgerStatus {
  const { plan, facts, now } = input;
  if (!facts) return {};
  const usage = dimensionsOf(facts.used);
  const reservations = partitionExpired(facts.reservations, now.getTime()).live
    .sort((a, b) => a.expires - b.expires || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(reservationStatus);
  if (!plan) {
    const planName = (input.tenant['spec'] as { plan?: unknown } | undefined)?.plan;
    return {
      usage,
      entitlement: {},
      reservations,
      conditions: [{ type: 'OverEntitlement', status: 'Unknown', reason: OverEntitlementReason.unknownPlan, message: `plan "${String(planName ?? '')}" is not in the plan library: no entitlement to compare with` }],
    };
  }
  const entitled = entitlementOf(plan.spec as JsonObject);
  const over = DIMENSIONS.filter((d) => entitled[d] !== undefined && facts.used[d] > entitled[d]!);
  const show = (d: Dimension, v: bigint): string => String(dimensionsOf({ [d]: v })[d]);
  const condition: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'> = over.length
    ? {
        type: 'OverEntitlement',
        status: 'True',
        reason: OverEntitlementReason.over,
        message: over.map((d) => `${d} ${show(d, facts.used[d])} used > ${show(d, entitled[d]!)} in plan ${plan.name}`).join('; '),
      }
    : { type: 'OverEntitlement', status: 'False', reason: OverEntitlementReason.within, message: `usage is within plan ${plan.name}'s tenantTotals` };
  return { usage, entitlement: dimensionsOf(entitled), reservations, conditions: [condition] };
}

/** conditions with `next` set: lastTransitionTime kept when the status did not change. */
export function setCondition(conditions: readonly Condition[], next: Omit<Condition, 'lastTransitionTime'>, now: Date): Condition[] {
  const prev = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString();
  const merged: Condition = { ...next, lastTransitionTime };
  return [...conditions.filter((c) => c.type !== next.type), merged].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}

export interface TenantStatusInput {
  tenant: KubeObject;
  /** The tenant's namespaces (membersOf), from the namespace cache. */
  namespaces: readonly KubeObject[];
  plans: ReadonlyMap<string, PlanLike>;
  /** The ledger's facts of this tenant; undefined while its caches are not synced (or no ledger runs). */
  ledger?: LedgerFacts;
  now: Date;
}

/** The Ready condition and the fields the controller owns. */
function readiness(input: TenantStatusInput): { ready: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>; appliedPlan?: string } {
  const { tenant, namespaces, plans } = input;
  const id = tenant.metadata.name;
  const names = namespaces.map((n) => n.metadata.name);
  if (tenant.metadata.deletionTimestamp) {
    return { ready: { type: 'Ready', status: 'False', reason: ReadyReason.offboarding, message: `Tenant deleted: offboarding ${names.length} namespaces (${names.join(', ') || 'none left'}): access ends first, enforcement last` } };
  }
  const parsed = tenantSpec(tenant);
  if (!parsed.ok) return { ready: { type: 'Ready', status: 'False', reason: ReadyReason.invalidSpec, message: `${parsed.problem}; no namespace was changed` } };
  const planName = parsed.value.plan;
  const plan = plans.get(planName);
  if (!plan) {
    const known = [...plans.keys()].sort().join(', ');
    return { ready: { type: 'Ready', status: 'False', reason: ReadyReason.unknownPlan, message: `plan "${planName}" is not in the plan library (known: ${known}); no namespace was changed` } };
  }
  const settings = tenancyOf(plan.spec);
  const refused = namespaces.map((n) => namespaceNameRefusal(n.metadata.name, id, planName, settings)).filter((r) => r !== '');
  if (refused.length) {
    return { ready: { type: 'Ready', status: 'False', reason: ReadyReason.namespaceNameRefused, message: `${refused.join('; ')}: not moved to plan ${planName}` } };
  }
  const waiting = namespaces.filter((n) => !stampedWith(n, planName)).map((n) => n.metadata.name);
  if (waiting.length) return { ready: { type: 'Ready', status: 'False', reason: ReadyReason.stamping, message: `waiting for ${waiting.join(', ')} to be stamped with plan ${planName}` } };
  if (names.length === 0) return { ready: { type: 'Ready', status: 'True', reason: ReadyReason.noNamespaces, message: `no namespace is labelled ${LABEL_TENANT}=${id} yet` }, appliedPlan: planName };
  return { ready: { type: 'Ready', status: 'True', reason: ReadyReason.stamped, message: `${names.length} namespaces stamped with plan ${planName}` }, appliedPlan: planName };
}

/**
 * The Tenant's next status: the controller's fields computed, the ledger's asked for, every other
 * field (reservations) as the object has it.
 */
export function nextTenantStatus(input: TenantStatusInput): TenantStatus {
  const { tenant, namespaces, now } = input;
  const current = (tenant['status'] ?? {}) as TenantStatus;
  const generation = typeof tenant.metadata['generation'] === 'number' ? (tenant.metadata['generation'] as number) : undefined;
  const gen = generation === undefined ? {} : { observedGeneration: generation };
  const { ready, appliedPlan } = readiness(input);
  let conditions = setCondition(current.conditions ?? [], { ...ready, ...gen }, now);
  const parsed = tenantSpec(tenant);
  const plan = parsed.ok ? input.plans.get(parsed.value.plan) : undefined;
  const ledger = ledgerStatus({ tenant, plan, facts: input.ledger, now });
  for (const c of ledger.conditions ?? []) conditions = setCondition(conditions, { ...c, ...gen }, now);
  const next: TenantStatus = {
    ...current,
    ...gen,
    namespaces: namespaces.map((n) => n.metadata.name),
    namespaceCount: namespaces.length,
    conditions,
    ...(ledger.usage ? { usage: ledger.usage } : {}),
    ...(ledger.entitlement ? { entitlement: ledger.entitlement } : {}),
    ...(ledger.reservations ? { reservations: ledger.reservations } : {}),
  };
  if (next.reservations?.length === 0) delete next.reservations;
  // status.plan: the plan every namespace is stamped with; kept while a change is under way.
  if (appliedPlan !== undefined) next.plan = appliedPlan;
  return next;
}

/** Whether writing `next` would change anything (no write loops: equal status → no write). */
export function statusChanged(tenant: KubeObject, next: TenantStatus): boolean {
  return canonicalJson(tenant['status'] ?? {}) !== canonicalJson(next);
}
