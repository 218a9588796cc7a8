// Benchmark (prints figures, asserts nothing): `redline controller` as a child process against a
// real etcd + kube-apiserver 1.20 on loopback; 500 tenant namespaces are created at once and we
// measure the time until every one carries the redline.dev/bootstrap annotation, the API calls the
// controller made (its own /metrics), its memory (RSS from /proc), and the cost of one resync pass
// over the converged namespaces. With REDLINE_BENCH_TENANT_OBJECTS=1 a second batch of N namespaces
// follows in the same run, three per Tenant object (only the tenant label; the plan comes from the
// Tenant), until every namespace is stamped and every Tenant's status says Ready: its time and API
// calls are printed as ratios to the label-only batch.
//
//   npm run build && node dist/test/bench/bootstrap.js
//   env: REDLINE_BENCH_NAMESPACES (500), REDLINE_BENCH_QPS / REDLINE_BENCH_BURST (controller
//        defaults 20/40), REDLINE_BENCH_WORKERS (4), REDLINE_BENCH_RESYNC_MS (15000)

import fs from 'node:fs';
import { resourcePath, type KubeObject } from '../../kube/api-client.js';
import { annotationOf, metricSum, sleep, spawnController, startBootstrapCluster, tempDir } from './bootstrap-harness.js';

const N = Number(process.env.REDLINE_BENCH_NAMESPACES ?? 500);
const QPS = process.env.REDLINE_BENCH_QPS ? Number(process.env.REDLINE_BENCH_QPS) : undefined;
const BURST = process.env.REDLINE_BENCH_BURST ? Number(process.env.REDLINE_BENCH_BURST) : undefined;
const WORKERS = process.env.REDLINE_BENCH_WORKERS ? Number(process.env.REDLINE_BENCH_WORKERS) : undefined;
const RESYNC_MS = Number(process.env.REDLINE_BENCH_RESYNC_MS ?? 15_000);
const PLANS = ['free', 'standard', 'premium'];
const TENANT_OBJECTS = process.env.REDLINE_BENCH_TENANT_OBJECTS === '1';
const PER_TENANT = 3;

function procStatus(pid: number): { rssMiB: number; hwmMiB: number } {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
}

function apiCalls(m: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of m) {
    if (!k.startsWith('redline_controller_api_requests_total{')) continue;
    const verb = /verb="([^"]+)"/.exec(k)?.[1] ?? '?';
    out[verb] = (out[verb] ?? 0) + v;
  }
  return out;
}

function diff(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[k] ?? 0) - (a[k] ?? 0);
    if (d) out[k] = d;
  }
  return out;
}

const total = (r: Record<string, number>): number => Object.values(r).reduce((s, v) => s + v, 0);

async function main(): Promise<void> {
  const t = performance.now();
  const cluster = await startBootstrapCluster();
  const dir = tempDir('redline-bench-bootstrap-');
  const { admin } = cluster;
  const config: Record<string, unknown> = { resyncMs: RESYNC_MS, logLevel: 'warn' };
  if (QPS !== undefined) config['qps'] = QPS;
  if (BURST !== undefined) config['burst'] = BURST;
  if (WORKERS !== undefined) config['workers'] = WORKERS;
  const ctrl = await spawnController({ kubeconfig: cluster.controllerKubeconfig, identity: 'bench', dir, config });
  try {
    await ctrl.waitReady(60_000);
    console.log(`control plane + CRDs + RBAC + controller ready in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    await sleep(1_000); // the controller takes the lease, first lists done
    const idle = procStatus(ctrl.pid);
    const m0 = apiCalls(await ctrl.metrics());

    /** Runs `create` for 0..n-1, 16 at a time (the admin is not rate limited). */
    const createAll = async (n: number, create: (i: number) => Promise<unknown>): Promise<void> => {
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next < n) await create(next++);
      }));
    };
    let peakRss = 0;
    /** Polls until `done()` says how many of `n` are there; the annotation is the "bootstrap finished" signal. */
    const waitFor = async (what: string, n: number, started: number, done: () => Promise<number>): Promise<void> => {
      let lastPrint = 0;
      for (;;) {
        const count = await done();
        peakRss = Math.max(peakRss, procStatus(ctrl.pid).rssMiB);
        const el = performance.now() - started;
        if (count >= n) return;
        if (el - lastPrint > 15_000) {
          lastPrint = el;
          console.log(`  ${(el / 1000).toFixed(0)} s: ${count}/${n} ${what}`);
        }
        if (el > 20 * 60_000) throw new Error(`only ${count}/${n} ${what} after 20 min`);
        if (ctrl.exited()) throw new Error(`controller exited:\n${ctrl.tail()}`);
        await sleep(250);
      }
    };
    const stampedWith = async (prefix: string): Promise<number> => {
      const list = await admin.request<{ items: KubeObject[] }>({ method: 'GET', path: '/api/v1/namespaces', query: { labelSelector: 'redline.dev/tenant' } });
      return list.items.filter((n) => n.metadata.name.startsWith(prefix) && annotationOf(n)).length;
    };

    // Label-only: N tenant namespaces, each its own tenant with its plan label.
    const t0 = performance.now();
    await createAll(N, (i) => {
      const name = `bench-${String(i).padStart(4, '0')}`;
      return admin.create(resourcePath('v1', 'namespaces'), {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: { 'redline.dev/tenant': name, 'redline.dev/plan': PLANS[(i + 1) % PLANS.length]!, 'kubernetes.io/metadata.name': name } },
      });
    });
    const createdMs = performance.now() - t0;
    await waitFor('stamped', N, t0, () => stampedWith('bench-0'));
    const convergedMs = performance.now() - t0;
    const m1 = apiCalls(await ctrl.metrics());
    const mem = procStatus(ctrl.pid);
    const work = diff(m0, m1);

    // One resync pass over N converged namespaces: should cost (almost) no API calls.
    await sleep(RESYNC_MS + 3_000);
    const metricsAfter = await ctrl.metrics();
    const m2 = apiCalls(metricsAfter);
    const resync = diff(m1, m2);
    const unchanged = metricSum(metricsAfter, 'redline_controller_reconciles_total', { result: 'unchanged' });

    let tenantLines: string[] = [];
    if (TENANT_OBJECTS) {
      // The Tenant path: N more namespaces, PER_TENANT per Tenant, only the tenant label on them.
      const tenants = Math.ceil(N / PER_TENANT);
      const tenantName = (t: number): string => `bt-${String(t).padStart(4, '0')}`;
      const t1 = performance.now();
      await createAll(tenants, (t) => admin.create(resourcePath('redline.dev/v1alpha1', 'tenants'), {
        apiVersion: 'redline.dev/v1alpha1', kind: 'Tenant', metadata: { name: tenantName(t) }, spec: { plan: PLANS[t % PLANS.length]! },
      }));
      await createAll(N, (i) => {
        const name = `bt-ns-${String(i).padStart(4, '0')}`;
        return admin.create(resourcePath('v1', 'namespaces'), {
          apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'redline.dev/tenant': tenantName(Math.floor(i / PER_TENANT)), 'kubernetes.io/metadata.name': name } },
        });
      });
      await waitFor('stamped through their Tenant', N, t1, () => stampedWith('bt-ns-'));
      const stampedMs = performance.now() - t1;
      await waitFor('Tenants Ready', tenants, t1, async () => {
        const list = await admin.request<{ items: KubeObject[] }>({ method: 'GET', path: '/apis/redline.dev/v1alpha1/tenants' });
        return list.items.filter((x) => {
          const st = x['status'] as { namespaceCount?: number; conditions?: { type: string; status: string }[] } | undefined;
          return st?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && st.namespaceCount === Math.min(PER_TENANT, N - Number(x.metadata.name.slice(3)) * PER_TENANT);
        }).length;
      });
      const readyMs = performance.now() - t1;
      await sleep(2_000);
      const m3 = apiCalls(await ctrl.metrics());
      const tenantWork = diff(m2, m3);
      const statusWrites = metricSum(await ctrl.metrics(), 'redline_controller_reconciles_total', { result: 'tenant_status' });
      tenantLines = [
        `  Tenant path: ${N} namespaces in ${tenants} Tenants (${PER_TENANT} each, only the tenant label)`,
        `    all stamped after ${(stampedMs / 1000).toFixed(1)} s (ratio to label-only ${(stampedMs / convergedMs).toFixed(2)}), every Tenant Ready after ${(readyMs / 1000).toFixed(1)} s (ratio ${(readyMs / convergedMs).toFixed(2)})`,
        `    API calls ${total(tenantWork)} ${JSON.stringify(tenantWork)} (ratio to label-only ${(total(tenantWork) / total(work)).toFixed(2)}; ${statusWrites} Tenant status writes, ${(statusWrites / tenants).toFixed(1)} per Tenant)`,
      ];
    }

    const settings = `qps ${QPS ?? 20}, burst ${BURST ?? 40}, workers ${WORKERS ?? 4}`;
    console.log('');
    console.log(`redline controller — ${N} tenant namespaces (${settings}), kube-apiserver 1.20.2 on loopback`);
    console.log(`  namespaces created by the client in     ${(createdMs / 1000).toFixed(1)} s`);
    console.log(`  all ${N} stamped (annotation) after      ${(convergedMs / 1000).toFixed(1)} s  (${(N / (convergedMs / 1000)).toFixed(1)} namespaces/s)`);
    console.log(`  API calls by the controller meanwhile    ${total(work)}  ${JSON.stringify(work)}  (${(total(work) / N).toFixed(1)} per namespace, ${(total(work) / (convergedMs / 1000)).toFixed(1)}/s)`);
    console.log(`  API calls during the next ${(RESYNC_MS / 1000).toFixed(0)} s (one resync pass, ${unchanged} unchanged reconciles): ${total(resync)} ${JSON.stringify(resync)}`);
    for (const line of tenantLines) console.log(line);
    console.log(`  controller RSS: idle ${idle.rssMiB.toFixed(0)} MiB, at convergence ${mem.rssMiB.toFixed(0)} MiB, peak sampled ${peakRss.toFixed(0)} MiB, high-water mark ${mem.hwmMiB.toFixed(0)} MiB`);
  } finally {
    await ctrl.stop('SIGTERM');
    admin.close();
    await cluster.cp.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
