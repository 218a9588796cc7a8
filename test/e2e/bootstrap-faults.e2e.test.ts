// Fault tests of `redline controller` on loopback: the controller talks to the real API server
// through a proxy that can cut connections (dropped watches), refuse them for a while (watch down
// while objects change), and answer with injected 409/429/500s; and the API server itself is
// stopped and started again while namespaces are being stamped.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesDesired } from '../../bootstrap/compare.js';
import { OWNED_KINDS, renderTenant, type DesiredState } from '../../bootstrap/render.js';
import { defaultControllerSettings } from '../../core/settings/controller.js';
import { resourcePath, type KubeApi, type KubeObject } from '../../kube/api-client.js';
import { defaultLibraryDir, loadLibrary, type Library } from '../../policies/engine/index.js';
import {
  annotationOf,
  CONTROLLER_USER,
  FaultProxy,
  kubeconfigVia,
  metricSum,
  sleep,
  spawnController,
  startBootstrapCluster,
  tempDir,
  until,
  type BootstrapCluster,
  type ControllerProcess,
} from '../bench/bootstrap-harness.js';
import { restartApiserver, stopRestartedApiserver } from './controlplane/restart.js';

let library: Library;
let cluster: BootstrapCluster;
let admin: KubeApi;
let proxy: FaultProxy;
let controller: ControllerProcess;
let dir: string;

const nsPath = (name: string): string => resourcePath('v1', 'namespaces', undefined, name);
const desiredFor = (ns: string, plan = 'free'): DesiredState => renderTenant({ namespace: ns, tenant: ns, plan: library.plans.get(plan)! }, defaultControllerSettings());

function objPath(o: KubeObject): string {
  const k = OWNED_KINDS.find((x) => x.kind === o.kind)!;
  return resourcePath(o.apiVersion, k.plural, o.metadata.namespace, o.metadata.name);
}

async function notConverged(d: DesiredState): Promise<string[]> {
  const bad: string[] = [];
  for (const o of d.objects) {
    const live = await admin.getOptional(objPath(o));
    if (!live || !matchesDesired(live, o)) bad.push(`${o.kind}/${o.metadata.name}`);
  }
  const ns = await admin.getOptional(nsPath(d.namespace));
  if (annotationOf(ns)?.hash !== d.hash) bad.push('annotation');
  return bad;
}

async function createNs(name: string): Promise<void> {
  await admin.create(resourcePath('v1', 'namespaces'), {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'redline.dev/tenant': name, 'redline.dev/plan': 'free', 'kubernetes.io/metadata.name': name } },
  });
}

async function eventsOf(ns: string, reason: string): Promise<KubeObject[]> {
  const list = await admin.get<{ items: KubeObject[] }>(resourcePath('v1', 'events', ns));
  return list.items.filter((e) => e['reason'] === reason);
}

/** Every owned object Redline labelled in `ns`, as kind/name (duplicates would show twice). */
async function stampedNames(ns: string): Promise<string[]> {
  const out: string[] = [];
  for (const k of OWNED_KINDS) {
    const list = await admin.request<{ items: KubeObject[] }>({ method: 'GET', path: resourcePath(k.apiVersion, k.plural, ns), query: { labelSelector: 'app.kubernetes.io/managed-by=redline' } });
    for (const o of list.items) out.push(`${k.kind}/${o.metadata.name}`);
  }
  return out.sort();
}

describe('redline controller under faults (loopback proxy, API server restart)', () => {
  beforeAll(async () => {
    library = await loadLibrary(defaultLibraryDir());
    cluster = await startBootstrapCluster();
    admin = cluster.admin;
    dir = tempDir('redline-ctrl-faults-');
    proxy = new FaultProxy(cluster.cp.url, cluster.cp.caPem);
    const url = await proxy.listen();
    controller = await spawnController({
      kubeconfig: kubeconfigVia(cluster.cp, CONTROLLER_USER, url),
      identity: 'ctrl-faults',
      dir,
      config: {
        resyncMs: 60_000, // repairs below come from watches and restarts, not from the periodic resync
        retry: { initialMs: 50, maxMs: 1_000 },
        informerBackoff: { initialMs: 100, maxMs: 1_000 },
        leaderElection: { leaseDurationMs: 6_000, renewDeadlineMs: 4_000, retryPeriodMs: 500 },
      },
    });
    await controller.waitReady();
    await createNs('f-watch');
    await until('f-watch stamped', async () => (await notConverged(desiredFor('f-watch'))).length === 0, 10_000);
  }, 120_000);

  afterAll(async () => {
    await controller?.stop('SIGTERM');
    await proxy?.close();
    admin?.close();
    if (cluster) {
      await stopRestartedApiserver(cluster.cp);
      await cluster.cp.stop();
    }
    if (dir && process.env.REDLINE_KEEP_E2E !== '1') fs.rmSync(dir, { recursive: true, force: true });
    else if (dir) console.log(`[bootstrap e2e] controller logs kept in ${dir}`);
  }, 60_000);

  it('a dropped watch is re-established and an edit right after is repaired', async () => {
    const d = desiredFor('f-watch');
    const before = metricSum(await controller.metrics(), 'redline_controller_informer_restarts_total');
    const cut = proxy.dropAll();
    expect(cut).toBeGreaterThanOrEqual(7); // one watch per informer (+ keep-alive sockets)
    // The controller saw the cut: the delete below lands while it re-establishes its watches.
    await until('an informer restart after the cut', async () => metricSum(await controller.metrics(), 'redline_controller_informer_restarts_total') > before, 5_000, 10);
    const t0 = performance.now();
    await admin.delete(resourcePath('v1', 'resourcequotas', 'f-watch', 'redline-quota'));
    await until('quota restored', async () => (await notConverged(d)).length === 0, 10_000, 20);
    console.log(`[bootstrap faults] watch dropped: quota deleted right after, restored in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(metricSum(await controller.metrics(), 'redline_controller_informer_restarts_total')).toBeGreaterThan(before);
  });

  it('changes made while the watches are down are caught by the relist when they come back', async () => {
    const d = desiredFor('f-watch');
    proxy.blackhole(true);
    await admin.delete(resourcePath('networking.k8s.io/v1', 'networkpolicies', 'f-watch', 'redline-allow-dns'));
    await admin.mergePatch(resourcePath('v1', 'limitranges', 'f-watch', 'redline-limits'), { spec: { limits: [{ type: 'Container', max: { cpu: '64' } }] } }, 'e2e-admin');
    // A fixed wait on purpose: with the watches down, nothing may be repaired during it.
    await sleep(1_500);
    expect((await notConverged(d)).sort()).toEqual(['LimitRange/redline-limits', 'NetworkPolicy/redline-allow-dns']);
    const t0 = performance.now();
    proxy.blackhole(false);
    await until('repaired after reconnect', async () => (await notConverged(d)).length === 0, 15_000, 20);
    console.log(`[bootstrap faults] watches down 1.5 s while 2 objects changed: repaired ${(performance.now() - t0).toFixed(0)} ms after the API was reachable again`);
  });

  it('409 conflicts, 429 and 5xx answers are retried with backoff and converge without duplicates', async () => {
    const conflict = { status: 409, reason: 'Conflict', message: 'Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again' };
    proxy.inject({ method: 'PATCH', pathIncludes: 'f-conflict', ...conflict, times: 4 });
    proxy.inject({ method: 'PATCH', pathIncludes: 'f-conflict', status: 500, times: 3 });
    proxy.inject({ method: 'PATCH', pathIncludes: 'f-conflict', status: 429, reason: 'TooManyRequests', times: 2 });
    const m0 = await controller.metrics();
    const t0 = performance.now();
    await createNs('f-conflict');
    const d = desiredFor('f-conflict');
    await until('f-conflict converged', async () => (await notConverged(d)).length === 0, 20_000, 20);
    console.log(`[bootstrap faults] 4×409 + 3×500 + 2×429 injected: converged in ${(performance.now() - t0).toFixed(0)} ms`);
    const m1 = await controller.metrics();
    const delta = (code: string): number => metricSum(m1, 'redline_controller_api_requests_total', { verb: 'patch', code }) - metricSum(m0, 'redline_controller_api_requests_total', { verb: 'patch', code });
    expect(delta('409')).toBe(4);
    expect(delta('500')).toBe(3);
    expect(delta('429')).toBe(2);
    expect(await stampedNames('f-conflict')).toEqual(d.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort());
    expect((await eventsOf('f-conflict', 'Stamped')).length).toBe(1);
  });

  it("one namespace's failures never block the others", async () => {
    const errors0 = metricSum(await controller.metrics(), 'redline_controller_reconciles_total', { result: 'error' });
    proxy.inject({ method: 'PATCH', pathIncludes: 'f-stuck', status: 500, times: 1_000_000 });
    await createNs('f-stuck');
    await until('f-stuck failing', async () => metricSum(await controller.metrics(), 'redline_controller_reconciles_total', { result: 'error' }) - errors0 >= 3, 10_000);
    const t0 = performance.now();
    await createNs('f-free');
    await until('f-free stamped', async () => (await notConverged(desiredFor('f-free'))).length === 0, 5_000, 10);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(2_000);
    await until('ApplyFailed event on f-stuck', async () => (await eventsOf('f-stuck', 'ApplyFailed')).length === 1, 10_000);
    proxy.clearRules();
    await until('f-stuck converged once the API answers again', async () => (await notConverged(desiredFor('f-stuck'))).length === 0, 10_000);
    console.log(`[bootstrap faults] while f-stuck kept failing, f-free was stamped in ${ms.toFixed(0)} ms`);
  });

  it('API server stopped and restarted mid-reconcile: every namespace converges, no duplicates', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `f-restart-${i}`);
    await Promise.all(names.map((n) => createNs(n)));
    // Restart while reconciles are under way: once the first of these namespaces has a stamped object.
    await until('a reconcile under way', async () => {
      for (const n of names) {
        const d = desiredFor(n);
        if ((await notConverged(d)).length < d.objects.length) return true;
      }
      return false;
    }, 10_000, 5);
    const { downMs } = await restartApiserver(cluster.cp, { downMs: 1_500 });
    const t0 = performance.now();
    for (const n of names) await until(`${n} converged`, async () => (await notConverged(desiredFor(n))).length === 0, 45_000, 50);
    console.log(`[bootstrap faults] API server down ${downMs} ms mid-reconcile: all ${names.length} namespaces converged ${(performance.now() - t0).toFixed(0)} ms after it was back`);
    const expected = desiredFor(names[0]!).objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    for (const n of names) expect(await stampedNames(n), n).toEqual(expected);
    // the earlier namespaces are intact, the controller is still ready and leading
    expect(await notConverged(desiredFor('f-watch'))).toEqual([]);
    await until('controller ready again', async () => (await controller.http('/readyz')).status === 200, 15_000);
    await until('leading again', async () => metricSum(await controller.metrics(), 'redline_controller_is_leader') === 1, 15_000);
  }, 90_000);
});
