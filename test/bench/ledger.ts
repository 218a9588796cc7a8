// bench:ledger — what the tenant ledger costs.
//
// 1. Admission latency on the e2e control plane (etcd + kube-apiserver 1.20, two `redline serve`
//    replicas behind one round-robin address, the shipped webhook configurations): creates of the
//    same compliant KubeDB Redis, one at a time, interleaved, into
//      metered    a namespace whose plan sells tenantTotals: the create grows the tenant, so its
//                 answer waits for the reservation (a ConfigMap update in redline-ledger)
//      unmetered  a namespace whose plan has no tenantTotals: nothing to reserve
//    and, as the yardstick of "one API round trip", a direct PUT of a ConfigMap from this process.
//    Prints medians and p90s, the ratio metered / unmetered and (metered − unmetered) against the
//    round trip, and the ledger writes per reservation (1 + conflicts) from the replicas' metrics.
// 2. Convergence, in process: 500 tenants × 3 namespaces, each namespace a KubeDB Redis of 3 pods,
//    its PetSet and Pods (owned: counted once) and a plain Redis StatefulSet. What a full relist costs
//    (every object reduced to its usage, next to decoding the same objects from JSON: the baseline
//    a relist pays anyway) and the from-scratch recompute of every tenant's usage.
//
// Options: --rounds N (default 100) --warmup N (default 10) --skip-cluster --help.

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { KubeObject } from '../../kube/api-client.js';
import { slimToUsage, tallied } from '../../kube/usage-source.js';
import { UsageIndex } from '../../policies/tenancy/usage-index.js';
import { formatAmount } from '../../policies/tenancy/usage.js';
import { ok, P, type ApiClient } from '../e2e/helpers/isolation-http.js';
import { redis, startLedgerCluster, tenantNamespaceWithRole } from '../e2e/helpers/ledger-cluster.js';
import { metricSum, parseMetrics } from './bootstrap-harness.js';

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function stats(xs: number[]): { p50: number; p90: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p90: quantile(s, 0.9) };
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

async function latency(rounds: number, warmup: number): Promise<void> {
  const w = await startLedgerCluster({ ttlMs: 60_000, totals: { memory: '1000Ti', cpu: '100000', storage: '1000Pi', pods: 1_000_000, instances: 1_000_000, namespaces: 10 } });
  try {
    const admin: ApiClient = w.admin;
    await tenantNamespaceWithRole(admin, 'other-a', 'other', 'unmetered');
    const metered = 'acme-a';
    const unmetered = 'other-a';
    // The ledger record exists after the first reservation; the yardstick is its twin.
    ok(await admin.create(P.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench-yardstick' } }), 'yardstick namespace');
    const cmPath = '/api/v1/namespaces/bench-yardstick/configmaps';
    const cm = ok(await admin.create(cmPath, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'yardstick' }, data: { reservations: '[]' } }), 'yardstick').body;
    const samples = { metered: [] as number[], unmetered: [] as number[], roundTrip: [] as number[] };
    let rv = cm.metadata.resourceVersion as string;
    for (let i = 0; i < warmup + rounds; i++) {
      const order = i % 2 === 0 ? (['metered', 'unmetered', 'roundTrip'] as const) : (['roundTrip', 'unmetered', 'metered'] as const);
      for (const t of order) {
        let ms: number;
        if (t === 'roundTrip') {
          ms = await timed(async () => {
            const a = ok(await admin.put(`${cmPath}/yardstick`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'yardstick', resourceVersion: rv }, data: { reservations: JSON.stringify([{ i }]) } }), 'yardstick put');
            rv = a.body.metadata.resourceVersion;
          });
        } else {
          const ns = t === 'metered' ? metered : unmetered;
          ms = await timed(async () => ok(await admin.create(P.kubedbRedis(ns), redis(ns, `b${i}`, '64Mi')), `create in ${ns}`));
        }
        if (i >= warmup) samples[t].push(ms);
      }
    }
    let reserved = 0;
    let conflicts = 0;
    for (const r of w.replicas) {
      const m = parseMetrics(await (await fetch(`http://127.0.0.1:${r.healthPort}/metrics`)).text());
      reserved += metricSum(m, 'redline_ledger_reservations_total', { result: 'reserved' });
      conflicts += metricSum(m, 'redline_ledger_conflicts_total');
    }
    const s = { metered: stats(samples.metered), unmetered: stats(samples.unmetered), roundTrip: stats(samples.roundTrip) };
    console.log(`# bench:ledger latency — ${rounds} rounds (after ${warmup} warm-up), one request at a time, order alternating; 2 serve replicas behind one address`);
    console.log('| create | median ms | p90 ms |');
    console.log('|---|---|---|');
    console.log(`| metered (reservation written) | ${s.metered.p50.toFixed(2)} | ${s.metered.p90.toFixed(2)} |`);
    console.log(`| unmetered (no reservation) | ${s.unmetered.p50.toFixed(2)} | ${s.unmetered.p90.toFixed(2)} |`);
    console.log(`| yardstick: one ConfigMap PUT from the bench | ${s.roundTrip.p50.toFixed(2)} | ${s.roundTrip.p90.toFixed(2)} |`);
    console.log(`ratio metered / unmetered: median ${(s.metered.p50 / s.unmetered.p50).toFixed(2)}, p90 ${(s.metered.p90 / s.unmetered.p90).toFixed(2)}`);
    console.log(`added by the reservation (median): ${(s.metered.p50 - s.unmetered.p50).toFixed(2)} ms = ${((s.metered.p50 - s.unmetered.p50) / s.roundTrip.p50).toFixed(2)} × one ConfigMap PUT`);
    console.log(`ledger writes per reservation: ${reserved ? ((reserved + conflicts) / reserved).toFixed(3) : 'n/a'} (${reserved} reservations, ${conflicts} conflicts)`);
  } finally {
    await w.stop();
  }
}

// ---- convergence -------------------------------------------------------------------------------

const TENANTS = 500;
const PER_TENANT = 3;

function workloads(ns: string, n: number): KubeObject[] {
  const redisUid = `${ns}-redis-uid`;
  const petsetUid = `${ns}-petset-uid`;
  const container = { name: 'redis', image: 'redis:7.2.4', resources: { limits: { memory: '1Gi', cpu: '500m' } } };
  const kubedb = {
    apiVersion: 'kubedb.com/v1', kind: 'Redis',
    metadata: { name: 'cache', namespace: ns, uid: redisUid, resourceVersion: String(n) },
    spec: { version: '7.2.4', mode: 'Sentinel', replicas: 3, storage: { resources: { requests: { storage: '10Gi' } } }, podTemplate: { spec: { containers: [container] } } },
  };
  const petset = {
    apiVersion: 'apps.k8s.appscode.com/v1', kind: 'PetSet',
    metadata: { name: 'cache', namespace: ns, uid: petsetUid, ownerReferences: [{ apiVersion: 'kubedb.com/v1', kind: 'Redis', name: 'cache', uid: redisUid, controller: true }] },
    spec: { replicas: 3, template: { metadata: { labels: { 'app.kubernetes.io/name': 'redises.kubedb.com' } }, spec: { containers: [container] } } },
  };
  const pods = [0, 1, 2].map((i) => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `cache-${i}`, namespace: ns, uid: `${ns}-pod-${i}`, ownerReferences: [{ apiVersion: 'apps.k8s.appscode.com/v1', kind: 'PetSet', name: 'cache', uid: petsetUid, controller: true }] },
    spec: { containers: [container] },
  }));
  const sts = {
    apiVersion: 'apps/v1', kind: 'StatefulSet',
    metadata: { name: 'plain', namespace: ns, uid: `${ns}-sts` },
    spec: { replicas: 2, template: { metadata: { labels: { 'app.kubernetes.io/name': 'redis' } }, spec: { containers: [{ ...container, resources: { limits: { memory: '512Mi', cpu: '250m' } } }] } } },
  };
  return [kubedb, petset, ...pods, sts] as unknown as KubeObject[];
}

function convergence(): void {
  const namespaces: string[][] = [];
  const objects: KubeObject[] = [];
  for (let t = 0; t < TENANTS; t++) {
    const mine: string[] = [];
    for (let n = 0; n < PER_TENANT; n++) {
      const ns = `t${t}-ns${n}`;
      mine.push(ns);
      objects.push(...workloads(ns, t));
    }
    namespaces.push(mine);
  }
  const wire = objects.map((o) => JSON.stringify(o));
  // Warm both paths up once (JIT), then measure a few full passes and keep the best.
  const passes = 5;
  let decodeMs = Infinity;
  let reduceMs = Infinity;
  let indexMs = Infinity;
  let recomputeMs = Infinity;
  let total = '';
  for (let pass = 0; pass <= passes; pass++) {
    let t0 = performance.now();
    const decoded = wire.map((s) => JSON.parse(s) as KubeObject);
    const d = performance.now() - t0;
    t0 = performance.now();
    const slim = decoded.map((o) => slimToUsage(o, undefined));
    const r = performance.now() - t0;
    t0 = performance.now();
    const index = new UsageIndex(1);
    const byNs = new Map<string, ReturnType<typeof tallied>[]>();
    for (const o of slim) {
      const ns = o.metadata.namespace!;
      const list = byNs.get(ns) ?? [];
      list.push(tallied(o));
      byNs.set(ns, list);
    }
    for (const [ns, list] of byNs) index.set(0, ns, list.filter((x): x is NonNullable<typeof x> => x !== undefined));
    const ix = performance.now() - t0;
    t0 = performance.now();
    let memory = 0n;
    for (const mine of namespaces) memory += index.snapshot(mine).used.memory;
    const rc = performance.now() - t0;
    total = formatAmount(memory);
    if (pass === 0) continue;
    decodeMs = Math.min(decodeMs, d);
    reduceMs = Math.min(reduceMs, r);
    indexMs = Math.min(indexMs, ix);
    recomputeMs = Math.min(recomputeMs, rc);
  }
  // Each namespace: the Sentinel-mode Redis (3 × 1Gi) once, not its PetSet and Pods, plus 2 × 512Mi.
  const expected = formatAmount(BigInt(TENANTS * PER_TENANT) * 4n * 1024n ** 3n * 1_000_000_000n);
  console.log(`# bench:ledger convergence — ${TENANTS} tenants × ${PER_TENANT} namespaces, ${objects.length} objects (best of ${passes} passes, in process)`);
  console.log('| step | ms | per object µs |');
  console.log('|---|---|---|');
  console.log(`| baseline: decode the objects from JSON (a relist pays it anyway) | ${decodeMs.toFixed(1)} | ${((1000 * decodeMs) / objects.length).toFixed(2)} |`);
  console.log(`| reduce every object to its usage (the informer transform) | ${reduceMs.toFixed(1)} | ${((1000 * reduceMs) / objects.length).toFixed(2)} |`);
  console.log(`| index by namespace | ${indexMs.toFixed(1)} | ${((1000 * indexMs) / objects.length).toFixed(2)} |`);
  console.log(`| recompute all ${TENANTS} tenants from scratch | ${recomputeMs.toFixed(1)} | ${((1000 * recomputeMs) / objects.length).toFixed(2)} |`);
  console.log(`ratio reduce / decode: ${(reduceMs / decodeMs).toFixed(2)}; full convergence (reduce + index + recompute) / decode: ${((reduceMs + indexMs + recomputeMs) / decodeMs).toFixed(2)}; one tenant's recompute: ${((1000 * recomputeMs) / TENANTS).toFixed(1)} µs`);
  console.log(`memory summed over all tenants: ${total} (expected ${expected}: each workload counted once) ${total === expected ? 'OK' : 'MISMATCH'}`);
  if (total !== expected) process.exitCode = 1;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '100' }, warmup: { type: 'string', default: '10' }, 'skip-cluster': { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } });
  if (values.help) {
    console.log('usage: npm run bench:ledger -- [--rounds N] [--warmup N] [--skip-cluster]');
    return;
  }
  convergence();
  if (!values['skip-cluster']) await latency(Number(values.rounds), Number(values.warmup));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
