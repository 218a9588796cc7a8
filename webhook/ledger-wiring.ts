// The tenant ledger as serve runs it: the usage caches, the ledger records and the gate over them,
// built from one kubeconfig, with the metrics and the readiness check. (cli/serve.ts calls this.)

import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { LedgerStore } from '../kube/ledger-store.js';
import type { ClusterNamespaceSource } from '../kube/namespaces.js';
import { ClusterUsageSource } from '../kube/usage-source.js';
import type { Plan } from '../policies/engine/library.js';
import { entitlementOf } from '../policies/tenancy/ledger.js';
import { planDefaults } from '../policies/tenancy/usage.js';
import type { ReadinessCheck } from './health.js';
import { LedgerGate } from './ledger.js';
import { LedgerMetrics, type TenantFigures } from './ledger-metrics.js';
import { LABEL_PLAN as PLAN_LABEL, LABEL_TENANT as TENANT_LABEL } from '../core/vocabulary.js';
import { LogKey } from './log-keys.js';
import type { WebhookMetrics } from './metrics.js';

export interface ServeLedgerOptions {
  kubeConfig: KubeConfig;
  namespaces: ClusterNamespaceSource;
  plans(): ReadonlyMap<string, Plan>;
  namespace: string;
  reservationTtlMs: number;
  resyncMs: number;
  root: Logger;
  metrics: WebhookMetrics;
}

export interface ServeLedger {
  gate: LedgerGate;
  caches: { start(): Promise<void>; stop(): Promise<void> }[];
  readiness(): ReadinessCheck;
}

/** Each tenant's namespaces and plan (the first namespace's label), from the namespace cache. */
export function tenantsOf(namespaces: ClusterNamespaceSource): Map<string, { namespaces: string[]; plan: string }> {
  const out = new Map<string, { namespaces: string[]; plan: string }>();
  for (const ns of namespaces.all()) {
    const tenant = ns.labels[TENANT_LABEL];
    if (!tenant) continue;
    let t = out.get(tenant);
    if (!t) out.set(tenant, (t = { namespaces: [], plan: '' }));
    t.namespaces.push(ns.name);
    t.plan ||= ns.labels[PLAN_LABEL] ?? '';
  }
  return out;
}

export function createServeLedger(opts: ServeLedgerOptions): ServeLedger {
  const { namespaces, plans, metrics, root } = opts;
  const usage = new ClusterUsageSource({
    kubeConfig: opts.kubeConfig,
    resyncMs: opts.resyncMs,
    logger: root.child({ [LogKey.component]: 'usage' }),
    onError: () => metrics.error('usage_watch'),
    defaultsFor: (ns) => {
      const plan = plans().get(namespaces.get(ns)?.labels[PLAN_LABEL] ?? '');
      return plan ? planDefaults(plan.spec) : undefined;
    },
  });
  const store = new LedgerStore({
    kubeConfig: opts.kubeConfig,
    namespace: opts.namespace,
    resyncMs: opts.resyncMs,
    logger: root.child({ [LogKey.component]: 'ledger' }),
    onError: () => metrics.error('ledger_watch'),
  });
  const figures = (): TenantFigures[] =>
    [...tenantsOf(namespaces)].map(([tenant, t]) => {
      const plan = plans().get(t.plan);
      return { tenant, used: usage.snapshot(t.namespaces).used, entitled: plan ? entitlementOf(plan.spec) : {} };
    });
  const counters = new LedgerMetrics(metrics.registry, figures);
  const gate = new LedgerGate({
    usage,
    records: store,
    namespace: (n) => namespaces.get(n),
    tenantNamespaces: (tenant) => {
      const names: string[] = [];
      for (const ns of namespaces.all()) if (ns.labels[TENANT_LABEL] === tenant) names.push(ns.name);
      return names;
    },
    plans,
    ttlMs: opts.reservationTtlMs,
    counters,
  });
  return {
    gate,
    caches: [usage, store],
    readiness: () => {
      const pending = usage.pending();
      if (!store.synced()) return { name: 'ledger', ok: false, detail: `ledger records in ${store.namespace}: not synced yet` };
      if (pending.length) return { name: 'ledger', ok: false, detail: `usage caches not synced yet: ${pending.join(', ')}` };
      return { name: 'ledger', ok: true, detail: `usage caches and ledger records (${store.namespace}) synced` };
    },
  };
}
