// What the e2e suites that run the whole bundle (isolation, operators) share: the controller's
// settings for a control plane without cert-manager, and onboarding tenant namespaces the way a
// platform does, then waiting until the API server calls Redline for each of them.
import { until, type ControllerProcess } from '../../bench/bootstrap-harness.js';
import { ok, P, type ApiClient } from './isolation-http.js';
import type { ServeProcess } from './serve.js';

export const CONTROLLER_CONFIG = {
  resyncMs: 30_000,
  retry: { initialMs: 50, maxMs: 1_000 },
  informerBackoff: { initialMs: 100, maxMs: 1_000 },
  leaderElection: { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 300 },
  network: { apiServerCidrs: ['192.0.2.10'], apiServerPorts: [6443] },
  // cert-manager's controllers do not run here: no tenant CA is stamped (a suite may start a
  // controller that does, against the webhook).
  certManager: { enabled: false },
  // `redline serve --dev` has its own CA, registered by registerWebhooks: the controller must not
  // inject another caBundle into the webhook configurations.
  certs: { enabled: false },
};

export function tenantNamespace(name: string, tenant: string, plan: string, extraLabels: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name, 'redline.dev/tenant': tenant, 'redline.dev/plan': plan, ...extraLabels } },
  };
}

/**
 * No quota controller runs here: give a quota the status it would compute (all zero), else quota
 * admission refuses every object it counts ("status unknown for quota").
 */
export async function fakeQuotaStatus(admin: ApiClient, ns: string): Promise<void> {
  const q = ok(await admin.get(P.quotas(ns, 'redline-quota')), `read ${ns}/redline-quota`).body as { spec: { hard: Record<string, string> } };
  const used = Object.fromEntries(Object.keys(q.spec.hard).map((k) => [k, '0']));
  ok(await admin.put(P.quotas(ns, 'redline-quota', 'status'), { ...q, status: { hard: q.spec.hard, used } }), `status of ${ns}/redline-quota`);
}

/** Stamped by the controller: the RoleBinding and the bootstrap annotation are there. */
export async function waitStamped(admin: ApiClient, ns: string, by: ControllerProcess, timeoutMs = 15_000): Promise<void> {
  await until(`${ns} stamped by the controller`, async () => {
    const n = await admin.get(P.namespaces(ns));
    const rb = await admin.get(P.roleBindings(ns, 'redline-tenant'));
    return n.body?.metadata?.annotations?.['redline.dev/bootstrap'] && rb.status === 200;
  }, timeoutMs, 50, () => by.tail());
}

/**
 * Creates the tenant namespaces (name → [tenant, plan]) and waits until the controller stamped each;
 * fakes each quota's status as soon as it exists (the controller's own counted objects wait for it)
 * and makes the `default` ServiceAccount every Pod names (no service-account controller runs).
 */
export async function onboard(admin: ApiClient, namespaces: Record<string, [string, string]>, controller: ControllerProcess): Promise<void> {
  for (const [name, [tenant, plan]] of Object.entries(namespaces)) {
    ok(await admin.create(P.namespaces(), tenantNamespace(name, tenant, plan)), `namespace ${name}`);
  }
  await Promise.all(Object.keys(namespaces).map(async (ns) => {
    await until(`${ns}/redline-quota`, async () => (await admin.get(P.quotas(ns, 'redline-quota'))).status === 200, 15_000, 20, () => controller.tail());
    await fakeQuotaStatus(admin, ns);
    await waitStamped(admin, ns, controller);
    ok(await admin.create(P.serviceAccounts(ns), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }), `${ns}/default ServiceAccount`);
  }));
}

/**
 * The API server picks up webhook configurations and namespaces asynchronously: waits until Redline
 * judges each namespace (an over-plan Redis, dry run).
 */
export async function waitJudged(admin: ApiClient, namespaces: readonly string[], serve: ServeProcess): Promise<void> {
  for (const ns of namespaces) {
    await until(`the webhook judges ${ns}`, async () => {
      const a = await admin.create(P.kubedbRedis(ns), { apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'probe', namespace: ns }, spec: { version: '7.2.4', mode: 'Cluster', cluster: { shards: 99, replicas: 9 } } }, true);
      return a.status === 403 && a.message.includes('validate.redline.dev');
    }, 30_000, 100, () => `${serve.stderr()}\n${serve.stdout().slice(-2000)}`);
  }
}
