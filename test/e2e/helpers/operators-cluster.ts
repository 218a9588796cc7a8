// The world of the operators e2e suite: one real etcd + kube-apiserver 1.20 with the reduced
// upstream CRDs (Redis Enterprise and Spotahome included), the bundle's RBAC (rbac-tenant.yaml bound
// by a real `redline controller`, rbac-controller.yaml), the shipped webhook configurations pointed
// at a real `redline serve`, and token identities: a tenant, an operator that writes
// ReplicationControllers, and the Redis Enterprise operator's service account of one namespace.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { spawnController, startBootstrapCluster, tempDir, type BootstrapCluster, type ControllerProcess } from '../../bench/bootstrap-harness.js';
import { registerWebhooks, startServe, type ServeProcess } from './serve.js';
import { ApiClient, ok, P } from './isolation-http.js';
import { OP } from './operators-objects.js';
import { CONTROLLER_CONFIG, onboard, waitJudged } from './tenant-namespaces.js';

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

    // No ledger here: tenant ops spans a premium and a standard namespace (see isolation-cluster.ts).
    serve = await startServe({ kubeconfig: cp.adminKubeconfig, args: ['--no-ledger'] });
    await registerWebhooks(cp.adminKubeconfig, serve);
    controller = await spawnController({ kubeconfig: cluster.controllerKubeconfig, identity: 'ctrl-operators', config: CONTROLLER_CONFIG, dir });
    await controller.waitReady();
    await onboard(admin, NAMESPACES, controller);

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

    await waitJudged(admin, Object.keys(NAMESPACES), serve);
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
