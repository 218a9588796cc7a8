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
//                               → offboarding: delete (or orphan) the stamped objects, remove the
//                                 bookkeeping label/annotation; Pod Security labels are kept (an
//                                 offboarded namespace is never loosened); never the namespace,
//                                 PVCs, Secrets or Redis objects (selectStamped only matches the
//                                 deterministic names of the owned kinds).

import { ApiError, resourcePath, type KubeObject } from '../kube/apply.js';
import type { EventSpec, EventTarget } from '../kube/events.js';
import { covers, driftedFields, extraFieldPaths, matchesDesired, nullPatch } from './compare.js';
import {
  ANNOTATION_BOOTSTRAP,
  bootstrapAnnotation,
  canonicalJson,
  LABEL_MANAGED,
  LABEL_MANAGED_BY,
  LABEL_PLAN,
  LABEL_TENANT,
  OWNED_BY_KIND,
  parseBootstrapAnnotation,
  POD_SECURITY_LABELS,
  RenderError,
  renderTenant,
  selectStamped,
  type PlanLike,
  type RenderSettings,
} from './render.js';
import type { OffboardingMode } from './settings.js';

export type ReconcileResult =
  | 'stamped'
  | 'repaired'
  | 'plan_changed'
  | 'unchanged'
  | 'unknown_plan'
  | 'conflict'
  | 'offboarded'
  | 'not_tenant'
  | 'terminating'
  | 'gone';

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
}

/** What the reconciler writes with (KubeApi in production, a fake in tests). */
export interface ClusterWriter {
  apply(obj: KubeObject, plural: string, opts: { force: boolean }): Promise<KubeObject>;
  mergePatch(path: string, patch: unknown): Promise<KubeObject>;
  delete(path: string, opts: { uid?: string }): Promise<boolean>;
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
      return this.offboard(ns, stamped);
    }

    const planName = labels[LABEL_PLAN] ?? '';
    const plans = this.opts.plans();
    const plan = plans.get(planName);
    if (!plan) {
      const known = [...plans.keys()].sort().join(', ');
      const message = planName
        ? `plan "${planName}" is not in the plan library (known: ${known}); nothing was changed`
        : `namespace has ${LABEL_TENANT}=${tenant} but no ${LABEL_PLAN} label (known plans: ${known}); nothing was changed`;
      await events.emit(target(ns), { type: 'Warning', reason: 'UnknownPlan', message }, { dedupe: true });
      return 'unknown_plan';
    }
    let desired;
    try {
      desired = renderTenant({ namespace: name, tenant, plan }, this.opts.settings);
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      await events.emit(target(ns), { type: 'Warning', reason: 'UnknownPlan', message: `plan "${planName}" cannot be rendered: ${e.message}; nothing was changed` }, { dedupe: true });
      return 'unknown_plan';
    }

    const changes: string[] = [];
    const foreign: string[] = [];
    for (const obj of desired.objects) {
      const kind = OWNED_BY_KIND.get(obj.kind)!;
      const cur = view.owned(obj.kind, name, obj.metadata.name);
      const key = `${name}/${obj.kind}/${obj.metadata.name}`;
      if (cur && matchesDesired(cur, obj)) continue;
      if (cur && this.accepted.get(key) === `${desired.hash}|${fingerprint(cur)}`) continue;
      try {
        // force only when the object is ours (cached ⇔ it carries our managed-by label).
        let applied = await this.opts.writer.apply(obj, kind.plural, { force: cur !== undefined });
        // Fields another manager added to an object Redline owns survive an apply: remove them.
        const extra = cur ? extraFieldPaths(applied, obj) : [];
        if (extra.length) applied = await this.opts.writer.mergePatch(resourcePath(kind.apiVersion, kind.plural, name, obj.metadata.name), nullPatch(extra));
        if (cur && !matchesDesired(applied, obj)) {
          this.accepted.set(key, `${desired.hash}|${fingerprint(applied)}`);
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
      changes.push(cur ? `${obj.kind}/${obj.metadata.name} (${driftedFields(cur, obj).join(', ') || 'fields added by others'})` : `${obj.kind}/${obj.metadata.name} created`);
    }
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
    if (changes.length === 0 && labelsOk && previous?.hash === desired.hash && previous.plan === desired.plan) return 'unchanged';
    if (!labelsOk) changes.push('namespace labels');

    const nsBody: KubeObject = {
      ...desired.namespaceObject,
      metadata: { ...desired.namespaceObject.metadata, annotations: { [ANNOTATION_BOOTSTRAP]: bootstrapAnnotation(desired, this.now()) } },
    };
    try {
      view.remember(await this.opts.writer.apply(nsBody, 'namespaces', { force: false }));
    } catch (e) {
      if (!(e instanceof ApiError && e.fieldConflict)) throw e;
      const fields = e.causes.map((c) => c.field ?? '');
      if (fields.length > 0 && fields.every((f) => BOOKKEEPING_FIELDS.includes(f))) {
        // Someone edited Redline's own bookkeeping annotation/label: take it back.
        view.remember(await this.opts.writer.apply(nsBody, 'namespaces', { force: true }));
      } else {
        // Another manager set a Pod Security label differently. The Namespace is not Redline's
        // object: report it, do not override it, and do not claim the bootstrap finished.
        await events.emit(
          target(ns),
          { type: 'Warning', reason: 'LabelConflict', message: `namespace labels owned by another field manager differ from Redline's; not overriding: ${conflictSummary(e)}` },
          { dedupe: true },
        );
        return 'conflict';
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

  private async offboard(ns: KubeObject, stamped: KubeObject[]): Promise<ReconcileResult> {
    const { view } = this.opts;
    const name = ns.metadata.name;
    const mode = this.opts.settings.offboarding;
    const done: string[] = [];
    for (const s of stamped) {
      const kind = OWNED_BY_KIND.get(s.kind)!;
      const path = resourcePath(kind.apiVersion, kind.plural, name, s.metadata.name);
      if (mode === 'delete') {
        try {
          await this.opts.writer.delete(path, s.metadata.uid ? { uid: s.metadata.uid } : {});
        } catch (e) {
          // 409: the UID precondition failed — a different object by that name now; leave it.
          if (!(e instanceof ApiError && e.status === 409)) throw e;
        }
        view.forget(s);
      } else {
        const patched = await this.opts.writer.mergePatch(path, { metadata: { labels: { [LABEL_MANAGED_BY]: null, [LABEL_TENANT]: null, [LABEL_PLAN]: null } } });
        view.forget(patched);
      }
      done.push(`${s.kind}/${s.metadata.name}`);
    }
    // Keep the Pod Security labels Redline set (only those still at Redline's value — the others
    // are no longer ours); drop the managed label and the bootstrap annotation.
    const live = ns.metadata.labels ?? {};
    const keep: Record<string, string> = {};
    for (const [k, v] of Object.entries(POD_SECURITY_LABELS)) if (live[k] === v) keep[k] = v;
    let after = await this.opts.writer.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: keep } }, 'namespaces', { force: false });
    if (after.metadata.labels?.[LABEL_MANAGED] !== undefined || after.metadata.annotations?.[ANNOTATION_BOOTSTRAP] !== undefined) {
      // Set by another manager: remove just these two keys.
      after = await this.opts.writer.mergePatch(resourcePath('v1', 'namespaces', undefined, name), {
        metadata: { labels: { [LABEL_MANAGED]: null }, annotations: { [ANNOTATION_BOOTSTRAP]: null } },
      });
    }
    view.remember(after);
    const message =
      mode === 'delete'
        ? `tenant label removed: deleted ${done.length ? done.join(', ') : 'no objects'}; the namespace and its data (PVCs, Secrets, Redis objects) are kept`
        : `tenant label removed: orphaned ${done.length ? done.join(', ') : 'no objects'} (Redline's labels removed, objects kept)`;
    this.opts.events.reset(name);
    await this.opts.events.emit(target(ns), { type: 'Normal', reason: 'Offboarded', message });
    this.log.info({ namespace: name, reason: 'Offboarded', changes: done.length }, message);
    return 'offboarded';
  }
}
