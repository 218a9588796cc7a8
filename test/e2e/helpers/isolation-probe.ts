// Offboarding race probe: while an admin removes a namespace's tenant label, the tenant keeps
// trying to write an object over its plan (dry run, so nothing is stored). Every answer must be a
// refusal — by the webhook while the namespace is enforced, by RBAC once the RoleBinding is gone —
// never an admission: access must end no later than enforcement does.
import { until } from '../../helpers/wait.js';
import { type Answer, type ApiClient, P } from './isolation-http.js';

export type Verdict = 'webhook' | 'rbac' | 'admitted' | 'other';

export interface ProbeResult {
  counts: Record<Verdict, number>;
  /** The first answer of each verdict, for the failure message. */
  first: Partial<Record<Verdict, string>>;
  /** Index of the first RBAC refusal and of the last webhook refusal. */
  firstRbac: number;
  lastWebhook: number;
  total: number;
}

export function verdictOf(a: Answer): Verdict {
  if (a.status >= 200 && a.status < 300) return 'admitted';
  if (a.status === 403 && a.message.includes('admission webhook')) return 'webhook';
  if (a.status === 403 && /cannot create resource/.test(a.message)) return 'rbac';
  return 'other';
}

/** A KubeDB Redis in Cluster mode: over the standard plan, so only enforcement stops it. */
export function overPlanRedis(ns: string): Record<string, unknown> {
  return {
    apiVersion: 'kubedb.com/v1',
    kind: 'Redis',
    metadata: { name: 'over-plan', namespace: ns },
    spec: { version: '7.2.4', mode: 'Cluster', cluster: { shards: 9, replicas: 3 }, storageType: 'Ephemeral', deletionPolicy: 'WipeOut' },
  };
}

/**
 * Probes `ns` as `tenant` until it saw some webhook refusals, then calls `offboard()`, and keeps
 * probing until the namespace carries no `redline.dev/managed` label (enforcement ended) and a few
 * RBAC refusals came after that.
 */
export async function probeOffboarding(opts: {
  tenant: ApiClient;
  admin: ApiClient;
  ns: string;
  offboard: () => Promise<void>;
  timeoutMs: number;
  detail: () => string;
}): Promise<ProbeResult> {
  const { tenant, admin, ns } = opts;
  const result: ProbeResult = { counts: { webhook: 0, rbac: 0, admitted: 0, other: 0 }, first: {}, firstRbac: -1, lastWebhook: -1, total: 0 };
  let stop = false;
  const record = (a: Answer): void => {
    const v = verdictOf(a);
    result.counts[v]++;
    result.first[v] ??= `HTTP ${a.status}: ${a.message || JSON.stringify(a.body).slice(0, 300)}`;
    if (v === 'rbac' && result.firstRbac < 0) result.firstRbac = result.total;
    if (v === 'webhook') result.lastWebhook = result.total;
    result.total++;
  };
  const loop = (async () => {
    while (!stop) record(await tenant.create(P.kubedbRedis(ns), overPlanRedis(ns), true));
  })();
  try {
    await until(`webhook refusals in ${ns} before offboarding`, () => result.counts.webhook >= 3, 10_000, 10, opts.detail);
    await opts.offboard();
    await until(`${ns} no longer enforced (redline.dev/managed removed)`, async () => {
      const n = await admin.get(P.namespaces(ns));
      return n.status === 200 && n.body.metadata.labels?.['redline.dev/managed'] === undefined;
    }, opts.timeoutMs, 20, opts.detail);
    const rbacBefore = result.counts.rbac;
    await until(`RBAC refusals in ${ns} after enforcement ended`, () => result.counts.rbac >= rbacBefore + 5, opts.timeoutMs, 10, opts.detail);
  } finally {
    stop = true;
    await loop;
  }
  return result;
}
