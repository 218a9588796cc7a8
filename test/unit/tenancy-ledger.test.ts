// The ledger's arithmetic and record: entitlements from the shipped plans (consistent with their
// per-workload limits), reservations that count only what the cache does not show yet, expiry,
// malformed records, and the denial message's arithmetic.

import { describe, expect, it } from 'vitest';
import { defaultLibraryDir, loadLibrary } from '../../policies/engine/index.js';
import { Quantity } from '../../policies/engine/quantity.js';
import {
  entitlementOf, isStaleRecord, judge, parseReservations, partitionExpired, reservedBeyondCache, serializeReservations, type Reservation,
} from '../../policies/tenancy/ledger.js';
import { count, zero, type Amounts } from '../../policies/tenancy/usage.js';

const q = (s: string): bigint => Quantity.parse(s).nanos;
const amounts = (a: Partial<Record<keyof Amounts, string>>): Amounts => {
  const out = zero();
  for (const [d, v] of Object.entries(a)) out[d as keyof Amounts] = q(v);
  return out;
};

describe('the shipped plans sell tenant totals consistent with their per-workload limits', async () => {
  const library = await loadLibrary(defaultLibraryDir());
  for (const plan of library.plans.values()) {
    it(`${plan.name}: one largest workload fits, and the totals fit in the namespaces' quotas`, () => {
      const spec = plan.spec as any;
      const e = entitlementOf(plan.spec);
      const maxPods = BigInt(spec.maxShards * spec.maxPodsPerShard);
      expect(e.namespaces).toBeGreaterThanOrEqual(count(1));
      expect(e.instances).toBeGreaterThanOrEqual(count(1));
      expect(e.memory).toBeGreaterThanOrEqual(q(spec.maxTotalMemory));
      expect(e.cpu).toBeGreaterThanOrEqual(q(spec.perPod.cpu) * maxPods);
      expect(e.storage).toBeGreaterThanOrEqual(q(spec.perPod.storage) * maxPods);
      expect(e.pods).toBeGreaterThanOrEqual(count(Number(maxPods)));
      // More than every namespace's quota together could hold would be an entitlement nobody can use.
      const namespaces = e.namespaces! / count(1);
      const hard = spec.quota.hard;
      expect(e.memory).toBeLessThanOrEqual(q(hard['limits.memory']) * namespaces);
      expect(e.cpu).toBeLessThanOrEqual(q(hard['limits.cpu']) * namespaces);
      expect(e.storage).toBeLessThanOrEqual(q(hard['requests.storage']) * namespaces);
      expect(e.pods).toBeLessThanOrEqual(q(hard['pods']) * namespaces);
    });
  }
  it('a plan without tenantTotals limits nothing across namespaces', () => {
    expect(entitlementOf({})).toEqual({});
    expect(entitlementOf({ tenantTotals: { memory: '1Gi' } })).toEqual({ memory: q('1Gi') });
  });
});

describe('judge: used + reserved + requested ≤ entitlement, in every dimension that grows', () => {
  const entitled = entitlementOf({ tenantTotals: { memory: '12Gi', pods: 6, instances: 3 } });
  it('denies with the arithmetic of the first dimension over', () => {
    const j = judge('acme', 'standard', amounts({ memory: '10Gi' }), amounts({ memory: '2Gi' }), amounts({ memory: '4Gi' }), entitled);
    expect(j).toEqual({ fits: false, dimension: 'memory', message: 'tenant acme: memory 10Gi used + 2Gi reserved + 4Gi requested > 12Gi in plan standard' });
  });
  it('admits exactly up to the entitlement', () => {
    expect(judge('acme', 'standard', amounts({ memory: '8Gi' }), amounts({ memory: '2Gi' }), amounts({ memory: '2Gi' }), entitled).fits).toBe(true);
  });
  it('a tenant over its entitlement (a downgrade) may still change what does not grow', () => {
    const over = amounts({ memory: '20Gi', pods: '9' });
    expect(judge('acme', 'free', over, zero(), zero(), entitled).fits).toBe(true);
    expect(judge('acme', 'free', over, zero(), amounts({ cpu: '1' }), entitled).fits).toBe(true); // cpu not limited
    expect(judge('acme', 'free', over, zero(), amounts({ pods: '1' }), entitled)).toMatchObject({ fits: false, dimension: 'pods' });
  });
});

describe('reservations', () => {
  const now = Date.parse('2026-12-06T04:00:00Z');
  const r = (key: string, uid: string, a: Partial<Record<keyof Amounts, string>>, inMs = 30_000): Reservation => ({ key, uid, amounts: amounts(a), expires: now + inMs });

  it('round-trip through the ConfigMap data', () => {
    const list = [r('acme-dev/kubedb.com/Redis/a', 'u1', { memory: '4Gi', pods: '3', instances: '1' }), r('ns:acme-prod', 'u2', { namespaces: '1' })];
    const data = serializeReservations(list);
    expect(JSON.parse(data['reservations']!)[0]).toEqual({ key: 'acme-dev/kubedb.com/Redis/a', uid: 'u1', amounts: { memory: '4Gi', pods: '3', instances: '1' }, expires: '2026-12-06T04:00:30.000Z' });
    expect(parseReservations(data)).toEqual({ reservations: list, dropped: 0 });
  });

  it('a malformed record or entry is dropped and reported, never trusted', () => {
    expect(parseReservations({ reservations: '{' })).toEqual({ reservations: [], dropped: 1 });
    expect(parseReservations({ reservations: '{}' })).toEqual({ reservations: [], dropped: 1 });
    const bad = JSON.stringify([
      { key: 'k', uid: 'u', amounts: { memory: '-1Gi' }, expires: '2026-12-06T04:00:30Z' },
      { key: 'k', uid: 'u', amounts: { memory: 'lots' }, expires: '2026-12-06T04:00:30Z' },
      { key: 'k', uid: 'u', amounts: {}, expires: 'soon' },
      { key: 'k', uid: 'u', amounts: { memory: '1Gi' }, expires: '2026-12-06T04:00:30Z' },
    ]);
    const parsed = parseReservations({ reservations: bad });
    expect(parsed.dropped).toBe(3);
    expect(parsed.reservations).toHaveLength(1);
    expect(parseReservations(undefined)).toEqual({ reservations: [], dropped: 0 });
  });

  it('expired reservations are split off', () => {
    const { live, expired } = partitionExpired([r('a', '1', { memory: '1Gi' }, -1), r('b', '2', { memory: '1Gi' }, 1)], now);
    expect(live.map((x) => x.key)).toEqual(['b']);
    expect(expired.map((x) => x.key)).toEqual(['a']);
  });

  it('a record is stale only when its tenant has no Tenant object, no namespace and no live reservation', () => {
    const lapsed = [r('a', '1', { memory: '1Gi' }, -1), r('b', '2', { memory: '1Gi' }, 0)];
    const gone = { hasTenantObject: false, namespaceCount: 0, now };
    expect(isStaleRecord({ ...gone, reservations: [] })).toBe(true);
    expect(isStaleRecord({ ...gone, reservations: lapsed })).toBe(true);
    // One reservation still live (a request judged just before the last namespace left) keeps it.
    expect(isStaleRecord({ ...gone, reservations: [...lapsed, r('c', '3', { memory: '1Gi' }, 1)] })).toBe(false);
    expect(isStaleRecord({ ...gone, namespaceCount: 1, reservations: [] })).toBe(false);
    expect(isStaleRecord({ ...gone, hasTenantObject: true, reservations: [] })).toBe(false);
  });

  it('a reservation counts only what the cache does not show yet: stored objects stop counting, an UPDATE holds its growth', () => {
    const live = [r('ns/g/Redis/new', '1', { memory: '4Gi', pods: '1' }), r('ns/g/Redis/grown', '2', { memory: '6Gi', pods: '3' })];
    const cache = new Map<string, Amounts>([['ns/g/Redis/grown', amounts({ memory: '2Gi', pods: '3' })]]);
    expect(reservedBeyondCache(live, (k) => cache.get(k))).toEqual(amounts({ memory: '8Gi', pods: '1' }));
    cache.set('ns/g/Redis/new', amounts({ memory: '4Gi', pods: '1' }));
    cache.set('ns/g/Redis/grown', amounts({ memory: '6Gi', pods: '3' }));
    expect(reservedBeyondCache(live, (k) => cache.get(k))).toEqual(zero());
  });

  it('several reservations for one object hold the largest of them, not their sum (only one can be stored)', () => {
    const live = [r('k', '1', { memory: '4Gi', cpu: '1' }), r('k', '2', { memory: '1Gi', cpu: '3' })];
    expect(reservedBeyondCache(live, () => undefined)).toEqual(amounts({ memory: '4Gi', cpu: '3' }));
    expect(reservedBeyondCache(live, () => undefined, 'k')).toEqual(zero());
  });
});
