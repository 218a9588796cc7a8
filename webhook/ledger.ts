// The ledger at admission: after the policies allowed a CREATE or UPDATE in a tenant namespace (or
// a Namespace joining a tenant), does it grow what the tenant uses, and does the growth fit?
//
//   not growing (shrinking, unchanged, not Redis, owned by a known owner, a plan without totals
//   for what grows) → answered as the policies said, the ledger is not touched;
//   growing → used (cluster caches) + reserved (the ledger record) + requested ≤ entitlement,
//   then the reservation is written with the record's resourceVersion: one API round trip. On a
//   conflict (another replica wrote first) the record is read again and the whole judgement
//   repeated, at most MAX_ATTEMPTS times;
//   dryRun → judged the same way, nothing written;
//   the caches or the record cannot be read, or the write fails → denied with a retry hint (fail
//   closed; the API server's own retry or the user's comes back to a working ledger).

import type { NamespaceInfo } from '../policies/engine/types.js';
import type { Plan } from '../policies/engine/library.js';
import {
  entitlementOf, judge, parseReservations, partitionExpired, reservedBeyondCache, serializeReservations,
  type Entitlement, type Reservation,
} from '../policies/tenancy/ledger.js';
import { namespaceKey, objectKey } from '../policies/tenancy/tally.js';
import {
  DIMENSIONS, count, growth, isZero, objectUsage, planDefaults, zero, type Amounts,
} from '../policies/tenancy/usage.js';
import type { JsonObject } from '../policies/engine/types.js';
import type { LedgerRecord } from '../kube/ledger-store.js';
import type { TenantSnapshot } from '../policies/tenancy/usage-index.js';
import type { AdmissionRequest } from './admission-review.js';
import type { AdmissionEndpoint, AdmissionResult } from './admission.js';
import { LABEL_PLAN as PLAN_LABEL, LABEL_TENANT as TENANT_LABEL } from '../core/vocabulary.js';
import { isLedgerConflict } from '../kube/ledger-store.js';

export const MAX_ATTEMPTS = 8;
export const DEFAULT_RESERVATION_TTL_MS = 60_000;

/** The cluster's usage caches (kube/usage-source.ts). */
export interface UsageView {
  synced(): boolean;
  snapshot(namespaces: readonly string[]): TenantSnapshot;
}

/** The ledger record's store (kube/ledger-store.ts). */
export interface LedgerRecords {
  cached(tenant: string): LedgerRecord | undefined;
  fetch(tenant: string): Promise<LedgerRecord>;
  write(tenant: string, resourceVersion: string | null, data: Record<string, string>): Promise<string>;
}

export interface LedgerCounters {
  reservation(result: 'reserved' | 'denied' | 'dry_run' | 'unavailable'): void;
  conflict(): void;
  retry(): void;
  expired(n: number): void;
}

export interface LedgerGateOptions {
  usage: UsageView;
  records: LedgerRecords;
  namespace(name: string): NamespaceInfo | undefined;
  /** The names of the namespaces labelled redline.dev/tenant=<tenant>. */
  tenantNamespaces(tenant: string): string[];
  plans(): ReadonlyMap<string, Plan>;
  ttlMs?: number;
  now?: () => number;
  counters?: LedgerCounters;
}

/** What a growing request asks of the ledger. */
interface Claim {
  tenant: string;
  plan: string;
  entitled: Entitlement;
  namespaces: string[];
  key: string;
  uid: string;
  /** The object's whole usage after the request (the reservation). */
  amounts: Amounts;
  /** What the request grows, per dimension (what is judged). */
  grows: Amounts;
  /** The owner's uid when the object names a controller (counts nothing while it is known). */
  ownerUid: string;
  ownerNamespace: string;
  dryRun: boolean;
}

export class LedgerGate {
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly turns = new Map<string, Promise<void>>();

  constructor(private readonly opts: LedgerGateOptions) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_RESERVATION_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  /** null: the answer stands as the policies gave it. Else the final answer, once the ledger has spoken. */
  hold(endpoint: AdmissionEndpoint, req: AdmissionRequest, result: AdmissionResult): Promise<AdmissionResult> | null {
    if (endpoint !== 'validate' || !result.response.allowed) return null;
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return null;
    if (req.subResource === 'status') return null;
    const claim = req.kind.group === '' && req.kind.kind === 'Namespace' ? this.namespaceClaim(req) : this.objectClaim(req);
    if (!claim) return null;
    return this.inTurn(claim.tenant, () => this.settle(claim, result)).catch((e: unknown) => {
      this.opts.counters?.reservation('unavailable');
      return denied(result, 'ledger-unavailable', `tenant ${claim.tenant}: the ledger could not be written (${message(e)}); retry in a moment`);
    });
  }

  /**
   * One judgement at a time per tenant in this replica: concurrent requests of one tenant would
   * otherwise race each other for the same record and mostly lose (409). Between replicas the
   * record's resourceVersion decides.
   */
  private inTurn<T>(tenant: string, run: () => Promise<T>): Promise<T> {
    const previous = this.turns.get(tenant) ?? Promise.resolve();
    const mine = previous.then(run, run);
    const settled = mine.then(() => undefined, () => undefined);
    this.turns.set(tenant, settled);
    void settled.then(() => {
      if (this.turns.get(tenant) === settled) this.turns.delete(tenant);
    });
    return mine;
  }

  private objectClaim(req: AdmissionRequest): Claim | null {
    if (!req.namespace || !req.object) return null;
    const ns = this.opts.namespace(req.namespace);
    const tenant = ns?.labels[TENANT_LABEL];
    if (!ns || !tenant) return null;
    const planName = ns.labels[PLAN_LABEL] ?? '';
    const plan = this.opts.plans().get(planName);
    if (!plan) return null; // the policies deny an unknown plan; no plan, no entitlement
    const entitled = entitlementOf(plan.spec);
    if (Object.keys(entitled).length === 0) return null; // a plan without tenantTotals
    const defaults = planDefaults(plan.spec);
    const next = objectUsage(req.object, defaults);
    if (!next.counted) return null;
    const prev = req.operation === 'UPDATE' && req.oldObject ? objectUsage(req.oldObject, defaults) : undefined;
    const grows = growth(prev?.counted ? prev.amounts : zero(), next.amounts);
    if (!judged(grows, entitled)) return null;
    const object = req.object as JsonObject;
    return {
      tenant, plan: planName, entitled, namespaces: this.opts.tenantNamespaces(tenant),
      key: objectKey(req.namespace, str(object['apiVersion']), str(object['kind']), req.name || `generated-${req.uid}`),
      uid: req.uid, amounts: next.amounts, grows,
      ownerUid: next.owner?.uid ?? '', ownerNamespace: req.namespace, dryRun: req.dryRun === true,
    };
  }

  /** A namespace that joins a tenant (created with its label, or labelled later) takes one of its namespaces. */
  private namespaceClaim(req: AdmissionRequest): Claim | null {
    const labels = labelsOf(req.object);
    const tenant = labels[TENANT_LABEL];
    if (!tenant || labelsOf(req.oldObject)[TENANT_LABEL] === tenant) return null;
    const namespaces = this.opts.tenantNamespaces(tenant).filter((n) => n !== req.name);
    const planName = labels[PLAN_LABEL] ?? namespaces.map((n) => this.opts.namespace(n)?.labels[PLAN_LABEL]).find((p) => p) ?? '';
    const plan = this.opts.plans().get(planName);
    if (!plan) return null;
    const entitled = entitlementOf(plan.spec);
    const grows = zero();
    grows.namespaces = count(1);
    if (!judged(grows, entitled)) return null;
    return {
      tenant, plan: planName, entitled, namespaces, key: namespaceKey(req.name), uid: req.uid, amounts: { ...grows }, grows,
      ownerUid: '', ownerNamespace: '', dryRun: req.dryRun === true,
    };
  }

  private async settle(claim: Claim, result: AdmissionResult): Promise<AdmissionResult> {
    const counters = this.opts.counters;
    if (!this.opts.usage.synced()) {
      counters?.reservation('unavailable');
      return denied(result, 'ledger-unavailable', `tenant ${claim.tenant}: Redline's usage caches are not synced yet; retry in a moment`);
    }
    let record = this.opts.records.cached(claim.tenant);
    if (!record) {
      counters?.reservation('unavailable');
      return denied(result, 'ledger-unavailable', `tenant ${claim.tenant}: the ledger is not readable yet; retry in a moment`);
    }
    for (let attempt = 1; ; attempt++) {
      const snapshot = this.opts.usage.snapshot(claim.namespaces);
      // An owner the namespace knows counts what it runs: the object itself adds nothing.
      if (claim.ownerUid && snapshot.uids.get(claim.ownerNamespace)?.has(claim.ownerUid)) return result;
      for (const n of claim.namespaces) snapshot.byKey.set(namespaceKey(n), namespaceAmounts());
      const now = this.now();
      const { reservations } = parseReservations(record.data);
      const { live, expired } = partitionExpired(reservations, now);
      const mine: Reservation = { key: claim.key, uid: claim.uid, amounts: claim.amounts, expires: now + this.ttlMs };
      const cached = (k: string): Amounts | undefined => snapshot.byKey.get(k);
      const others = reservedBeyondCache(live, cached, claim.key);
      const withMine = reservedBeyondCache([...live, mine], cached);
      const requested = zero();
      for (const d of DIMENSIONS) if (claim.grows[d] > 0n) requested[d] = withMine[d] - others[d];
      const verdict = judge(claim.tenant, claim.plan, snapshot.used, others, requested, claim.entitled);
      if (!verdict.fits) {
        counters?.reservation('denied');
        return denied(result, 'ledger', verdict.message);
      }
      if (claim.dryRun) {
        counters?.reservation('dry_run');
        return result;
      }
      // Reservations whose objects the cache now shows in full are done: dropped with the expired ones.
      const keep = live.filter((r) => !isZero(reservedBeyondCache([r], cached)));
      try {
        await this.opts.records.write(claim.tenant, record.resourceVersion, serializeReservations([...keep, mine]));
        if (expired.length) counters?.expired(expired.length);
        counters?.reservation('reserved');
        return result;
      } catch (e) {
        if (!isLedgerConflict(e)) throw e;
        counters?.conflict();
        if (attempt >= MAX_ATTEMPTS) {
          counters?.reservation('unavailable');
          return denied(result, 'ledger-busy', `tenant ${claim.tenant}: the ledger changed under ${attempt} attempts in a row; retry in a moment`);
        }
        counters?.retry();
        // The other replica is writing too: a short random pause, so the two do not collide again.
        await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
        record = await this.opts.records.fetch(claim.tenant);
      }
    }
  }
}

function namespaceAmounts(): Amounts {
  const a = zero();
  a.namespaces = count(1);
  return a;
}

/** Some dimension grows that the plan limits. */
function judged(grows: Amounts, entitled: Entitlement): boolean {
  return DIMENSIONS.some((d) => grows[d] > 0n && entitled[d] !== undefined);
}

function denied(result: AdmissionResult, reason: string, msg: string): AdmissionResult {
  const { uid, warnings } = result.response;
  return {
    response: { uid, allowed: false, status: { code: 403, reason: 'Forbidden', message: msg }, ...(warnings ? { warnings } : {}) },
    outcome: 'denied',
    reason,
    patchOps: 0,
    notable: result.notable,
  };
}

function labelsOf(o: unknown): Record<string, string> {
  const md = (o as { metadata?: { labels?: Record<string, string> } } | null | undefined)?.metadata;
  return md?.labels ?? {};
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
