// The tenant namespace controller: informers on Namespaces and on the owned kinds (selected by
// app.kubernetes.io/managed-by=redline) feed a work queue keyed by namespace; N workers reconcile;
// a periodic resync re-queues every namespace; leader election (owned by the process, cli/controller.ts,
// like the API client) decides who may write.
//
//   informer event ─▶ enqueue(namespace) ─▶ WorkQueue (dedupe, per-key backoff) ─▶ workers
//        ▲                                                              │ TenantReconciler
//        └──── watch ◀── API server ◀── KubeApi (token bucket, write gate = lease) ◀┘
//
// A standby runs the informers too (ready, warm caches, fast takeover) but enqueues nothing and
// cannot write: its KubeApi's write gate refuses every mutating call. The process calls
// enqueueAll() when this replica starts leading.
//
// The tenant's Secrets Role is computed from three more kinds of informers (bootstrap/secrets.ts):
// the Redis custom resources and cert-manager Certificates (those whose CRDs are served: discovery
// at start and again every minute, for CRDs installed later) and Secrets (metadata and type only,
// never data; ServiceAccount tokens not even listed). Their events re-queue the namespace when it
// is a tenant's.

import { isRedlineError } from '../core/errors.js';
import { ApiError, resourcePath, type KubeApi, type KubeObject } from '../kube/api-client.js';
import { EventRecorder } from '../kube/events.js';
import { Informer } from '../kube/informer.js';
import { servedResources } from '../kube/discovery.js';
import { WorkQueue } from '../kube/work-queue.js';
import { runWorkers } from '../kube/workers.js';
import { startAudit, type AuditLibrary, type RunningAudit } from './audit/index.js';
import type { ControllerMetrics } from './metrics.js';
import { TenantReconciler, type ClusterView } from './reconcile.js';
import { LABEL_MANAGED_BY, LABEL_PLAN, LABEL_TENANT, MANAGED_BY_REDLINE, SECRET_TYPE_SERVICE_ACCOUNT_TOKEN } from '../core/vocabulary.js';
import { OWNED_KINDS, type PlanLike } from './render.js';
import { REDIS_KINDS, secretMetadataOnly, type RedisKind } from './secrets.js';
import { membersOf, tenantIdOfKey, tenantKey, TENANT_API_VERSION, TENANT_GROUP, TENANT_KIND, TENANT_PLURAL } from './tenants.js';
import type { ControllerSettings } from '../core/settings/controller.js';
import type { ControllerLedger } from './ledger-view.js';

/** Log keys of the controller (an API, like the webhook's): nothing else is bound to a line. */
export const ControllerLogKey = {
  component: 'component',
  namespace: 'namespace',
  tenant: 'tenant',
  plan: 'plan',
  reason: 'reason',
  result: 'result',
  resource: 'resource',
  kind: 'kind',
  name: 'name',
  holder: 'holder',
  attempt: 'attempt',
  backoffMs: 'backoffMs',
  durationMs: 'durationMs',
  changes: 'changes',
  address: 'address',
  err: 'err',
} as const;

export interface ControllerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
  child(bindings: Record<string, string>): ControllerLogger;
}

export interface TenantControllerOptions {
  /** The policy library the background audit judges with (absent: no audit, `audit.enabled: false`). */
  auditLibrary?: AuditLibrary;
  settings: ControllerSettings;
  /** The process's API client (its token bucket and leader write gate apply to every call). */
  api: KubeApi;
  plans: ReadonlyMap<string, PlanLike>;
  logger: ControllerLogger;
  metrics: ControllerMetrics;
  /** This replica's identity (the Lease holder; the Events' reporting instance). */
  identity: string;
  /** Whether this replica may write now (the leader elector's answer; always true without election). */
  isLeader: () => boolean;
  /** Builds the ledger view of the Tenants' status (usage, reservations) with its change callbacks; absent: those fields stay unfilled. */
  ledger?: (hooks: LedgerHooks) => ControllerLedger;
}

/** What the controller gives its ledger view: the plan label of a namespace (its cache), and where changes go. */
export interface LedgerHooks {
  planOf(namespace: string): string | undefined;
  onUsageChange(namespaces: ReadonlySet<string>): void;
  onRecordChange(tenant: string): void;
}

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail: string;
}

const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY_REDLINE}`;
/** The tenant's own Certificates name Secrets the tenant may read. */
const CERTIFICATE_SOURCE: RedisKind = { group: 'cert-manager.io', versions: ['v1'], plural: 'certificates', kind: 'Certificate' };
const DISCOVERY_EVERY_MS = 60_000;

export class TenantController {
  readonly identity: string;
  private readonly api: KubeApi;
  private namespaces: Informer | undefined;
  private readonly owned = new Map<string, Informer>();
  /** Secret sources: `${group}/${plural}` → informer (Redis kinds and Certificates). */
  private readonly sources = new Map<string, Informer>();
  private secrets: Informer | undefined;
  /** Tenants (redline.dev/v1alpha1), once discovery finds them served; none: every tenant is label-only. */
  private tenants: Informer | undefined;
  private ledger: ControllerLedger | undefined;
  private sweeping = false;
  /** Tenants whose records a sweep should look at next ('all': every record). */
  private sweepWanted: Set<string> | 'all' | undefined;
  private discoveryTimer: NodeJS.Timeout | undefined;
  private started = false;
  private queue: WorkQueue | undefined;
  private audit: RunningAudit | undefined;
  private workers: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private allSyncedOnce = false;
  private stopping = false;
  private readonly log: ControllerLogger;

  constructor(private readonly opts: TenantControllerOptions) {
    this.identity = opts.identity;
    this.api = opts.api;
    this.log = opts.logger;
  }

  private informers(): Informer[] {
    return [
      ...(this.namespaces ? [this.namespaces] : []), ...this.owned.values(), ...(this.secrets ? [this.secrets] : []),
      ...this.sources.values(), ...(this.tenants ? [this.tenants] : []),
    ];
  }

  synced(): boolean {
    return this.informers().length > 0 && this.informers().every((i) => i.synced()) && (this.ledger?.pending().length ?? 0) === 0;
  }

  isLeader(): boolean {
    return this.opts.isLeader();
  }

  /** The informers' readiness (the process adds the Lease's). */
  readiness(): ReadinessCheck {
    const pending = [...this.informers().filter((i) => !i.synced()).map((i) => i.name), ...(this.ledger?.pending() ?? [])];
    return { name: 'informers', ok: this.synced(), detail: pending.length ? `not synced yet: ${pending.join(', ')}` : `${this.informers().length} informers${this.ledger ? ' and the ledger view' : ''} synced` };
  }

  async start(): Promise<void> {
    const { settings, metrics } = this.opts;
    const api = this.api;

    const informerOpts = (name: string) => ({
      api,
      name,
      backoff: settings.informerBackoff,
      relistMs: settings.resyncMs,
      logger: this.log.child({ [ControllerLogKey.component]: 'informer' }),
      onRestart: () => metrics.informerRestarts.inc({ resource: name }),
      onList: () => metrics.informerSynced.set({ resource: name }, 1),
    });
    this.namespaces = new Informer({ ...informerOpts('namespaces'), path: '/api/v1/namespaces', apiVersion: 'v1', kind: 'Namespace' });
    // A namespace's change may change its Tenant's status (joined, left, stamped): queue both.
    const withTenant = (o: KubeObject): void => {
      this.enqueue(o.metadata.name);
      const id = o.metadata.labels?.[LABEL_TENANT];
      if (id) this.enqueueTenantKey(id);
    };
    this.namespaces.on({
      add: withTenant,
      update: (a, b) => {
        if (a.metadata.resourceVersion === b.metadata.resourceVersion) return;
        withTenant(b);
        const before = a.metadata.labels?.[LABEL_TENANT];
        if (before && before !== b.metadata.labels?.[LABEL_TENANT]) {
          this.enqueueTenantKey(before);
          void this.sweepLedger([before]); // it may have been the tenant's last namespace
        }
      },
      delete: (o) => {
        withTenant(o);
        const id = o.metadata.labels?.[LABEL_TENANT];
        if (id) void this.sweepLedger([id]);
      },
    });
    for (const k of OWNED_KINDS) {
      if (k.certManager && !settings.certManager.enabled) continue;
      const inf = new Informer({
        ...informerOpts(k.plural),
        path: resourcePath(k.apiVersion, k.plural),
        labelSelector: MANAGED_SELECTOR,
        apiVersion: k.apiVersion,
        kind: k.kind,
      });
      const nsOf = (o: KubeObject): void => {
        if (o.metadata.namespace) this.enqueue(o.metadata.namespace);
      };
      inf.on({ add: nsOf, update: (_a, b) => nsOf(b), delete: nsOf });
      this.owned.set(k.kind, inf);
    }

    this.secrets = new Informer({
      ...informerOpts('secrets'),
      path: '/api/v1/secrets',
      fieldSelector: `type!=${SECRET_TYPE_SERVICE_ACCOUNT_TOKEN}`,
      apiVersion: 'v1',
      kind: 'Secret',
      transform: secretMetadataOnly,
    });
    this.secrets.on(this.tenantHandlers());
    try {
      await this.discoverSources();
    } catch (e) {
      this.log.warn({ [ControllerLogKey.component]: 'discovery', [ControllerLogKey.err]: e instanceof Error ? e.message : String(e) }, 'API discovery failed; Redis kinds and Certificates are watched once it succeeds');
    }

    this.queue = new WorkQueue({ backoff: settings.retry, onDepth: (d) => metrics.queueDepth.set(d) });
    const events = new EventRecorder(api, {
      instance: this.identity,
      logger: this.log.child({ [ControllerLogKey.component]: 'events' }),
      onResult: (ok) => metrics.events.inc({ result: ok ? 'ok' : 'error' }),
    });
    const view: ClusterView = {
      namespace: (name) => this.namespaces!.get(name),
      ownedIn: (ns) => [...this.owned.values()].flatMap((i) => i.inNamespace(ns)),
      owned: (kind, ns, name) => this.owned.get(kind)?.get(name, ns),
      remember: (obj) => {
        if (obj.kind === 'Namespace') {
          // The watch event of our own write finds the cache already up to date and emits nothing:
          // the Tenant's status (stamped, offboarded) is queued here instead.
          const before = this.namespaces!.get(obj.metadata.name)?.metadata.labels?.[LABEL_TENANT];
          this.namespaces!.upsertIfNewer(obj);
          for (const id of new Set([before, obj.metadata.labels?.[LABEL_TENANT]])) if (id) this.enqueueTenantKey(id);
        } else if (obj.kind === TENANT_KIND) this.tenants?.upsertIfNewer(obj);
        else if (obj.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_REDLINE) this.owned.get(obj.kind)?.upsertIfNewer(obj);
      },
      forget: (obj) => this.owned.get(obj.kind)?.forget(obj),
      secretSources: (ns) => {
        const certs = this.sources.get(`${CERTIFICATE_SOURCE.group}/${CERTIFICATE_SOURCE.plural}`);
        const redis = [...this.sources.entries()].filter(([k]) => k !== `${CERTIFICATE_SOURCE.group}/${CERTIFICATE_SOURCE.plural}`).map(([, i]) => i);
        return {
          redis: redis.flatMap((i) => i.inNamespace(ns)),
          certificates: certs?.inNamespace(ns) ?? [],
          secrets: this.secrets!.inNamespace(ns),
          complete: this.secrets!.synced() && [...this.sources.values()].every((i) => i.synced()),
        };
      },
      tenant: (id) => this.tenants?.get(id),
      namespaces: () => this.namespaces!.list(),
      ledger: (id, names) => this.ledger?.facts(id, names),
    };
    const reconciler = new TenantReconciler({
      view,
      writer: {
        apply: (obj, plural, o) => api.apply(obj, plural, o),
        mergePatch: (path, patch) => api.mergePatch(path, patch),
        delete: (path, o) => api.delete(path, o),
        replaceStatus: (obj, plural) => api.replaceStatus(obj, plural),
      },
      events,
      plans: () => this.opts.plans,
      settings,
      logger: this.log.child({ [ControllerLogKey.component]: 'reconciler' }),
    });

    const queue = this.queue;
    this.workers = runWorkers(queue, settings.workers, async (key) => {
      if (!this.isLeader() || this.stopping) return;
      const end = metrics.reconcileDuration.startTimer();
      try {
        const tenantId = tenantIdOfKey(key);
        const result = tenantId === undefined ? await reconciler.reconcile(key) : await reconciler.reconcileTenant(tenantId);
        metrics.reconciles.inc({ result });
        queue.forget(key);
        // The status lists live reservations: look again when the first of them lapses.
        const lapses = tenantId === undefined || result === 'gone' ? undefined : this.ledger?.nextExpiry(tenantId, Date.now());
        if (lapses !== undefined) queue.addAfter(key, Math.max(0, lapses - Date.now()) + 50);
      } catch (e) {
        if (isRedlineError(e, 'write-gate-closed', 'rate-limiter-closed')) return; // lost the lease / stopping
        metrics.reconciles.inc({ result: 'error' });
        const attempt = queue.numRequeues(key) + 1;
        const delay = queue.addRateLimited(key);
        const message = e instanceof Error ? e.message : String(e);
        this.log.warn({ [ControllerLogKey.namespace]: key, [ControllerLogKey.attempt]: attempt, [ControllerLogKey.backoffMs]: delay, [ControllerLogKey.err]: message }, 'reconcile failed; will retry');
        const permanent = e instanceof ApiError && e.status >= 400 && !e.retryable;
        const unreachable = e instanceof ApiError && e.status === 0; // an Event would not get through either
        if (!unreachable && (permanent || attempt >= 3)) {
          const ns = this.namespaces!.get(key);
          if (ns) {
            await events.emit(
              { name: key, ...(ns.metadata.uid ? { uid: ns.metadata.uid } : {}) },
              // A stable message (no attempt count or delay): de-duplicated until something else happens.
              { type: 'Warning', reason: 'ApplyFailed', message: `reconcile failed, retrying with backoff: ${message}` },
              { dedupe: true },
            );
          }
        }
      } finally {
        end();
      }
    });

    this.ledger = this.opts.ledger?.({
      planOf: (ns) => this.namespaces?.get(ns)?.metadata.labels?.[LABEL_PLAN],
      // Usage changed in a namespace: its Tenant's status may change (no write when it does not).
      onUsageChange: (namespaces) => {
        for (const ns of namespaces) {
          const id = this.namespaces?.get(ns)?.metadata.labels?.[LABEL_TENANT];
          if (id) this.enqueueTenantKey(id);
        }
      },
      onRecordChange: (id) => {
        this.enqueueTenantKey(id);
        void this.sweepLedger([id]);
      },
    });
    for (const inf of this.informers()) inf.start();
    void this.ledger?.start().catch((e: unknown) =>
      this.log.warn({ [ControllerLogKey.component]: 'ledger', [ControllerLogKey.err]: e instanceof Error ? e.message : String(e) }, 'ledger view failed to start; Tenants\' usage stays unfilled'),
    );
    this.started = true;
    this.discoveryTimer = setInterval(() => {
      this.discoverSources().catch((e: unknown) =>
        this.log.warn({ [ControllerLogKey.component]: 'discovery', [ControllerLogKey.err]: e instanceof Error ? e.message : String(e) }, 'API discovery failed; retrying'),
      );
    }, Math.min(DISCOVERY_EVERY_MS, settings.resyncMs));
    // Once every cache is full, queue everything (if leading).
    const waitSync = (): void => {
      if (this.stopping) return;
      if (this.synced()) {
        this.allSyncedOnce = true;
        this.log.info({ [ControllerLogKey.component]: 'controller' }, 'informers synced');
        this.enqueueAll();
        return;
      }
      this.syncTimer = setTimeout(waitSync, 25);
    };
    waitSync();

    this.resyncTimer = setInterval(() => this.enqueueAll(), settings.resyncMs);
    // Only the leader audits: isLeader() is the process's elector (cli/controller.ts).
    if (this.opts.auditLibrary) {
      this.audit = await startAudit({
        api, namespaces: this.namespaces, isLeader: () => this.isLeader() && !this.stopping, settings, registry: metrics.registry, library: this.opts.auditLibrary,
        logger: this.log.child({ [ControllerLogKey.component]: 'audit' }),
      });
    }
  }

  /** Handlers of the Secret-source informers: re-queue the object's namespace when it is a tenant's. */
  private tenantHandlers(): { add: (o: KubeObject) => void; update: (a: KubeObject, b: KubeObject) => void; delete: (o: KubeObject) => void } {
    const nsOf = (o: KubeObject): void => {
      const ns = o.metadata.namespace;
      if (ns && this.namespaces?.get(ns)?.metadata.labels?.[LABEL_TENANT]) this.enqueue(ns);
    };
    return { add: nsOf, update: (_a, b) => nsOf(b), delete: nsOf };
  }

  /** Starts an informer for every Redis kind / Certificates whose CRD is served and not yet watched. */
  private async discoverSources(): Promise<void> {
    await this.discoverTenants();
    const api = this.api;
    const { settings, metrics } = this.opts;
    const served = new Map<string, Set<string>>();
    for (const k of [...REDIS_KINDS, CERTIFICATE_SOURCE]) {
      const key = `${k.group}/${k.plural}`;
      if (this.sources.has(key) || this.stopping) continue;
      for (const v of k.versions) {
        const gv = `${k.group}/${v}`;
        if (!served.has(gv)) served.set(gv, await servedResources(api, gv));
        if (!served.get(gv)!.has(k.plural)) continue;
        const name = `${k.plural}.${k.group}`;
        const inf = new Informer({
          api,
          name,
          path: resourcePath(gv, k.plural),
          apiVersion: gv,
          kind: k.kind,
          backoff: settings.informerBackoff,
          relistMs: settings.resyncMs,
          logger: this.log.child({ [ControllerLogKey.component]: 'informer' }),
          onRestart: () => metrics.informerRestarts.inc({ resource: name }),
          onList: () => metrics.informerSynced.set({ resource: name }, 1),
        });
        inf.on(this.tenantHandlers());
        this.sources.set(key, inf);
        if (this.started) inf.start();
        this.log.info({ [ControllerLogKey.component]: 'discovery', [ControllerLogKey.resource]: name }, `watching ${name}/${v} for the Secrets tenants may read`);
        break;
      }
    }
  }

  private enqueue(namespace: string): void {
    if (!this.allSyncedOnce || this.stopping || !this.isLeader()) return;
    this.queue?.add(namespace);
  }

  /** Every known namespace into the queue (resync, new leader, caches synced). */
  enqueueAll(): void {
    if (!this.allSyncedOnce || this.stopping || !this.isLeader()) return;
    for (const ns of this.namespaces?.list() ?? []) this.queue?.add(ns.metadata.name);
    for (const t of this.tenants?.list() ?? []) this.queue?.add(tenantKey(t.metadata.name));
    void this.sweepLedger();
  }

  /**
   * Deletes the ledger records of tenants that are gone (ControllerLedger.sweep): every record at a
   * resync, `only` these tenants' when a record or a namespace of theirs changed. One sweep runs at
   * a time; what is asked for meanwhile is swept right after it.
   */
  private async sweepLedger(only?: readonly string[]): Promise<void> {
    if (!this.ledger || !this.allSyncedOnce || this.stopping || !this.isLeader()) return;
    if (only === undefined) this.sweepWanted = 'all';
    else if (this.sweepWanted !== 'all') {
      const wanted: Set<string> = this.sweepWanted ?? new Set<string>();
      for (const id of only) wanted.add(id);
      this.sweepWanted = wanted;
    }
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      while (this.sweepWanted && !this.stopping) {
        const want = this.sweepWanted;
        this.sweepWanted = undefined;
        const namespaces = this.namespaces?.list() ?? [];
        const swept = await this.ledger.sweep({
          ...(want === 'all' ? {} : { only: [...want] }),
          hasTenantObject: (id) => this.tenants?.get(id) !== undefined,
          namespaceCount: (id) => membersOf(id, namespaces).length,
          now: Date.now(),
        });
        for (const tenant of swept) this.log.info({ [ControllerLogKey.component]: 'ledger', [ControllerLogKey.tenant]: tenant }, `ledger record of tenant ${tenant} deleted: no Tenant, no namespace, no live reservation`);
      }
    } catch (e) {
      this.log.warn({ [ControllerLogKey.component]: 'ledger', [ControllerLogKey.err]: e instanceof Error ? e.message : String(e) }, 'ledger sweep failed; retrying at the next resync');
    } finally {
      this.sweeping = false;
    }
  }

  /** A Tenant's status may have changed with one of its namespaces (label-only tenants have none to write). */
  private enqueueTenantKey(id: string): void {
    if (this.tenants?.get(id)) this.enqueue(tenantKey(id));
  }

  /** A Tenant changed: its status, and every namespace of it (plan, subjects, offboarding). */
  private enqueueTenant(tenant: KubeObject): void {
    const id = tenant.metadata.name;
    this.enqueue(tenantKey(id));
    for (const ns of membersOf(id, this.namespaces?.list() ?? [])) this.enqueue(ns.metadata.name);
  }

  /** Starts the Tenant informer once Tenants are served (the CRD may be installed after the controller). */
  private async discoverTenants(): Promise<void> {
    if (this.tenants || this.stopping) return;
    const gv = `${TENANT_GROUP}/v1alpha1`;
    if (!(await servedResources(this.api!, gv)).has(TENANT_PLURAL)) return;
    const { settings, metrics } = this.opts;
    const inf = new Informer({
      api: this.api!,
      name: TENANT_PLURAL,
      path: resourcePath(TENANT_API_VERSION, TENANT_PLURAL),
      apiVersion: TENANT_API_VERSION,
      kind: TENANT_KIND,
      backoff: settings.informerBackoff,
      relistMs: settings.resyncMs,
      logger: this.log.child({ [ControllerLogKey.component]: 'informer' }),
      onRestart: () => metrics.informerRestarts.inc({ resource: TENANT_PLURAL }),
      onList: () => metrics.informerSynced.set({ resource: TENANT_PLURAL }, 1),
    });
    inf.on({
      add: (o) => this.enqueueTenant(o),
      update: (a, b) => {
        if (a.metadata.resourceVersion !== b.metadata.resourceVersion) this.enqueueTenant(b);
      },
      delete: (o) => this.enqueueTenant(o),
    });
    this.tenants = inf;
    if (this.started) inf.start();
    this.log.info({ [ControllerLogKey.component]: 'discovery', [ControllerLogKey.resource]: `${TENANT_PLURAL}.${TENANT_GROUP}` }, 'watching Tenants: a tenant with a Tenant object gets its plan from it');
  }

  /** Stops taking work and lets in-flight reconciles finish (bounded by the API timeouts, at most 5 s). */
  async drain(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.syncTimer) clearTimeout(this.syncTimer);
    if (this.discoveryTimer) clearInterval(this.discoveryTimer);
    this.queue?.shutDown();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.workers, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
    clearTimeout(timer); // a pending timer would hold the process for the rest of the 5 s
  }

  /** Drains, then stops the informers (the process closes the rate limiter first: it releases those waiting for a token). */
  async stop(): Promise<void> {
    await this.drain();
    await this.audit?.stop();
    await Promise.allSettled([...this.informers().map((i) => i.stop()), ...(this.ledger ? [this.ledger.stop()] : [])]);
  }
}
