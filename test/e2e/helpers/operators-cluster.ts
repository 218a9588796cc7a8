// The world of the operators e2e suite: one real etcd + kube-apiserver 1.20 with the reduced
// upstream CRDs (Redis Enterprise and Spotahome included), the bundle's RBAC (rbac-tenant.yaml bound
// by a real `redline controller`, rbac-controller.yaml), the shipped webhook configurations pointed
// at a real `redline serve`, and token identities: a tenant, an operator that writes
// ReplicationControllers, and the Redis Enterprise operator's service account of one namespace.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { spawnController, startBootstrapCluster, tempDir, until, type BootstrapCluster, type ControllerProcess } from '../../bench/bootstrap-harness.js';
import { registerWebhooks, startServe, type ServeProcess } from './serve.js';
import { ApiClient, ok, P } from './isolation-http.js';
import { OP } from './operators-objects.js';

export const TENANT = 'ops';
export const TENANT_USER = 'oscar';
/** Runs ReplicationControllers (tenants cannot): a stand-in for a legacy operator or CD system. */
export const RC_OPERATOR = 'system:serviceaccount:rc-ops:rc-operator';
/** Premium allows Cluster mode (a REC is one); the other tenant's namespace is the foreign one. */
export const NS = 'ops-prem';
export const NS_STANDARD = 'ops-std';
export const FOREIGN_NS = 'globex-prem';
export const NAMESPACES: Record<string, [string, string]> = {
  [NS]: [TENANT, 'premium'],
  [NS_STANDARD]: [TENANT, 'standard'],
  [FOREIGN_NS]: ['globex', 'premium'],
};
/** The Redis Enterprise operator's account in NS, as the bundle creates it. */
export const RE_OPERATOR = `system:serviceaccount:${NS}:redis-enterprise-operator`;

export const CONTROLLER_CONFIG = {
  resyncMs: 30_000,
  retry: { initialMs: 50, maxMs: 1_000 },
  informerBackoff: { initialMs: 100, maxMs: 1_000 },
  leaderElection: { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 300 },
  network: { apiServerCidrs: ['192.0.2.10'], apiServerPorts: [6443] },
  certManager: { enabled: false },
  certs: { enabled: false },
};

export interface OperatorsCluster {
  cluster: BootstrapCluster;
  admin: ApiClient;
  tenant: ApiClient;
  rcOperator: ApiClient;
  reOperator: ApiClient;
  serve: ServeProcess;
  controller: ControllerProcess;
  stop(): Promise<void>;
}

const RC_OPERATOR_ROLE = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name: 'e2e-rc-operator' },
  rules: [{ apiGroups: [''], resources: ['replicationcontrollers', 'pods', 'secrets'], verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] }],
};

/** The namespaced Role of the Redis Enterprise operator bundle (abridged to what the suite needs). */
const RE_OPERATOR_ROLE = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'Role',
  metadata: { name: 'redis-enterprise-operator', labels: { app: 'redis-enterprise' } },
  rules: [
    { apiGroups: ['app.redislabs.com'], resources: ['*'], verbs: ['*'] },
    { apiGroups: [''], resources: ['secrets', 'services', 'configmaps'], verbs: ['*'] },
    { apiGroups: ['apps'], resources: ['deployments', 'statefulsets'], verbs: ['*'] },
  ],
};

function tenantNamespace(name: string, tenant: string, plan: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name, 'redline.dev/tenant': tenant, 'redline.dev/plan': plan } },
  };
}

/** No quota controller runs: give the quota the all-zero status it would compute, or quota admission refuses every counted object. */
async function fakeQuotaStatus(admin: ApiClient, ns: string): Promise<void> {
  const q = ok(await admin.get(P.quotas(ns, 'redline-quota')), `read ${ns}/redline-quota`).body as { spec: { hard: Record<string, string> } };
  const used = Object.fromEntries(Object.keys(q.spec.hard).map((k) => [k, '0']));
  ok(await admin.put(P.quotas(ns, 'redline-quota', 'status'), { ...q, status: { hard: q.spec.hard, used } }), `status of ${ns}/redline-quota`);
}

export async function startOperatorsCluster(): Promise<OperatorsCluster> {
  const users = [
    { name: TENANT_USER, token: randomBytes(16).toString('hex'), groups: [`redline:tenant:${TENANT}`] },
    { name: RC_OPERATOR, token: randomBytes(16).toString('hex'), groups: ['system:serviceaccounts', 'system:serviceaccounts:rc-ops'] },
    { name: RE_OPERATOR, token: randomBytes(16).toString('hex'), groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`] },
  ];
  const cluster = await startBootstrapCluster(users);
  const { cp } = cluster;
  const clients: ApiClient[] = [];
  const client = (user: string): ApiClient => {
    const c = new ApiClient(user, cp.url, cp.users[user]!.token, cp.caPem);
    clients.push(c);
    return c;
  };
  const dir = tempDir('redline-operators-e2e-');
  let serve: ServeProcess | undefined;
  let controller: ControllerProcess | undefined;
  const stop = async (): Promise<void> => {
    await controller?.stop('SIGTERM');
    await serve?.stop();
    for (const c of clients) c.close();
    cluster.admin.close();
    await cp.stop();
    if (process.env.REDLINE_KEEP_E2E !== '1') fs.rmSync(dir, { recursive: true, force: true });
    else console.log(`[operators e2e] controller logs kept in ${dir}`);
  };
  try {
    const admin = client('admin');
    ok(await admin.create(P.clusterRoles(), RC_OPERATOR_ROLE), 'rc operator ClusterRole');
    ok(await admin.create(P.clusterRoleBindings(), {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'e2e-rc-operator' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'e2e-rc-operator' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: RC_OPERATOR }],
    }), 'rc operator binding');

    serve = await startServe({ kubeconfig: cp.adminKubeconfig });
    await registerWebhooks(cp.adminKubeconfig, serve);
    controller = await spawnController({ kubeconfig: cluster.controllerKubeconfig, identity: 'ctrl-operators', config: CONTROLLER_CONFIG, dir });
    await controller.waitReady();
    const ctl = controller;

    for (const [name, [tenant, plan]] of Object.entries(NAMESPACES)) {
      ok(await admin.create(P.namespaces(), tenantNamespace(name, tenant, plan)), `namespace ${name}`);
    }
    await Promise.all(Object.keys(NAMESPACES).map(async (ns) => {
      await until(`${ns}/redline-quota`, async () => (await admin.get(P.quotas(ns, 'redline-quota'))).status === 200, 15_000, 20, () => ctl.tail());
      await fakeQuotaStatus(admin, ns);
      await until(`${ns} stamped by the controller`, async () => {
        const n = await admin.get(P.namespaces(ns));
        const rb = await admin.get(P.roleBindings(ns, 'redline-tenant'));
        return n.body?.metadata?.annotations?.['redline.dev/bootstrap'] && rb.status === 200;
      }, 15_000, 50, () => ctl.tail());
      ok(await admin.create(P.serviceAccounts(ns), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }), `${ns}/default ServiceAccount`);
    }));

    // The platform installs the Redis Enterprise operator bundle into NS (the tenant cannot: no RBAC,
    // no Deployments): its ServiceAccount, Role and RoleBinding here; the suite creates its Deployment.
    ok(await admin.create(OP.serviceAccounts(NS), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'redis-enterprise-operator', labels: { app: 'redis-enterprise' } } }), 'RE operator ServiceAccount');
    ok(await admin.create(OP.roles(NS), RE_OPERATOR_ROLE), 'RE operator Role');
    ok(await admin.create(P.roleBindings(NS), {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'redis-enterprise-operator', labels: { app: 'redis-enterprise' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'redis-enterprise-operator' },
      subjects: [{ kind: 'ServiceAccount', name: 'redis-enterprise-operator', namespace: NS }],
    }), 'RE operator RoleBinding');

    // The API server picks up webhook configurations asynchronously: wait until Redline judges
    // every namespace (an over-plan KubeDB Redis, dry run).
    for (const ns of Object.keys(NAMESPACES)) {
      await until(`the webhook judges ${ns}`, async () => {
        const a = await admin.create(P.kubedbRedis(ns), { apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'probe', namespace: ns }, spec: { version: '7.2.4', mode: 'Cluster', cluster: { shards: 99, replicas: 9 } } }, true);
        return a.status === 403 && a.message.includes('validate.redline.dev');
      }, 30_000, 100, () => `${serve!.stderr()}\n${serve!.stdout().slice(-2000)}`);
    }
    return {
      cluster, admin, serve, controller,
      tenant: client(TENANT_USER),
      rcOperator: client(RC_OPERATOR),
      reOperator: client(RE_OPERATOR),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
