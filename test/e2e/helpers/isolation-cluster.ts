// The world of the isolation e2e suite: one real etcd + kube-apiserver 1.20 with the bundle's RBAC
// (rbac-tenant.yaml, rbac-controller.yaml), the shipped webhook configurations pointed at a real
// `redline serve`, a real `redline controller` running as its service account, and token identities
// for a tenant, the two Redis operators and a non-admin operator of namespaces.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { spawnController, startBootstrapCluster, tempDir, type BootstrapCluster, type ControllerProcess } from '../../bench/bootstrap-harness.js';
import { registerWebhooks, startServe, type ServeProcess } from './serve.js';
import { ApiClient, ok, P } from './isolation-http.js';
import { CONTROLLER_CONFIG, onboard, waitJudged, waitStamped as waitStampedBy } from './tenant-namespaces.js';

export { CONTROLLER_CONFIG, fakeQuotaStatus, tenantNamespace } from './tenant-namespaces.js';

export const TENANT = 'acme';
export const TENANT_USER = 'alice';
export const KUBEDB_OPERATOR = 'system:serviceaccount:kubedb:kubedb-operator';
export const OT_OPERATOR = 'system:serviceaccount:ot-operators:ot-operator';
/** Not a Redline admin, but RBAC lets it create namespaces and update their status/finalizers. */
export const NS_EDITOR = 'ops-intern';


/** Tenant namespaces made at start: name → [tenant, plan]. */
export const TENANT_NAMESPACES: Record<string, [string, string]> = {
  'acme-prod': [TENANT, 'standard'],
  'acme-free': [TENANT, 'free'],
  'acme-leaving': [TENANT, 'standard'],
  'acme-orphan': [TENANT, 'standard'],
  'globex-prod': ['globex', 'standard'],
};

export interface IsolationCluster {
  cluster: BootstrapCluster;
  dir: string;
  admin: ApiClient;
  tenant: ApiClient;
  kubedb: ApiClient;
  ot: ApiClient;
  nsEditor: ApiClient;
  serve: ServeProcess;
  controller: ControllerProcess;
  /** Every controller started (the main one first); stop() stops them all. */
  controllers: ControllerProcess[];
  client(user: string): ApiClient;
  startController(identity: string, config: Record<string, unknown>): Promise<ControllerProcess>;
  /** Stamped by the controller: the RoleBinding and the bootstrap annotation are there. */
  waitStamped(ns: string, timeoutMs?: number, by?: ControllerProcess): Promise<void>;
  stop(): Promise<void>;
}

const OPERATOR_ROLE = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name: 'e2e-redis-operator' },
  rules: [
    { apiGroups: ['apps'], resources: ['statefulsets', 'deployments'], verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] },
    { apiGroups: ['apps.k8s.appscode.com'], resources: ['petsets'], verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] },
    { apiGroups: [''], resources: ['pods', 'secrets', 'services'], verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] },
    { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] },
  ],
};

const NS_EDITOR_ROLE = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name: 'e2e-namespace-editor' },
  rules: [
    { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'create', 'update', 'patch'] },
    { apiGroups: [''], resources: ['namespaces/status'], verbs: ['get', 'update', 'patch'] },
    { apiGroups: [''], resources: ['namespaces/finalize'], verbs: ['update'] },
  ],
};

function binding(name: string, role: string, users: string[]): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: users.map((u) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: u })),
  };
}

export async function startIsolationCluster(): Promise<IsolationCluster> {
  const users = [
    { name: TENANT_USER, token: randomBytes(16).toString('hex'), groups: [`redline:tenant:${TENANT}`] },
    { name: KUBEDB_OPERATOR, token: randomBytes(16).toString('hex'), groups: ['system:serviceaccounts', 'system:serviceaccounts:kubedb'] },
    { name: OT_OPERATOR, token: randomBytes(16).toString('hex'), groups: ['system:serviceaccounts', 'system:serviceaccounts:ot-operators'] },
    { name: NS_EDITOR, token: randomBytes(16).toString('hex'), groups: ['ops'] },
  ];
  const cluster = await startBootstrapCluster(users);
  const { cp } = cluster;
  const clients: ApiClient[] = [];
  const client = (user: string): ApiClient => {
    const c = new ApiClient(user, cp.url, cp.users[user]!.token, cp.caPem);
    clients.push(c);
    return c;
  };
  const dir = tempDir('redline-isolation-e2e-');
  const controllers: ControllerProcess[] = [];
  let serve: ServeProcess | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all(controllers.map((c) => c.stop('SIGTERM')));
    await serve?.stop();
    for (const c of clients) c.close();
    cluster.admin.close();
    await cp.stop();
    if (process.env.REDLINE_KEEP_E2E !== '1') fs.rmSync(dir, { recursive: true, force: true });
    else console.log(`[isolation e2e] controller logs kept in ${dir}`);
  };
  try {
    const admin = client('admin');
    ok(await admin.create(P.clusterRoles(), OPERATOR_ROLE), 'operator ClusterRole');
    ok(await admin.create(P.clusterRoleBindings(), binding('e2e-redis-operators', 'e2e-redis-operator', [KUBEDB_OPERATOR, OT_OPERATOR])), 'operator binding');
    ok(await admin.create(P.clusterRoles(), NS_EDITOR_ROLE), 'namespace editor ClusterRole');
    ok(await admin.create(P.clusterRoleBindings(), binding('e2e-namespace-editor', 'e2e-namespace-editor', [NS_EDITOR])), 'namespace editor binding');

    // No ledger here: tenant acme spans namespaces on two plans (free and standard), which the
    // label-only path allows and the ledger's totals (one plan per tenant) would refuse; the ledger
    // has its own suite (ledger.e2e.test.ts).
    serve = await startServe({ kubeconfig: cp.adminKubeconfig, args: ['--no-ledger'] });
    await registerWebhooks(cp.adminKubeconfig, serve);

    const startController = async (identity: string, config: Record<string, unknown>): Promise<ControllerProcess> => {
      const c = await spawnController({ kubeconfig: cluster.controllerKubeconfig, identity, config, dir });
      controllers.push(c);
      return c;
    };
    const controller = await startController('ctrl-main', CONTROLLER_CONFIG);
    await controller.waitReady();

    const waitStamped = (ns: string, timeoutMs = 15_000, by: ControllerProcess = controller): Promise<void> =>
      waitStampedBy(admin, ns, by, timeoutMs);
    await onboard(admin, TENANT_NAMESPACES, controller);
    await waitJudged(admin, Object.keys(TENANT_NAMESPACES), serve);

    return {
      cluster, dir, admin, serve, controller, controllers, client, startController, waitStamped, stop,
      tenant: client(TENANT_USER),
      kubedb: client(KUBEDB_OPERATOR),
      ot: client(OT_OPERATOR),
      nsEditor: client(NS_EDITOR),
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
