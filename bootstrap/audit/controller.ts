// The background audit, run by the controller's leader: every tenant namespace's Redis objects are
// judged again with the engine and the inputs admission uses (judge.ts), and the results written to
// one Report redline-audit per namespace (report.ts).
//
//   informers (audited kinds, StorageClasses, our reports) ─┐
//   namespace informer (the controller's) ──── plan/tenant label changed ─┼─▶ due namespaces
//   library reloaded · leadership gained · every audit.intervalMs ── all ─┤        │ tick
//   an exception's approved or expires instant passed ───────────── all ─┘        │
//                                            judge ─▶ content changed? ─▶ server-side apply
//
// Bounded writes: a report is written only when its content (timestamps aside) differs from the
// stored one, and at most once per namespace per audit.minWriteIntervalMs; a namespace whose write
// must wait stays due and is written when it may. A standby judges and writes nothing.
//
// Exceptions take and lose effect by the clock, not by a library change: the scheduler keeps the
// next such instant of the library in service (one number, checked by the tick; no timer per
// exception) and audits again once it has passed, so an expired waiver's failure is back in its
// report within a tick, not at the next audit.intervalMs.

import type { ClusterFacts } from '../../kube/cluster-facts-source.js';
import { isRedlineError } from '../../core/errors.js';
import { LABEL_MANAGED, LABEL_MANAGED_BY, LABEL_PLAN, LABEL_TENANT, MANAGED_BY_REDLINE } from '../../core/vocabulary.js';
import { ApiError, resourcePath, type KubeApi, type KubeObject } from '../../kube/api-client.js';
import { Informer, type InformerHandlers } from '../../kube/informer.js';
import type { BackoffPolicy } from '../../kube/backoff.js';
import { servedResources } from '../../kube/discovery.js';
import { slimStorageClass } from '../../kube/storage-class-source.js';
import type { Engine } from '../../policies/engine/engine.js';
import { nextExceptionChange } from '../../policies/engine/exceptions.js';
import type { NamespaceInfo } from '../../policies/engine/types.js';
import type { ControllerLogger } from '../controller.js';
import type { AuditSettings } from '../../core/settings/controller.js';
import { clusterFacts } from './facts.js';
import { compareRefs, isTenantNamespace, judgeNamespace, namespaceInfo, type NamespaceVerdict, type StoredObject } from './judge.js';
import { servedAuditedKinds, type ServedKind } from './kinds.js';
import type { AuditMetrics } from './metrics.js';
import { buildReport, OPENREPORTS, POLICY_REPORT, REPORT_NAME, reportContent, type ReportKind } from './report.js';

export const AUDIT_FIELD_MANAGER = 'redline-audit';
const DISCOVERY_EVERY_MS = 60_000;
const WRITERS = 4;
/**
 * Judging is synchronous: the audit yields to the event loop after this much of it, so health
 * probes, lease renewals and watch events are not held up by an audit of thousands of objects.
 */
const SLICE_MS = 20;

/** What the audit reads of the controller's namespace informer. */
export interface NamespaceCache {
  get(name: string): KubeObject | undefined;
  list(): KubeObject[];
  on(handlers: InformerHandlers<KubeObject>): void;
  synced(): boolean;
}

export interface AuditControllerOptions {
  api: KubeApi;
  namespaces: NamespaceCache;
  isLeader: () => boolean;
  /** The engine in service (the library, hot-reloaded). */
  engine: () => Engine;
  /** Changes whenever the library is reloaded (a counter): everything is audited again. */
  libraryVersion: () => number;
  settings: AuditSettings;
  metrics: AuditMetrics;
  logger: ControllerLogger;
  informer: { backoff: BackoffPolicy; relistMs: number };
  /** Milliseconds of the scheduler tick; default 200. */
  tickMs?: number;
  now?: () => number;
}

/** Drops what no policy reads (managedFields, status): the caches hold less. */
export function slimAudited(obj: KubeObject): KubeObject {
  const { managedFields: _m, ...metadata } = obj.metadata as KubeObject['metadata'] & { managedFields?: unknown };
  const { status: _s, ...rest } = obj;
  return { ...rest, metadata } as KubeObject;
}

export class AuditController {
  private readonly objects = new Map<string, { kind: ServedKind; informer: Informer }>();
  private readonly reports = new Map<string, { kind: ReportKind; informer: Informer }>();
  private storageClasses: Informer | undefined;
  private readonly due = new Set<string>();
  private readonly lastWrite = new Map<string, number>();
  private readonly violations = new Map<string, Map<string, number>>();
  /** Report kinds found not served, said once (discovery asks again every minute). */
  private readonly missing = new Set<string>();
  private tickTimer: NodeJS.Timeout | undefined;
  private discoveryTimer: NodeJS.Timeout | undefined;
  private nextFullAt = 0;
  /** When an exception of the library in service next takes or loses effect (none: undefined). */
  private nextExceptionAt: number | undefined;
  private leading = false;
  private seenLibrary = -1;
  private running: Promise<void> | undefined;
  private stopping = false;
  private readonly now: () => number;
  private readonly log: ControllerLogger;
  readonly stats = { audits: 0, judged: 0, writes: 0, unchanged: 0 };

  constructor(private readonly opts: AuditControllerOptions) {
    this.now = opts.now ?? (() => Date.now());
    this.log = opts.logger;
  }

  async start(): Promise<void> {
    const { namespaces } = this.opts;
    namespaces.on({
      add: (o) => this.markDue(o.metadata.name),
      update: (a, b) => {
        const [x, y] = [a.metadata.labels ?? {}, b.metadata.labels ?? {}];
        if (x[LABEL_PLAN] !== y[LABEL_PLAN] || x[LABEL_TENANT] !== y[LABEL_TENANT] || x[LABEL_MANAGED] !== y[LABEL_MANAGED]) this.markDue(b.metadata.name);
      },
    });
    this.storageClasses = this.informer('storageclasses', { path: '/apis/storage.k8s.io/v1/storageclasses', apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', transform: slimStorageClass });
    this.storageClasses.on({ add: () => this.markAll(), update: () => this.markAll(), delete: () => this.markAll() });
    this.storageClasses.start();
    try {
      await this.discover();
    } catch (e) {
      this.log.warn({ component: 'audit', err: message(e) }, 'API discovery failed; audited kinds are watched once it succeeds');
    }
    this.discoveryTimer = setInterval(() => {
      this.discover().catch((e: unknown) => this.log.warn({ component: 'audit', err: message(e) }, 'API discovery failed; retrying'));
    }, DISCOVERY_EVERY_MS);
    this.tickTimer = setInterval(() => this.tick(), this.opts.tickMs ?? 200);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.discoveryTimer) clearInterval(this.discoveryTimer);
    await this.running?.catch(() => undefined);
    await Promise.allSettled([...this.informers()].map((i) => i.stop()));
  }

  private *informers(): Iterable<Informer> {
    if (this.storageClasses) yield this.storageClasses;
    for (const { informer } of this.objects.values()) yield informer;
    for (const { informer } of this.reports.values()) yield informer;
  }

  /** Every informer has listed once (the audit never judges from a half-filled cache). */
  synced(): boolean {
    return this.opts.namespaces.synced() && [...this.informers()].every((i) => i.synced());
  }

  private informer(name: string, o: { path: string; apiVersion: string; kind: string; labelSelector?: string; transform?: (o: KubeObject) => KubeObject }): Informer {
    return new Informer({
      api: this.opts.api,
      name: `audit-${name}`,
      ...o,
      backoff: this.opts.informer.backoff,
      relistMs: this.opts.informer.relistMs,
      logger: this.log.child({ component: 'audit-informer' }),
    });
  }

  /** Informers for the audited kinds and report kinds served now and not yet watched. */
  private async discover(): Promise<void> {
    for (const k of await servedAuditedKinds(this.opts.api)) {
      const key = `${k.apiVersion}/${k.plural}`;
      if (this.objects.has(key) || this.stopping) continue;
      const informer = this.informer(`${k.plural}.${k.apiVersion}`, { path: resourcePath(k.apiVersion, k.plural), apiVersion: k.apiVersion, kind: k.kind, transform: slimAudited });
      const touch = (o: KubeObject): void => {
        if (o.metadata.namespace) this.markDue(o.metadata.namespace);
      };
      informer.on({ add: touch, update: (_a, b) => touch(b), delete: touch });
      this.objects.set(key, { kind: k, informer });
      informer.start();
    }
    const wanted = [OPENREPORTS, ...(this.opts.settings.policyReports ? [POLICY_REPORT] : [])];
    for (const kind of wanted) {
      if (this.reports.has(kind.kind) || this.stopping) continue;
      if (!(await servedResources(this.opts.api, kind.apiVersion)).has(kind.plural)) {
        if (this.missing.has(kind.kind)) continue;
        this.missing.add(kind.kind);
        this.log.warn({ component: 'audit', kind: kind.kind }, `${kind.plural}.${kind.apiVersion} is not served (CRD not installed?): audit results are not written there until it is`);
        continue;
      }
      const informer = this.informer(`${kind.plural}`, {
        path: resourcePath(kind.apiVersion, kind.plural), apiVersion: kind.apiVersion, kind: kind.kind,
        labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_REDLINE}`,
      });
      this.reports.set(kind.kind, { kind, informer });
      informer.start();
      this.markAll(); // reports can be written now
    }
  }

  private markDue(namespace: string): void {
    this.due.add(namespace);
  }

  /** Every namespace that is a tenant's or has a report of ours (to be removed). */
  private markAll(): void {
    for (const ns of this.opts.namespaces.list()) this.due.add(ns.metadata.name);
    for (const { informer } of this.reports.values()) for (const r of informer.list()) if (r.metadata.namespace) this.due.add(r.metadata.namespace);
  }

  private tick(): void {
    if (this.stopping || this.running) return;
    const leader = this.opts.isLeader();
    if (!leader) {
      this.leading = false;
      return;
    }
    if (!this.synced()) return;
    const now = this.now();
    let full = false;
    const exceptionDue = this.nextExceptionAt !== undefined && now >= this.nextExceptionAt;
    if (exceptionDue) this.log.info({ component: 'audit', at: new Date(this.nextExceptionAt!).toISOString() }, 'an exception took or lost effect: auditing again');
    if (!this.leading || this.seenLibrary !== this.opts.libraryVersion() || now >= this.nextFullAt) {
      this.leading = true;
      this.seenLibrary = this.opts.libraryVersion();
      this.nextFullAt = now + this.opts.settings.intervalMs;
      this.markAll();
      full = true;
    } else if (exceptionDue) {
      this.markAll();
    }
    if (full || exceptionDue) {
      this.nextExceptionAt = nextExceptionChange(this.opts.engine().exceptionStatuses(new Date(now)), now);
    }
    if (this.due.size === 0) return;
    this.running = this.auditDue(full).finally(() => (this.running = undefined));
  }

  /** Judges the due namespaces and writes what changed (and may be written now). */
  private async auditDue(full: boolean): Promise<void> {
    const { metrics, settings } = this.opts;
    const end = metrics.duration.startTimer({ scope: full ? 'all' : 'namespace' });
    const engine = this.opts.engine();
    const facts = clusterFacts({
      storageClasses: () => (this.storageClasses?.synced() ? this.storageClasses.list() : undefined),
      pdbs: (ns) => {
        const pdbs = [...this.objects.values()].find((o) => o.kind.kind === 'PodDisruptionBudget');
        return pdbs ? pdbs.informer.inNamespace(ns) : undefined;
      },
    });
    const now = this.now();
    const work: (() => Promise<void>)[] = [];
    let judged = 0;
    const slice = new Slice();
    for (const name of [...this.due]) {
      if (!(await slice.pause(() => !this.stopping && this.opts.isLeader()))) return;
      const writeAllowed = now - (this.lastWrite.get(name) ?? -Infinity) >= settings.minWriteIntervalMs;
      // Coalescing: a namespace written less than minWriteIntervalMs ago waits (and stays due).
      if (!writeAllowed && !full) continue;
      // Out of the due set before judging: an event while it is judged makes it due again.
      this.due.delete(name);
      const ns = this.opts.namespaces.get(name);
      const info = ns ? namespaceInfo(ns) : undefined;
      if (!info || !isTenantNamespace(info)) {
        this.violations.delete(name);
        work.push(() => this.removeReports(name));
        continue;
      }
      const verdict = await this.judge(engine, info, facts, slice);
      if (!verdict) {
        this.due.add(name);
        return;
      }
      judged++;
      this.violations.set(name, violationsOf(verdict));
      let waiting = false;
      let writes = 0;
      for (const { kind, informer } of this.reports.values()) {
        const previous = informer.get(REPORT_NAME, name);
        const report = buildReport(verdict, { kind, maxResults: settings.maxResults, previous, now: new Date(now) });
        if (reportContent(report) === reportContent(previous)) {
          this.stats.unchanged++;
          continue;
        }
        if (!writeAllowed) {
          waiting = true;
          continue;
        }
        writes++;
        work.push(() => this.write(kind, informer, report, previous === undefined));
      }
      if (waiting) this.due.add(name);
      if (writes > 0) this.lastWrite.set(name, now);
    }
    if (judged === 0 && work.length === 0 && !full) return;
    this.publishViolations();
    await runPool(work, WRITERS);
    end();
    if (full) {
      this.stats.audits++;
      metrics.lastCompleted.set(this.now() / 1000);
    }
  }

  /** One namespace's verdict, an object at a time (a slow object cannot hold the loop for long); undefined when stopped. */
  private async judge(engine: Engine, ns: NamespaceInfo, facts: ClusterFacts, slice: Slice): Promise<NamespaceVerdict | undefined> {
    const objects: StoredObject[] = [];
    for (const { informer } of this.objects.values()) objects.push(...(informer.inNamespace(ns.name) as unknown as StoredObject[]));
    const verdict = judgeNamespace(engine, ns, [], facts);
    for (const obj of objects) {
      if (!(await slice.pause(() => !this.stopping && this.opts.isLeader()))) return undefined;
      verdict.objects.push(...judgeNamespace(engine, ns, [obj], facts).objects);
      this.stats.judged++;
      this.opts.metrics.objectsJudged.inc();
    }
    verdict.objects.sort((a, b) => compareRefs(a.ref, b.ref));
    return verdict;
  }

  private async write(kind: ReportKind, informer: Informer, report: KubeObject, create: boolean): Promise<void> {
    const body = JSON.stringify(report);
    try {
      const stored = await this.opts.api.apply<KubeObject>(report, kind.plural, { force: true, fieldManager: AUDIT_FIELD_MANAGER });
      informer.upsertIfNewer(stored);
      this.stats.writes++;
      this.opts.metrics.reportWrites.inc({ kind: kind.kind, result: create ? 'created' : 'updated' });
      this.opts.metrics.reportBytes.inc({ kind: kind.kind }, Buffer.byteLength(body));
    } catch (e) {
      if (isRedlineError(e, 'write-gate-closed', 'rate-limiter-closed')) return; // lost the lease / stopping
      this.opts.metrics.reportWrites.inc({ kind: kind.kind, result: 'error' });
      this.log.warn({ component: 'audit', namespace: report.metadata.namespace ?? '', kind: kind.kind, err: message(e) }, 'report write failed; retried at the next audit');
      if (!(e instanceof ApiError) || e.retryable) this.markDue(report.metadata.namespace ?? '');
    }
  }

  /** The namespace is no tenant's (any more): our reports there go. */
  private async removeReports(namespace: string): Promise<void> {
    for (const { kind, informer } of this.reports.values()) {
      const stored = informer.get(REPORT_NAME, namespace);
      if (!stored) continue;
      try {
        await this.opts.api.delete(resourcePath(kind.apiVersion, kind.plural, namespace, REPORT_NAME), { ...(stored.metadata.uid ? { uid: stored.metadata.uid } : {}) });
        informer.forget(stored);
        this.opts.metrics.reportWrites.inc({ kind: kind.kind, result: 'deleted' });
      } catch (e) {
        if (isRedlineError(e, 'write-gate-closed', 'rate-limiter-closed')) return;
        this.opts.metrics.reportWrites.inc({ kind: kind.kind, result: 'error' });
        this.log.warn({ component: 'audit', namespace, kind: kind.kind, err: message(e) }, 'report delete failed; retried at the next audit');
      }
    }
  }

  /** The violations gauge, summed per tenant, policy and rule over the tenant's namespaces. */
  private publishViolations(): void {
    const totals = new Map<string, number>();
    for (const counts of this.violations.values()) for (const [k, n] of counts) totals.set(k, (totals.get(k) ?? 0) + n);
    this.opts.metrics.violations.reset();
    for (const [k, n] of totals) {
      const [tenant, policy, rule] = JSON.parse(k) as [string, string, string];
      this.opts.metrics.violations.set({ tenant, policy, rule }, n);
    }
  }
}

/** Yields to the event loop once SLICE_MS of synchronous work has passed; false when the audit should stop. */
class Slice {
  private start = performance.now();

  async pause(goOn: () => boolean): Promise<boolean> {
    if (performance.now() - this.start < SLICE_MS) return true;
    await new Promise((r) => setImmediate(r));
    this.start = performance.now();
    return goOn();
  }
}

function violationsOf(verdict: NamespaceVerdict): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of verdict.objects) {
    for (const r of o.results) {
      if (r.result !== 'fail' && r.result !== 'warn') continue;
      const k = JSON.stringify([verdict.tenant, r.policy, r.rule]);
      out.set(k, (out.get(k) ?? 0) + 1);
    }
  }
  return out;
}

async function runPool(work: readonly (() => Promise<void>)[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < work.length) await work[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, work.length) }, worker));
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
