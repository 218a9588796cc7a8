// Benchmark (prints figures, asserts nothing): `redline controller` as a child process against a
// real etcd + kube-apiserver 1.20 on loopback; 500 tenant namespaces are created at once and we
// measure the time until every one carries the redline.dev/bootstrap annotation, the API calls the
// controller made (its own /metrics), its memory (RSS from /proc), and the cost of one resync pass
// over the converged namespaces.
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

    // Create N tenant namespaces, 16 at a time (the admin is not rate limited).
    const names = Array.from({ length: N }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < names.length) {
          const name = names[next++]!;
          const plan = PLANS[next % PLANS.length]!;
          await admin.create(resourcePath('v1', 'namespaces'), {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name, labels: { 'redline.dev/tenant': name, 'redline.dev/plan': plan, 'kubernetes.io/metadata.name': name } },
          });
        }
      }),
    );
    const createdMs = performance.now() - t0;

    // Poll until all are stamped (the annotation is the "bootstrap finished" signal).
    let stamped = 0;
    let peakRss = 0;
    let lastPrint = 0;
    for (;;) {
      const list = await admin.request<{ items: KubeObject[] }>({ method: 'GET', path: '/api/v1/namespaces', query: { labelSelector: 'redline.dev/tenant' } });
      stamped = list.items.filter((n) => n.metadata.name.startsWith('bench-') && annotationOf(n)).length;
      peakRss = Math.max(peakRss, procStatus(ctrl.pid).rssMiB);
      const el = performance.now() - t0;
      if (stamped >= N) break;
      if (el - lastPrint > 15_000) {
        lastPrint = el;
        console.log(`  ${(el / 1000).toFixed(0)} s: ${stamped}/${N} stamped`);
      }
      if (el > 20 * 60_000) throw new Error(`only ${stamped}/${N} stamped after 20 min`);
      if (ctrl.exited()) throw new Error(`controller exited:\n${ctrl.tail()}`);
      await sleep(250);
    }
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

    const settings = `qps ${QPS ?? 20}, burst ${BURST ?? 40}, workers ${WORKERS ?? 4}`;
    console.log('');
    console.log(`redline controller — ${N} tenant namespaces (${settings}), kube-apiserver 1.20.2 on loopback`);
    console.log(`  namespaces created by the client in     ${(createdMs / 1000).toFixed(1)} s`);
    console.log(`  all ${N} stamped (annotation) after      ${(convergedMs / 1000).toFixed(1)} s  (${(N / (convergedMs / 1000)).toFixed(1)} namespaces/s)`);
    console.log(`  API calls by the controller meanwhile    ${total(work)}  ${JSON.stringify(work)}  (${(total(work) / N).toFixed(1)} per namespace, ${(total(work) / (convergedMs / 1000)).toFixed(1)}/s)`);
    console.log(`  API calls during the next ${(RESYNC_MS / 1000).toFixed(0)} s (one resync pass, ${unchanged} unchanged reconciles): ${total(resync)} ${JSON.stringify(resync)}`);
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
