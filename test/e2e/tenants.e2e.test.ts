// Tenant objects against the real kube-apiserver 1.20 with the bundle's CRD and RBAC, a real
// `redline serve` behind the shipped webhook configurations and a real `redline controller` as its
// service account. The library is the shipped one plus a plan "teams" (standard with the
// multi-namespace settings on), given to both processes as a directory.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum, ROOT, spawnController, startBootstrapCluster, tempDir, until, type BootstrapCluster, type ControllerProcess } from '../bench/bootstrap-harness.js';
import { probeOffboarding } from './helpers/isolation-probe.js';
import { ApiClient, ok, P, path as apiPath } from './helpers/isolation-http.js';
import { kubedbRedis } from './helpers/isolation-objects.js';
import { registerWebhooks, startServe, type ServeProcess } from './helpers/serve.js';
import { CONTROLLER_CONFIG, fakeQuotaStatus } from './helpers/tenant-namespaces.js';

const TENANT_USER = 'alice';
const OTHER_USER = 'bob';
const tenants = (name?: string, sub?: string): string => apiPath('redline.dev/v1alpha1', 'tenants', undefined, name, sub);
const netpols = (ns: string, name?: string): string => apiPath('networking.k8s.io/v1', 'networkpolicies', ns, name);

let cluster: BootstrapCluster;
let dir: string;
let serve: ServeProcess;
let controller: ControllerProcess;
let admin: ApiClient;
let alice: ApiClient;
let bob: ApiClient;
const clients: ApiClient[] = [];

/** The shipped library plus plans/teams.yaml: standard with traffic between namespaces and a naming pattern. */
function libraryWithTeamsPlan(into: string): string {
  const lib = path.join(into, 'library');
  fs.cpSync(path.join(ROOT, 'policies', 'library'), lib, { recursive: true });
  const standard = YAML.parse(fs.readFileSync(path.join(lib, 'plans', 'standard.yaml'), 'utf8')) as { metadata: { name: string }; spec: Record<string, unknown> };
  standard.metadata.name = 'teams';
  standard.spec['tenancy'] = { allowTrafficBetweenNamespaces: true, namespacePattern: '{tenant}-(dev|staging|prod)' };
  fs.writeFileSync(path.join(lib, 'plans', 'teams.yaml'), YAML.stringify(standard));
  return lib;
}

const detail = (): string => `${controller?.tail() ?? ''}\n${serve?.stderr() ?? ''}`;

async function tenant(name: string): Promise<any> {
  return ok(await admin.get(tenants(name)), `Tenant ${name}`).body;
}

async function nsLabels(name: string): Promise<Record<string, string>> {
  return ok(await admin.get(P.namespaces(name)), `namespace ${name}`).body.metadata.labels ?? {};
}

async function readyOf(name: string): Promise<any> {
  return (await tenant(name)).status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
}

/** Until the Tenant's status says Ready=True for `generation` with `plan`. */
async function waitReady(name: string, plan: string, timeoutMs = 15_000): Promise<any> {
  let last: unknown;
  return until(`Tenant ${name} Ready on plan ${plan}`, async () => {
    const t = await tenant(name);
    last = { metadata: { generation: t.metadata.generation }, status: t.status };
    const ready = t.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
    return t.status?.plan === plan && ready?.status === 'True' && ready.observedGeneration === t.metadata.generation && t.status.observedGeneration === t.metadata.generation ? t : undefined;
  }, timeoutMs, 50, () => `last seen: ${JSON.stringify(last)}\n${detail()}`);
}

/** A dry-run KubeDB Redis over every plan: the webhook's denial names the plan it judged against. */
async function judgedPlan(ns: string): Promise<string> {
  const a = await admin.create(P.kubedbRedis(ns), { apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'probe', namespace: ns }, spec: { version: '7.2.4', mode: 'Cluster', cluster: { shards: 99, replicas: 9 } } }, true);
  if (a.status !== 403 || !a.message.includes('validate.redline.dev')) return '';
  return /is not in plan ([a-z0-9-]+)/.exec(a.message)?.[1] ?? '';
}

/** GET as a meta.k8s.io Table, what kubectl asks for to print columns. */
function getTable(resource: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(`${cluster.cp.url}${resource}`), {
      headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io', Authorization: `Bearer ${cluster.cp.users['admin']!.token}` },
      ca: cluster.cp.caPem,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
    req.end();
  });
}

async function hardQuota(ns: string): Promise<Record<string, string>> {
  return ok(await admin.get(P.quotas(ns, 'redline-quota')), `${ns}/redline-quota`).body.spec.hard;
}

describe('Tenant objects (real kube-apiserver, serve and controller)', () => {
  beforeAll(async () => {
    cluster = await startBootstrapCluster([
      { name: TENANT_USER, token: randomBytes(16).toString('hex'), groups: ['redline:tenant:acme'] },
      { name: OTHER_USER, token: randomBytes(16).toString('hex'), groups: [] },
    ]);
    const { cp } = cluster;
    const client = (user: string): ApiClient => {
      const c = new ApiClient(user, cp.url, cp.users[user]!.token, cp.caPem);
      clients.push(c);
      return c;
    };
    admin = client('admin');
    alice = client(TENANT_USER);
    bob = client(OTHER_USER);
    dir = tempDir('redline-tenants-e2e-');
    const library = libraryWithTeamsPlan(dir);
    serve = await startServe({ kubeconfig: cp.adminKubeconfig, args: ['--policies', library] });
    await registerWebhooks(cp.adminKubeconfig, serve);
    controller = await spawnController({ kubeconfig: cluster.controllerKubeconfig, identity: 'ctrl-tenants', config: { ...CONTROLLER_CONFIG, policiesDir: library }, dir });
    await controller.waitReady();
  }, 180_000);

  afterAll(async () => {
    await controller?.stop('SIGTERM');
    await serve?.stop();
    for (const c of clients) c.close();
    cluster?.admin.close();
    await cluster?.cp.stop();
    if (dir && process.env.REDLINE_KEEP_E2E !== '1') fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('the API server takes the bundle\'s CRD: a tenant id must be a DNS label, spec.plan is required, a ServiceAccount subject needs its namespace', async () => {
    const bad: [string, Record<string, unknown>, RegExp][] = [
      ['Acme', { plan: 'free' }, /metadata.name/],
      ['acme.corp', { plan: 'free' }, /metadata.name/],
      ['no-plan', {}, /spec.plan: Required value/],
      ['sa', { plan: 'free', subjects: [{ kind: 'ServiceAccount', name: 'deployer' }] }, /spec.subjects.namespace: Required value/],
      ['user-ns', { plan: 'free', subjects: [{ kind: 'User', name: 'u', namespace: 'x' }] }, /oneOf/],
      ['kind', { plan: 'free', subjects: [{ kind: 'Role', name: 'r' }] }, /spec.subjects.kind: Unsupported value/],
    ];
    for (const [name, spec, why] of bad) {
      const a = await admin.create(tenants(), { apiVersion: 'redline.dev/v1alpha1', kind: 'Tenant', metadata: { name }, spec });
      expect(a.status, name).toBe(422);
      expect(a.message, name).toMatch(why);
    }
    // The shipped example is valid.
    const example = YAML.parseAllDocuments(fs.readFileSync(path.join(ROOT, 'manifests', 'examples', 'tenant.yaml'), 'utf8')).map((d) => d.toJS()).find((o) => o.kind === 'Tenant');
    expect((await admin.create(tenants(), example, true)).status).toBe(201);
    // The printer columns, as `kubectl get tenants` asks for them (a Table).
    const asTable = await getTable(tenants());
    expect(asTable.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Plan', 'Namespaces', 'Memory Used', 'Memory Entitled', 'Ready', 'Age']);
  });

  it('a Tenant\'s namespaces are stamped with its plan; status lists them, Ready with observedGeneration, the finalizer held', async () => {
    ok(await admin.create(tenants(), { apiVersion: 'redline.dev/v1alpha1', kind: 'Tenant', metadata: { name: 'acme' }, spec: { plan: 'free' } }), 'Tenant acme');
    for (const ns of ['acme-dev', 'acme-prod', 'acme-legacy']) {
      // Only the tenant label: the plan comes from the Tenant.
      ok(await admin.create(P.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns, 'redline.dev/tenant': 'acme' } } }), ns);
    }
    for (const ns of ['acme-dev', 'acme-prod', 'acme-legacy']) {
      await until(`${ns} stamped with plan free`, async () => (await nsLabels(ns))['redline.dev/plan'] === 'free', 15_000, 50, detail);
      await until(`${ns}/redline-quota`, async () => (await admin.get(P.quotas(ns, 'redline-quota'))).status === 200, 15_000, 50, detail);
      await fakeQuotaStatus(admin, ns);
    }
    const t = await waitReady('acme', 'free');
    expect(t.metadata.finalizers).toEqual(['redline.dev/offboard-namespaces']);
    expect(t.status).toMatchObject({ observedGeneration: 1, plan: 'free', namespaces: ['acme-dev', 'acme-legacy', 'acme-prod'], namespaceCount: 3 });
    expect(t.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toEqual({ type: 'Ready', status: 'True', reason: 'Stamped', message: '3 namespaces stamped with plan free', observedGeneration: 1, lastTransitionTime: expect.any(String) });
    // Three namespaces (an admin labelled them) on a plan that sells one: the ledger says so.
    const over = await until('OverEntitlement on acme', async () => (await tenant('acme')).status.conditions.find((c: { type: string }) => c.type === 'OverEntitlement'), 15_000, 50, detail);
    expect(over).toMatchObject({ status: 'True', reason: 'OverEntitlement', message: 'namespaces 3 used > 1 in plan free', observedGeneration: 1 });
    // The tenant's default subjects: the group redline:tenant:acme.
    const rb = ok(await admin.get(P.roleBindings('acme-dev', 'redline-tenant')), 'RoleBinding').body;
    expect(rb.subjects).toEqual([{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'redline:tenant:acme' }]);
    await until('the webhook judges acme-dev against free', async () => (await judgedPlan('acme-dev')) === 'free', 30_000, 100, detail);
  });

  it('status is written only when it changes: a resync leaves the Tenant\'s resourceVersion alone', async () => {
    const before = (await tenant('acme')).metadata.resourceVersion;
    const unchanged = async (): Promise<number> => metricSum(await controller.metrics(), 'redline_controller_reconciles_total', { result: 'tenant_unchanged' });
    const seen = await unchanged();
    // Touch the namespaces (an annotation): their reconciles and the Tenant's run again.
    for (const ns of ['acme-dev', 'acme-prod']) ok(await admin.patch(P.namespaces(ns), { metadata: { annotations: { touched: String(Date.now()) } } }), ns);
    await until('the Tenant reconciled again', async () => (await unchanged()) > seen, 10_000, 50, detail);
    expect((await tenant('acme')).metadata.resourceVersion).toBe(before);
  });

  it('a plan change on the Tenant moves every namespace\'s label, quota and the webhook\'s judgement', async () => {
    const freeHard = await hardQuota('acme-dev');
    ok(await admin.patch(tenants('acme'), { spec: { plan: 'standard' } }), 'Tenant acme → standard');
    const t = await waitReady('acme', 'standard');
    expect(t.status.observedGeneration).toBe(2);
    for (const ns of ['acme-dev', 'acme-prod', 'acme-legacy']) {
      expect((await nsLabels(ns))['redline.dev/plan'], ns).toBe('standard');
      const hard = await hardQuota(ns);
      expect(hard, ns).not.toEqual(freeHard);
      await fakeQuotaStatus(admin, ns);
    }
    for (const ns of ['acme-dev', 'acme-prod']) {
      await until(`the webhook judges ${ns} against standard`, async () => (await judgedPlan(ns)) === 'standard', 30_000, 100, detail);
    }
  });

  it('a plan the library does not have: Ready=False UnknownPlan, nothing changed', async () => {
    ok(await admin.patch(tenants('acme'), { spec: { plan: 'gold' } }), 'Tenant acme → gold');
    const ready = await until('UnknownPlan', async () => {
      const r = await readyOf('acme');
      return r?.reason === 'UnknownPlan' && r.observedGeneration === 3 ? r : undefined;
    }, 15_000, 50, detail);
    expect(ready).toMatchObject({ status: 'False', message: expect.stringContaining('plan "gold" is not in the plan library') });
    expect((await tenant('acme')).status.plan).toBe('standard');
    for (const ns of ['acme-dev', 'acme-prod']) expect((await nsLabels(ns))['redline.dev/plan']).toBe('standard');
    ok(await admin.patch(tenants('acme'), { spec: { plan: 'standard' } }), 'Tenant acme → standard');
    await waitReady('acme', 'standard');
  });

  it('the tenant can neither touch Tenants nor relabel its namespaces', async () => {
    for (const a of [
      await alice.get(tenants('acme')),
      await alice.get(tenants()),
      await alice.patch(tenants('acme'), { spec: { plan: 'premium' } }),
      await alice.patch(tenants('acme', 'status'), { status: { plan: 'premium' } }),
      await alice.delete(tenants('acme')),
      await alice.create(tenants(), { apiVersion: 'redline.dev/v1alpha1', kind: 'Tenant', metadata: { name: 'alice' }, spec: { plan: 'premium' } }),
      await alice.patch(P.namespaces('acme-dev'), { metadata: { labels: { 'redline.dev/plan': 'premium' } } }),
    ]) expect(a.status, a.message).toBe(403);
    // while it does have its namespace access
    expect((await alice.get(P.kubedbRedis('acme-dev'))).status).toBe(200);
  });

  it('spec.subjects replace the default group in every namespace\'s RoleBindings', async () => {
    ok(await admin.patch(tenants('acme'), { spec: { subjects: [{ kind: 'User', name: OTHER_USER }] } }), 'subjects');
    await until('bob may read Redis objects in acme-dev and acme-prod', async () =>
      (await bob.get(P.kubedbRedis('acme-dev'))).status === 200 && (await bob.get(P.kubedbRedis('acme-prod'))).status === 200, 15_000, 50, detail);
    await until('alice (the default group) no longer may', async () => (await alice.get(P.kubedbRedis('acme-dev'))).status === 403, 15_000, 50, detail);
    ok(await admin.patch(tenants('acme'), { spec: { subjects: null } }), 'subjects back to the default');
    await until('alice may again', async () => (await alice.get(P.kubedbRedis('acme-dev'))).status === 200, 15_000, 50, detail);
    expect((await bob.get(P.kubedbRedis('acme-dev'))).status).toBe(403);
  });

  it('a plan that allows traffic between namespaces stamps the policy; a name its pattern refuses stays behind and is reported', async () => {
    ok(await admin.patch(tenants('acme'), { spec: { plan: 'teams' } }), 'Tenant acme → teams');
    const ready = await until('NamespaceNameRefused', async () => {
      const r = await readyOf('acme');
      return r?.reason === 'NamespaceNameRefused' ? r : undefined;
    }, 15_000, 50, detail);
    expect(ready.status).toBe('False');
    expect(ready.message).toContain('namespace "acme-legacy" does not match plan teams\'s namespace pattern');
    for (const ns of ['acme-dev', 'acme-prod']) {
      await until(`${ns} on teams`, async () => (await nsLabels(ns))['redline.dev/plan'] === 'teams', 15_000, 50, detail);
      const np = await until(`${ns}/redline-allow-tenant-namespaces`, async () => {
        const a = await admin.get(netpols(ns, 'redline-allow-tenant-namespaces'));
        return a.status === 200 ? a.body : undefined;
      }, 15_000, 50, detail);
      expect(np.spec.ingress[0].from).toEqual([{ namespaceSelector: { matchLabels: { 'redline.dev/tenant': 'acme' } } }]);
      expect(np.spec.egress[0].to).toEqual([{ namespaceSelector: { matchLabels: { 'redline.dev/tenant': 'acme' } } }]);
    }
    // The refused namespace keeps its plan and gets no such policy.
    expect((await nsLabels('acme-legacy'))['redline.dev/plan']).toBe('standard');
    expect((await admin.get(netpols('acme-legacy', 'redline-allow-tenant-namespaces'))).status).toBe(404);
    // It leaves the tenant (the label removed): offboarded, and the Tenant is Ready again.
    ok(await admin.patch(P.namespaces('acme-legacy'), { metadata: { labels: { 'redline.dev/tenant': null } } }), 'acme-legacy leaves');
    const t = await waitReady('acme', 'teams');
    expect(t.status.namespaces).toEqual(['acme-dev', 'acme-prod']);
    await until('acme-legacy offboarded', async () => (await nsLabels('acme-legacy'))['redline.dev/managed'] === undefined, 15_000, 50, detail);
  });

  it('the namespace guard refuses a namespace the Tenant\'s plan does not allow, for admins too; a matching one joins', async () => {
    const refused = await admin.create(P.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'scratch', labels: { 'redline.dev/tenant': 'acme' } } });
    expect(refused.status).toBe(403);
    expect(refused.message).toContain('namespace "scratch" cannot be a namespace of tenant acme');
    // joining by relabelling an existing namespace, with a plan label that has no pattern: the Tenant's plan decides
    ok(await admin.create(P.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'scratch' } }), 'scratch');
    const relabel = await admin.patch(P.namespaces('scratch'), { metadata: { labels: { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'standard' } } });
    expect(relabel.status).toBe(403);
    // the label-only path: the namespace's own plan label
    const labelOnly = await admin.create(P.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'globex-test', labels: { 'redline.dev/tenant': 'globex', 'redline.dev/plan': 'teams' } } });
    expect(labelOnly.status).toBe(403);
    ok(await admin.create(P.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'acme-staging', labels: { 'redline.dev/tenant': 'acme' } } }), 'acme-staging');
    await until('acme-staging on teams', async () => (await nsLabels('acme-staging'))['redline.dev/plan'] === 'teams', 15_000, 50, detail);
    await until(`acme-staging/redline-quota`, async () => (await admin.get(P.quotas('acme-staging', 'redline-quota'))).status === 200, 15_000, 50, detail);
    await fakeQuotaStatus(admin, 'acme-staging');
    const t = await waitReady('acme', 'teams');
    expect(t.status.namespaces).toEqual(['acme-dev', 'acme-prod', 'acme-staging']);
  });

  it('status shows usage and entitlement from the cluster; a downgrade below usage sets OverEntitlement with the arithmetic, a deletion clears it', async () => {
    ok(await admin.create(tenants(), { apiVersion: 'redline.dev/v1alpha1', kind: 'Tenant', metadata: { name: 'initech' }, spec: { plan: 'standard' } }), 'Tenant initech');
    ok(await admin.create(P.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'initech-prod', labels: { 'kubernetes.io/metadata.name': 'initech-prod', 'redline.dev/tenant': 'initech' } } }), 'initech-prod');
    await until('initech-prod/redline-quota', async () => (await admin.get(P.quotas('initech-prod', 'redline-quota'))).status === 200, 15_000, 50, detail);
    await fakeQuotaStatus(admin, 'initech-prod');
    await waitReady('initech', 'standard');
    await until('the webhook judges initech-prod against standard', async () => (await judgedPlan('initech-prod')) === 'standard', 30_000, 100, detail);
    const statusUntil = (what: string, test: (s: any) => boolean): Promise<any> => {
      let last: unknown;
      return until(`Tenant initech: ${what}`, async () => {
        const s = (await tenant('initech')).status;
        last = s;
        return s && test(s) ? s : undefined;
      }, 20_000, 50, () => `last seen: ${JSON.stringify(last)}\n${detail()}`);
    };
    const empty = await statusUntil('usage counted, entitlement shown', (s) => s.usage?.instances === 0 && s.entitlement !== undefined);
    expect(empty.entitlement).toEqual({ memory: '32Gi', cpu: '16', storage: '160Gi', pods: 24, instances: 8, namespaces: 3 });
    expect(empty.usage).toEqual({ memory: '0', cpu: '0', storage: '0', pods: 0, instances: 0, namespaces: 1 });
    expect(empty.conditions.find((c: { type: string }) => c.type === 'OverEntitlement')).toMatchObject({ status: 'False', reason: 'WithinEntitlement' });

    // A compliant Redis (1Gi, 500m, 1Gi storage) in the tenant's namespace: the Tenant is re-queued by its usage.
    ok(await admin.create(P.kubedbRedis('initech-prod'), kubedbRedis('initech-prod', 'cache')), 'initech-prod/cache');
    const used = await statusUntil('the Redis counted', (s) => s.usage?.instances === 1);
    expect(used.usage).toEqual({ memory: '1Gi', cpu: '500m', storage: '1Gi', pods: 1, instances: 1, namespaces: 1 });
    const row = (await getTable(tenants())).rows.find((r: { cells: unknown[] }) => r.cells[0] === 'initech');
    expect(row.cells.slice(0, 5)).toEqual(['initech', 'standard', 1, '1Gi', '32Gi']);

    // The plan downgraded below what the tenant already runs.
    ok(await admin.patch(tenants('initech'), { spec: { plan: 'free' } }), 'Tenant initech → free');
    const over = await statusUntil('OverEntitlement True', (s) => s.conditions?.some((c: { type: string; status: string }) => c.type === 'OverEntitlement' && c.status === 'True'));
    expect(over.entitlement).toEqual({ memory: '256Mi', cpu: '250m', storage: '1Gi', pods: 1, instances: 1, namespaces: 1 });
    expect(over.conditions.find((c: { type: string }) => c.type === 'OverEntitlement')).toMatchObject({
      reason: 'OverEntitlement', observedGeneration: 2, message: 'memory 1Gi used > 256Mi in plan free; cpu 500m used > 250m in plan free',
    });

    // The object deleted: usage drops, the condition goes False.
    ok(await admin.delete(P.kubedbRedis('initech-prod', 'cache')), 'delete initech-prod/cache');
    const back = await statusUntil('OverEntitlement False', (s) => s.conditions?.some((c: { type: string; status: string }) => c.type === 'OverEntitlement' && c.status === 'False'));
    expect(back.usage).toEqual({ memory: '0', cpu: '0', storage: '0', pods: 0, instances: 0, namespaces: 1 });
    expect(back.conditions.find((c: { type: string }) => c.type === 'OverEntitlement')).toMatchObject({ reason: 'WithinEntitlement', message: 'usage is within plan free\'s tenantTotals' });
  });

  it('a reservation leaves the Tenant\'s status when it lapses, with nothing else changing', async () => {
    const path = apiPath('v1', 'configmaps', 'redline-ledger', 'redline-ledger-initech');
    const reservations = JSON.stringify([{ key: 'initech-prod/kubedb.com/Redis/in-flight', uid: 'u-lapse', amounts: { memory: '64Mi' }, expires: new Date(Date.now() + 3_000).toISOString() }]);
    const existing = await admin.get(path);
    if (existing.status === 200) ok(await admin.patch(path, { data: { reservations } }), 'initech record');
    else ok(await admin.create(apiPath('v1', 'configmaps', 'redline-ledger'), {
      apiVersion: 'v1', kind: 'ConfigMap', data: { reservations },
      metadata: { name: 'redline-ledger-initech', labels: { 'app.kubernetes.io/component': 'ledger', 'app.kubernetes.io/name': 'redline', 'redline.dev/ledger-tenant': 'initech' } },
    }), 'initech record');
    const shown = (s: any): string[] => (s?.reservations ?? []).map((r: { name: string }) => r.name);
    await until('the reservation in initech\'s status', async () => shown((await tenant('initech')).status).includes('in-flight'), 10_000, 50, detail);
    // The controller's resync is 30 s away: only a wake-up at the lapse removes it this soon.
    await until('the lapsed reservation gone from initech\'s status', async () => !shown((await tenant('initech')).status).includes('in-flight'), 8_000, 50, detail);
  });

  it('the controller deletes the ledger record of a tenant that is gone, and keeps a live or a present tenant\'s', async () => {
    const records = (name?: string): string => apiPath('v1', 'configmaps', 'redline-ledger', name);
    const record = (tenant: string, expires: Date): object => ({
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: `redline-ledger-${tenant}`, labels: { 'app.kubernetes.io/component': 'ledger', 'app.kubernetes.io/name': 'redline', 'redline.dev/ledger-tenant': tenant } },
      data: { reservations: JSON.stringify([{ key: `${tenant}-x/kubedb.com/Redis/r`, uid: 'u1', amounts: { memory: '1Gi' }, expires: expires.toISOString() }]) },
    });
    const past = new Date(Date.now() - 60_000);
    // A tenant with a namespace (acme) and one whose reservation is still live keep their records.
    // (serve may have written acme's record already: then that one is kept.)
    expect([201, 409]).toContain((await admin.create(records(), record('acme', past))).status);
    ok(await admin.create(records(), record('vanished-live', new Date(Date.now() + 3_600_000))), 'record of vanished-live');
    // No Tenant, no namespace, its reservation lapsed: nothing will read it again.
    ok(await admin.create(records(), record('vanished', past)), 'record of vanished');
    await until('the record of vanished deleted', async () => (await admin.get(records('redline-ledger-vanished'))).status === 404, 15_000, 50, detail);
    expect((await admin.get(records('redline-ledger-acme'))).status).toBe(200);
    expect((await admin.get(records('redline-ledger-vanished-live'))).status).toBe(200);
    expect(controller.tail()).toContain('ledger record of tenant vanished deleted');
    ok(await admin.delete(records('redline-ledger-vanished-live')), 'clean up');
  });

  it('deleting the Tenant offboards its namespaces — the tenant\'s access ends before enforcement does — and then the Tenant goes', async () => {
    const result = await probeOffboarding({
      tenant: alice, admin, ns: 'acme-dev',
      offboard: async () => void ok(await admin.delete(tenants('acme')), 'delete Tenant acme'),
      timeoutMs: 20_000, detail,
    });
    console.log(`[tenants e2e] Tenant deletion, acme-dev: ${JSON.stringify(result.counts)} over ${result.total} tenant writes`);
    expect(result.counts.admitted, result.first.admitted).toBe(0);
    expect(result.counts.other, result.first.other).toBe(0);
    expect(result.counts.rbac).toBeGreaterThan(0);
    await until('Tenant acme gone (finalizer released)', async () => (await admin.get(tenants('acme'))).status === 404, 20_000, 50, detail);
    for (const ns of ['acme-dev', 'acme-prod', 'acme-staging']) {
      const labels = await nsLabels(ns);
      expect(labels['redline.dev/tenant'], ns).toBeUndefined();
      expect(labels['redline.dev/managed'], ns).toBeUndefined();
      expect(labels['redline.dev/plan'], ns).toBeUndefined();
      expect(labels['pod-security.kubernetes.io/enforce'], ns).toBe('restricted');
      expect((await admin.get(P.roleBindings(ns, 'redline-tenant'))).status, ns).toBe(404);
      expect((await admin.get(netpols(ns, 'redline-allow-tenant-namespaces'))).status, ns).toBe(404);
      // the namespace itself stays
      expect((await admin.get(P.namespaces(ns))).body.metadata.deletionTimestamp, ns).toBeUndefined();
    }
  });
});
