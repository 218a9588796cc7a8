// One reconcile of one namespace: compare the cached cluster state with the rendered desired state
// and write only what differs. Decisions come from the informer caches (no reads on the API
// server), so a resync of an unchanged namespace makes no API call at all.
//
//   tenant label + known plan  → apply missing/drifted objects (force only for objects that carry
//                                our managed-by label, i.e. that Redline owns), delete stale ones,
//                                then the Namespace labels + `redline.dev/bootstrap` annotation and
//                                one Event — only when something changed.
//   tenant label + unknown plan → Event UnknownPlan (once), nothing else: never wipe.
//   no tenant label but Redline's marks (managed label, annotation or stamped objects)
//                               → offboarding: access ends first — the tenant's RoleBindings and
//                                 Secrets Role are deleted in both modes — then the other stamped
//                                 objects are deleted (or orphaned), and last the namespace loses
//                                 redline.dev/managed and redline.dev/plan (the webhook enforces the
//                                 plan while `managed` is there), so the tenant never acts in a
//                                 namespace nothing judges. Pod Security labels are kept (an
//                                 offboarded namespace is never loosened); never the namespace,
//                                 PVCs, Secrets or Redis objects (selectStamped only matches the
//                                 deterministic names of the owned kinds).
//
// The Namespace's Pod Security labels are applied with force: once a namespace is a tenant's,
// Redline owns them whoever set them first (a Warning Event says whose values it replaced).
// The Secrets Role follows the cluster (bootstrap/secrets.ts): a change of only its names is an
// access update (result `access_updated`, a log line), not a repair of the bootstrap.

import { ApiError, resourcePath, type KubeObject } from '../kube/api-client.js';
import type { EventSpec, EventTarget } from '../kube/events.js';
import { covers, driftedFields, extraFieldPaths, matchesDesired, nullPatch } from './compare.js';
import {
  ACCESS_OBJECTS,
  bootstrapAnnotation,
  canonicalJson,
  grantedSecretNames,
  OWNED_BY_KIND,
  parseBootstrapAnnotation,
  renderTenant,
  selectStamped,
  type PlanLike,
  type RenderSettings,
} from './render.js';
import { isRedlineError } from '../core/errors.js';
import { ANNOTATION_BOOTSTRAP, LABEL_MANAGED, LABEL_MANAGED_BY, LABEL_PLAN, LABEL_TENANT, TENANT_SECRETS } from '../core/vocabulary.js';
import { grantableSecrets, type SecretSources } from './secrets.js';
import type { OffboardingMode, SubjectTemplate } from '../core/settings/controller.js';
import { membersOf, nextTenantStatus, type LedgerFacts, statusChanged, tenantSpec, TENANT_API_VERSION, TENANT_FINALIZER, TENANT_PLURAL } from './tenants.js';
import { namespaceNameRefusal, tenancyOf } from '../policies/tenancy/namespaces.js';

export type ReconcileResult =
  | 'stamped'
  | 'repaired'
  | 'plan_changed'
  | 'unchanged'
  | 'access_updated'
  | 'unknown_plan'
  | 'conflict'
  | 'offboarded'
  | 'not_tenant'
  | 'terminating'
  | 'gone'
  | 'name_refused'
  | 'tenant_status'
  | 'tenant_unchanged'
  | 'tenant_offboarding';

/** What the reconciler reads: the informer caches. */
export interface ClusterView {
  namespace(name: string): KubeObject | undefined;
  /** Cached objects of the owned kinds (managed-by label) in a namespace. */
  ownedIn(namespace: string): KubeObject[];
  owned(kind: string, namespace: string, name: string): KubeObject | undefined;
  /** Write-through of an object the API server just returned for our write. */
  remember(obj: KubeObject): void;
  /** We deleted it. */
  forget(obj: KubeObject): void;
  /** The Redis objects, Certificates and Secrets (metadata and type only) of a namespace. */
  secretSources(namespace: string): SecretSources;
  /** The Tenant named `id` (undefined: none, or Tenants are not served: the label-only path). */
  tenant(id: string): KubeObject | undefined;
  /** Every cached Namespace (a Tenant's status lists its own). */
  namespaces(): KubeObject[];
  /** The ledger's facts of a tenant over its namespaces (undefined: not synced yet, or no ledger view). */
  ledger?(tenant: string, namespaces: readonly string[]): LedgerFacts | undefined;
}

/** What the reconciler writes with (KubeApi in production, a fake in tests). */
export interface ClusterWriter {
  apply(obj: KubeObject, plural: string, opts: { force: boolean }): Promise<KubeObject>;
  mergePatch(path: string, patch: unknown): Promise<KubeObject>;
  delete(path: string, opts: { uid?: string }): Promise<boolean>;
  /** PUT of the status subresource (optimistic: the object's resourceVersion must still be current). */
  replaceStatus(obj: KubeObject, plural: string): Promise<KubeObject>;
}

export interface EventSink {
  emit(ns: EventTarget, ev: EventSpec, opts?: { dedupe?: boolean }): Promise<boolean>;
  reset(namespace: string): void;
}

export interface ReconcilerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface ReconcilerOptions {
  view: ClusterView;
  writer: ClusterWriter;
  events: EventSink;
  plans: () => ReadonlyMap<string, PlanLike>;
  settings: RenderSettings & { offboarding: OffboardingMode };
  now?: () => Date;
  logger?: ReconcilerLogger;
}

const silent: ReconcilerLogger = { info() {}, warn() {}, debug() {} };

/** Namespace fields that are pure Redline bookkeeping: nobody else has a reason to own them. */
const BOOKKEEPING_FIELDS = [`.metadata.annotations.${ANNOTATION_BOOTSTRAP}`, `.metadata.labels.${LABEL_MANAGED}`];
const PLAN_LABEL_FIELD = `.metadata.labels.${LABEL_PLAN}`;

/** Where a tenant namespace's plan comes from: its Tenant (stamped as the label) or its own label. */
interface PlanSource {
  planName: string;
  subjects?: SubjectTemplate[];
  /** The controller stamps redline.dev/plan (a Tenant names the plan). */
  stampPlanLabel: boolean;
}

function target(ns: KubeObject): EventTarget {
  return { name: ns.metadata.name, ...(ns.metadata.uid ? { uid: ns.metadata.uid } : {}) };
}

function conflictSummary(e: ApiError): string {
  const parts = e.causes.map((c) => [c.message, c.field].filter(Boolean).join(': ')).filter(Boolean);
  return parts.length ? parts.join('; ') : e.message;
}

/** The content of an object that matchesDesired compares (for the loop breaker). */
function fingerprint(o: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return canonicalJson(rest);
}

export class TenantReconciler {
  private readonly log: ReconcilerLogger;
  private readonly now: () => Date;
  /**
   * Loop breaker: objects whose state right after our repair still did not match (the API server
   * kept or added something — a default of a newer version, say). That exact state is accepted
   * until it changes, instead of re-writing it on every reconcile.
   */
  private readonly accepted = new Map<string, string>();

  constructor(private readonly opts: ReconcilerOptions) {
    this.log = opts.logger ?? silent;
    this.now = opts.now ?? (() => new Date());
  }

  async reconcile(name: string): Promise<ReconcileResult> {
    const { view, events } = this.opts;
    const ns = view.namespace(name);
    if (!ns) {
      events.reset(name);
      for (const k of this.accepted.keys()) if (k.startsWith(`${name}/`)) this.accepted.delete(k);
      return 'gone';
    }
    if (ns.metadata.deletionTimestamp) return 'terminating';
    const labels = ns.metadata.labels ?? {};
    const annotations = ns.metadata.annotations ?? {};
    const tenant = labels[LABEL_TENANT];
    const stamped = selectStamped(name, view.ownedIn(name));

    if (!tenant) {
      if (labels[LABEL_MANAGED] === undefined && stamped.length === 0 && annotations[ANNOTATION_BOOTSTRAP] === undefined) return 'not_tenant';
      return this.offboard(ns, stamped, false);
    }
    // A Tenant names the plan (and the subjects); without one, the namespace's own label does.
    const tenantObj = view.tenant(tenant);
    if (tenantObj?.metadata.deletionTimestamp) return this.offboard(ns, stamped, true);
    const plans = this.opts.plans();
    const source = await this.planSource(ns, tenant, tenantObj, plans);
    if (source === 'refused') return 'name_refused';
    if (source === 'invalid') return 'unknown_plan';
    const { planName, subjects, stampPlanLabel } = source;
    const plan = plans.get(planName);
    if (!plan) {
      const known = [...plans.keys()].sort().join(', ');
      const message = stampPlanLabel
        ? `Tenant ${tenant} names plan "${planName}", which is not in the plan library (known: ${known}); nothing was changed`
        : planName
          ? `plan "${planName}" is not in the plan library (known: ${known}); nothing was changed`
          : `namespace has ${LABEL_TENANT}=${tenant} but no ${LABEL_PLAN} label and no Tenant ${tenant} (known plans: ${known}); nothing was changed`;
      await events.emit(target(ns), { type: 'Warning', reason: 'UnknownPlan', message }, { dedupe: true });
      return 'unknown_plan';
    }
    const sources = view.secretSources(name);
    const grant = grantableSecrets(sources);
    // A source cache still filling (a CRD installed since the start): keep the names granted now
    // rather than take some away for a moment.
    const liveRole = sources.complete === false ? view.owned('Role', name, TENANT_SECRETS) : undefined;
    const secretNames = (liveRole && grantedSecretNames(liveRole)) ?? grant.names;
    let desired;
    try {
      desired = renderTenant({ namespace: name, tenant, plan, secretNames, ...(subjects ? { subjects } : {}), stampPlanLabel }, this.opts.settings);
    } catch (e) {
      if (!isRedlineError(e, 'render-failed')) throw e;
      await events.emit(target(ns), { type: 'Warning', reason: 'UnknownPlan', message: `plan "${planName}" cannot be rendered: ${e.message}; nothing was changed` }, { dedupe: true });
      return 'unknown_plan';
    }

    const changes: string[] = [];
    const foreign: string[] = [];
    let access = '';
    for (const obj of desired.objects) {
      const kind = OWNED_BY_KIND.get(obj.kind)!;
      const cur = view.owned(obj.kind, name, obj.metadata.name);
      const key = `${name}/${obj.kind}/${obj.metadata.name}`;
      if (cur && matchesDesired(cur, obj)) continue;
      const state = `${fingerprint(obj)}|${fingerprint(cur ?? obj)}`;
      if (cur && this.accepted.get(key) === state) continue;
      // Only the granted names differ (a Secret or a Redis object came or went): an access update.
      const grantOnly = cur !== undefined && obj.kind === 'Role' && obj.metadata.name === TENANT_SECRETS && grantedSecretNames(cur) !== undefined && matchesDesired({ ...cur, rules: obj['rules'] }, obj);
      try {
        // force only when the object is ours (cached ⇔ it carries our managed-by label).
        let applied = await this.opts.writer.apply(obj, kind.plural, { force: cur !== undefined });
        // Fields another manager added to an object Redline owns survive an apply: remove them.
        const extra = cur ? extraFieldPaths(applied, obj) : [];
        if (extra.length) applied = await this.opts.writer.mergePatch(resourcePath(kind.apiVersion, kind.plural, name, obj.metadata.name), nullPatch(extra));
        if (cur && !matchesDesired(applied, obj)) {
          this.accepted.set(key, `${fingerprint(obj)}|${fingerprint(applied)}`);
          this.log.warn({ namespace: name, kind: obj.kind, name: obj.metadata.name, reason: 'not-converging' }, 'object differs from the desired state right after repair; accepting it until it changes');
        } else this.accepted.delete(key);
        view.remember(applied);
      } catch (e) {
        if (e instanceof ApiError && e.fieldConflict && !cur) {
          foreign.push(`${obj.kind} ${obj.metadata.name} exists and is managed by someone else (${conflictSummary(e)})`);
          continue;
        }
        throw e;
      }
      if (grantOnly) {
        access = describeGrant(grantedSecretNames(cur) ?? [], secretNames);
        continue;
      }
      changes.push(cur ? `${obj.kind}/${obj.metadata.name} (${driftedFields(cur, obj).join(', ') || 'fields added by others'})` : `${obj.kind}/${obj.metadata.name} created`);
    }
    if (access) this.log.info({ namespace: name, tenant, reason: 'secrets', refused: grant.refused.map((r) => `${r.name}: ${r.why}`) }, `tenant Secrets Role ${TENANT_SECRETS} updated: ${access}`);
    const wanted = new Set(desired.objects.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const s of stamped) {
      if (wanted.has(`${s.kind}/${s.metadata.name}`)) continue;
      const kind = OWNED_BY_KIND.get(s.kind)!;
      await this.opts.writer.delete(resourcePath(kind.apiVersion, kind.plural, name, s.metadata.name), s.metadata.uid ? { uid: s.metadata.uid } : {});
      view.forget(s);
      changes.push(`${s.kind}/${s.metadata.name} removed`);
    }
    if (foreign.length) {
      await events.emit(target(ns), { type: 'Warning', reason: 'ApplyFailed', message: `not taking over objects Redline does not own: ${foreign.join('; ')}` }, { dedupe: true });
      this.log.warn({ namespace: name, reason: 'foreign-object' }, foreign.join('; '));
      return 'conflict';
    }

    const previous = parseBootstrapAnnotation(annotations[ANNOTATION_BOOTSTRAP]);
    const labelsOk = covers(labels, desired.namespaceObject.metadata.labels);
    if (changes.length === 0 && labelsOk && previous?.hash === desired.hash && previous.plan === desired.plan) return access ? 'access_updated' : 'unchanged';
    if (!labelsOk) changes.push('namespace labels');

    const nsBody: KubeObject = {
      ...desired.namespaceObject,
      metadata: { ...desired.namespaceObject.metadata, annotations: { [ANNOTATION_BOOTSTRAP]: bootstrapAnnotation(desired, this.now()) } },
    };
    try {
      view.remember(await this.opts.writer.apply(nsBody, 'namespaces', { force: false }));
    } catch (e) {
      if (!(e instanceof ApiError && e.fieldConflict)) throw e;
      // Someone else set one of Redline's labels (a Pod Security label from before onboarding,
      // `enforce: privileged` say) or its bookkeeping: a tenant namespace's labels are Redline's.
      view.remember(await this.opts.writer.apply(nsBody, 'namespaces', { force: true }));
      const fields = e.causes.map((c) => c.field ?? '');
      // The plan label is the Tenant's to set once a Tenant exists (an admin's kubectl label set it before).
      const ours = stampPlanLabel ? [...BOOKKEEPING_FIELDS, PLAN_LABEL_FIELD] : BOOKKEEPING_FIELDS;
      if (!(fields.length > 0 && fields.every((f) => ours.includes(f)))) {
        const message = `took ownership of namespace labels another field manager had set differently; they are now Redline's values: ${conflictSummary(e)}`;
        await events.emit(target(ns), { type: 'Warning', reason: 'LabelConflict', message });
        this.log.warn({ namespace: name, tenant, reason: 'LabelConflict' }, message);
      }
    }

    const reason = !previous ? 'Stamped' : previous.plan !== desired.plan ? 'PlanChanged' : 'Repaired';
    const message =
      reason === 'Stamped'
        ? `stamped for tenant ${tenant}, plan ${desired.plan}: ${desired.objects.length} objects and the namespace labels (hash ${desired.hash.slice(0, 12)})`
        : reason === 'PlanChanged'
          ? `plan ${previous!.plan} → ${desired.plan}: ${changes.join('; ')}`
          : `repaired: ${changes.length ? changes.join('; ') : 'desired state changed'}`;
    events.reset(name);
    await events.emit(target(ns), { type: 'Normal', reason, message });
    this.log.info({ namespace: name, tenant, plan: desired.plan, reason, changes: changes.length }, message);
    return reason === 'Stamped' ? 'stamped' : reason === 'PlanChanged' ? 'plan_changed' : 'repaired';
  }

  /**
   * The plan of a tenant namespace. With a Tenant: its spec.plan, unless the namespace's name is
   * refused by that plan's namespacePattern — then the namespace stays on the plan its label has
   * (still repaired, never moved) and a Warning says why; 'refused' when it has no plan to stay on,
   * 'invalid' when the Tenant's spec cannot be used.
   */
  private async planSource(ns: KubeObject, tenant: string, tenantObj: KubeObject | undefined, plans: ReadonlyMap<string, PlanLike>): Promise<PlanSource | 'refused' | 'invalid'> {
    const own = ns.metadata.labels?.[LABEL_PLAN] ?? '';
    if (!tenantObj) return { planName: own, stampPlanLabel: false };
    const parsed = tenantSpec(tenantObj);
    if (!parsed.ok) {
      await this.opts.events.emit(target(ns), { type: 'Warning', reason: 'InvalidTenant', message: `Tenant ${tenant}: ${parsed.problem}; nothing was changed` }, { dedupe: true });
      return 'invalid';
    }
    const { plan, subjects } = parsed.value;
    const planned = plans.get(plan);
    const refusal = planned ? namespaceNameRefusal(ns.metadata.name, tenant, plan, tenancyOf(planned.spec)) : '';
    if (!refusal) return { planName: plan, stampPlanLabel: true, ...(subjects ? { subjects } : {}) };
    const stays = own && plans.has(own) ? `; it stays on plan ${own}` : '; nothing was changed';
    await this.opts.events.emit(target(ns), { type: 'Warning', reason: 'NamespaceNameRefused', message: `${refusal}${stays}` }, { dedupe: true });
    if (!own || !plans.has(own)) return 'refused';
    // The label it has stays the controller's (no churn of the desired state while it waits).
    return { planName: own, stampPlanLabel: true, ...(subjects ? { subjects } : {}) };
  }

  /**
   * One Tenant: hold the finalizer while it lives; when it is deleted, wait for its namespaces to be
   * offboarded (their own reconciles do it) and then let it go; write its status when it changed.
   */
  async reconcileTenant(id: string): Promise<ReconcileResult> {
    const { view, writer } = this.opts;
    const tenant = view.tenant(id);
    if (!tenant) return 'gone';
    const path = resourcePath(TENANT_API_VERSION, TENANT_PLURAL, undefined, id);
    const members = membersOf(id, view.namespaces());
    const finalizers = (tenant.metadata['finalizers'] ?? []) as string[];
    const patchFinalizers = async (list: string[]): Promise<KubeObject> => {
      // The resourceVersion makes the patch conditional: a list changed meanwhile is not overwritten.
      const after = await writer.mergePatch(path, { metadata: { finalizers: list, resourceVersion: tenant.metadata.resourceVersion } });
      view.remember(after);
      return after;
    };
    let current = tenant;
    if (tenant.metadata.deletionTimestamp) {
      if (members.length === 0) {
        if (finalizers.includes(TENANT_FINALIZER)) await patchFinalizers(finalizers.filter((f) => f !== TENANT_FINALIZER));
        this.log.info({ tenant: id, reason: 'Offboarded' }, `Tenant ${id} deleted: its namespaces are offboarded`);
        return 'offboarded';
      }
    } else if (!finalizers.includes(TENANT_FINALIZER)) {
      current = await patchFinalizers([...finalizers, TENANT_FINALIZER]);
    }
    const facts = view.ledger?.(id, members.map((n) => n.metadata.name));
    const next = nextTenantStatus({ tenant: current, namespaces: members, plans: this.opts.plans(), now: this.now(), ...(facts ? { ledger: facts } : {}) });
    if (!statusChanged(current, next)) return tenant.metadata.deletionTimestamp ? 'tenant_offboarding' : 'tenant_unchanged';
    view.remember(await writer.replaceStatus({ ...current, status: next }, TENANT_PLURAL));
    const ready = next.conditions?.find((c) => c.type === 'Ready');
    this.log.info({ tenant: id, plan: next.plan ?? '', reason: ready?.reason ?? '' }, `Tenant ${id} status: Ready=${ready?.status ?? 'Unknown'} (${ready?.message ?? ''})`);
    return tenant.metadata.deletionTimestamp ? 'tenant_offboarding' : 'tenant_status';
  }

  private async offboard(ns: KubeObject, stamped: KubeObject[], tenantDeleted: boolean): Promise<ReconcileResult> {
    const { view } = this.opts;
    const name = ns.metadata.name;
    const mode = this.opts.settings.offboarding;
    const why = tenantDeleted ? `Tenant ${ns.metadata.labels?.[LABEL_TENANT] ?? ''} deleted` : 'tenant label removed';
    const done: string[] = [];
    // 1. Access ends first, in both modes: the tenant's RoleBindings and its Secrets Role.
    const accessKeys = ACCESS_OBJECTS.map((a) => `${a.kind}/${a.name}`);
    const keyOf = (s: KubeObject): string => `${s.kind}/${s.metadata.name}`;
    const access = accessKeys.flatMap((k) => stamped.filter((s) => keyOf(s) === k));
    for (const s of access) {
      await this.deleteStamped(name, s);
      done.push(`${keyOf(s)} deleted`);
    }
    // 2. The fences and the PKI: deleted, or (orphan) kept without Redline's labels.
    for (const s of stamped) {
      if (accessKeys.includes(keyOf(s))) continue;
      const kind = OWNED_BY_KIND.get(s.kind)!;
      if (mode === 'delete') {
        await this.deleteStamped(name, s);
        done.push(`${keyOf(s)} deleted`);
      } else {
        const path = resourcePath(kind.apiVersion, kind.plural, name, s.metadata.name);
        const patched = await this.opts.writer.mergePatch(path, { metadata: { labels: { [LABEL_MANAGED_BY]: null, [LABEL_TENANT]: null, [LABEL_PLAN]: null } } });
        view.forget(patched);
        done.push(`${keyOf(s)} orphaned`);
      }
    }
    // 3. Last, enforcement ends: `managed` and the plan label go in one write, with the bootstrap
    // annotation (and, when its Tenant was deleted, the tenant label). Pod Security labels stay (an
    // offboarded namespace is never loosened).
    const labels = ns.metadata.labels ?? {};
    if (tenantDeleted || labels[LABEL_MANAGED] !== undefined || labels[LABEL_PLAN] !== undefined || ns.metadata.annotations?.[ANNOTATION_BOOTSTRAP] !== undefined) {
      const after = await this.opts.writer.mergePatch(resourcePath('v1', 'namespaces', undefined, name), {
        metadata: { labels: { [LABEL_MANAGED]: null, [LABEL_PLAN]: null, ...(tenantDeleted ? { [LABEL_TENANT]: null } : {}) }, annotations: { [ANNOTATION_BOOTSTRAP]: null } },
      });
      view.remember(after);
    }
    const message =
      `${why}: tenant access ended, then ${done.length ? done.join(', ') : 'no objects to remove'}; ` +
      `${LABEL_MANAGED} and ${LABEL_PLAN}${tenantDeleted ? ` and ${LABEL_TENANT}` : ''} removed last; the namespace and its data (PVCs, Secrets, Redis objects) are kept` +
      (mode === 'orphan' ? ' (orphan: the fences stay, without Redline\'s labels)' : '');
    this.opts.events.reset(name);
    await this.opts.events.emit(target(ns), { type: 'Normal', reason: 'Offboarded', message });
    this.log.info({ namespace: name, reason: 'Offboarded', changes: done.length }, message);
    return 'offboarded';
  }

  private async deleteStamped(namespace: string, s: KubeObject): Promise<void> {
    const kind = OWNED_BY_KIND.get(s.kind)!;
    try {
      await this.opts.writer.delete(resourcePath(kind.apiVersion, kind.plural, namespace, s.metadata.name), s.metadata.uid ? { uid: s.metadata.uid } : {});
    } catch (e) {
      // 409: the UID precondition failed — a different object by that name now; leave it.
      if (!(e instanceof ApiError && e.status === 409)) throw e;
    }
    this.opts.view.forget(s);
  }
}

/** "+a, +b, -c" for a log line. */
function describeGrant(before: readonly string[], after: readonly string[]): string {
  const was = new Set(before);
  const now = new Set(after);
  const parts = [...after.filter((n) => !was.has(n)).map((n) => `+${n}`), ...before.filter((n) => !now.has(n)).map((n) => `-${n}`)];
  return parts.length ? parts.join(', ') : 'rules reshaped';
}
