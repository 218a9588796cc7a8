// The ledger's metrics: what each tenant uses and is entitled to (computed when scraped, from the
// same caches admission reads), and how reservations go.
//
//   redline_tenant_usage{tenant,dimension}        memory and storage in bytes, cpu in cores, the rest counted
//   redline_tenant_entitlement{tenant,dimension}  the plan's tenantTotals (a dimension it leaves open: absent)
//   redline_ledger_reservations_total{result}     reserved | denied | dry_run | unavailable
//   redline_ledger_conflicts_total                writes refused because another replica wrote first
//   redline_ledger_retries_total                  judgements repeated after a conflict
//   redline_ledger_expired_total                  reservations dropped unclaimed after their lifetime

import { Counter, Gauge, type Registry } from 'prom-client';
import { DIMENSIONS, type Amounts } from '../policies/tenancy/usage.js';
import type { Entitlement } from '../policies/tenancy/ledger.js';
import type { LedgerCounters } from './ledger.js';

export interface TenantFigures {
  tenant: string;
  used: Amounts;
  entitled: Entitlement;
}

const NANO = 1e9;

function value(nanos: bigint): number {
  return Number(nanos) / NANO;
}

export class LedgerMetrics implements LedgerCounters {
  private readonly reservations: Counter<'result'>;
  private readonly conflicts: Counter;
  private readonly retries: Counter;
  private readonly expiries: Counter;

  constructor(registry: Registry, tenants: () => TenantFigures[]) {
    new Gauge({
      name: 'redline_tenant_usage',
      help: "What a tenant uses across its namespaces, per dimension (bytes for memory and storage, cores for cpu)",
      labelNames: ['tenant', 'dimension'],
      registers: [registry],
      collect(this: Gauge<'tenant' | 'dimension'>) {
        this.reset();
        for (const t of tenants()) for (const d of DIMENSIONS) this.set({ tenant: t.tenant, dimension: d }, value(t.used[d]));
      },
    });
    new Gauge({
      name: 'redline_tenant_entitlement',
      help: "What a tenant's plan sells across its namespaces (spec.tenantTotals), per dimension",
      labelNames: ['tenant', 'dimension'],
      registers: [registry],
      collect(this: Gauge<'tenant' | 'dimension'>) {
        this.reset();
        for (const t of tenants()) {
          for (const d of DIMENSIONS) {
            const e = t.entitled[d];
            if (e !== undefined) this.set({ tenant: t.tenant, dimension: d }, value(e));
          }
        }
      },
    });
    this.reservations = new Counter({ name: 'redline_ledger_reservations_total', help: 'Growing requests judged by the ledger, by result', labelNames: ['result'], registers: [registry] });
    for (const r of ['reserved', 'denied', 'dry_run', 'unavailable']) this.reservations.inc({ result: r }, 0);
    this.conflicts = new Counter({ name: 'redline_ledger_conflicts_total', help: 'Ledger writes refused because another writer changed the record first', registers: [registry] });
    this.retries = new Counter({ name: 'redline_ledger_retries_total', help: 'Ledger judgements repeated after a conflict', registers: [registry] });
    this.expiries = new Counter({ name: 'redline_ledger_expired_total', help: 'Reservations dropped after their lifetime without their object being seen', registers: [registry] });
  }

  reservation(result: 'reserved' | 'denied' | 'dry_run' | 'unavailable'): void {
    this.reservations.inc({ result });
  }

  conflict(): void {
    this.conflicts.inc();
  }

  retry(): void {
    this.retries.inc();
  }

  expired(n: number): void {
    this.expiries.inc(n);
  }
}
