// The tenant ledger's arithmetic and its record, pure (no I/O): what a tenant is entitled to, what
// it uses, what is reserved in flight, and whether a growing request fits.
//
// The record: one ConfigMap per tenant (kube/ledger-store.ts keeps it in the API server, where its
// resourceVersion makes etcd the arbiter between webhook replicas). Its data key `reservations`
// holds a JSON list of { key, uid, amounts, expires }: the object a request will store (key:
// namespace/group/kind/name, or ns:<name> for a joining namespace), the admission request's uid,
// the object's whole usage after the request (amounts, quantities as text) and when the
// reservation lapses (RFC 3339). A reservation counts only what the cache does not show yet:
// max(0, reserved − the cached object's usage), per dimension — so once the object is stored and
// seen it counts nothing (no double count), and an UPDATE reserves only its growth.

import { Quantity } from '../engine/quantity.js';
import type { JsonObject } from '../engine/types.js';
import { obj } from '../workloads/view.js';
import { DIMENSIONS, formatAmount, zero, type Amounts, type Dimension } from './usage.js';

/** What the plan sells across the tenant's namespaces; a missing dimension is not limited. */
export type Entitlement = Partial<Amounts>;

export function entitlementOf(planSpec: JsonObject): Entitlement {
  const totals = obj(planSpec['tenantTotals']);
  const out: Entitlement = {};
  for (const d of DIMENSIONS) {
    const v = totals[d];
    if (v === undefined || v === null) continue;
    const q = Quantity.tryParse(typeof v === 'number' ? String(v) : typeof v === 'string' ? v : '');
    if (q) out[d] = q.nanos;
  }
  return out;
}

export interface Reservation {
  key: string;
  uid: string;
  amounts: Amounts;
  /** Epoch milliseconds. */
  expires: number;
}

export const RESERVATIONS_KEY = 'reservations';

/** Reads the record's data; entries that are malformed are dropped (and reported), never trusted. */
export function parseReservations(data: Record<string, string> | undefined): { reservations: Reservation[]; dropped: number } {
  const text = data?.[RESERVATIONS_KEY];
  if (!text) return { reservations: [], dropped: 0 };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { reservations: [], dropped: 1 };
  }
  if (!Array.isArray(raw)) return { reservations: [], dropped: 1 };
  const reservations: Reservation[] = [];
  let dropped = 0;
  for (const r of raw) {
    const e = obj(r as never);
    const amounts = zero();
    const a = obj(e['amounts']);
    let ok = typeof e['key'] === 'string' && typeof e['uid'] === 'string' && typeof e['expires'] === 'string';
    for (const d of DIMENSIONS) {
      const v = a[d];
      if (v === undefined) continue;
      const q = typeof v === 'string' ? Quantity.tryParse(v) : undefined;
      if (!q || q.nanos < 0n) ok = false;
      else amounts[d] = q.nanos;
    }
    const expires = ok ? Date.parse(e['expires'] as string) : NaN;
    if (!ok || Number.isNaN(expires)) {
      dropped++;
      continue;
    }
    reservations.push({ key: e['key'] as string, uid: e['uid'] as string, amounts, expires });
  }
  return { reservations, dropped };
}

export function serializeReservations(reservations: readonly Reservation[]): Record<string, string> {
  const list = reservations.map((r) => {
    const amounts: Record<string, string> = {};
    for (const d of DIMENSIONS) if (r.amounts[d] !== 0n) amounts[d] = formatAmount(r.amounts[d]);
    return { key: r.key, uid: r.uid, amounts, expires: new Date(r.expires).toISOString() };
  });
  return { [RESERVATIONS_KEY]: JSON.stringify(list) };
}

/**
 * Whether a tenant's ledger record can be deleted: nothing will read it again. A tenant that still
 * has a Tenant object or a namespace keeps its record. Otherwise the record goes once none of its
 * reservations is live: one made just before the last namespace left (or by a webhook replica whose
 * cache still shows the namespace) counts until it lapses.
 */
export function isStaleRecord(input: { hasTenantObject: boolean; namespaceCount: number; reservations: readonly Reservation[]; now: number }): boolean {
  if (input.hasTenantObject || input.namespaceCount > 0) return false;
  return input.reservations.every((r) => r.expires <= input.now);
}

/** Splits off the reservations that have lapsed at `now`. */
export function partitionExpired(reservations: readonly Reservation[], now: number): { live: Reservation[]; expired: Reservation[] } {
  const live: Reservation[] = [];
  const expired: Reservation[] = [];
  for (const r of reservations) (r.expires > now ? live : expired).push(r);
  return { live, expired };
}

/**
 * What the live reservations hold beyond what the cache shows: per object key the largest
 * reservation (only one of several requests for the same object can be what is stored), minus the
 * object's cached usage, never negative. `except` leaves out one key (the request being judged,
 * whose own earlier reservation it replaces).
 */
export function reservedBeyondCache(live: readonly Reservation[], cached: (key: string) => Amounts | undefined, except?: string): Amounts {
  const byKey = new Map<string, Amounts>();
  for (const r of live) {
    if (r.key === except) continue;
    const m = byKey.get(r.key);
    if (!m) byKey.set(r.key, { ...r.amounts });
    else for (const d of DIMENSIONS) if (r.amounts[d] > m[d]) m[d] = r.amounts[d];
  }
  const out = zero();
  for (const [key, amounts] of byKey) {
    const seen = cached(key);
    for (const d of DIMENSIONS) {
      const beyond = amounts[d] - (seen?.[d] ?? 0n);
      if (beyond > 0n) out[d] += beyond;
    }
  }
  return out;
}

export interface Judgement {
  fits: boolean;
  /** The first dimension that does not fit, with the arithmetic; '' when it fits. */
  message: string;
  dimension: Dimension | '';
}

/**
 * Whether `requested` (the growth) fits: used + reserved + requested ≤ entitlement, in every
 * dimension that grows. A dimension that does not grow is never judged (a downgraded tenant can
 * still shrink, or change what does not grow).
 */
export function judge(tenant: string, plan: string, used: Amounts, reserved: Amounts, requested: Amounts, entitled: Entitlement): Judgement {
  for (const d of DIMENSIONS) {
    if (requested[d] === 0n) continue;
    const limit = entitled[d];
    if (limit === undefined) continue;
    if (used[d] + reserved[d] + requested[d] > limit) {
      return {
        fits: false,
        dimension: d,
        message:
          `tenant ${tenant}: ${d} ${formatAmount(used[d])} used + ${formatAmount(reserved[d])} reserved + ` +
          `${formatAmount(requested[d])} requested > ${formatAmount(limit)} in plan ${plan}`,
      };
    }
  }
  return { fits: true, message: '', dimension: '' };
}
