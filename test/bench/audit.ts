// Benchmark (prints figures, asserts nothing): the controller's background audit against a real
// etcd + kube-apiserver 1.20 on loopback with the real report CRDs: N Redis objects across M tenant
// namespaces (KubeDB Redis, a third of them over their plan). Three controller runs over the same
// stamped cluster, each a fresh process (CPU and peak memory from /proc):
//   baseline  — audit off: start, list, reconcile the converged namespaces (what the audit adds to);
//   audit     — audit on, no reports yet: the first full audit writes one Report per namespace;
//   unchanged — audit on again (a restart): the same audit finds every Report unchanged, writes nothing.
//
//   npm run build && npm run bench:audit
//   env: REDLINE_BENCH_NAMESPACES (500), REDLINE_BENCH_OBJECTS (10000), REDLINE_BENCH_QPS (200)

import fs from 'node:fs';
import { resourcePath, type KubeObject } from '../../kube/api-client.js';
import { installReportCrds } from '../e2e/helpers/report-crds.js';
import { annotationOf, metricSum, sleep, spawnController, startBootstrapCluster, tempDir, type ControllerProcess } from './bootstrap-harness.js';

const NAMESPACES = Number(process.env.REDLINE_BENCH_NAMESPACES ?? 500);
const OBJECTS = Number(process.env.REDLINE_BENCH_OBJECTS ?? 10_000);
const QPS = Number(process.env.REDLINE_BENCH_QPS ?? 200);
const PLANS = ['free', 'standard', 'premium'];
const CLOCK_TICKS = 100; // USER_HZ on Linux

function proc(pid: number): { cpuS: number; hwmMiB: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwmMiB = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024;
  return { cpuS, hwmMiB };
}

function redis(ns: string, name: string, over: boolean): KubeObject {
  const memory = over ? '64Gi' : '200Mi';
  return {
    apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name, namespace: ns },
    spec: {
      version: '7.2.4', mode: 'Standalone', storageType: 'Durable',
      storage: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      podTemplate: { spec: { containers: [{ name: 'redis', resources: { limits: { memory, cpu: '200m' } } }] } },
      deletionPolicy: 'Delete',
    },
  };
}

async function pool<T>(items: readonly T[], n: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function waitFor(what: string, fn: () => Promise<boolean>, ctrl: ControllerProcess, timeoutMs = 30 * 60_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    // A busy controller may answer /metrics late: a timed-out poll is just not done yet.
    if (await fn().catch(() => false)) return performance.now() - t0;
    if (ctrl.exited()) throw new Error(`controller exited while waiting for ${what}:\n${ctrl.tail()}`);
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not after ${timeoutMs} ms\n${ctrl.tail()}`);
    await sleep(100);
  }
}

interface Run {
  wallS: number;
  auditS: number;
  cpuS: number;
  hwmMiB: number;
  writes: number;
  bytes: number;
  judged: number;
}

async function run(label: string, kubeconfig: string, dir: string, audit: boolean): Promise<Run> {
  const config = { qps: QPS, burst: QPS * 2, logLevel: 'warn', certManager: { enabled: false }, certs: { enabled: false }, leaderElection: { enabled: false }, audit: { enabled: audit, intervalMs: 3_600_000 } };
  const t0 = performance.now();
  const ctrl = await spawnController({ kubeconfig, identity: `bench-${label}`, dir, config });
  try {
    await ctrl.waitReady(10 * 60_000);
    if (audit) {
      await waitFor('the first full audit', async () => metricSum(await ctrl.metrics(), 'redline_audit_last_completed_timestamp_seconds') > 0, ctrl);
    } else {
      // No audit: the same start (lists, one reconcile of every converged namespace), then settle.
      await waitFor('every namespace reconciled', async () => metricSum(await ctrl.metrics(), 'redline_controller_reconciles_total') >= NAMESPACES, ctrl);
    }
    const wallS = (performance.now() - t0) / 1000;
    const m = await ctrl.metrics();
    const p = proc(ctrl.pid);
    return {
      wallS,
      auditS: metricSum(m, 'redline_audit_duration_seconds_sum', { scope: 'all' }),
      cpuS: p.cpuS,
      hwmMiB: p.hwmMiB,
      writes: metricSum(m, 'redline_audit_report_writes_total'),
      bytes: metricSum(m, 'redline_audit_report_bytes_total'),
      judged: metricSum(m, 'redline_audit_objects_judged_total'),
    };
  } finally {
    await ctrl.stop('SIGTERM');
  }
}

async function main(): Promise<void> {
  const t = performance.now();
  const cluster = await startBootstrapCluster();
  const dir = tempDir('redline-bench-audit-');
  const { admin } = cluster;
  try {
    await installReportCrds(admin);
    const names = Array.from({ length: NAMESPACES }, (_, i) => `audit-${String(i).padStart(4, '0')}`);
    await pool(names, 16, (name) => admin.create(resourcePath('v1', 'namespaces'), {
      apiVersion: 'v1', kind: 'Namespace',
      metadata: { name, labels: { 'redline.dev/tenant': name, 'redline.dev/plan': PLANS[names.indexOf(name) % PLANS.length]!, 'kubernetes.io/metadata.name': name } },
    }));
    const objects = Array.from({ length: OBJECTS }, (_, i) => redis(names[i % NAMESPACES]!, `cache-${i}`, i % 3 === 0));
    const tc = performance.now();
    await pool(objects, 32, (o) => admin.create(resourcePath('kubedb.com/v1', 'redises', o.metadata.namespace), o));
    console.log(`control plane, ${NAMESPACES} namespaces and ${OBJECTS} Redis objects (created in ${((performance.now() - tc) / 1000).toFixed(1)} s) ready after ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // Stamp every namespace first (audit off), so the measured runs start from a converged cluster.
    const stamp = await spawnController({ kubeconfig: cluster.controllerKubeconfig, identity: 'bench-stamp', dir, config: { qps: 500, burst: 1000, logLevel: 'warn', certManager: { enabled: false }, certs: { enabled: false }, leaderElection: { enabled: false }, audit: { enabled: false } } });
    try {
      await stamp.waitReady(10 * 60_000);
      const ms = await waitFor('every namespace stamped', async () => {
        const list = await admin.request<{ items: KubeObject[] }>({ method: 'GET', path: '/api/v1/namespaces', query: { labelSelector: 'redline.dev/tenant' } });
        return list.items.filter((n) => annotationOf(n)).length >= NAMESPACES;
      }, stamp);
      console.log(`all ${NAMESPACES} namespaces stamped in ${(ms / 1000).toFixed(1)} s`);
    } finally {
      await stamp.stop('SIGTERM');
    }

    const row = (name: string, r: Run, base: Run): string =>
      `  ${name.padEnd(10)} wall ${r.wallS.toFixed(1).padStart(6)} s  audit ${r.auditS.toFixed(2).padStart(6)} s  CPU ${r.cpuS.toFixed(1).padStart(5)} s (${(r.cpuS / base.cpuS).toFixed(2)}× baseline)  peak RSS ${r.hwmMiB.toFixed(0).padStart(4)} MiB (${(r.hwmMiB / base.hwmMiB).toFixed(2)}×)  judged ${String(r.judged).padStart(6)}  report writes ${String(r.writes).padStart(4)}  bytes written ${(r.bytes / 1024).toFixed(0)} KiB`;
    console.log(`\nredline controller audit — ${OBJECTS} KubeDB Redis objects in ${NAMESPACES} tenant namespaces (qps ${QPS}), kube-apiserver 1.20.2 on loopback`);
    const base = await run('baseline', cluster.controllerKubeconfig, dir, false);
    console.log(row('baseline', base, base));
    const first = await run('audit', cluster.controllerKubeconfig, dir, true);
    console.log(row('audit', first, base));
    const again = await run('unchanged', cluster.controllerKubeconfig, dir, true);
    console.log(row('unchanged', again, base));
    console.log(`  first audit: ${(OBJECTS / first.auditS).toFixed(0)} objects/s; unchanged audit took ${(again.auditS / first.auditS).toFixed(2)}× the first and wrote ${again.writes} reports`);
    // What is stored, a page at a time (the reports together are tens of MB).
    let count = 0;
    let bytes = 0;
    let fails = 0;
    let cont: string | undefined;
    do {
      const page = await admin.request<{ items: KubeObject[]; metadata?: { continue?: string } }>({
        method: 'GET', path: '/apis/openreports.io/v1alpha1/reports', query: { limit: 50, continue: cont }, timeoutMs: 120_000,
      });
      for (const r of page.items) {
        count++;
        bytes += Buffer.byteLength(JSON.stringify(r));
        fails += Number((r['summary'] as { fail?: number } | undefined)?.fail ?? 0);
      }
      cont = page.metadata?.continue || undefined;
    } while (cont);
    console.log(`  stored: ${count} Reports, ${(bytes / 1024).toFixed(0)} KiB as JSON (${(bytes / count / 1024).toFixed(1)} KiB each), ${fails} failures counted`);
  } finally {
    admin.close();
    await cluster.cp.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
