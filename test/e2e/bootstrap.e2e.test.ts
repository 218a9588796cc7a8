// `redline controller` as real processes against a real etcd + kube-apiserver 1.20, running as its
// service account with exactly the RBAC of manifests/base/rbac-controller.yaml (least privilege is
// part of what is tested), tenants as token users in group redline:tenant:<id>.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { covers, matchesDesired } from '../../bootstrap/compare.js';
import { grantedSecretNames, renderTenant, type DesiredState } from '../../bootstrap/render.js';
import { validateControllerSettings } from '../../core/settings/controller.js';
import { ApiError, resourcePath, type KubeApi, type KubeObject } from '../../kube/api-client.js';
import { defaultLibraryDir, loadLibrary, type Library } from '../../policies/engine/index.js';
import {
  annotationOf,
  apiFor,
  metricSum,
  sleep,
  spawnController,
  startBootstrapCluster,
  tempDir,
  until,
  type BootstrapCluster,
  type ControllerProcess,
} from '../bench/bootstrap-harness.js';

const CONFIG = {
  resyncMs: 30_000,
  retry: { initialMs: 50, maxMs: 2_000 },
  informerBackoff: { initialMs: 100, maxMs: 2_000 },
  leaderElection: { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 300 },
  // Documentation addresses: this API server listens on loopback and so publishes no endpoints of
  // its own, but it validates the ipBlocks of the stamped redline-allow-apiserver policy.
  network: { apiServerCidrs: ['192.0.2.10', '2001:db8::10/128'], apiServerPorts: [6443] },
};
const SETTINGS = validateControllerSettings(CONFIG).settings!;

let library: Library;
let cluster: BootstrapCluster;
let admin: KubeApi;
let dir: string;
const controllers: ControllerProcess[] = [];

const nsPath = (name: string): string => resourcePath('v1', 'namespaces', undefined, name);
const getNs = (name: string): Promise<KubeObject | undefined> => admin.getOptional(nsPath(name));

function desiredFor(namespace: string, tenant: string, plan: string): DesiredState {
  return renderTenant({ namespace, tenant, plan: library.plans.get(plan)! }, SETTINGS);
}

function objPath(o: KubeObject): string {
  const plural = { ResourceQuota: 'resourcequotas', LimitRange: 'limitranges', NetworkPolicy: 'networkpolicies', Certificate: 'certificates', Issuer: 'issuers', Role: 'roles', RoleBinding: 'rolebindings' }[o.kind]!;
  return resourcePath(o.apiVersion, plural, o.metadata.namespace, o.metadata.name);
}

/** Names of desired objects that are missing or differ in the cluster. */
async function notConverged(d: DesiredState): Promise<string[]> {
  const bad: string[] = [];
  for (const o of d.objects) {
    const live = await admin.getOptional(objPath(o));
    // The Secrets Role's names follow the cluster (checked by the Secrets test): here only its shape.
    const comparable = live && o.kind === 'Role' && grantedSecretNames(live) !== undefined ? { ...live, rules: o['rules'] } : live;
    if (!comparable || !matchesDesired(comparable, o)) bad.push(`${o.kind}/${o.metadata.name}`);
  }
  const ns = await getNs(d.namespace);
  if (!covers(ns?.metadata.labels, d.namespaceObject.metadata.labels)) bad.push('Namespace labels');
  if (annotationOf(ns)?.hash !== d.hash) bad.push('annotation');
  return bad;
}

async function events(ns: string, reason?: string): Promise<KubeObject[]> {
  const list = await admin.get<{ items: KubeObject[] }>(resourcePath('v1', 'events', ns));
  return list.items.filter((e) => !reason || e['reason'] === reason);
}

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof ApiError) return e.status;
    throw e;
  }
}

async function createTenantNs(name: string, tenant: string, plan: string): Promise<void> {
  await admin.create(resourcePath('v1', 'namespaces'), {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'redline.dev/tenant': tenant, 'redline.dev/plan': plan, 'kubernetes.io/metadata.name': name } },
  });
}

async function leaseHolder(): Promise<string> {
  const l = await admin.getOptional<{ spec?: { holderIdentity?: string } }>(resourcePath('coordination.k8s.io/v1', 'leases', 'redline-system', 'redline-controller'));
  return l?.spec?.holderIdentity ?? '';
}

/** The quota controller does not run here: compute the status it would (else quota admission fails closed). */
async function fakeQuotaStatus(ns: string): Promise<void> {
  const q = await admin.get<KubeObject & { spec: { hard: Record<string, string> } }>(resourcePath('v1', 'resourcequotas', ns, 'redline-quota'));
  const used = Object.fromEntries(Object.keys(q.spec.hard).map((k) => [k, '0']));
  await admin.request({ method: 'PUT', path: `${resourcePath('v1', 'resourcequotas', ns, 'redline-quota')}/status`, body: { ...q, status: { hard: q.spec.hard, used } } });
}

describe('redline controller (real kube-apiserver, real processes)', () => {
  beforeAll(async () => {
    library = await loadLibrary(defaultLibraryDir());
    cluster = await startBootstrapCluster([
      { name: 'tenant-a-user', token: randomBytes(16).toString('hex'), groups: ['redline:tenant:a'] },
      { name: 'tenant-b-user', token: randomBytes(16).toString('hex'), groups: ['redline:tenant:b'] },
    ]);
    admin = cluster.admin;
    dir = tempDir('redline-ctrl-e2e-');
    // Replica "a" first (it will hold the lease), then the standby "b".
    const a = await spawnController({ kubeconfig: cluster.controllerKubeconfig, identity: 'ctrl-a', config: CONFIG, dir });
    controllers.push(a);
    await a.waitReady();
    await until('ctrl-a holds the lease', async () => (await leaseHolder()) === 'ctrl-a', 10_000);
    const b = await spawnController({ kubeconfig: cluster.controllerKubeconfig, identity: 'ctrl-b', config: CONFIG, dir });
    controllers.push(b);
    await b.waitReady();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(controllers.map((c) => c.stop('SIGTERM')));
    admin?.close();
    await cluster?.cp.stop();
    if (dir && process.env.REDLINE_KEEP_E2E !== '1') fs.rmSync(dir, { recursive: true, force: true });
    else if (dir) console.log(`[bootstrap e2e] controller logs kept in ${dir}`);
  }, 60_000);

  it('stamps a new tenant namespace with every object within 1 s', async () => {
    const started = performance.now();
    await createTenantNs('team-a', 'a', 'free');
    const ns = await until('team-a bootstrap annotation', async () => annotationOf(await getNs('team-a')) && (await getNs('team-a')), 5_000, 5);
    const ms = performance.now() - started;
    console.log(`[bootstrap e2e] new tenant namespace fully stamped in ${ms.toFixed(0)} ms (create → redline.dev/bootstrap annotation)`);
    expect(ms).toBeLessThan(1_000);
    const d = desiredFor('team-a', 'a', 'free');
    expect(d.objects.map((o) => o.metadata.name)).toContain('redline-allow-apiserver');
    expect(annotationOf(ns)).toMatchObject({ plan: 'free', hash: d.hash });
    expect(await notConverged(d)).toEqual([]);
    // the Event follows the annotation (and may wait for a token of the controller's rate limiter)
    await until('the Stamped event', async () => (await events('team-a', 'Stamped')).length > 0, 5_000, 20);
    expect((await events('team-a', 'Stamped')).length).toBe(1);
    const ev = (await events('team-a', 'Stamped'))[0]!;
    expect(ev['source']).toEqual({ component: 'redline-controller' });
    expect(ev['involvedObject']).toMatchObject({ kind: 'Namespace', name: 'team-a' });
    // the annotation/event are written only on change: the namespace stays as it is (a fixed wait on
    // purpose: no write may come during it)
    const rv = ns.metadata.resourceVersion;
    await sleep(700);
    expect((await getNs('team-a'))!.metadata.resourceVersion).toBe(rv);
    // the only Namespace fields Redline owns are its labels and the annotation
    const managed = (ns.metadata['managedFields'] as { manager: string; operation: string; fieldsV1: { 'f:metadata': Record<string, Record<string, unknown>> } }[]).find((m) => m.manager === 'redline')!;
    expect(managed.operation).toBe('Apply');
    expect(Object.keys(managed.fieldsV1['f:metadata']).sort()).toEqual(['f:annotations', 'f:labels']);
    expect(Object.keys(managed.fieldsV1['f:metadata']['f:labels']!)).not.toContain('f:redline.dev/tenant');

    await createTenantNs('team-b', 'b', 'standard');
    await until('team-b stamped', async () => (await notConverged(desiredFor('team-b', 'b', 'standard'))).length === 0, 5_000);
  });

  it('only the leader writes; the standby is ready and makes no writes', async () => {
    const [a, b] = controllers;
    const ma = await a!.metrics();
    const mb = await b!.metrics();
    expect(metricSum(ma, 'redline_controller_is_leader')).toBe(1);
    expect(metricSum(mb, 'redline_controller_is_leader')).toBe(0);
    // A reconcile is counted when it returns, just after its Event: the test may look in between.
    await until('ctrl-a counted both stamps', async () => metricSum(await a!.metrics(), 'redline_controller_reconciles_total', { result: 'stamped' }) >= 2, 5_000, 10);
    expect(metricSum(mb, 'redline_controller_api_requests_total', { verb: /^(create|update|patch|delete)$/, code: /^2/ })).toBe(0);
    expect(metricSum(mb, 'redline_controller_reconciles_total')).toBe(0);
    expect((await b!.http('/readyz')).status).toBe(200);
    expect((await b!.http('/healthz')).status).toBe(200);
    expect(JSON.parse((await b!.http('/readyz')).body).checks[1].detail).toMatch(/standby; leader is ctrl-a/);
  });

  it('tenant RBAC: manages Redis objects in its namespace, nothing else', async () => {
    const a = await apiFor(cluster.cp.kubeconfigFor('tenant-a-user'));
    try {
      const redis = {
        apiVersion: 'kubedb.com/v1',
        kind: 'Redis',
        metadata: { name: 'cache', namespace: 'team-a' },
        spec: { version: '7.2.4', mode: 'Standalone', storageType: 'Durable', deletionPolicy: 'WipeOut' },
      };
      await fakeQuotaStatus('team-a'); // the quota counts Redis objects: without a status it fails closed
      expect(await status(a.create(resourcePath('kubedb.com/v1', 'redises', 'team-a'), redis))).toBe(200);
      expect(await status(a.get(resourcePath('v1', 'pods', 'team-a')))).toBe(200);
      expect(await status(a.get(resourcePath('v1', 'secrets', 'team-a')))).toBe(403); // no list: see the Secrets test
      expect(await status(a.get(resourcePath('v1', 'resourcequotas', 'team-a', 'redline-quota')))).toBe(200);
      // another tenant's namespace
      expect(await status(a.get(resourcePath('v1', 'pods', 'team-b')))).toBe(403);
      expect(await status(a.get(resourcePath('kubedb.com/v1', 'redises', 'team-b')))).toBe(403);
      expect(await status(a.get(resourcePath('v1', 'secrets', 'team-b')))).toBe(403);
      // its own fences
      expect(await status(a.mergePatch(resourcePath('v1', 'resourcequotas', 'team-a', 'redline-quota'), { spec: { hard: { pods: '100' } } }, 'tenant'))).toBe(403);
      expect(await status(a.mergePatch(resourcePath('networking.k8s.io/v1', 'networkpolicies', 'team-a', 'redline-default-deny'), { spec: { podSelector: { matchLabels: { x: 'y' } } } }, 'tenant'))).toBe(403);
      expect(await status(a.delete(resourcePath('networking.k8s.io/v1', 'networkpolicies', 'team-a', 'redline-default-deny')))).toBe(403);
      expect(await status(a.mergePatch(resourcePath('v1', 'limitranges', 'team-a', 'redline-limits'), { spec: { limits: [] } }, 'tenant'))).toBe(403);
      expect(await status(a.mergePatch(nsPath('team-a'), { metadata: { labels: { 'redline.dev/plan': 'premium' } } }, 'tenant'))).toBe(403);
      expect(
        await status(
          a.create(resourcePath('rbac.authorization.k8s.io/v1', 'rolebindings', 'team-a'), {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'RoleBinding',
            metadata: { name: 'me-admin' },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'redline-tenant' },
            subjects: [{ kind: 'User', name: 'tenant-a-user', apiGroup: 'rbac.authorization.k8s.io' }],
          }),
        ),
      ).toBe(403);
      expect(await status(a.get(resourcePath('v1', 'namespaces')))).toBe(403);
    } finally {
      a.close();
    }
    // The controller's own identity: reads Secrets and Redis objects (to grant tenants their Secrets),
    // writes neither; no other roles to bind, nothing cluster-wide to create.
    const c = await apiFor(cluster.controllerKubeconfig);
    try {
      expect(await status(c.get(resourcePath('v1', 'secrets', 'team-a')))).toBe(200);
      expect(await status(c.get(resourcePath('kubedb.com/v1', 'redises', 'team-a')))).toBe(200);
      expect(await status(c.create(resourcePath('v1', 'secrets', 'team-a'), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } }))).toBe(403);
      expect(await status(c.delete(resourcePath('kubedb.com/v1', 'redises', 'team-a', 'cache')))).toBe(403);
      // a Role granting what the controller does not hold (RBAC escalation prevention)
      expect(
        await status(
          c.create(resourcePath('rbac.authorization.k8s.io/v1', 'roles', 'team-a'), {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'Role',
            metadata: { name: 'escalate' },
            rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['delete'] }],
          }),
        ),
      ).toBe(403);
      expect(
        await status(
          c.create(resourcePath('rbac.authorization.k8s.io/v1', 'rolebindings', 'team-a'), {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'RoleBinding',
            metadata: { name: 'escalate' },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
            subjects: [{ kind: 'User', name: 'mallory', apiGroup: 'rbac.authorization.k8s.io' }],
          }),
        ),
      ).toBe(403);
      expect(await status(c.create(resourcePath('rbac.authorization.k8s.io/v1', 'clusterrolebindings'), { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'x' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'redline-tenant' }, subjects: [] }))).toBe(403);
      expect(await status(c.request({ method: 'DELETE', path: nsPath('team-b') }))).toBe(403);
    } finally {
      c.close();
    }
  });

  it('a pod without resources is admitted and sized by the LimitRange', async () => {
    await fakeQuotaStatus('team-a');
    await admin.create(resourcePath('v1', 'serviceaccounts', 'team-a'), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
    const pod = await admin.create<KubeObject & { spec: { containers: { resources: unknown }[] } }>(resourcePath('v1', 'pods', 'team-a'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sized' },
      spec: {
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 999, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{ name: 'redis', image: 'redis:7.2', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
      },
    });
    // the plan's defaults for containers that are not given any (free: defaults.other 64Mi / 50m)
    const other = (library.plans.get('free')!.spec as { defaults: { other: { cpu: string; memory: string } } }).defaults.other;
    expect(other).toEqual({ memory: '64Mi', cpu: '50m' });
    expect(pod.spec.containers[0]!.resources).toEqual({ limits: other, requests: other });
    // over the plan's per-pod max: refused by the LimitRange
    const big = await status(
      admin.create(resourcePath('v1', 'pods', 'team-a'), {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'big' },
        spec: { automountServiceAccountToken: false, containers: [{ name: 'redis', image: 'redis:7.2', resources: { limits: { memory: '1Gi' } } }] },
      }),
    );
    expect(big).toBe(403);
    // a limit of 0 is "no limit" to the kubelet: the LimitRange's min refuses it
    const zero = admin.create(resourcePath('v1', 'pods', 'team-a'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'zero' },
      spec: { automountServiceAccountToken: false, containers: [{ name: 'redis', image: 'redis:7.2', resources: { limits: { memory: '0' } } }] },
    });
    await expect(zero).rejects.toMatchObject({ status: 403, message: expect.stringMatching(/minimum memory usage per Container is 1Mi/) });
    // every container within the per-container max, together over the pod max (free: 256Mi / 384Mi)
    const wide = admin.create(resourcePath('v1', 'pods', 'team-a'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'wide' },
      spec: {
        automountServiceAccountToken: false,
        containers: ['redis', 'exporter'].map((name) => ({ name, image: 'redis:7.2', resources: { limits: { memory: '256Mi', cpu: '100m' } } })),
      },
    });
    await expect(wide).rejects.toMatchObject({ status: 403, message: expect.stringMatching(/maximum memory usage per Pod is 384Mi/) });
    // data the tenant keeps through offboarding
    await admin.create(resourcePath('v1', 'persistentvolumeclaims', 'team-a'), {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data-cache-0' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    // what KubeDB writes for the Redis "cache": <name>-auth, labelled as its own
    await admin.create(resourcePath('v1', 'secrets', 'team-a'), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cache-auth', labels: { 'app.kubernetes.io/managed-by': 'kubedb.com', 'app.kubernetes.io/instance': 'cache' } }, stringData: { password: 'x' } });
  });

  it('Secrets: the tenant reads exactly its Redis objects\' Secrets and the ones it created; never tokens or the CA key', async () => {
    const secret = (name: string, o: { type?: string; labels?: Record<string, string>; annotations?: Record<string, string> } = {}) =>
      admin.create(resourcePath('v1', 'secrets', 'team-a'), {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, labels: o.labels ?? {}, annotations: o.annotations ?? {} },
        ...(o.type ? { type: o.type } : {}),
        stringData: o.type === 'kubernetes.io/tls' ? { 'tls.crt': 'x', 'tls.key': 'y' } : { k: 'v' },
      });
    const mine = { labels: { 'redline.dev/tenant-secret': 'true' } };
    await secret('redline-tenant-ca', { type: 'kubernetes.io/tls', ...mine });
    await secret('admin-token', { type: 'kubernetes.io/service-account-token', ...mine, annotations: { 'kubernetes.io/service-account.name': 'default' } });
    await secret('someone-elses');
    // a Redis object naming a Secret the tenant did not create and no operator wrote grants nothing
    await admin.create(resourcePath('kubedb.com/v1', 'redises', 'team-a'), {
      apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'grab', namespace: 'team-a' },
      spec: { version: '7.2.4', mode: 'Standalone', storageType: 'Durable', authSecret: { name: 'someone-elses' } },
    });
    const a = await apiFor(cluster.cp.kubeconfigFor('tenant-a-user'));
    const b = await apiFor(cluster.cp.kubeconfigFor('tenant-b-user'));
    try {
      const get = (api: KubeApi, name: string, ns = 'team-a') => status(api.get(resourcePath('v1', 'secrets', ns, name)));
      // KubeDB derives <name>-auth for the Redis "cache" (created above) when spec.authSecret is absent
      const t0 = performance.now();
      await until('tenant a reads cache-auth', async () => (await get(a, 'cache-auth')) === 200, 5_000, 10);
      console.log(`[bootstrap e2e] a Redis object's Secret readable by its tenant ${(performance.now() - t0).toFixed(0)} ms after the test started looking`);
      // the tenant creates its own (the webhook labels it in a cluster; here the tenant does)
      expect(await status(a.create(resourcePath('v1', 'secrets', 'team-a'), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'my-acl', ...mine }, stringData: { users: 'x' } }))).toBe(200);
      await until('tenant a reads the Secret it created', async () => (await get(a, 'my-acl')) === 200, 5_000, 10);
      for (const name of ['redline-tenant-ca', 'admin-token', 'someone-elses', 'nonexistent']) expect(await get(a, name), name).toBe(403);
      expect(await status(a.get(resourcePath('v1', 'secrets', 'team-a')))).toBe(403);
      expect(await status(a.mergePatch(resourcePath('v1', 'secrets', 'team-a', 'cache-auth'), { stringData: { k: 'changed' } }, 'tenant'))).toBe(403);
      expect(await get(b, 'cache-auth')).toBe(403); // another tenant
      const role = await admin.get<KubeObject>(resourcePath('rbac.authorization.k8s.io/v1', 'roles', 'team-a', 'redline-tenant-secrets'));
      expect(grantedSecretNames(role)).toEqual(['cache-auth', 'my-acl']);
      // team-b has no Secrets to grant: a Role with no rules at all
      const empty = await admin.get<KubeObject>(resourcePath('rbac.authorization.k8s.io/v1', 'roles', 'team-b', 'redline-tenant-secrets'));
      expect(empty['rules'] ?? []).toEqual([]);
      expect(await get(b, 'anything', 'team-b')).toBe(403);
      // deleted → no longer granted
      await admin.delete(resourcePath('v1', 'secrets', 'team-a', 'my-acl'));
      await until('my-acl no longer granted', async () => !grantedSecretNames(await admin.get<KubeObject>(resourcePath('rbac.authorization.k8s.io/v1', 'roles', 'team-a', 'redline-tenant-secrets')))!.includes('my-acl'), 5_000, 10);
    } finally {
      a.close();
      b.close();
    }
    // an access update is not a repair: no Repaired event for it
    expect((await events('team-a', 'Repaired')).length).toBe(0);
  });

  it('repairs every stamped kind after an edit and after a delete', async () => {
    const d = desiredFor('team-a', 'a', 'free');
    const edits: Record<string, unknown> = {
      ResourceQuota: { spec: { hard: { pods: '100' } } },
      LimitRange: { spec: { limits: [{ type: 'Container', max: { cpu: '64' } }] } },
      NetworkPolicy: { spec: { podSelector: { matchLabels: { edited: 'yes' } }, ingress: [{}] } },
      Certificate: { spec: { commonName: 'evil.example.com', isCA: false } },
      Issuer: { spec: { ca: { secretName: 'someone-elses-ca' } } },
      Role: { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }] },
      RoleBinding: { subjects: [{ kind: 'User', name: 'mallory', apiGroup: 'rbac.authorization.k8s.io' }] },
    };
    let t0 = performance.now();
    for (const o of d.objects) {
      const edited = await admin.mergePatch(objPath(o), edits[o.kind], 'e2e-admin');
      expect(matchesDesired(edited, o), `${o.kind}/${o.metadata.name} edited`).toBe(false); // the edit landed (repair races it)
    }
    await until('edited objects repaired', async () => (await notConverged(d)).length === 0, 10_000, 20);
    const editMs = performance.now() - t0;
    // The reconcile that repaired them ends with its Event: wait for it, so the next phase starts clean.
    const repaired = async (n: number): Promise<boolean> => (await events('team-a', 'Repaired')).length >= n;
    await until('Repaired event of the edits', () => repaired(1), 5_000);

    t0 = performance.now();
    for (const o of d.objects) await admin.delete(objPath(o));
    await until('deleted objects restored', async () => (await notConverged(d)).length === 0, 10_000, 20);
    const deleteMs = performance.now() - t0;
    await until('Repaired event of the deletes', () => repaired(2), 5_000);
    // The deletes may take more than one reconcile. Wait until their events name every object
    // re-created: the last of them has then ended (its event is its last step), and cannot take in
    // the label change below without saying so.
    let unnamed: string[] = [];
    await until('Repaired events naming every deleted object re-created', async () => {
      const said = (await events('team-a', 'Repaired')).map((e) => String(e['message'])).join('; ');
      unnamed = d.objects.map((o) => `${o.kind}/${o.metadata.name}`).filter((o) => !said.includes(`${o} created`));
      return unnamed.length === 0;
    }, 5_000, 25, () => `not named yet: ${unnamed.join(', ')}`);
    const beforeLabels = (await events('team-a', 'Repaired')).length;

    t0 = performance.now();
    await admin.mergePatch(nsPath('team-a'), { metadata: { labels: { 'pod-security.kubernetes.io/enforce': null, 'redline.dev/managed': null } } }, 'e2e-admin');
    await until('namespace labels restored', async () => (await notConverged(d)).length === 0, 10_000, 20);
    const labelMs = performance.now() - t0;
    console.log(`[bootstrap e2e] repaired ${d.objects.length} edited objects in ${editMs.toFixed(0)} ms, ${d.objects.length} deleted in ${deleteMs.toFixed(0)} ms, removed namespace labels in ${labelMs.toFixed(0)} ms`);
    expect(Math.max(editMs, deleteMs, labelMs)).toBeLessThan(5_000);
    // the Event follows the last write the loop above waited for
    let seenEvents: string[] = [];
    await until('Repaired event of the labels', async () => {
      seenEvents = (await events('team-a')).map((e) => `${String(e['reason'])}: ${String(e['message']).slice(0, 300)}`);
      return (await events('team-a', 'Repaired')).length > beforeLabels;
    }, 5_000, 25, () => seenEvents.join('\n'));

    // A Pod Security label another manager changed: a tenant namespace's labels are Redline's; it
    // takes ownership back and says so.
    await admin.mergePatch(nsPath('team-a'), { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } }, 'platform-admin');
    await until('LabelConflict event', async () => (await events('team-a', 'LabelConflict')).length === 1, 5_000);
    expect(String((await events('team-a', 'LabelConflict'))[0]!['message'])).toMatch(/took ownership.*platform-admin/);
    await until('enforce back to restricted', async () => (await getNs('team-a'))!.metadata.labels!['pod-security.kubernetes.io/enforce'] === 'restricted', 5_000);
    expect(await notConverged(d)).toEqual([]);
  });

  it('plan change: quota, limits and labels follow; unknown plan: an event and no change', async () => {
    await admin.mergePatch(nsPath('team-a'), { metadata: { labels: { 'redline.dev/plan': 'premium' } } }, 'platform-admin');
    const premium = desiredFor('team-a', 'a', 'premium');
    await until('premium stamped', async () => (await notConverged(premium)).length === 0, 10_000);
    const quota = await admin.get<{ spec: { hard: Record<string, string> } }>(resourcePath('v1', 'resourcequotas', 'team-a', 'redline-quota'));
    expect(quota.spec.hard).toMatchObject({ pods: '64', 'limits.memory': '480Gi', 'services.loadbalancers': '0' });
    const limits = await admin.get<{ spec: { limits: { max: Record<string, string> }[] } }>(resourcePath('v1', 'limitranges', 'team-a', 'redline-limits'));
    expect(limits.spec.limits[0]!.max).toEqual({ cpu: '4', memory: '16Gi' });
    expect((await admin.get<KubeObject>(resourcePath('networking.k8s.io/v1', 'networkpolicies', 'team-a', 'redline-default-deny'))).metadata.labels!['redline.dev/plan']).toBe('premium');
    expect(await until('PlanChanged event', async () => (await events('team-a', 'PlanChanged')).length === 1, 5_000)).toBe(true);

    const before = await getNs('team-a');
    await admin.mergePatch(nsPath('team-a'), { metadata: { labels: { 'redline.dev/plan': 'platinum' } } }, 'platform-admin');
    await until('UnknownPlan event', async () => (await events('team-a', 'UnknownPlan')).length === 1, 5_000);
    expect(String((await events('team-a', 'UnknownPlan'))[0]!['message'])).toMatch(/"platinum" is not in the plan library/);
    await sleep(800); // a fixed wait on purpose: the unknown plan may change nothing during it
    const after = await getNs('team-a');
    expect(annotationOf(after)).toEqual(annotationOf(before)); // plan premium, same hash and time
    const stillPremium = { ...premium };
    expect(await notConverged(stillPremium)).toEqual([]); // nothing wiped, nothing changed
    expect((await events('team-a', 'UnknownPlan')).length).toBe(1);
    await admin.mergePatch(nsPath('team-a'), { metadata: { labels: { 'redline.dev/plan': 'premium' } } }, 'platform-admin');
  });

  it('offboarding removes what Redline stamped, never the namespace or the tenant data', async () => {
    const d = desiredFor('team-a', 'a', 'premium');
    await until('premium again', async () => (await notConverged(d)).length === 0, 5_000);
    // Watch both from now: etcd revisions order the RoleBindings' deletion and the namespace's change.
    const abort = new AbortController();
    const seen: { what: string; rv: bigint }[] = [];
    const from = async (path: string): Promise<string> => (await admin.get<{ metadata: { resourceVersion: string } }>(path)).metadata.resourceVersion;
    // Each watch starts at the resourceVersion read before the change, so it replays everything after
    // it however late it connects: wait for those reads, not for the connections.
    const started: Promise<string>[] = [];
    const watch = (path: string, onEvent: (e: { type: string; object: KubeObject }) => void): Promise<void> => {
      const rv = from(path);
      started.push(rv);
      return rv.then((v) => admin.watch(path, { resourceVersion: v }, onEvent, { signal: abort.signal, idleTimeoutMs: 30_000 }));
    };
    const watches = [
      watch(resourcePath('rbac.authorization.k8s.io/v1', 'rolebindings', 'team-a'), (e) => {
        if (e.type === 'DELETED') seen.push({ what: `delete RoleBinding/${e.object.metadata.name}`, rv: BigInt(e.object.metadata.resourceVersion!) });
      }),
      watch(resourcePath('v1', 'namespaces'), (e) => {
        if (e.object.metadata.name === 'team-a' && e.type === 'MODIFIED' && e.object.metadata.labels?.['redline.dev/managed'] === undefined && !seen.some((x) => x.what === 'managed label gone')) {
          seen.push({ what: 'managed label gone', rv: BigInt(e.object.metadata.resourceVersion!) });
        }
      }),
    ].map((p) => p.catch(() => undefined));
    await Promise.all(started);
    await admin.mergePatch(nsPath('team-a'), { metadata: { labels: { 'redline.dev/tenant': null } } }, 'platform-admin');
    await until('stamped objects deleted', async () => {
      for (const o of d.objects) if (await admin.getOptional(objPath(o))) return false;
      return true;
    }, 10_000);
    const ns = await until('namespace marks removed', async () => {
      const n = await getNs('team-a');
      return n && n.metadata.labels?.['redline.dev/managed'] === undefined && !annotationOf(n) ? n : undefined;
    }, 5_000);
    expect(ns.metadata.deletionTimestamp).toBeUndefined();
    expect(ns.metadata.labels!['redline.dev/plan']).toBeUndefined();
    expect(ns.metadata.labels!['pod-security.kubernetes.io/enforce']).toBe('restricted'); // never loosened
    await until('watched the three changes', async () => seen.length >= 3, 5_000);
    abort.abort();
    await Promise.all(watches);
    const rv = (what: string): bigint => seen.find((x) => x.what === what)?.rv ?? -1n;
    console.log(`[bootstrap e2e] offboarding order by etcd revision: ${[...seen].sort((x, y) => (x.rv < y.rv ? -1 : 1)).map((x) => `${x.what}@${x.rv}`).join(' < ')}`);
    // Access ends before enforcement does.
    expect(rv('delete RoleBinding/redline-tenant')).toBeGreaterThan(0n);
    expect(rv('delete RoleBinding/redline-tenant-secrets')).toBeGreaterThan(0n);
    expect(rv('managed label gone')).toBeGreaterThan(rv('delete RoleBinding/redline-tenant'));
    expect(rv('managed label gone')).toBeGreaterThan(rv('delete RoleBinding/redline-tenant-secrets'));
    expect(await admin.getOptional(resourcePath('v1', 'persistentvolumeclaims', 'team-a', 'data-cache-0'))).toBeDefined();
    expect(await admin.getOptional(resourcePath('v1', 'secrets', 'team-a', 'cache-auth'))).toBeDefined();
    expect(await admin.getOptional(resourcePath('v1', 'secrets', 'team-a', 'redline-tenant-ca'))).toBeDefined();
    expect(await admin.getOptional(resourcePath('kubedb.com/v1', 'redises', 'team-a', 'cache'))).toBeDefined();
    expect(await admin.getOptional(resourcePath('v1', 'pods', 'team-a', 'sized'))).toBeDefined();
    // The event is written after the namespace's last patch: wait for it rather than race it.
    await until('the Offboarded event', async () => (await events('team-a', 'Offboarded')).length > 0, 5_000);
    expect((await events('team-a', 'Offboarded')).length).toBe(1);
    // and it stays that way (no re-stamping, no second event; a fixed wait on purpose)
    await sleep(500);
    expect(await admin.getOptional(resourcePath('v1', 'resourcequotas', 'team-a', 'redline-quota'))).toBeUndefined();
    expect((await events('team-a', 'Offboarded')).length).toBe(1);
  });

  it('leader failover: SIGKILL the leader, the standby takes the Lease and stamps new namespaces', async () => {
    const [a, b] = controllers;
    expect(await leaseHolder()).toBe('ctrl-a');
    const killedAt = performance.now();
    await a!.stop('SIGKILL');
    await until('ctrl-b holds the lease', async () => (await leaseHolder()) === 'ctrl-b', 15_000, 50);
    const takeoverMs = performance.now() - killedAt;
    const t0 = performance.now();
    await createTenantNs('team-c', 'c', 'standard');
    await until('team-c stamped by ctrl-b', async () => (await notConverged(desiredFor('team-c', 'c', 'standard'))).length === 0, 5_000, 10);
    console.log(`[bootstrap e2e] failover: lease taken over ${takeoverMs.toFixed(0)} ms after SIGKILL (lease 3 s); new namespace stamped by the new leader in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(metricSum(await b!.metrics(), 'redline_controller_is_leader')).toBe(1);
    // The reconcile is counted when it returns, just after its last write is visible.
    await until('ctrl-b counted the stamp', async () => metricSum(await b!.metrics(), 'redline_controller_reconciles_total', { result: 'stamped' }) >= 1, 5_000, 10);
    // the older namespaces are still intact under the new leader
    expect(await notConverged(desiredFor('team-b', 'b', 'standard'))).toEqual([]);
  }, 30_000);

  it('a Lease it cannot use: error log with the fix, lease_errors metric, /readyz 503 until it can lead or stand by', async () => {
    const ns = 'lease-nowhere';
    const c = await spawnController({
      kubeconfig: cluster.controllerKubeconfig,
      identity: 'ctrl-lost',
      config: { ...CONFIG, leaderElection: { ...CONFIG.leaderElection, namespace: ns } },
      dir,
    });
    controllers.push(c);
    try {
      // 1. the namespace does not exist
      const notReady = await until('not ready: namespace_missing', async () => {
        const r = await c.http('/readyz').catch(() => undefined);
        return r && r.status === 503 && /namespace_missing/.test(r.body) ? r : undefined;
      }, 10_000, 50);
      expect(notReady.body).toMatch(/kubectl create namespace lease-nowhere/);
      await until('counted', async () => metricSum(await c.metrics(), 'redline_controller_lease_errors_total', { reason: 'namespace_missing' }) >= 1, 5_000);
      const errorLine = fs.readFileSync(c.logFile, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string; reason?: string; err?: string }).find((l) => l.level === 50 && l.reason === 'namespace_missing');
      expect(errorLine?.msg).toMatch(/cannot acquire the Lease lease-nowhere\/redline-controller: .*create it/);
      expect(errorLine?.err).toMatch(/HTTP 403 Forbidden/); // RBAC is checked before the namespace exists; the controller then looked
      // 2. the namespace exists, but the controller's RBAC covers leases in redline-system only
      await admin.create(resourcePath('v1', 'namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      const forbidden = await until('not ready: forbidden', async () => {
        const r = await c.http('/readyz');
        return r.status === 503 && /redline-controller: forbidden: /.test(r.body) ? r : undefined;
      }, 10_000, 50);
      const detail = (JSON.parse(forbidden.body) as { checks: { name: string; detail: string }[] }).checks.find((x) => x.name === 'leader-election')!.detail;
      expect(detail).toMatch(/forbidden: .*HTTP 403.*; the controller may not get the Lease: grant its ServiceAccount create on leases and get\/update on the lease "redline-controller" in namespace "lease-nowhere"/);
      expect(metricSum(await c.metrics(), 'redline_controller_lease_errors_total', { reason: 'forbidden' })).toBeGreaterThanOrEqual(1);
      expect(metricSum(await c.metrics(), 'redline_controller_is_leader')).toBe(0);
    } finally {
      await c.stop('SIGTERM');
    }
  });
});
