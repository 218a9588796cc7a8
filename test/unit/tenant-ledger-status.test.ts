// The ledger's part of a Tenant's status (bootstrap/tenants.ts ledgerStatus, via nextTenantStatus):
// usage from real objects through serve's arithmetic (objectUsage → UsageIndex), entitlement from
// the shipped plans' tenantTotals, the live reservations of a ledger record, OverEntitlement.

import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ledgerStatus, nextTenantStatus, reservationStatus, statusChanged, type LedgerFacts } from '../../bootstrap/tenants.js';
import type { KubeObject } from '../../kube/api-client.js';
import { tallied, slimToUsage } from '../../kube/usage-source.js';
import { loadLibrary, type Library } from '../../policies/engine/library.js';
import type { JsonObject } from '../../policies/engine/types.js';
import { parseReservations, serializeReservations } from '../../policies/tenancy/ledger.js';
import { UsageIndex } from '../../policies/tenancy/usage-index.js';
import { planDefaults, zero } from '../../policies/tenancy/usage.js';

const ROOT = path.resolve(__dirname, '..', '..');
const GI = 1024n ** 3n * 1_000_000_000n;
const now = new Date('2026-12-06T06:00:00Z');

let library: Library;
beforeAll(async () => {
  library = await loadLibrary(path.join(ROOT, 'policies', 'library'));
});

const redis = (ns: string, name: string, memory: string): KubeObject => ({
  apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name, namespace: ns, uid: `uid-${name}` },
  spec: {
    version: '7.2.4', mode: 'Standalone', storageType: 'Durable',
    storage: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    podTemplate: { spec: { containers: [{ name: 'redis', resources: { limits: { memory, cpu: '500m' } } }] } },
  },
});

const stamped = (name: string, plan: string): KubeObject => ({
  apiVersion: 'v1', kind: 'Namespace',
  metadata: { name, labels: { 'redline.dev/tenant': 'acme', 'redline.dev/plan': plan, 'redline.dev/managed': 'true' }, annotations: { 'redline.dev/bootstrap': JSON.stringify({ plan, hash: 'h', time: 't' }) } },
});

const tenant = (plan: string, status?: unknown): KubeObject => ({
  apiVersion: 'redline.dev/v1alpha1', kind: 'Tenant', metadata: { name: 'acme', generation: 4 }, spec: { plan }, ...(status ? { status } : {}),
});

/** The usage serve's caches would hold for these objects (the same reduction, the same index). */
function factsOf(objects: KubeObject[], namespaces: string[], plan: string, reservations: LedgerFacts['reservations'] = []): LedgerFacts {
  const index = new UsageIndex(1);
  const defaults = planDefaults(library.plans.get(plan)!.spec);
  for (const ns of namespaces) index.set(0, ns, objects.filter((o) => o.metadata.namespace === ns).flatMap((o) => tallied(slimToUsage(o, defaults)) ?? []));
  return { used: index.snapshot(namespaces).used, reservations };
}

const status = (plan: string, objects: KubeObject[], extra: Partial<LedgerFacts> = {}, current?: unknown) => {
  const names = ['acme-dev', 'acme-prod'];
  return nextTenantStatus({
    tenant: tenant(plan, current),
    namespaces: names.map((n) => stamped(n, plan)),
    plans: library.plans,
    ledger: { ...factsOf(objects, names, plan), ...extra },
    now,
  });
};

describe('a Tenant\'s usage, entitlement and OverEntitlement', () => {
  it('usage sums the Redis of every namespace of the tenant; entitlement is the plan\'s tenantTotals, each a field', () => {
    const s = status('standard', [redis('acme-dev', 'a', '1Gi'), redis('acme-prod', 'b', '2Gi'), redis('elsewhere', 'c', '8Gi')]);
    expect(s.usage).toEqual({ memory: '3Gi', cpu: '1', storage: '2Gi', pods: 2, instances: 2, namespaces: 2 });
    expect(s.entitlement).toEqual({ memory: '32Gi', cpu: '16', storage: '160Gi', pods: 24, instances: 8, namespaces: 3 });
    expect(s.conditions!.find((c) => c.type === 'OverEntitlement')).toEqual({
      type: 'OverEntitlement', status: 'False', reason: 'WithinEntitlement', message: 'usage is within plan standard\'s tenantTotals', observedGeneration: 4, lastTransitionTime: now.toISOString(),
    });
    expect(s.reservations).toBeUndefined();
  });

  it('a dimension the plan does not sell has no entitlement field and is never over', () => {
    const spec = { ...(library.plans.get('standard')!.spec as JsonObject), tenantTotals: { memory: '1Gi' } };
    const l = ledgerStatus({ tenant: tenant('x'), plan: { name: 'x', spec }, facts: factsOf([redis('acme-dev', 'a', '1Gi')], ['acme-dev'], 'standard'), now });
    expect(l.entitlement).toEqual({ memory: '1Gi' });
    expect(l.conditions![0]).toMatchObject({ status: 'False' });
  });

  it('after a downgrade: OverEntitlement True, with every dimension over and its arithmetic', () => {
    const before = status('standard', [redis('acme-dev', 'a', '1Gi'), redis('acme-prod', 'b', '1Gi')]);
    const after = status('free', [redis('acme-dev', 'a', '1Gi'), redis('acme-prod', 'b', '1Gi')], {}, before);
    const over = after.conditions!.find((c) => c.type === 'OverEntitlement')!;
    expect(over).toMatchObject({ status: 'True', reason: 'OverEntitlement', observedGeneration: 4 });
    expect(over.message).toBe([
      'memory 2Gi used > 256Mi in plan free', 'cpu 1 used > 250m in plan free', 'storage 2Gi used > 1Gi in plan free',
      'pods 2 used > 1 in plan free', 'instances 2 used > 1 in plan free', 'namespaces 2 used > 1 in plan free',
    ].join('; '));
    // Back within (the objects deleted): False again, and the Ready condition is untouched.
    const later = new Date(now.getTime() + 60_000);
    const back = nextTenantStatus({ tenant: tenant('free', after), namespaces: [stamped('acme-dev', 'free')], plans: library.plans, ledger: factsOf([], ['acme-dev'], 'free'), now: later });
    expect(back.usage).toEqual({ memory: '0', cpu: '0', storage: '0', pods: 0, instances: 0, namespaces: 1 });
    expect(back.conditions!.find((c) => c.type === 'OverEntitlement')).toMatchObject({ status: 'False', reason: 'WithinEntitlement', lastTransitionTime: later.toISOString() });
    expect(back.conditions!.map((c) => c.type)).toEqual(['OverEntitlement', 'Ready']);
  });

  it('exactly at the entitlement is not over', () => {
    const spec = { ...(library.plans.get('standard')!.spec as JsonObject), tenantTotals: { memory: '2Gi', instances: 2 } };
    const l = ledgerStatus({ tenant: tenant('x'), plan: { name: 'x', spec }, facts: factsOf([redis('acme-dev', 'a', '1Gi'), redis('acme-dev', 'b', '1Gi')], ['acme-dev'], 'standard'), now });
    expect(l.conditions![0]).toMatchObject({ status: 'False' });
  });

  it('a plan the library does not have: usage shown, no entitlement, OverEntitlement Unknown', () => {
    const l = ledgerStatus({ tenant: tenant('gold'), plan: undefined, facts: factsOf([redis('acme-dev', 'a', '1Gi')], ['acme-dev'], 'standard'), now });
    expect(l.usage).toMatchObject({ memory: '1Gi', instances: 1 });
    expect(l.entitlement).toEqual({});
    expect(l.conditions![0]).toMatchObject({ type: 'OverEntitlement', status: 'Unknown', reason: 'UnknownPlan', message: expect.stringContaining('"gold"') });
  });

  it('without facts (caches not synced) the ledger\'s fields keep what the object has: no false zero', () => {
    const current = { usage: { memory: '5Gi' }, entitlement: { memory: '32Gi' }, reservations: [{ id: 'u', namespace: 'n', kind: 'Redis.kubedb.com', name: 'r', expiresAt: now.toISOString() }] };
    const s = nextTenantStatus({ tenant: tenant('standard', current), namespaces: [stamped('acme-dev', 'standard')], plans: library.plans, now });
    expect(s).toMatchObject(current);
    expect(s.conditions!.map((c) => c.type)).toEqual(['Ready']);
  });

  it('equal facts give an equal status: a second reconcile writes nothing', () => {
    const objects = [redis('acme-dev', 'a', '1Gi')];
    const first = status('standard', objects);
    expect(statusChanged(tenant('standard', first), status('standard', objects, {}, first))).toBe(false);
    expect(statusChanged(tenant('standard', first), status('standard', [...objects, redis('acme-prod', 'b', '1Gi')], {}, first))).toBe(true);
  });
});

describe('a Tenant\'s reservations', () => {
  const record = (entries: unknown[]): LedgerFacts['reservations'] => parseReservations({ reservations: JSON.stringify(entries) }).reservations;

  it('the live reservations of the ledger record, soonest first; lapsed ones left out', () => {
    const soon = new Date(now.getTime() + 20_000).toISOString();
    const later = new Date(now.getTime() + 40_000).toISOString();
    const lapsed = new Date(now.getTime() - 1).toISOString();
    const reservations = record([
      { key: 'acme-prod/kubedb.com/Redis/big', uid: 'u2', amounts: { memory: '4Gi', pods: '1', instances: '1' }, expires: later },
      { key: 'acme-dev/kubedb.com/Redis/old', uid: 'u0', amounts: { memory: '1Gi' }, expires: lapsed },
      { key: 'ns:acme-qa', uid: 'u1', amounts: { namespaces: '1' }, expires: soon },
    ]);
    const s = status('standard', [], { reservations });
    expect(s.reservations).toEqual([
      { id: 'u1', namespace: 'acme-qa', kind: 'Namespace', name: 'acme-qa', amounts: { namespaces: 1 }, expiresAt: soon },
      { id: 'u2', namespace: 'acme-prod', kind: 'Redis.kubedb.com', name: 'big', amounts: { memory: '4Gi', pods: 1, instances: 1 }, expiresAt: later },
    ]);
    // Every one lapsed: the field goes.
    const gone = nextTenantStatus({ tenant: tenant('standard', s), namespaces: [], plans: library.plans, ledger: { used: zero(), reservations }, now: new Date(now.getTime() + 60_000) });
    expect(gone.reservations).toBeUndefined();
  });

  it('a core kind keeps its bare kind; the record\'s own format round-trips', () => {
    const [r] = parseReservations(serializeReservations([{ key: 'acme-dev//Pod/p', uid: 'u', amounts: { ...zero(), memory: GI }, expires: now.getTime() + 1000 }])).reservations;
    expect(reservationStatus(r!)).toEqual({ id: 'u', namespace: 'acme-dev', kind: 'Pod', name: 'p', amounts: { memory: '1Gi' }, expiresAt: new Date(now.getTime() + 1000).toISOString() });
  });
});
