// The rendered bundle (`kubectl kustomize manifests/`) against a real kube-apiserver 1.20: its RBAC,
// Namespace, ServiceAccounts, ConfigMap, Deployments, Service and NetworkPolicies are applied as
// rendered; `redline serve` and `redline controller` run as their service accounts' identities (static
// tokens for system:serviceaccount:redline-system:…) with the Deployments' own args — only the
// mount paths and ports are remapped to what a pod would see: the policies directory holds the
// rendered ConfigMap's data, the TLS directory the three files the Deployment projects. The rendered
// webhook configurations are registered with `url` + `caBundle` instead of the in-cluster Service.
//
// What it shows: the least-privilege RBAC is sufficient (serve's namespace informer lists and
// watches, admission works through the API server, the controller stamps a tenant namespace — its
// label writes pass serve's label guard) and nothing more is granted than the bundle says.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AuthorizationV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, RbacAuthorizationV1Api,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../certs/clock.js';
import { ensureDevCertificates } from '../../certs/dev.js';
import { CLI, ROOT } from '../helpers/cli.js';
import { freePort, startControlPlane, type ControlPlane } from './controlplane/index.js';
import { until } from '../helpers/wait.js';
import { rejection } from './helpers/api.js';
import { installCrds } from './controlplane/crds.js';
import { apiFor, installTenantCrd } from '../bench/bootstrap-harness.js';
import { SCALE_PARENTS } from '../../webhook/scale.js';

const NS = 'redline-system';
const WEBHOOK_SA = `system:serviceaccount:${NS}:redline-webhook`;
const CONTROLLER_SA = `system:serviceaccount:${NS}:redline-controller`;
const SA_GROUPS = ['system:serviceaccounts', `system:serviceaccounts:${NS}`];

type Obj = KubernetesObject & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: unknown };
interface Container { args: string[]; env?: { name: string; value?: string; valueFrom?: unknown }[] }
interface Deployment extends Obj { spec: { template: { spec: { containers: Container[] } } } }
interface WebhookConfig extends Obj { webhooks: { name: string; clientConfig: { service?: { path?: string }; url?: string; caBundle?: string } }[] }


function kubectl(): string {
  for (const dir of [...(process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean), '/usr/bin', '/usr/local/bin']) {
    const p = path.join(dir, 'kubectl');
    if (existsSync(p)) return p;
  }
  throw new Error('kubectl not found (PATH, /usr/bin, /usr/local/bin): this suite renders the bundle with `kubectl kustomize`; install kubectl');
}

function render(): Obj[] {
  const out = execFileSync(kubectl(), ['kustomize', path.join(ROOT, 'manifests')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return parseAllDocuments(out).map((d) => d.toJS() as Obj).filter((o) => o !== null);
}

function clients(kubeconfig: string): { objects: KubernetesObjectApi; core: CoreV1Api; rbac: RbacAuthorizationV1Api; authz: AuthorizationV1Api } {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    objects: KubernetesObjectApi.makeApiClient(kc),
    core: kc.makeApiClient(CoreV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
    authz: kc.makeApiClient(AuthorizationV1Api),
  };
}

async function example(file: string): Promise<Obj> {
  return parseAllDocuments(readFileSync(path.join(ROOT, 'manifests', 'examples', file), 'utf8'))[0]!.toJS() as Obj;
}



/** Replaces the value after `flag` in `args` (the flag must be there: the Deployment sets it). */
function remap(args: string[], flag: string, value: string): string[] {
  const i = args.indexOf(flag);
  if (i < 0 || i + 1 >= args.length) throw new Error(`the rendered Deployment's args have no ${flag} VALUE: ${args.join(' ')}`);
  return [...args.slice(0, i + 1), value, ...args.slice(i + 2)];
}

interface Proc { child: ChildProcess; out(): string; stop(): Promise<number | null> }
const live = new Set<ChildProcess>();
process.on('exit', () => { for (const c of live) c.kill('SIGKILL'); });

function run(args: string[], env: Record<string, string>): Proc {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  // A clean environment: only what a container would have (no KUBECONFIG, no REDLINE_* of the runner).
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { live.delete(child); resolve(code); }));
  return {
    child,
    out: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

async function readyz(port: number): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: await res.text() };
}

describe('the rendered bundle on a real kube-apiserver, with its own RBAC', () => {
  let cp: ControlPlane;
  let admin: ReturnType<typeof clients>;
  let bundle: Obj[];
  let dir: string;
  let serve: Proc;
  let servePorts: { port: number; health: number };
  let controller: Proc | undefined;
  const tokens = { webhook: randomBytes(16).toString('hex'), controller: randomBytes(16).toString('hex'), alice: randomBytes(16).toString('hex') };

  const deployment = (name: string): Deployment => bundle.find((o) => o.kind === 'Deployment' && o.metadata.name === name) as Deployment;

  beforeAll(async () => {
    bundle = render();
    dir = mkdtempSync(path.join(tmpdir(), 'redline-manifests-e2e-'));
    cp = await startControlPlane({
      users: [
        { name: WEBHOOK_SA, token: tokens.webhook, groups: SA_GROUPS },
        { name: CONTROLLER_SA, token: tokens.controller, groups: SA_GROUPS },
        { name: 'alice', token: tokens.alice, groups: ['redline:tenant:acme'] },
      ],
    });
    admin = clients(cp.adminKubeconfig);
    await installCrds(cp.adminKubeconfig);

    // Everything but the webhook configurations, as rendered (policy/v1 PDBs as v1beta1: 1.20).
    const ordered = [...bundle.filter((o) => o.kind === 'Namespace'), ...bundle.filter((o) => o.kind !== 'Namespace' && !o.kind.endsWith('WebhookConfiguration'))];
    for (const o of ordered) {
      // client-node's CRD model loses the x-kubernetes-* keys of nested schemas: the CRD goes as raw JSON.
      if (o.kind === 'CustomResourceDefinition') continue;
      await admin.objects.create(o.kind === 'PodDisruptionBudget' ? { ...o, apiVersion: 'policy/v1beta1' } : o);
    }
    const raw = await apiFor(cp.adminKubeconfig);
    const crds = bundle.filter((o) => o.kind === 'CustomResourceDefinition');
    for (const crd of crds.filter((c) => c.metadata.name !== 'tenants.redline.dev')) {
      await raw.apply(crd as never, 'customresourcedefinitions', { force: true, fieldManager: 'redline-e2e-admin' });
    }
    await installTenantCrd(raw, 30_000, crds.find((c) => c.metadata.name === 'tenants.redline.dev'));
    raw.close();
    for (const d of parseAllDocuments(readFileSync(path.join(ROOT, 'manifests', 'examples', 'namespaces.yaml'), 'utf8'))) {
      await admin.objects.create(d.toJS() as Obj);
    }

    // What the webhook pod's volumes hold: the ConfigMap's keys as files, and tls.crt/tls.key/ca.crt.
    const configMap = bundle.find((o) => o.kind === 'ConfigMap') as Obj & { data: Record<string, string> };
    const policiesDir = path.join(dir, 'policies');
    mkdirSync(policiesDir);
    for (const [key, text] of Object.entries(configMap.data)) writeFileSync(path.join(policiesDir, key), text);
    const dev = await ensureDevCertificates(path.join(dir, 'dev'), systemClock);
    const tlsDir = path.join(dir, 'tls');
    mkdirSync(tlsDir);
    copyFileSync(dev.certPath, path.join(tlsDir, 'tls.crt'));
    copyFileSync(dev.keyPath, path.join(tlsDir, 'tls.key'));
    copyFileSync(dev.caPath, path.join(tlsDir, 'ca.crt'));
    const caPem = readFileSync(dev.caPath, 'utf8');

    servePorts = { port: await freePort(), health: await freePort() };
    let args = deployment('redline-webhook').spec.template.spec.containers[0]!.args;
    args = remap(remap(remap(remap(args, '--tls-secret-dir', tlsDir), '--policies', policiesDir), '--port', String(servePorts.port)), '--health-port', String(servePorts.health));
    serve = run([...args, '--address', '127.0.0.1', '--kubeconfig', cp.kubeconfigFor(WEBHOOK_SA)], { HOME: dir });
    await until('redline serve /readyz 200 (as the webhook service account)', async () => (await readyz(servePorts.health)).status === 200, 30_000, 150, () => serve.out().slice(-3000));

    // The rendered webhook configurations, pointed at the local serve.
    for (const config of bundle.filter((o) => o.kind.endsWith('WebhookConfiguration')) as WebhookConfig[]) {
      const copy = structuredClone(config);
      for (const hook of copy.webhooks) {
        hook.clientConfig = { url: `https://127.0.0.1:${servePorts.port}${hook.clientConfig.service?.path ?? '/'}`, caBundle: Buffer.from(caPem).toString('base64') };
      }
      await admin.objects.create(copy);
    }
    // The API server picks webhook configurations up asynchronously: wait until it calls serve.
    const probe = await example('bad/kubedb-over-plan.yaml');
    await until('the API server calling redline serve', async () => {
      const r = await rejection(admin.objects.create(probe, undefined, 'All')).catch(() => undefined);
      return r?.code === 403 && r.message.includes('mode Cluster is not in plan free');
    }, 30_000, 150, () => serve.out().slice(-3000));
  }, 240_000);

  afterAll(async () => {
    const codes = { serve: await serve?.stop(), controller: await controller?.stop() };
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(codes.serve).toBe(0);
    if (controller) expect(codes.controller).toBe(0);
  }, 90_000);

  it('serve is ready with nothing but the rendered RBAC: its namespace, usage and ledger informers list and watch', async () => {
    const r = await readyz(servePorts.health);
    expect(r.status).toBe(200);
    expect(r.body).toContain('cluster source synced');
    const metrics = await (await fetch(`http://127.0.0.1:${servePorts.health}/metrics`)).text();
    expect(metrics).not.toMatch(/redline_errors_total\{kind="namespace_watch"\} [1-9]/);
    expect(metrics).not.toMatch(/redline_errors_total\{kind="(usage|ledger)_watch"\} [1-9]/);
    expect(r.body).toContain('usage caches and ledger records (redline-ledger) synced');
    expect(serve.out()).not.toMatch(/forbidden/i);
  });

  it('grants the webhook account exactly that, and nothing more', async () => {
    const can = async (attributes: Record<string, string>): Promise<boolean> => {
      const review = await admin.authz.createSubjectAccessReview({ body: { spec: { user: WEBHOOK_SA, groups: SA_GROUPS, resourceAttributes: attributes } } });
      return review.status?.allowed === true;
    };
    for (const verb of ['get', 'list', 'watch']) expect(await can({ verb, resource: 'namespaces' }), verb).toBe(true);
    // The tenant ledger: the Redis kinds read cluster-wide, its records written in redline-ledger only.
    for (const verb of ['list', 'watch']) expect(await can({ verb, resource: 'redises', group: 'kubedb.com' }), verb).toBe(true);
    for (const verb of ['get', 'list', 'watch', 'create', 'update']) {
      expect(await can({ verb, resource: 'configmaps', namespace: 'redline-ledger' }), `${verb} ledger configmaps`).toBe(true);
    }
    // The parents of the scale subresources it judges: get, one object at a time.
    for (const p of SCALE_PARENTS) expect(await can({ verb: 'get', resource: p.resource, group: p.group, namespace: 'tenant-free' }), `get ${p.resource}`).toBe(true);
    const denied: Record<string, string>[] = [
      { verb: 'update', resource: 'statefulsets', group: 'apps', namespace: 'tenant-free', subresource: 'scale' },
      { verb: 'get', resource: 'statefulsets', group: 'apps', namespace: 'tenant-free', subresource: 'scale' },
      { verb: 'update', resource: 'statefulsets', group: 'apps', namespace: 'tenant-free' },
      { verb: 'get', resource: 'daemonsets', group: 'apps', namespace: 'tenant-free' },
      { verb: 'get', resource: 'secrets', namespace: NS, name: 'redline-webhook-tls' },
      { verb: 'list', resource: 'secrets' },
      { verb: 'get', resource: 'configmaps', namespace: NS },
      { verb: 'update', resource: 'configmaps', namespace: NS },
      { verb: 'create', resource: 'configmaps', namespace: 'tenant-free' },
      { verb: 'delete', resource: 'configmaps', namespace: 'redline-ledger' },
      { verb: 'patch', resource: 'configmaps', namespace: 'redline-ledger' },
      { verb: 'get', resource: 'secrets', namespace: 'redline-ledger' },
      { verb: 'patch', resource: 'namespaces', name: 'tenant-free' },
      { verb: 'create', resource: 'events', namespace: NS },
      { verb: 'create', resource: 'leases', group: 'coordination.k8s.io', namespace: NS },
      { verb: 'get', resource: 'redises', group: 'kubedb.com', namespace: 'tenant-free' },
      { verb: 'create', resource: 'redises', group: 'kubedb.com', namespace: 'tenant-free' },
    ];
    for (const attributes of denied) expect(await can(attributes), JSON.stringify(attributes)).toBe(false);
  });

  it('admission works through the API server with the rendered webhook configurations', async () => {
    // validate: a bad object is denied with Redline's message.
    const privileged = await rejection(admin.objects.create(await example('bad/kubedb-privileged.yaml')));
    expect(privileged.code).toBe(403);
    expect(privileged.message).toContain('admission webhook "validate.redline.dev" denied the request');
    expect(privileged.message).toContain('privileged containers are not allowed');
    // mutate: a good object is stored with Redline's defaults.
    await admin.objects.create(await example('good/ot-replication.yaml'));
    const stored = await admin.objects.read({ apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: 'RedisReplication', metadata: { name: 'sessions', namespace: 'tenant-standard' } }) as Obj & { spec: Record<string, unknown> };
    expect(stored.spec['pdb']).toEqual({ enabled: true, maxUnavailable: 1 });
    // the Namespace label guard: a tenant with RBAC rights to patch namespaces still cannot change its plan.
    await admin.rbac.createClusterRole({ body: { metadata: { name: 'e2e-ns-patcher' }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'patch'] }] } });
    await admin.rbac.createClusterRoleBinding({ body: {
      metadata: { name: 'e2e-alice-ns-patcher' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'e2e-ns-patcher' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    } });
    const alice = clients(cp.kubeconfigFor('alice'));
    const upgrade = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-free', labels: { 'redline.dev/plan': 'premium' } } };
    const denied = await until('the label guard to deny alice', async () => {
      const r = await rejection(alice.objects.patch(upgrade, undefined, undefined, undefined, undefined, PatchStrategy.StrategicMergePatch)).catch(() => undefined);
      return r?.message.includes('namespaces.redline.dev') ? r : undefined; // RBAC caches catch up first
    }, 10_000, 150);
    expect(denied.code).toBe(403);
    expect(denied.message).toContain('redline.dev/plan');
  });

  it('a tenant namespace created after serve started is known at once (the watch works)', async () => {
    await admin.objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-late', labels: { 'redline.dev/tenant': 'latecomer', 'redline.dev/plan': 'free' } } });
    const bad = { ...(await example('bad/kubedb-over-plan.yaml')), metadata: { name: 'too-big', namespace: 'tenant-late' } };
    const denied = await until('a policy verdict in tenant-late', async () => {
      const r = await rejection(admin.objects.create(bad, undefined, 'All')).catch(() => undefined);
      return r?.message.includes('mode Cluster is not in plan free') ? r : undefined;
    }, 10_000, 150, () => serve.out().slice(-2000));
    expect(denied.code).toBe(403);
  });

  it('the controller, as its service account with the rendered RBAC, stamps a tenant namespace (its label writes pass the label guard)', async () => {
    const container = deployment('redline-controller').spec.template.spec.containers[0]!;
    const health = await freePort();
    let args = remap(container.args, '--policies', path.join(dir, 'policies'));
    args = remap(args, '--health-port', String(health));
    // The Deployment's env, with the downward-API identity filled in as the kubelet would.
    const env: Record<string, string> = { HOME: dir };
    for (const e of container.env ?? []) env[e.name] = e.value ?? 'redline-controller-e2e-0';
    // Not the controller's certificate manager here: it would (rightly) replace the caBundle this
    // suite registered for serve's test certificate. The tenant part is what is under test.
    env['REDLINE_CONTROLLER_CERTS'] = 'false';
    controller = run([...args, '--address', '127.0.0.1', '--kubeconfig', cp.kubeconfigFor(CONTROLLER_SA)], env);
    const c = controller;
    await until('redline controller /readyz 200', async () => (await readyz(health)).status === 200, 30_000, 150, () => c.out().slice(-3000));

    const stamped = await until('tenant-standard stamped by the controller', async () => {
      const ns = await admin.core.readNamespace({ name: 'tenant-standard' });
      return ns.metadata?.annotations?.['redline.dev/bootstrap'] && ns.metadata.labels?.['pod-security.kubernetes.io/enforce'] ? ns : undefined;
    }, 60_000, 150, () => c.out().slice(-3000));
    expect(stamped.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const binding = await admin.rbac.readNamespacedRoleBinding({ name: 'redline-tenant', namespace: 'tenant-standard' });
    expect(binding.roleRef.name).toBe('redline-tenant');
    const quota = await admin.core.readNamespacedResourceQuota({ name: 'redline-quota', namespace: 'tenant-standard' });
    expect(quota.spec?.hard?.['pods']).toBeDefined();
    const lease = await admin.objects.read({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'redline-controller', namespace: NS } }) as Obj & { spec: { holderIdentity?: string } };
    expect(lease.spec.holderIdentity).toBe('redline-controller-e2e-0');
    expect(c.out()).not.toMatch(/forbidden/i);
  });
});
