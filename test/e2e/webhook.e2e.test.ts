// The API server really calls Redline: `redline serve` runs as a process, is registered through the
// shipped webhook configurations (url + caBundle), and the examples are applied through the API.
import { randomBytes } from 'node:crypto';
import { cp as copy, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import https from 'node:https';
import { join } from 'node:path';
import {
  ApiException, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, RbacAuthorizationV1Api, type KubernetesObject,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { startControlPlane, type ControlPlane } from './controlplane/index.js';
import { rejection } from './helpers/api.js';
import { installCrds } from './controlplane/crds.js';
import { logLines, registerWebhooks, startServe, type ServeProcess } from './helpers/serve.js';

type Obj = KubernetesObject & { spec?: Record<string, unknown> };

function client(kubeconfig: string): { objects: KubernetesObjectApi; core: CoreV1Api; rbac: RbacAuthorizationV1Api } {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return { objects: KubernetesObjectApi.makeApiClient(kc), core: kc.makeApiClient(CoreV1Api), rbac: kc.makeApiClient(RbacAuthorizationV1Api) };
}

/** The examples as this 1.20 API server takes them: PodDisruptionBudgets are policy/v1beta1 before 1.21. */
async function examples(file: string): Promise<Obj[]> {
  return parseAllDocuments(await readFile(join(ROOT, 'manifests', 'examples', file), 'utf8')).map((d) => {
    const obj = d.toJS() as Obj;
    return obj.kind === 'PodDisruptionBudget' ? { ...obj, apiVersion: 'policy/v1beta1' } : obj;
  });
}

/** A raw call as the admin, with what kubectl shows: status, the Status message and the admission warnings. */
async function call(cp: ControlPlane, method: string, path: string, body?: unknown): Promise<{ status: number; message: string; warnings: string[] }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(`${cp.url}${path}`, {
      method, ca: cp.caPem, agent: false,
      headers: { Authorization: `Bearer ${cp.users['admin']!.token}`, Accept: 'application/json', ...(payload ? { 'Content-Type': 'application/json' } : {}) },
    }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        const header = res.headers['warning'];
        const warnings: string[] = [];
        for (const h of Array.isArray(header) ? header : header ? [header] : []) {
          for (const m of h.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)) warnings.push(m[1]!.replace(/\\(.)/g, '$1'));
        }
        let message = '';
        if ((res.statusCode ?? 0) >= 400) message = String((JSON.parse(text || '{}') as { message?: string }).message ?? text);
        resolve({ status: res.statusCode ?? 0, message, warnings });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Repeats `attempt` until `done` holds (serve's caches follow the API server by a watch event). */
const DAY = 86_400_000;
const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** A waiver of tls.tls-enabled for globex's RedisReplication `legacy` in tenant-standard. */
function legacyException(approved: number, expires: number): string {
  return `apiVersion: redline.dev/v1alpha1
kind: PolicyException
metadata: {name: globex-legacy-no-tls}
spec:
  owner: platform-oncall@example.com
  reason: legacy clients without TLS
  approved: ${day(approved)}
  expires: ${day(expires)}
  policies: [{policy: tls, rules: [tls-enabled]}]
  match: {tenant: globex, namespaces: [tenant-standard], kinds: [RedisReplication], names: [legacy]}
`;
}

async function eventually<T>(what: string, attempt: () => Promise<T>, done: (t: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const t = await attempt();
    if (done(t)) return t;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(t)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('admission through a real kube-apiserver', () => {
  let cp: ControlPlane;
  let serve: ServeProcess;
  let admin: ReturnType<typeof client>;
  let libraryDir: string;
  const today = Date.parse(day(Date.now()));
  const tenantToken = randomBytes(16).toString('hex');

  beforeAll(async () => {
    cp = await startControlPlane({ users: [{ name: 'alice', token: tenantToken, groups: ['redline:tenant:acme'] }] });
    await installCrds(cp.adminKubeconfig);
    admin = client(cp.adminKubeconfig);
    for (const ns of await examples('namespaces.yaml')) await admin.objects.create(ns);
    // The bundle's ledger namespace: serve reserves there (and fails closed without it).
    await admin.objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'redline-ledger' } });
    // The shipped library plus one PolicyException, in a directory serve watches.
    libraryDir = await mkdtemp(join(tmpdir(), 'redline-e2e-library-'));
    await copy(join(ROOT, 'policies', 'library'), libraryDir, { recursive: true });
    await rm(join(libraryDir, 'tests'), { recursive: true });
    await mkdir(join(libraryDir, 'exceptions'));
    await writeFile(join(libraryDir, 'exceptions', 'globex.yaml'), legacyException(today - DAY, today + 30 * DAY));
    serve = await startServe({ kubeconfig: cp.adminKubeconfig, args: ['--policies', libraryDir], env: { REDLINE_POLICY_RELOAD_INTERVAL_MS: '200' } });
    await registerWebhooks(cp.adminKubeconfig, serve);
    // The API server picks up webhook configurations asynchronously: wait until it calls us.
    const probe = (await examples('bad/pdb-blocks-drains.yaml'))[0]!;
    const deadline = Date.now() + 30_000;
    let last: unknown = 'accepted';
    for (;;) {
      try {
        await admin.objects.create(probe, undefined, 'All');
        last = 'accepted';
      } catch (e) {
        last = e instanceof ApiException ? `${e.code} ${String(e.body)}` : e;
        if (e instanceof ApiException && e.code === 403 && String(e.body).includes('blocks node drains')) break;
      }
      if (Date.now() > deadline) throw new Error(`webhook never called (last answer: ${String(last)}):\n${serve.stderr()}\n${serve.stdout().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 180_000);

  afterAll(async () => {
    const code = await serve?.stop();
    expect(code).toBe(0);
    await cp?.stop();
    if (libraryDir) await rm(libraryDir, { recursive: true, force: true });
  }, 60_000);

  it('stores the good examples, mutated as documented', async () => {
    for (const file of ['kubedb-standalone.yaml', 'kubedb-sentinel.yaml', 'kubedb-cluster.yaml', 'ot-cluster.yaml', 'statefulset-bitnami.yaml', 'pdb.yaml']) {
      for (const obj of await examples(`good/${file}`)) await admin.objects.create(obj);
    }
    const read = (o: { apiVersion: string; kind: string; name: string; namespace: string }): Promise<Obj> =>
      admin.objects.read({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.name, namespace: o.namespace } }) as Promise<Obj>;

    const cache = await read({ apiVersion: 'kubedb.com/v1', kind: 'Redis', name: 'cache', namespace: 'tenant-free' });
    expect(cache.spec?.['tls']).toEqual({ issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'redline-redis-ca' } });
    const podSpec = (cache.spec?.['podTemplate'] as { spec: { securityContext: unknown; containers: { resources: unknown; securityContext: unknown }[] } }).spec;
    expect(podSpec.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(podSpec.containers[0]!.resources).toEqual({ limits: { memory: '256Mi', cpu: '250m' }, requests: { memory: '256Mi', cpu: '250m' } });
    expect(podSpec.containers[0]!.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });

    const orders = await read({ apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: 'RedisCluster', name: 'orders', namespace: 'tenant-premium' });
    const leader = orders.spec?.['redisLeader'] as { pdb: unknown; affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: unknown[] } } };
    expect(leader.pdb).toEqual({ enabled: true, maxUnavailable: 1 });
    expect(leader.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      { labelSelector: { matchLabels: { app: 'orders-leader' } }, topologyKey: 'kubernetes.io/hostname' },
    ]);

    // StatefulSets are validated, never mutated: stored exactly as written (bar API defaults).
    const sts = await read({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'redis', namespace: 'tenant-standard' });
    const written = (await examples('good/statefulset-bitnami.yaml'))[0]!;
    expect((sts.spec?.['template'] as { spec: { securityContext: unknown } }).spec.securityContext)
      .toEqual((written.spec?.['template'] as { spec: { securityContext: unknown } }).spec.securityContext);
  });

  it('rejects every bad example with Redline\'s message', async () => {
    const expected: Record<string, string> = {
      'kubedb-over-plan.yaml': 'mode Cluster is not in plan free',
      'statefulset-insecure.yaml': 'privileged containers are not allowed',
      'pdb-blocks-drains.yaml': 'blocks node drains',
      'ot-replication-no-tls.yaml': 'TLS is off (spec.TLS is not set)',
    };
    for (const [file, message] of Object.entries(expected)) {
      const obj = (await examples(`bad/${file}`))[0]!;
      const denied = await rejection(admin.objects.create(obj));
      expect(denied.code, file).toBe(403);
      expect(denied.message, file).toContain('admission webhook "validate.redline.dev" denied the request');
      expect(denied.message, file).toContain(message);
    }
  });

  it('a dry-run request gets the same verdict and changes nothing', async () => {
    const bad = (await examples('bad/kubedb-over-plan.yaml'))[0]!;
    expect((await rejection(admin.objects.create(bad, undefined, 'All'))).message).toContain('mode Cluster is not in plan free');
    // In tenant-standard: tenant-free is full (plan free sells one Redis, the stored example's), and a
    // dry run is judged by the tenant ledger like a real create.
    const good: Obj = { ...(await examples('good/kubedb-standalone.yaml'))[0]!, metadata: { name: 'dry', namespace: 'tenant-standard' } };
    const answered = (await admin.objects.create(good, undefined, 'All')) as Obj;
    expect((answered.spec?.['tls'] as { issuerRef: { name: string } }).issuerRef.name).toBe('redline-redis-ca');
    const missing = await rejection(admin.objects.read({ apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'dry', namespace: 'tenant-standard' } }));
    expect(missing.code).toBe(404);
  });

  it('a tenant cannot change its own plan label; an admin can', async () => {
    // Give the tenant RBAC rights to patch namespaces, so the label guard is what stops it.
    await admin.rbac.createClusterRole({ body: { metadata: { name: 'ns-patcher' }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'patch'] }] } });
    await admin.rbac.createClusterRoleBinding({ body: {
      metadata: { name: 'alice-ns-patcher' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'ns-patcher' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    } });
    const tenant = client(cp.kubeconfigFor('alice'));
    const upgrade = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-free', labels: { 'redline.dev/plan': 'premium' } } };
    let denied: { code: number; message: string } | undefined;
    for (let i = 0; i < 50 && !denied?.message.includes('redline.dev/plan'); i++) {
      denied = await rejection(tenant.objects.patch(upgrade, undefined, undefined, undefined, undefined, PatchStrategy.StrategicMergePatch));
      await new Promise((r) => setTimeout(r, 100)); // RBAC caches catch up
    }
    expect(denied?.code).toBe(403);
    expect(denied?.message).toContain('admission webhook "namespaces.redline.dev" denied the request');
    expect(denied?.message).toContain('redline.dev/plan');
    const ns = await admin.core.readNamespace({ name: 'tenant-free' });
    expect(ns.metadata?.labels?.['redline.dev/plan']).toBe('free');
    // An unrelated label is fine for the tenant.
    await tenant.objects.patch({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-free', labels: { team: 'payments' } } },
      undefined, undefined, undefined, undefined, PatchStrategy.StrategicMergePatch);
    // The platform admin (system:masters) may change the plan.
    await admin.objects.patch(upgrade, undefined, undefined, undefined, undefined, PatchStrategy.StrategicMergePatch);
    expect((await admin.core.readNamespace({ name: 'tenant-free' })).metadata?.labels?.['redline.dev/plan']).toBe('premium');
  });

  it('a tenant cannot change its plan through namespaces/status; an admin\'s write there does change labels', async () => {
    await admin.rbac.createClusterRole({ body: { metadata: { name: 'ns-status-writer' }, rules: [{ apiGroups: [''], resources: ['namespaces/status'], verbs: ['get', 'patch', 'update'] }] } });
    await admin.rbac.createClusterRoleBinding({ body: {
      metadata: { name: 'alice-ns-status-writer' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'ns-status-writer' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    } });
    const tenant = client(cp.kubeconfigFor('alice'));
    const upgrade = (ns: Awaited<ReturnType<CoreV1Api['readNamespace']>>): typeof ns =>
      ({ ...ns, metadata: { ...ns.metadata, labels: { ...ns.metadata?.labels, 'redline.dev/plan': 'premium' } } });
    let denied: { code: number; message: string } | undefined;
    for (let i = 0; i < 50 && !denied?.message.includes('namespaces/status'); i++) {
      const current = await admin.core.readNamespace({ name: 'tenant-standard' });
      denied = await rejection(tenant.core.replaceNamespaceStatus({ name: 'tenant-standard', body: upgrade(current) }));
      await new Promise((r) => setTimeout(r, 100)); // RBAC caches catch up
    }
    expect(denied?.code).toBe(403);
    expect(denied?.message).toContain('admission webhook "namespaces.redline.dev" denied the request');
    expect(denied?.message).toContain('labels redline.dev/plan (changed) of tenant namespace "tenant-standard" (through namespaces/status)');
    expect((await admin.core.readNamespace({ name: 'tenant-standard' })).metadata?.labels?.['redline.dev/plan']).toBe('standard');
    // The path is real: the same write by an admin changes the label (this API server keeps the
    // metadata of a status write), which is why the guard must see it.
    await admin.core.replaceNamespaceStatus({ name: 'tenant-standard', body: upgrade(await admin.core.readNamespace({ name: 'tenant-standard' })) });
    expect((await admin.core.readNamespace({ name: 'tenant-standard' })).metadata?.labels?.['redline.dev/plan']).toBe('premium');
  });

  it('kubernetes.io/metadata.name must be the name: impostors are refused, new namespaces get it (this API server is 1.20)', async () => {
    const create = (name: string, labels: Record<string, string>): Promise<unknown> =>
      admin.core.createNamespace({ body: { metadata: { name, labels } } });
    // Validating webhooks are called in parallel: the API server reports whichever denied first.
    for (const [name, labels, hook] of [
      ['impostor', { 'kubernetes.io/metadata.name': 'kube-system' }, /admission webhook "claims-system\.namespaces\.redline\.dev" denied/],
      ['impostor-tenant', { 'kubernetes.io/metadata.name': 'redline-system', 'redline.dev/tenant': 'x', 'redline.dev/plan': 'premium' }, /admission webhook "claims-system[a-z-]*\.namespaces\.redline\.dev" denied/],
      ['impostor-monitoring', { 'kubernetes.io/metadata.name': 'monitoring' }, /admission webhook "namespaces\.redline\.dev" denied/],
    ] as const) {
      const denied = await rejection(create(name, labels));
      expect(denied.code, name).toBe(403);
      expect(denied.message, name).toMatch(hook);
      expect(denied.message, name).toContain(`label kubernetes.io/metadata.name of namespace "${name}" is "${labels['kubernetes.io/metadata.name']}", but it must be the namespace's own name`);
      expect((await rejection(admin.core.readNamespace({ name }))).code, name).toBe(404);
    }
    // The impostor tenant was sent to the fail-closed entries too (tenant and plan), not only to the
    // one that fails open: three calls.
    const calls = (): number => logLines(serve.stdout()).filter((l) => l['endpoint'] === 'validate' && l['kind'] === 'Namespace' && l['name'] === 'impostor-tenant').length;
    await until('the three Namespace entries that select the impostor tenant are logged', () => calls() >= 3, 5_000, 50);
    expect(calls()).toBe(3);
    await create('team-a', { team: 'a' });
    expect((await admin.core.readNamespace({ name: 'team-a' })).metadata?.labels).toEqual({ team: 'a', 'kubernetes.io/metadata.name': 'team-a' });
  });

  it('a Secret a tenant creates is labelled redline.dev/tenant-secret; a service-account token Secret is refused', async () => {
    await admin.rbac.createNamespacedRole({ namespace: 'tenant-free', body: { metadata: { name: 'secret-writer' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['create'] }] } });
    await admin.rbac.createNamespacedRoleBinding({ namespace: 'tenant-free', body: {
      metadata: { name: 'alice-secret-writer' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secret-writer' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    } });
    const tenant = client(cp.kubeconfigFor('alice'));
    const secret = { metadata: { name: 'app-password', labels: { app: 'cache' } }, stringData: { password: 'hunter2' } };
    for (let i = 0; ; i++) {
      try {
        await tenant.core.createNamespacedSecret({ namespace: 'tenant-free', body: secret });
        break;
      } catch (e) {
        if (i >= 50 || !(e instanceof ApiException && e.code === 403 && !String(e.body).includes('admission webhook'))) throw e;
        await new Promise((r) => setTimeout(r, 100)); // RBAC caches catch up
      }
    }
    const stored = await admin.core.readNamespacedSecret({ namespace: 'tenant-free', name: 'app-password' });
    expect(stored.metadata?.labels).toEqual({ app: 'cache', 'redline.dev/tenant-secret': 'true' });
    // The same Secret written by an admin is not a tenant's.
    await admin.core.createNamespacedSecret({ namespace: 'tenant-free', body: { ...secret, metadata: { ...secret.metadata, name: 'platform-password' } } });
    expect((await admin.core.readNamespacedSecret({ namespace: 'tenant-free', name: 'platform-password' })).metadata?.labels).toEqual({ app: 'cache' });
    const token = { metadata: { name: 'minted', annotations: { 'kubernetes.io/service-account.name': 'default' } }, type: 'kubernetes.io/service-account-token' };
    const denied = await rejection(tenant.core.createNamespacedSecret({ namespace: 'tenant-free', body: token }));
    expect(denied.code).toBe(403);
    expect(denied.message).toContain('admission webhook "validate.redline.dev" denied the request');
    expect(denied.message).toContain('Secrets of type kubernetes.io/service-account-token may only be written by Redline admins');
  });

  it('the cluster\'s StorageClasses and PDBs (policy/v1beta1 on 1.20): a node-local default class refuses a StatefulSet without storageClassName; a multi-pod one without a PDB is warned', async () => {
    const ready = (await (await fetch(`http://127.0.0.1:${serve.healthPort}/readyz`)).json()) as { checks: { name: string; ok: boolean; detail: string }[] };
    expect(ready.checks.find((c) => c.name === 'poddisruptionbudgets')).toMatchObject({ ok: true, detail: expect.stringMatching(/^poddisruptionbudgets: policy\/v1beta1 synced/) });
    expect(ready.checks.find((c) => c.name === 'storageclasses')).toMatchObject({ ok: true });

    // The Bitnami-style example under other labels (the example's PDB does not cover it), 3 pods,
    // its claims without storageClassName: they land on the default class.
    const sts = structuredClone((await examples('good/statefulset-bitnami.yaml'))[0]!) as Obj & { spec: Record<string, any> };
    sts.metadata = { name: 'orders', namespace: 'tenant-standard', labels: { 'app.kubernetes.io/name': 'redis' } };
    const labels = { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'orders' };
    sts.spec['selector'] = { matchLabels: labels };
    sts.spec['template'].metadata.labels = labels;
    sts.spec['template'].spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchLabels = labels;
    // The namespace is on premium by now (an earlier case upgraded it): pods spread over zones.
    sts.spec['template'].spec.topologySpreadConstraints = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: labels } }];
    const STS = '/apis/apps/v1/namespaces/tenant-standard/statefulsets?dryRun=All';
    const pdbWarning = (w: string[]): string | undefined => w.find((x) => x.startsWith('availability: no PodDisruptionBudget covers these pods'));

    const classes = '/apis/storage.k8s.io/v1/storageclasses';
    const local = { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', provisioner: 'rancher.io/local-path', volumeBindingMode: 'WaitForFirstConsumer',
      metadata: { name: 'e2e-local-path', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } };
    const network = { ...local, provisioner: 'ebs.csi.aws.com', metadata: { name: 'e2e-network', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } };
    const pdbPath = '/apis/policy/v1beta1/namespaces/tenant-standard/poddisruptionbudgets';
    try {
      expect((await call(cp, 'POST', classes, local)).status).toBe(201);
      const refused = await eventually('the StatefulSet refused on the node-local default class', () => call(cp, 'POST', STS, sts), (a) => a.status === 403);
      expect(refused.message).toContain('admission webhook "validate.redline.dev" denied the request');
      expect(refused.message).toContain('persistence.network-storage: StorageClass e2e-local-path (the cluster default) provisions node-local volumes (rancher.io/local-path)');
      expect(refused.message).toContain('set storageClassName to a network-attached class');

      // The platform's default becomes a network class: admitted, with the PDB warning naming the PDB to add.
      expect((await call(cp, 'DELETE', `${classes}/e2e-local-path`)).status).toBe(200);
      expect((await call(cp, 'POST', classes, network)).status).toBe(201);
      const warned = await eventually('the StatefulSet admitted on the network default class', () => call(cp, 'POST', STS, sts), (a) => a.status === 201);
      expect(pdbWarning(warned.warnings)).toMatch(/^availability: no PodDisruptionBudget covers these pods, so a node drain may take several at once; add/);

      const pdb = { apiVersion: 'policy/v1beta1', kind: 'PodDisruptionBudget', metadata: { name: 'orders', namespace: 'tenant-standard' }, spec: { maxUnavailable: 1, selector: { matchLabels: labels } } };
      expect((await call(cp, 'POST', pdbPath, pdb)).status).toBe(201);
      const covered = await eventually('the StatefulSet without the PDB warning', () => call(cp, 'POST', STS, sts), (a) => a.status === 201 && !pdbWarning(a.warnings));
      expect(covered.warnings.join('\n')).not.toContain('PodDisruptionBudget');
    } finally {
      await call(cp, 'DELETE', `${classes}/e2e-local-path`);
      await call(cp, 'DELETE', `${classes}/e2e-network`);
      await call(cp, 'DELETE', `${pdbPath}/orders`);
    }
  });

  it('a PolicyException admits the object it names with a warning naming its owner; another tenant\'s stays denied; once expired it denies again', async () => {
    // The good OT RedisReplication without TLS: after Redline's mutation only tls.tls-enabled fails it.
    const legacy = (namespace: string): Obj => {
      const obj = structuredClone(good);
      obj.metadata = { name: 'legacy', namespace };
      delete obj.spec!['TLS'];
      return obj;
    };
    const good = (await examples('good/ot-replication.yaml'))[0]!;
    const path = (ns: string): string => `/apis/redis.redis.opstreelabs.in/v1beta2/namespaces/${ns}/redisreplications?dryRun=All`;

    const waived = await call(cp, 'POST', path('tenant-standard'), legacy('tenant-standard'));
    expect(waived.status, waived.message).toBe(201);
    expect(waived.warnings).toContain(`exception globex-legacy-no-tls, owner platform-oncall@example.com, until ${day(today + 30 * DAY)}: waives tls.tls-enabled`);

    const other = await call(cp, 'POST', path('tenant-premium'), legacy('tenant-premium'));
    expect(other.status).toBe(403);
    expect(other.message).toContain('tls.tls-enabled: TLS is off');

    // The platform's library changes (the ConfigMap swaps its files): the exception now ended yesterday.
    const staged = join(libraryDir, '..', `${randomBytes(4).toString('hex')}.yaml`);
    await writeFile(staged, legacyException(today - 40 * DAY, today - DAY));
    await rename(staged, join(libraryDir, 'exceptions', 'globex.yaml'));
    const expired = await eventually('the expired exception ignored', () => call(cp, 'POST', path('tenant-standard'), legacy('tenant-standard')), (a) => a.status === 403);
    expect(expired.message).toContain('tls.tls-enabled: TLS is off');
    expect(expired.warnings).toContain(`exception globex-legacy-no-tls, owner platform-oncall@example.com, expired ${day(today - DAY)}: tls.tls-enabled applies again`);
    await until('the expired exception is logged', () => logLines(serve.stdout()).some((l) => l['exception'] === 'globex-legacy-no-tls' && l['level'] === 40), 5_000, 50);
  });

  it('the webhook log has the API server\'s calls', async () => {
    // serve writes its log in batches, at least once a second.
    const admissionLines = (): Record<string, unknown>[] => logLines(serve.stdout()).filter((l) => typeof l['uid'] === 'string' && l['endpoint']);
    await until('the Namespace label-guard denial is logged', () => admissionLines().some((l) => l['kind'] === 'Namespace' && l['user'] === 'alice' && l['outcome'] === 'denied'), 5_000, 50);
    const requests = admissionLines();
    const forPdb = requests.filter((l) => l['kind'] === 'PodDisruptionBudget' && l['name'] === 'redis-frozen');
    expect(forPdb.length).toBeGreaterThan(0);
    expect(forPdb.some((l) => l['outcome'] === 'denied' && l['user'] === 'admin')).toBe(true);
    expect(requests.some((l) => l['endpoint'] === 'mutate' && l['outcome'] === 'patched' && l['kind'] === 'Redis')).toBe(true);
    expect(requests.some((l) => l['kind'] === 'Namespace' && l['user'] === 'alice' && l['outcome'] === 'denied')).toBe(true);
    for (const l of requests) expect(l).not.toHaveProperty('object');
  });
});
