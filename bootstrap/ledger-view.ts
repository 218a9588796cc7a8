// The controller's read-only view of the tenant ledger, for the Tenants' status: the usage caches
// serve's ledger runs (kube/usage-source.ts, reused as is: the same kinds, the same arithmetic) and
// the ledger records (kube/ledger-store.ts, read only: the controller never writes a reservation).
// Both call back when something changed, so the Tenants concerned are re-queued; the status is
// written only when it differs, so these callbacks cannot loop.
//
// The Redis custom resources are watched here a second time (the Secret informers of
// bootstrap/controller.ts hold whole objects for their Secret references; these hold a few numbers
// per object, and also the workload kinds a Redis may run as): one seam per consumer, no second
// copy of the usage code.

import type { KubeConfig } from '@kubernetes/client-node';
import type { InformerLogger } from '../kube/informer.js';
import { LedgerStore, type LedgerRecord } from '../kube/ledger-store.js';
import { ClusterUsageSource } from '../kube/usage-source.js';
import { isStaleRecord, parseReservations } from '../policies/tenancy/ledger.js';
import { planDefaults } from '../policies/tenancy/usage.js';
import type { PlanLike } from './render.js';
import type { LedgerFacts } from './tenants.js';
import type { LedgerHooks } from './controller.js';
import type { JsonObject } from '../policies/engine/types.js';

export interface ControllerLedgerOptions extends LedgerHooks {
  kubeConfig: KubeConfig;
  resyncMs: number;
  /** The ledger namespace (default redline-ledger). */
  namespace?: string;
  plans: () => ReadonlyMap<string, PlanLike>;
  logger?: InformerLogger;
  onError?: (err: unknown) => void;
}

export class ControllerLedger {
  private readonly usage: ClusterUsageSource;
  private readonly store: LedgerStore;

  constructor(opts: ControllerLedgerOptions) {
    const common = {
      kubeConfig: opts.kubeConfig,
      resyncMs: opts.resyncMs,
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.onError ? { onError: opts.onError } : {}),
    };
    this.usage = new ClusterUsageSource({
      ...common,
      defaultsFor: (ns) => {
        const plan = opts.plans().get(opts.planOf(ns) ?? '');
        return plan ? planDefaults(plan.spec as JsonObject) : undefined;
      },
      onChange: opts.onUsageChange,
    });
    this.store = new LedgerStore({ ...common, ...(opts.namespace ? { namespace: opts.namespace } : {}), onChange: opts.onRecordChange });
  }

  async start(): Promise<void> {
    await Promise.all([this.usage.start(), this.store.start()]);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.usage.stop(), this.store.stop()]);
  }

  /** What is not synced yet (empty: ready). */
  pending(): string[] {
    return [...this.usage.pending().map((p) => `usage of ${p}`), ...(this.store.synced() ? [] : [`ledger records in ${this.store.namespace}`])];
  }

  /**
   * Deletes the records of tenants that are gone — no Tenant object, no namespace, no live
   * reservation (isStaleRecord) — so the ledger namespace does not keep one per tenant ever sold.
   * Each delete is conditional on the record's resourceVersion: a reservation written meanwhile
   * keeps it. `only`: just these tenants' records (a record or a namespace of theirs changed);
   * otherwise every record (resync). Returns the tenants whose record was deleted.
   */
  async sweep(input: { only?: readonly string[]; hasTenantObject: (tenant: string) => boolean; namespaceCount: (tenant: string) => number; now: number }): Promise<string[]> {
    if (!this.store.synced()) return [];
    const swept: string[] = [];
    const records = input.only ? input.only.map((t): [string, LedgerRecord | undefined] => [t, this.store.cached(t)]) : [...this.store.records()];
    for (const [tenant, record] of records) {
      if (!record || record.resourceVersion === null) continue;
      const { reservations } = parseReservations(record.data);
      if (!isStaleRecord({ hasTenantObject: input.hasTenantObject(tenant), namespaceCount: input.namespaceCount(tenant), reservations, now: input.now })) continue;
      if ((await this.store.remove(tenant, record.resourceVersion)) === 'deleted') swept.push(tenant);
    }
    return swept;
  }

  /** When the first of a tenant's live reservations lapses (epoch ms; undefined: none live), so its status can drop it then. */
  nextExpiry(tenant: string, now: number): number | undefined {
    const record = this.store.cached(tenant);
    if (!record) return undefined;
    let next: number | undefined;
    for (const r of parseReservations(record.data).reservations) if (r.expires > now && (next === undefined || r.expires < next)) next = r.expires;
    return next;
  }

  /** A tenant's usage over these namespaces and its record's reservations; undefined until both are synced. */
  facts(tenant: string, namespaces: readonly string[]): LedgerFacts | undefined {
    const record = this.store.cached(tenant);
    if (!record || !this.usage.synced()) return undefined;
    return { used: this.usage.snapshot(namespaces).used, reservations: parseReservations(record.data).reservations };
  }
}
