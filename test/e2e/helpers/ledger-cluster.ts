// The world of the ledger e2e suite and bench:ledger: a real etcd + kube-apiserver 1.20 with the
// operators' CRDs and the bundle's RBAC (tenant and webhook roles, the ledger namespace), two real
// `redline serve` replicas running as the webhook's service account behind one address (a
// round-robin TCP proxy, as a Service spreads connections), the shipped webhook configurations
// pointed at that address, and a tenant "acme" with two namespaces whose plan sells 10Gi of Redis
// memory across them (a copy of the shipped library with tenantTotals set for the test; plan
// "small" is the same plan selling 4Gi, for downgrades).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { applyManifests, ROOT, startBootstrapCluster, tempDir, type BootstrapCluster } from '../../bench/bootstrap-harness.js';
import { ApiClient, ok, P } from './isolation-http.js';
import { kubedbRedis } from './isolation-objects.js';
import { roundRobin, type RoundRobin } from './round-robin.js';
import { registerWebhooks, startServe, type ServeProcess } from './serve.js';
import { tenantNamespace, waitJudged } from './tenant-namespaces.js';

export const TENANT = 'acme';
export const NAMESPACES = ['acme-a', 'acme-b'] as const;
export const WEBHOOK_USER = 'system:serviceaccount:redline-system:redline-webhook';
export const TENANT_USERS = ['alice', 'bob'];
export const RESERVATION_TTL_MS = 3_000;

export const TOTALS = { memory: '10Gi', cpu: '100', storage: '1000Gi', pods: 100, instances: 100, namespaces: 2 };

export interface LedgerCluster {
  cluster: BootstrapCluster;
  admin: ApiClient;
  /** Several tenant clients (two users, separate connections). */
  tenants: ApiClient[];
  replicas: ServeProcess[];
  proxy: RoundRobin;
  libraryDir: string;
  stop(): Promise<void>;
}

/**
 * The shipped library with `totals` as standard's tenantTotals, plan "small": the same selling 4Gi
 * of memory, and plan "unmetered": the same without tenantTotals (the ledger never writes for it).
 */
export function testLibrary(dir: string, totals: Record<string, string | number> = TOTALS): string {
  const lib = path.join(dir, 'library');
  fs.cpSync(path.join(ROOT, 'policies', 'library', 'policies'), path.join(lib, 'policies'), { recursive: true });
  fs.mkdirSync(path.join(lib, 'plans'), { recursive: true });
  for (const f of fs.readdirSync(path.join(ROOT, 'policies', 'library', 'plans'))) {
    fs.copyFileSync(path.join(ROOT, 'policies', 'library', 'plans', f), path.join(lib, 'plans', f));
  }
  const standard = YAML.parse(fs.readFileSync(path.join(lib, 'plans', 'standard.yaml'), 'utf8'));
  standard.spec.tenantTotals = totals;
  fs.writeFileSync(path.join(lib, 'plans', 'standard.yaml'), YAML.stringify(standard));
  const small = { ...standard, metadata: { name: 'small' }, spec: { ...standard.spec, tenantTotals: { ...totals, memory: '4Gi' } } };
  fs.writeFileSync(path.join(lib, 'plans', 'small.yaml'), YAML.stringify(small));
  const { tenantTotals: _, ...unmetered } = standard.spec;
  fs.writeFileSync(path.join(lib, 'plans', 'unmetered.yaml'), YAML.stringify({ ...standard, metadata: { name: 'unmetered' }, spec: unmetered }));
  return lib;
}

/** A compliant KubeDB standalone Redis of the standard plan with this memory limit. */
export function redis(ns: string, name: string, memory = '1Gi', labels: Record<string, string> = {}): Record<string, unknown> {
  return kubedbRedis(ns, name, {
    metadata: { labels },
    spec: { authSecret: { name: `${name}-auth` }, podTemplate: { spec: { containers: [{ name: 'redis', resources: { limits: { memory, cpu: '500m' } } }] } } },
  });
}

/** A tenant namespace with the tenant's role bound in it, as the controller would stamp it. */
export async function tenantNamespaceWithRole(admin: ApiClient, ns: string, tenant: string, plan: string): Promise<void> {
  ok(await admin.create(P.namespaces(), tenantNamespace(ns, tenant, plan)), ns);
  ok(await admin.create(P.roleBindings(ns), {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'redline-tenant' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'redline-tenant' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: `redline:tenant:${tenant}` }],
  }), `${ns} tenant binding`);
}

export async function startLedgerCluster(opts: { replicas?: number; ttlMs?: number; totals?: Record<string, string | number> } = {}): Promise<LedgerCluster> {
  const users = [
    { name: WEBHOOK_USER, token: randomBytes(16).toString('hex'), groups: ['system:serviceaccounts', 'system:serviceaccounts:redline-system'] },
    ...TENANT_USERS.map((name) => ({ name, token: randomBytes(16).toString('hex'), groups: [`redline:tenant:${TENANT}`] })),
  ];
  const cluster = await startBootstrapCluster(users);
  const { cp } = cluster;
  const dir = tempDir('redline-ledger-e2e-');
  const clients: ApiClient[] = [];
  const client = (user: string): ApiClient => {
    const c = new ApiClient(user, cp.url, cp.users[user]!.token, cp.caPem);
    clients.push(c);
    return c;
  };
  const replicas: ServeProcess[] = [];
  let proxy: RoundRobin | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all(replicas.map((r) => r.stop()));
    await proxy?.close();
    for (const c of clients) c.close();
    cluster.admin.close();
    await cp.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const admin = client('admin');
    // serve's RBAC as the bundle ships it (the bootstrap cluster made the ledger namespace).
    await applyManifests(cluster.admin, path.join(ROOT, 'manifests', 'base', 'rbac-webhook.yaml'));
    for (const ns of NAMESPACES) await tenantNamespaceWithRole(admin, ns, TENANT, 'standard');
    const libraryDir = testLibrary(dir, opts.totals);
    const devCertDir = path.join(dir, 'dev');
    // One after the other: the first makes the CA and certificate in devCertDir, the others reuse them.
    for (let i = 0; i < (opts.replicas ?? 2); i++) {
      replicas.push(await startServe({
        kubeconfig: cp.kubeconfigFor(WEBHOOK_USER),
        devCertDir,
        args: ['--policies', libraryDir, '--ledger-reservation-ttl-ms', String(opts.ttlMs ?? RESERVATION_TTL_MS)],
      }));
    }
    proxy = await roundRobin(replicas.map((r) => r.port));
    await registerWebhooks(cp.adminKubeconfig, { ...replicas[0]!, port: proxy.port });
    await waitJudged(admin, [...NAMESPACES], replicas[0]!);
    const tenants = [client('alice'), client('alice'), client('alice'), client('bob'), client('bob')];
    return { cluster, admin, tenants, replicas, proxy, libraryDir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
