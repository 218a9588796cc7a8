// The deployable bundle (manifests/): rendered with the real `kubectl kustomize`, then checked
//  - against the Kubernetes OpenAPI schemas, offline (kubernetes-models: its JSON-schema validators
//    for types, required fields and formats, and its TypeScript declarations through the compiler
//    for unknown fields — a misspelt `readinessProb` is an error, as with `kubectl --validate=strict`);
//  - for what the issue asks of each object (webhook safety, RBAC, Deployments, network policy);
//  - against Redline itself: the Deployments pass its own pod-security policy (restricted), the
//    Deployment args parse with serve's and the controller's real config loaders, the ConfigMap is
//    exactly policies/library.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { readCrdFile, sharedCrdsDir } from '../e2e/controlplane/crds.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTROLLER_SETTINGS, CONTROLLER_SPEC } from '../../core/settings/controller.js';
import { loadSettings } from '../../core/settings/load.js';
import { SERVE_SPEC, type ServeSettings } from '../../core/settings/serve.js';
import { compileLibrary, defaultLibraryDir, Engine, loadLibrary, type JsonObject } from '../../policies/engine/index.js';
import { RECOGNISED_KINDS } from '../../policies/workloads/index.js';
import { METRIC_KINDS } from '../../webhook/metrics.js';
import { USAGE_RESOURCES } from '../../kube/usage-source.js';
import { SCALE_PARENTS } from '../../webhook/scale.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const ROOT = path.join(import.meta.dirname, '..', '..');
const BASE = 'manifests';
const NS = 'redline-system';
const SCHEMA_PACKAGE = 'kubernetes-models@4.5.1';

// ---------------------------------------------------------------------------------------------
// rendering

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

function kubectl(): string {
  for (const dir of [...(process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean), '/usr/bin', '/usr/local/bin']) {
    const p = path.join(dir, 'kubectl');
    if (existsSync(p)) return p;
  }
  throw new Error('kubectl not found (PATH, /usr/bin, /usr/local/bin): these tests render the bundle with `kubectl kustomize` (kubectl ≥ 1.27, kustomize v5); install kubectl');
}

function render(dir: string): Obj[] {
  const out = execFileSync(kubectl(), ['kustomize', path.join(ROOT, dir)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return parseAllDocuments(out).map((d) => d.toJS() as Obj).filter((o) => o !== null);
}

const find = (objs: Obj[], kind: string, name: string): Obj => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`rendered bundle has no ${kind}/${name}; it has: ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
};

// The shapes this test reads (only what it reads).
interface Container {
  name: string; image?: string; args?: string[]; env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  serviceAccountName?: string; automountServiceAccountToken?: boolean; enableServiceLinks?: boolean;
  securityContext?: Record<string, unknown>; containers: Container[];
  affinity?: { podAntiAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }[] } };
  volumes?: { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] }; configMap?: { name: string } }[];
}
interface Deployment extends Obj {
  spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}
interface Webhook {
  name: string; admissionReviewVersions: string[]; sideEffects: string; failurePolicy: string; timeoutSeconds: number;
  reinvocationPolicy?: string; matchPolicy?: string;
  clientConfig: { service?: { name: string; namespace: string; path: string; port: number }; url?: string };
  namespaceSelector?: { matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  objectSelector?: { matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  rules: { apiGroups: string[]; apiVersions: string[]; resources: string[]; operations: string[]; scope?: string }[];
}
interface WebhookConfig extends Obj { webhooks: Webhook[] }
interface Rule { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[] }

let base: Obj[];
beforeAll(() => {
  base = render(BASE);
});

const containerOf = (d: Deployment): Container => d.spec.template.spec.containers[0]!;
const argValue = (args: string[], flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};

// ---------------------------------------------------------------------------------------------

describe('kubectl kustomize manifests/', () => {
  it('renders the whole bundle', () => {
    const inventory = base.map((o) => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`);
    for (const expected of [
      'Namespace/redline-system',
      'ServiceAccount/redline-system/redline-webhook', 'ServiceAccount/redline-system/redline-controller',
      'ClusterRole/redline-webhook', 'ClusterRoleBinding/redline-webhook',
      'ClusterRole/redline-controller', 'ClusterRoleBinding/redline-controller', 'ClusterRole/redline-tenant',
      'Deployment/redline-system/redline-webhook', 'Deployment/redline-system/redline-controller',
      'Service/redline-system/redline-webhook',
      'PodDisruptionBudget/redline-system/redline-webhook', 'PodDisruptionBudget/redline-system/redline-controller',
      'NetworkPolicy/redline-system/redline-default-deny',
      'MutatingWebhookConfiguration/redline', 'ValidatingWebhookConfiguration/redline',
      'CustomResourceDefinition/tenants.redline.dev',
    ]) expect(inventory).toContain(expected);
    expect(inventory.filter((i) => i.startsWith(`ConfigMap/${NS}/redline-policies-`))).toHaveLength(1);
    expect(inventory).toContain('Namespace/redline-ledger');
    // Nothing lands in another namespace but serve's and the controller's grants on the ledger records.
    for (const o of base) {
      if (!o.metadata.namespace) continue;
      const ledger = (o.kind === 'Role' || o.kind === 'RoleBinding') && ['redline-webhook-ledger', 'redline-controller-ledger'].includes(o.metadata.name);
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(ledger ? 'redline-ledger' : NS);
    }
    // Every object says it is Redline's.
    for (const o of base) expect(o.metadata.labels?.['app.kubernetes.io/name'], `${o.kind}/${o.metadata.name}`).toBe('redline');
  });
});

// ---------------------------------------------------------------------------------------------

interface SchemaModule { [kind: string]: new (data: unknown) => { validate(): void } }

/** kubernetes-models module path of an apiVersion: "v1" → v1, "apps/v1" → apps/v1. */
const modelPath = (apiVersion: string): string => `kubernetes-models/${apiVersion}`;

function requireSchemaPackage(): void {
  try {
    createRequire(import.meta.url).resolve('kubernetes-models/package.json');
  } catch {
    throw new Error(`the Kubernetes schemas come from the devDependency ${SCHEMA_PACKAGE}; it is not installed: npm install --save-dev ${SCHEMA_PACKAGE}`);
  }
}

/**
 * Unknown fields: each object becomes a typed object literal in a virtual TypeScript file, e.g.
 * `const o3: import("kubernetes-models/apps/v1/Deployment").IDeployment = {…}`, and the compiler's
 * excess-property and type checks report anything the schema does not declare.
 */
function strictTypeProblems(objs: Obj[]): string[] {
  const file = path.join(ROOT, 'test', 'unit', '__rendered_manifests__.ts');
  const source = objs
    .map((o, i) => `export const o${i}: import(${JSON.stringify(`${modelPath(o.apiVersion)}/${o.kind}`)}).I${o.kind} = ${JSON.stringify(o, null, 1)};`)
    .join('\n');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true, noEmit: true, skipLibCheck: true, types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (name === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest));
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file?.fileName !== file || d.start === undefined) return message;
    const line = d.file.getLineAndCharacterOfPosition(d.start).line;
    const index = source.slice(0, d.start).split('\nexport const o').length - 1;
    const o = objs[index];
    return `${o ? `${o.kind}/${o.metadata.name}` : '?'} (line ${line + 1} of the generated check): ${message}`;
  });
}

describe('every rendered object validates against the Kubernetes OpenAPI schemas', () => {
  it(`${SCHEMA_PACKAGE}: types, required fields and formats`, async () => {
    requireSchemaPackage();
    const problems: string[] = [];
    for (const o of base) {
      const mod = (await import(modelPath(o.apiVersion))) as SchemaModule;
      const Model = mod[o.kind];
      if (!Model) {
        problems.push(`${o.apiVersion} ${o.kind}: no schema in ${SCHEMA_PACKAGE}`);
        continue;
      }
      try {
        new Model(structuredClone(o)).validate();
      } catch (e) {
        problems.push(`${o.kind}/${o.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('no unknown fields (strict, like kubectl --validate=strict)', () => {
    requireSchemaPackage();
    expect(strictTypeProblems(base)).toEqual([]);
  });

  it('the checks do catch a misspelt field and a wrong type', async () => {
    requireSchemaPackage();
    const misspelt = structuredClone(find(base, 'Deployment', 'redline-webhook')) as Deployment;
    const c = containerOf(misspelt) as unknown as Record<string, unknown>;
    c['readinessProb'] = c['readinessProbe'];
    expect(strictTypeProblems([misspelt]).join('\n')).toMatch(/'"?readinessProb"?' does not exist/);
    const wrongType = structuredClone(find(base, 'Deployment', 'redline-webhook')) as Deployment;
    (wrongType.spec as unknown as Record<string, unknown>)['replicas'] = 'two';
    const { Deployment: Model } = (await import(modelPath('apps/v1'))) as SchemaModule;
    expect(() => new Model!(wrongType).validate()).toThrow(/replicas/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('webhook configurations', () => {
  const configs = (objs: Obj[]): WebhookConfig[] => objs.filter((o) => o.kind.endsWith('WebhookConfiguration')) as WebhookConfig[];
  const all = (): { config: WebhookConfig; hook: Webhook }[] =>
    configs(base).flatMap((config) => config.webhooks.map((hook) => ({ config, hook })));

  it('AdmissionReview v1 only, no side effects, short timeouts, Redline\'s Service', () => {
    const service = find(base, 'Service', 'redline-webhook') as Obj & { spec: { ports: { port: number }[] } };
    expect(configs(base).flatMap((c) => c.webhooks.map((w) => `${c.kind}/${w.name}`)).sort()).toEqual([
      'MutatingWebhookConfiguration/mutate.redline.dev', 'MutatingWebhookConfiguration/namespace-name.redline.dev',
      'MutatingWebhookConfiguration/offboarding.mutate.redline.dev',
      'ValidatingWebhookConfiguration/claims-system-managed.namespaces.redline.dev',
      'ValidatingWebhookConfiguration/claims-system-plan.namespaces.redline.dev',
      'ValidatingWebhookConfiguration/claims-system-tenant.namespaces.redline.dev',
      'ValidatingWebhookConfiguration/claims-system.namespaces.redline.dev',
      'ValidatingWebhookConfiguration/namespaces.redline.dev', 'ValidatingWebhookConfiguration/offboarding.validate.redline.dev',
      'ValidatingWebhookConfiguration/validate.redline.dev',
    ]);
    expect(all().length).toBe(10);
    for (const { hook } of all()) {
      expect(hook.admissionReviewVersions, hook.name).toEqual(['v1']);
      // /validate may write the tenant ledger (a reservation), never for a dry run; /mutate writes nothing.
      expect(hook.sideEffects, hook.name).toBe(hook.clientConfig.service?.path === '/validate' ? 'NoneOnDryRun' : 'None');
      expect(hook.timeoutSeconds, hook.name).toBeGreaterThanOrEqual(1);
      expect(hook.timeoutSeconds, hook.name).toBeLessThanOrEqual(5);
      expect(hook.clientConfig.url, hook.name).toBeUndefined();
      expect(hook.clientConfig.service, hook.name).toMatchObject({ name: service.metadata.name, namespace: NS });
      expect(service.spec.ports.map((p) => p.port), hook.name).toContain(hook.clientConfig.service!.port);
    }
  });

  // Which entries the API server calls for a write, as it selects them: namespaceSelector on the
  // namespace's labels (for a Namespace write: the Namespace's own new labels), objectSelector on the
  // old or the new object, the rules on group/resource/operation.
  type Expr = { key: string; operator: string; values?: string[] };
  const matches = (exprs: Expr[] | undefined, labels: Record<string, string>): boolean => (exprs ?? []).every((e) => {
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case 'In': return has && e.values!.includes(labels[e.key]!);
      case 'NotIn': return !has || !e.values!.includes(labels[e.key]!);
      case 'Exists': return has;
      case 'DoesNotExist': return !has;
      default: throw new Error(`operator ${e.operator}`);
    }
  });
  interface Write { group: string; resource: string; operation: string; nsLabels: Record<string, string>; objLabels?: Record<string, string>; oldLabels?: Record<string, string> }
  const called = (objs: Obj[], w: Write): { name: string; failurePolicy: string; kind: string }[] =>
    configs(objs).flatMap((c) => c.webhooks.filter((hook) =>
      hook.rules.some((r) => r.apiGroups.includes(w.group) && r.resources.includes(w.resource) && r.operations.includes(w.operation))
      && matches(hook.namespaceSelector?.matchExpressions, w.nsLabels)
      && (matches(hook.objectSelector?.matchExpressions, w.objLabels ?? {}) || (w.oldLabels !== undefined && matches(hook.objectSelector?.matchExpressions, w.oldLabels))),
    ).map((hook) => ({ name: hook.name, failurePolicy: hook.failurePolicy, kind: c.kind })));
  const nsWrite = (labels: Record<string, string>, resource = 'namespaces', oldLabels?: Record<string, string>): Write =>
    ({ group: '', resource, operation: oldLabels ? 'UPDATE' : 'CREATE', nsLabels: labels, objLabels: labels, ...(oldLabels ? { oldLabels } : {}) });
  const validating = (objs: Obj[], w: Write) => called(objs, w).filter((h) => h.kind === 'ValidatingWebhookConfiguration');
  const NAME = 'kubernetes.io/metadata.name';

  it('workloads, Pods, Secrets: tenant and offboarding namespaces only, never kube-system or redline-system', () => {
    const pod = (nsLabels: Record<string, string>): Write => ({ group: '', resource: 'pods', operation: 'CREATE', nsLabels });
    const names = (w: Write): string[] => called(base, w).map((h) => h.name).sort();
    expect(names(pod({ [NAME]: 'tenant-a', 'redline.dev/tenant': 'a' }))).toEqual(['mutate.redline.dev', 'validate.redline.dev']);
    expect(names(pod({ [NAME]: 'tenant-a', 'redline.dev/managed': 'true', 'redline.dev/plan': 'free' }))).toEqual(['offboarding.mutate.redline.dev', 'offboarding.validate.redline.dev']);
    // Both labels while the controller is onboarding: called once per configuration, not twice.
    expect(names(pod({ [NAME]: 'tenant-a', 'redline.dev/tenant': 'a', 'redline.dev/managed': 'true' }))).toEqual(['mutate.redline.dev', 'validate.redline.dev']);
    expect(names(pod({ [NAME]: 'team-a' }))).toEqual([]);
    expect(names(pod({ [NAME]: 'team-a', 'redline.dev/managed': 'false' }))).toEqual([]);
    for (const system of ['kube-system', NS]) {
      expect(names(pod({ [NAME]: system, 'redline.dev/tenant': 'a' })), system).toEqual([]);
      expect(names(pod({ [NAME]: system, 'redline.dev/managed': 'true' })), system).toEqual([]);
    }
    expect(names({ group: '', resource: 'secrets', operation: 'CREATE', nsLabels: { 'redline.dev/tenant': 'a' } })).toEqual(['mutate.redline.dev', 'validate.redline.dev']);
    expect(names({ group: '', resource: 'secrets', operation: 'UPDATE', nsLabels: { 'redline.dev/tenant': 'a' } })).toEqual(['validate.redline.dev']);
    // Twins have the same rules as the entries they double.
    const byName = new Map(configs(base).flatMap((c) => c.webhooks.map((w) => [w.name, w])));
    expect(byName.get('offboarding.validate.redline.dev')?.rules).toEqual(byName.get('validate.redline.dev')?.rules);
    expect(byName.get('offboarding.mutate.redline.dev')?.rules).toEqual(byName.get('mutate.redline.dev')?.rules);
  });

  it('Namespace writes: every namespace is judged; only the real system namespaces are never blocked while Redline is down', () => {
    const redlineSystem = find(base, 'Namespace', NS).metadata.labels!;
    for (const resource of ['namespaces', 'namespaces/status', 'namespaces/finalize']) {
      const policies = (w: Write): string[] => validating(base, w).map((h) => h.failurePolicy);
      // Fails open for the real system namespaces (labelled since 1.21; the bundle labels its own).
      expect(policies(nsWrite({ [NAME]: 'kube-system' }, resource)), resource).toEqual(['Ignore']);
      expect(policies(nsWrite(redlineSystem, resource)), resource).toEqual(['Ignore']);
      expect(policies(nsWrite({ ...redlineSystem, team: 'x' }, resource, redlineSystem)), resource).toEqual(['Ignore']);
      // Fails closed for every other namespace, labelled or not (before 1.21).
      expect(policies(nsWrite({ [NAME]: 'team-a' }, resource)), resource).toEqual(['Fail']);
      expect(policies(nsWrite({}, resource)), resource).toEqual(['Fail']);
      expect(policies(nsWrite({ 'redline.dev/plan': 'premium' }, resource, {})), resource).toEqual(['Fail']);
      // An impostor label cannot take a Redline label past a fail-closed entry, old object or new.
      for (const redline of [{ 'redline.dev/tenant': 'a' }, { 'redline.dev/managed': 'true' }, { 'redline.dev/plan': 'premium' }] as Record<string, string>[]) {
        for (const claim of ['kube-system', NS]) {
          const spoofed = { ...redline, [NAME]: claim };
          expect(policies(nsWrite(spoofed, resource)), `${resource} ${JSON.stringify(spoofed)}`).toContain('Fail');
          expect(policies(nsWrite({ [NAME]: claim }, resource, { ...redline, [NAME]: 'tenant-a' })), `${resource} drop ${JSON.stringify(redline)}`).toContain('Fail');
        }
      }
      // An impostor without Redline labels is still judged (fails open only while Redline is down).
      expect(policies(nsWrite({ [NAME]: 'kube-system' }, resource, {})), resource).toEqual(['Ignore']);
    }
    // Every Namespace entry sees the same operations and both subresources; DELETE is never sent.
    for (const hook of configs(base).flatMap((c) => c.kind === 'ValidatingWebhookConfiguration' ? c.webhooks : []).filter((w) => w.name.endsWith('namespaces.redline.dev'))) {
      expect(hook.rules, hook.name).toEqual([{ apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces', 'namespaces/status', 'namespaces/finalize'], operations: ['CREATE', 'UPDATE'], scope: 'Cluster' }]);
      expect(hook.clientConfig.service?.path, hook.name).toBe('/validate');
    }
  });

  it('the mutating Namespace entry sees every new Namespace and fails open', () => {
    for (const labels of [{}, { [NAME]: 'kube-system' }, { [NAME]: 'team-a' }] as Record<string, string>[]) {
      expect(called(base, nsWrite(labels)).filter((h) => h.kind === 'MutatingWebhookConfiguration'), JSON.stringify(labels))
        .toEqual([{ name: 'namespace-name.redline.dev', failurePolicy: 'Ignore', kind: 'MutatingWebhookConfiguration' }]);
    }
    expect(called(base, nsWrite({}, 'namespaces', {})).filter((h) => h.kind === 'MutatingWebhookConfiguration')).toEqual([]);
  });

  it('validation fails closed, mutation fails open and is reinvoked; the label guard fails closed', () => {
    const byName = new Map(all().map(({ config, hook }) => [`${config.kind}/${hook.name}`, hook]));
    for (const name of ['validate.redline.dev', 'offboarding.validate.redline.dev']) {
      expect(byName.get(`ValidatingWebhookConfiguration/${name}`)?.failurePolicy, name).toBe('Fail');
      expect(byName.get(`ValidatingWebhookConfiguration/${name}`)?.clientConfig.service?.path, name).toBe('/validate');
    }
    expect(byName.get('ValidatingWebhookConfiguration/namespaces.redline.dev')?.failurePolicy).toBe('Fail');
    for (const name of ['mutate.redline.dev', 'offboarding.mutate.redline.dev', 'namespace-name.redline.dev']) {
      const mutate = byName.get(`MutatingWebhookConfiguration/${name}`);
      expect(mutate?.failurePolicy, name).toBe('Ignore');
      expect(mutate?.reinvocationPolicy, name).toBe('IfNeeded');
      expect(mutate?.clientConfig.service?.path, name).toBe('/mutate');
    }
  });

  it('rules name exactly the supported kinds (and Namespaces and Secrets for the guards), no wildcards', () => {
    // kind → resource of every kind the engine supports (policies/workloads RECOGNISED_KINDS).
    const plural: Record<string, string> = {
      'kubedb.com/Redis': 'redises', 'kubedb.com/RedisSentinel': 'redissentinels',
      'redis.redis.opstreelabs.in/Redis': 'redis', 'redis.redis.opstreelabs.in/RedisReplication': 'redisreplications',
      'redis.redis.opstreelabs.in/RedisSentinel': 'redissentinels', 'redis.redis.opstreelabs.in/RedisCluster': 'redisclusters',
      'apps/StatefulSet': 'statefulsets', 'apps/Deployment': 'deployments', 'apps.k8s.appscode.com/PetSet': 'petsets',
      'apps/ReplicaSet': 'replicasets', 'apps/DaemonSet': 'daemonsets', 'batch/Job': 'jobs', 'batch/CronJob': 'cronjobs',
      '/ReplicationController': 'replicationcontrollers', 'cert-manager.io/Certificate': 'certificates',
      'app.redislabs.com/RedisEnterpriseCluster': 'redisenterpriseclusters', 'app.redislabs.com/RedisEnterpriseDatabase': 'redisenterprisedatabases',
      'app.redislabs.com/RedisEnterpriseActiveActiveDatabase': 'redisenterpriseactiveactivedatabases',
      'app.redislabs.com/RedisEnterpriseRemoteCluster': 'redisenterpriseremoteclusters', 'databases.spotahome.com/RedisFailover': 'redisfailovers',
      '/Pod': 'pods', 'policy/PodDisruptionBudget': 'poddisruptionbudgets',
    };
    const supported = new Set(RECOGNISED_KINDS.map(({ apiVersion, kind }) => {
      const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') as [string, string] : ['', apiVersion];
      const resource = plural[`${group}/${kind}`];
      expect(resource, `${apiVersion} ${kind}: add it to this test's plural map`).toBeDefined();
      return `${group}/${version}/${resource}`;
    }));
    // The request metrics label every kind the webhooks are sent by name (not "other").
    expect([...new Set([...RECOGNISED_KINDS.map((k) => k.kind), 'Namespace', 'Secret'])].filter((k) => !METRIC_KINDS.includes(k))).toEqual([]);
    const guarded = new Set(['/v1/namespaces', '/v1/secrets']);
    const covered = (hook: Webhook): Set<string> => new Set(hook.rules.flatMap((r) =>
      r.apiGroups.flatMap((g) => r.apiVersions.flatMap((v) => r.resources.map((res) => `${g}/${v}/${res.split('/')[0]}`)))));
    for (const { hook } of all()) {
      for (const r of hook.rules) {
        for (const field of [r.apiGroups, r.apiVersions, r.resources, r.operations]) expect(field.join(','), hook.name).not.toMatch(/\*/);
        expect(r.operations.every((op) => ['CREATE', 'UPDATE', 'DELETE'].includes(op)), hook.name).toBe(true);
      }
      const extra = [...covered(hook)].filter((k) => !supported.has(k) && !guarded.has(k));
      expect(extra, hook.name).toEqual([]);
    }
    const hooks = configs(base).flatMap((c) => c.webhooks);
    const hook = (name: string): Webhook => hooks.find((w) => w.name === name)!;
    // The validating webhooks see every supported kind and Secrets; the Namespace guards only Namespaces.
    for (const name of ['validate.redline.dev', 'offboarding.validate.redline.dev']) {
      expect([...supported, '/v1/secrets'].filter((k) => !covered(hook(name)).has(k)), name).toEqual([]);
      // The scale subresource of every reviewed kind that has one, judged through its parent (UPDATE only).
      const scales = hook(name).rules.flatMap((r) => r.resources.filter((res) => res.endsWith('/scale')).map((res) => {
        expect(r.operations, `${name} ${res}`).toEqual(['UPDATE']);
        return `${r.apiGroups[0]}/${res.split('/')[0]}`;
      }));
      expect(scales.sort(), name).toEqual(SCALE_PARENTS.map((p) => `${p.group}/${p.resource}`).sort());
      expect(covered(hook(name)).has('/v1/namespaces'), name).toBe(false);
    }
    for (const w of hooks.filter((x) => x.name.endsWith('namespaces.redline.dev') || x.name === 'namespace-name.redline.dev')) {
      expect([...covered(w)], w.name).toEqual(['/v1/namespaces']);
    }
    // Every upstream CRD Redline validates that has a scale subresource has its scale routed too.
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [path.join(dir, e.name)] : []);
    const scalable: string[] = [];
    for (const file of walk(sharedCrdsDir())) {
      for (const crd of readCrdFile(file).crds as { spec?: { group: string; names: { plural: string }; versions: { name: string; subresources?: { scale?: object } }[] } }[]) {
        if (!crd.spec?.versions.some((v) => v.subresources?.scale)) continue;
        const reviewed = crd.spec.versions.some((v) => covered(hook('validate.redline.dev')).has(`${crd.spec!.group}/${v.name}/${crd.spec!.names.plural}`));
        if (reviewed) scalable.push(`${crd.spec.group}/${crd.spec.names.plural}`);
      }
    }
    expect(scalable).toEqual(['apps.k8s.appscode.com/petsets']);
    expect(scalable.filter((k) => !SCALE_PARENTS.some((p) => `${p.group}/${p.resource}` === k))).toEqual([]);
    // Mutation: only what Redline mutates (the operators' CRs, Pods and Secrets on CREATE), never
    // sets, templates, Certificates or PDBs.
    for (const name of ['mutate.redline.dev', 'offboarding.mutate.redline.dev']) {
      const mutate = hook(name);
      expect([...covered(mutate)].filter((k) => /statefulsets|deployments|petsets|replicasets|daemonsets|jobs|replicationcontrollers|certificates|poddisruptionbudgets/.test(k)), name).toEqual([]);
      expect(mutate.rules.find((r) => r.resources.includes('pods'))?.operations, name).toEqual(['CREATE']);
      expect(mutate.rules.find((r) => r.resources.includes('secrets'))?.operations, name).toEqual(['CREATE']);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('Deployments', () => {
  const webhook = (): Deployment => find(base, 'Deployment', 'redline-webhook') as Deployment;
  const controller = (): Deployment => find(base, 'Deployment', 'redline-controller') as Deployment;

  it('redline-webhook: 2 replicas on different nodes, a PDB, probes on the health port, the documented args', () => {
    const d = webhook();
    const spec = d.spec.template.spec;
    const c = containerOf(d);
    expect(d.spec.replicas).toBe(2);
    const term = spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0];
    expect(term?.topologyKey).toBe('kubernetes.io/hostname');
    expect(term?.labelSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
    const pdb = find(base, 'PodDisruptionBudget', 'redline-webhook') as Obj & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } };
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(d.spec.selector.matchLabels);
    expect(c.args).toEqual(['serve', '--tls-secret-dir', '/etc/redline/tls', '--policies', '/etc/redline/policies', '--port', '8443', '--health-port', '8080']);
    const health = c.ports?.find((p) => p.containerPort === 8080)?.name;
    expect(health).toBeDefined();
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: health });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: health });
    // The Service targets the HTTPS port serve listens on, and selects these pods.
    const svc = find(base, 'Service', 'redline-webhook') as Obj & { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] } };
    expect(svc.spec.selector).toEqual(d.spec.template.metadata.labels);
    const target = svc.spec.ports[0]!.targetPort;
    expect(c.ports?.find((p) => p.name === target || p.containerPort === target)?.containerPort).toBe(8443);
  });

  it('redline-controller: 2 replicas, leader election, health port = its settings\' default', () => {
    const d = controller();
    const c = containerOf(d);
    expect(d.spec.replicas).toBe(2);
    expect(c.args?.[0]).toBe('controller');
    const healthDefault = CONTROLLER_SETTINGS.find((s) => s.path === 'healthPort')!.default;
    expect(Number(argValue(c.args ?? [], '--health-port') ?? healthDefault)).toBe(healthDefault);
    const health = c.ports?.find((p) => p.containerPort === healthDefault)?.name;
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: health });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: health });
    const pdb = find(base, 'PodDisruptionBudget', 'redline-controller') as Obj & { spec: { minAvailable: number } };
    expect(pdb.spec.minAvailable).toBe(1);
    // The pod name becomes the leader-election identity.
    expect(c.env?.find((e) => e.name === 'REDLINE_CONTROLLER_IDENTITY')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
  });

  it('both: restricted securityContext, read-only root, requests and limits, no service links, a token only because they use the API', () => {
    for (const d of [webhook(), controller()]) {
      const spec = d.spec.template.spec;
      const name = d.metadata.name;
      expect(spec.securityContext, name).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(spec.enableServiceLinks, name).toBe(false);
      expect(spec.automountServiceAccountToken, name).toBe(true);
      const sa = find(base, 'ServiceAccount', spec.serviceAccountName!);
      expect(sa.metadata.namespace).toBe(NS);
      for (const c of spec.containers) {
        expect(c.securityContext, name).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
        for (const r of ['cpu', 'memory']) {
          expect(c.resources?.requests?.[r], `${name} requests.${r}`).toBeDefined();
          expect(c.resources?.limits?.[r], `${name} limits.${r}`).toBeDefined();
        }
        for (const m of c.volumeMounts ?? []) expect(m.readOnly, `${name} ${m.mountPath}`).toBe(true);
      }
    }
    // The webhook's account does not hand out tokens by itself: only its Deployment opts in.
    expect(find(base, 'ServiceAccount', 'redline-webhook')['automountServiceAccountToken']).toBe(false);
  });

  it('volumes: the TLS Secret without the CA key, and the generated policies ConfigMap by its hashed name', () => {
    const configMap = base.find((o) => o.kind === 'ConfigMap')!;
    const tls = webhook().spec.template.spec.volumes?.find((v) => v.secret);
    expect(tls?.secret?.secretName).toBe('redline-webhook-tls');
    expect(tls?.secret?.items?.map((i) => i.key).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    for (const d of [webhook(), controller()]) {
      const v = d.spec.template.spec.volumes?.find((x) => x.configMap);
      expect(v?.configMap?.name, d.metadata.name).toBe(configMap.metadata.name);
      const mount = containerOf(d).volumeMounts?.find((m) => m.name === v?.name);
      expect(mount?.mountPath).toBe(argValue(containerOf(d).args ?? [], '--policies'));
    }
  });

  it('the args and env parse with serve\'s and the controller\'s own config loaders', () => {
    const serveArgs = containerOf(webhook()).args!;
    const loadedServe = loadSettings<ServeSettings>(SERVE_SPEC, { argv: serveArgs.slice(1), env: {}, cwd: '/', readFile: () => '' });
    expect(loadedServe.problems).toEqual([]);
    const serve = loadedServe.settings!;
    expect(serve).toMatchObject({ port: 8443, healthPort: 8080, policiesDir: '/etc/redline/policies', dev: false });
    expect(serve.tls.secretDir).toBe('/etc/redline/tls');
    const c = containerOf(controller());
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? 'pod-name-from-the-downward-api']));
    const args = loadSettings(CONTROLLER_SPEC, { argv: c.args!.slice(1), env, cwd: '/' });
    expect(args.usage).toEqual([]);
    expect(args.problems).toEqual([]);
    expect(args.positional).toEqual([]);
    expect(args.settings).toMatchObject({ policiesDir: '/etc/redline/policies', leaderElection: { enabled: true, identity: 'pod-name-from-the-downward-api', namespace: NS } });
  });

  it('pass Redline\'s own pod-security policy at level restricted', async () => {
    const library = await loadLibrary(defaultLibraryDir());
    const podSecurity = library.policies.find((p) => p.name === 'pod-security')!;
    expect((podSecurity.settings as { level?: string }).level).toBe('restricted');
    const engine = new Engine(library);
    for (const d of [webhook(), controller()]) {
      // Redline's Deployments are not Redis workloads, so the engine would not review them. The
      // pod-security policy is evaluated on a Pod built from the template, labelled as Redis ONLY so
      // the engine's recognition lets it through; nothing else about the Pod is changed.
      const pod: JsonObject = {
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: d.metadata.name, namespace: NS, labels: { ...d.spec.template.metadata.labels, 'app.kubernetes.io/name': 'redis' } },
        spec: structuredClone(d.spec.template.spec) as unknown as JsonObject,
      };
      const out = engine.review({ object: pod, operation: 'CREATE', namespace: null, plan: 'free', mutate: false, only: ['pod-security'] });
      expect(out.redis).toBe(true);
      const bad = out.results.filter((r) => r.result === 'fail' || r.result === 'error' || r.result === 'warn');
      expect(bad.map((r) => `${r.rule}: ${r.message}`), d.metadata.name).toEqual([]);
      expect(out.results.filter((r) => r.result === 'pass').length, d.metadata.name).toBeGreaterThan(5);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('the policies ConfigMap', () => {
  const libraryFiles = (): Map<string, string> => {
    const files = new Map<string, string>();
    for (const [dir, prefix] of [['plans', 'plan'], ['policies', 'policy'], ['settings', 'settings'], ['exceptions', 'exception']] as const) {
      // A library without PolicyExceptions has no exceptions/.
      if (!existsSync(path.join(ROOT, 'policies', 'library', dir))) continue;
      for (const name of readdirSync(path.join(ROOT, 'policies', 'library', dir)).filter((n) => /\.ya?ml$/.test(n))) {
        files.set(`${prefix}-${name}`, readFileSync(path.join(ROOT, 'policies', 'library', dir, name), 'utf8'));
      }
    }
    return files;
  };

  it('is exactly policies/library/{plans,policies,settings,exceptions} (run `node scripts/sync-manifests-library.mjs` when this fails)', () => {
    const configMap = base.find((o) => o.kind === 'ConfigMap') as Obj & { data: Record<string, string> };
    const want = libraryFiles();
    const problems: string[] = [];
    for (const [key, text] of want) {
      if (!(key in configMap.data)) problems.push(`missing ${key}`);
      else if (configMap.data[key] !== text) problems.push(`${key} differs from policies/library`);
    }
    for (const key of Object.keys(configMap.data)) if (!want.has(key)) problems.push(`stale ${key} (no longer in policies/library)`);
    expect(problems, 'manifests/base/library/ is out of date: run `node scripts/sync-manifests-library.mjs`').toEqual([]);
    // Far below the 1 MiB limit of a ConfigMap (and of an etcd value).
    expect(Buffer.byteLength(JSON.stringify(configMap.data))).toBeLessThan(512 * 1024);
  });

  it('the generated directory has nothing else in it (the sync script agrees)', () => {
    const out = execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'sync-manifests-library.mjs'), '--check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
  });

  it('compiles to the same library serve and the controller ship with', async () => {
    const configMap = base.find((o) => o.kind === 'ConfigMap') as Obj & { data: Record<string, string> };
    const mounted = compileLibrary('/etc/redline/policies', Object.entries(configMap.data).map(([k, text]) => ({ file: `/etc/redline/policies/${k}`, text })));
    const shipped = await loadLibrary(defaultLibraryDir());
    expect([...mounted.plans.keys()].sort()).toEqual([...shipped.plans.keys()].sort());
    expect(mounted.policies.map((p) => p.name).sort()).toEqual(shipped.policies.map((p) => p.name).sort());
    expect(mounted.settings).toEqual(shipped.settings);
    expect(mounted.exceptions.map((e) => e.name)).toEqual(shipped.exceptions.map((e) => e.name));
  });
});

// ---------------------------------------------------------------------------------------------

describe('RBAC', () => {
  const rules = (kind: string, name: string): Rule[] => find(base, kind, name)['rules'] as Rule[];

  it('serve: read Namespaces, StorageClasses, PodDisruptionBudgets, Tenants and the kinds that run Redis cluster-wide; write ConfigMaps in redline-ledger only (it reads its Secret and ConfigMap as volumes)', () => {
    const clusterRules = rules('ClusterRole', 'redline-webhook');
    expect(clusterRules.slice(0, 4)).toEqual([
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get', 'list', 'watch'] },
      // policy/v1, or policy/v1beta1 before 1.21: one group.
      { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['redline.dev'], resources: ['tenants'], verbs: ['get', 'list', 'watch'] },
    ]);
    // The ledger's usage: exactly the resources the usage caches watch, read-only.
    const usage = clusterRules.slice(4).filter((r) => r.verbs.join() !== 'get');
    for (const r of usage) expect(r.verbs).toEqual(['list', 'watch']);
    // The parents of the scale subresources serve judges: get, one at a time, exactly those kinds.
    const gets = clusterRules.slice(4).filter((r) => r.verbs.join() === 'get');
    expect(gets.flatMap((r) => r.resources!.map((res) => `${r.apiGroups![0]}/${res}`)).sort())
      .toEqual(SCALE_PARENTS.map((p) => `${p.group}/${p.resource}`).sort());
    expect(clusterRules.slice(4).length).toBe(usage.length + gets.length);
    const granted = usage.flatMap((r) => r.resources!.map((res) => `${r.apiGroups![0]}/${res}`)).sort();
    expect(granted).toEqual(USAGE_RESOURCES.map((r) => `${r.group}/${r.plural}`).sort());
    expect(find(base, 'Role', 'redline-webhook-ledger')['rules']).toEqual([
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'update'] },
    ]);
    const ledgerBinding = find(base, 'RoleBinding', 'redline-webhook-ledger') as Obj & { subjects: unknown[] };
    expect(ledgerBinding.metadata.namespace).toBe('redline-ledger');
    expect(ledgerBinding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'redline-webhook', namespace: NS }]);
    const binding = find(base, 'ClusterRoleBinding', 'redline-webhook') as Obj & { roleRef: { name: string }; subjects: unknown[] };
    expect(binding.roleRef.name).toBe('redline-webhook');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'redline-webhook', namespace: NS }]);
    const boundToWebhook = base.filter((o) => (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')
      && (o['subjects'] as { name: string }[] | undefined)?.some((s) => s.name === 'redline-webhook'));
    expect(boundToWebhook.map((o) => o.metadata.name).sort()).toEqual(['redline-webhook', 'redline-webhook-ledger']);
  });

  it('controller: Tenants read and patched (its finalizer), their status updated; tenants get nothing of them', () => {
    const ctl = rules('ClusterRole', 'redline-controller').filter((r) => r.apiGroups?.includes('redline.dev'));
    expect(ctl).toEqual([
      { apiGroups: ['redline.dev'], resources: ['tenants'], verbs: ['get', 'list', 'watch', 'patch'] },
      { apiGroups: ['redline.dev'], resources: ['tenants/status'], verbs: ['update'] },
    ]);
    expect(rules('ClusterRole', 'redline-tenant').filter((r) => r.apiGroups?.includes('redline.dev'))).toEqual([]);
  });

  it('controller: the usage caches\' kinds read (list/watch), the ledger records read only, in redline-ledger only', () => {
    const ctl = rules('ClusterRole', 'redline-controller');
    const reads = (group: string, plural: string): boolean =>
      ctl.some((r) => r.apiGroups?.includes(group) && r.resources?.includes(plural) && r.verbs.includes('list') && r.verbs.includes('watch'));
    for (const r of USAGE_RESOURCES) expect(reads(r.group, r.plural), `${r.group}/${r.plural}`).toBe(true);
    // Never a write on what it counts (the audit reads them too: get/list/watch).
    for (const r of ctl.filter((x) => ['apps', 'batch', 'apps.k8s.appscode.com'].some((g) => x.apiGroups?.includes(g)) || x.resources?.includes('pods'))) {
      expect(r.verbs.filter((v) => !['get', 'list', 'watch'].includes(v)), r.resources?.join()).toEqual([]);
    }
    expect(ctl.some((r) => r.resources?.includes('configmaps'))).toBe(false);
    expect(find(base, 'Role', 'redline-controller-ledger')['rules']).toEqual([
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'delete'] },
    ]);
    const binding = find(base, 'RoleBinding', 'redline-controller-ledger') as Obj & { roleRef: { name: string }; subjects: unknown[] };
    expect(binding.metadata.namespace).toBe('redline-ledger');
    expect(binding.roleRef.name).toBe('redline-controller-ledger');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'redline-controller', namespace: NS }]);
  });

  it('no wildcard verbs, resources or groups anywhere in the bundle', () => {
    for (const o of base.filter((x) => x.kind === 'Role' || x.kind === 'ClusterRole')) {
      for (const r of (o['rules'] as Rule[])) {
        expect([...(r.apiGroups ?? []), ...(r.resources ?? []), ...r.verbs], `${o.kind}/${o.metadata.name}`).not.toContain('*');
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('NetworkPolicy of redline-system', () => {
  interface Peer { namespaceSelector?: { matchLabels?: Record<string, string> }; podSelector?: { matchLabels?: Record<string, string> } }
  interface NetPol extends Obj { spec: { podSelector: { matchLabels?: Record<string, string> }; policyTypes: string[];
    ingress?: { from?: Peer[]; ports?: { port: number; protocol: string }[] }[]; egress?: { to?: Peer[]; ports?: { port: number; protocol: string }[] }[] } }
  const policies = (): NetPol[] => base.filter((o) => o.kind === 'NetworkPolicy') as NetPol[];
  const selects = (p: NetPol, labels: Record<string, string>): boolean =>
    Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const ingressTo = (labels: Record<string, string>, port: number): { from?: Peer[] }[] =>
    policies().filter((p) => selects(p, labels)).flatMap((p) => p.spec.ingress ?? []).filter((r) => r.ports?.some((x) => x.port === port));

  it('denies by default, ingress and egress', () => {
    const deny = find(base, 'NetworkPolicy', 'redline-default-deny') as NetPol;
    expect(deny.spec.podSelector).toEqual({});
    expect(deny.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
  });

  it('webhook port from anywhere; health and metrics ports from the monitoring namespace only', () => {
    const web = (find(base, 'Deployment', 'redline-webhook') as Deployment).spec.template.metadata.labels;
    const ctl = (find(base, 'Deployment', 'redline-controller') as Deployment).spec.template.metadata.labels;
    expect(ingressTo(web, 8443).some((r) => r.from === undefined)).toBe(true);
    for (const [labels, port] of [[web, 8080], [ctl, 8081]] as const) {
      const rules = ingressTo(labels, port);
      expect(rules.length).toBeGreaterThan(0);
      for (const r of rules) expect(r.from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
    }
  });

  it('egress: the API server ports and cluster DNS, for both Deployments', () => {
    for (const name of ['redline-webhook', 'redline-controller']) {
      const labels = (find(base, 'Deployment', name) as Deployment).spec.template.metadata.labels;
      const egress = policies().filter((p) => selects(p, labels) && p.spec.policyTypes.includes('Egress') && p.spec.egress).flatMap((p) => p.spec.egress ?? []);
      const ports = egress.flatMap((r) => (r.ports ?? []).map((p) => `${p.protocol}/${p.port}`));
      expect(ports, name).toEqual(expect.arrayContaining(['TCP/443', 'TCP/6443', 'UDP/53', 'TCP/53']));
      const dns = egress.find((r) => r.ports?.some((p) => p.port === 53));
      expect(dns?.to?.[0]?.podSelector?.matchLabels, name).toEqual({ 'k8s-app': 'kube-dns' });
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('examples (manifests/examples)', () => {
  const crdsDir = (): string => process.env['REDLINE_SHARED_CRDS'] || path.join(ROOT, '..', 'shared', 'crds');
  const examples = (dir: string): { file: string; obj: JsonObject }[] =>
    readdirSync(path.join(ROOT, 'manifests', 'examples', dir)).filter((n) => n.endsWith('.yaml')).sort().flatMap((n) =>
      parseAllDocuments(readFileSync(path.join(ROOT, 'manifests', 'examples', dir, n), 'utf8')).map((d) => ({ file: `${dir}/${n}`, obj: d.toJS() as JsonObject })));

  it('every custom resource, as written and as admission stores it, validates against the upstream CRD', async () => {
    if (!existsSync(crdsDir())) throw new Error(`the upstream CRDs are expected in ${crdsDir()} (shared/crds beside the repository; REDLINE_SHARED_CRDS overrides)`);
    const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
    // Schemas by group/version/kind, compiled only for the kinds the examples use (some are large).
    const schemas = new Map<string, object>();
    const validators = new Map<string, ReturnType<Ajv['compile']>>();
    const validatorFor = (key: string): ReturnType<Ajv['compile']> | undefined => {
      const schema = schemas.get(key);
      if (!schema) return undefined;
      if (!validators.has(key)) validators.set(key, ajv.compile(schema));
      return validators.get(key);
    };
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [path.join(dir, e.name)] : []);
    for (const file of walk(crdsDir())) {
      // strict: any parse error left after the explicit repairs throws
      for (const crd of readCrdFile(file).crds as { spec?: { group: string; names: { kind: string }; versions: { name: string; schema?: { openAPIV3Schema: object } }[] } }[]) {
        if (!crd.spec) continue;
        for (const v of crd.spec.versions) {
          if (v.schema) schemas.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, v.schema.openAPIV3Schema);
        }
      }
    }
    const library = await loadLibrary(defaultLibraryDir());
    const engine = new Engine(library);
    const namespaces = new Map(examples('.').filter((e) => e.obj['kind'] === 'Namespace').map((e) => {
      const meta = e.obj['metadata'] as { name: string; labels: Record<string, string> };
      return [meta.name, { name: meta.name, labels: meta.labels }];
    }));
    let checked = 0;
    for (const { file, obj } of [...examples('good'), ...examples('bad')]) {
      const validate = validatorFor(`${String(obj['apiVersion'])}/${String(obj['kind'])}`);
      if (!validate) continue; // a built-in kind
      const ns = namespaces.get(String((obj['metadata'] as { namespace: string }).namespace))!;
      const stored = engine.review({ object: obj, operation: 'CREATE', namespace: ns, plan: ns.labels['redline.dev/plan']!, mutate: true, validate: false }).mutated;
      for (const [what, o] of [['as written', obj], ['mutated', stored]] as const) {
        expect(validate(o), `${file} ${what}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true);
      }
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });

  it('the OT RedisReplication example is allowed, the privileged KubeDB Redis denied', async () => {
    const engine = new Engine(await loadLibrary(defaultLibraryDir()));
    const verdict = (file: string, plan: string, namespace: string): { denied: boolean; failed: string[] } => {
      const obj = parseAllDocuments(readFileSync(path.join(ROOT, 'manifests', 'examples', file), 'utf8'))[0]!.toJS() as JsonObject;
      const out = engine.review({ object: obj, operation: 'CREATE', namespace: { name: namespace, labels: { 'redline.dev/tenant': 't', 'redline.dev/plan': plan } }, plan, mutate: true });
      return { denied: out.denied, failed: out.results.filter((r) => r.result === 'fail').map((r) => `${r.policy}/${r.rule}`) };
    };
    expect(verdict('good/ot-replication.yaml', 'standard', 'tenant-standard')).toEqual({ denied: false, failed: [] });
    const bad = verdict('bad/kubedb-privileged.yaml', 'free', 'tenant-free');
    expect(bad.denied).toBe(true);
    expect(bad.failed.sort()).toEqual(['pod-security/host-namespaces', 'pod-security/privilege-escalation', 'pod-security/privileged']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('Tenant CRD', () => {
  interface Crd extends Obj { spec: { group: string; scope: string; names: { kind: string; plural: string }; versions: { name: string; served: boolean; storage: boolean; subresources?: { status?: object }; additionalPrinterColumns: { name: string; jsonPath: string }[]; schema: { openAPIV3Schema: any } }[] } }
  const crd = (): Crd => find(base, 'CustomResourceDefinition', 'tenants.redline.dev') as Crd;

  it('cluster-scoped redline.dev/v1alpha1 Tenant with a status subresource and the printer columns', () => {
    const c = crd();
    expect([c.spec.group, c.spec.scope, c.spec.names.kind, c.spec.names.plural]).toEqual(['redline.dev', 'Cluster', 'Tenant', 'tenants']);
    expect(c.spec.versions).toHaveLength(1);
    const v = c.spec.versions[0]!;
    expect([v.name, v.served, v.storage, v.subresources]).toEqual(['v1alpha1', true, true, { status: {} }]);
    expect(v.additionalPrinterColumns.map((p) => `${p.name}=${p.jsonPath}`)).toEqual([
      'Plan=.spec.plan', 'Namespaces=.status.namespaceCount', 'Memory Used=.status.usage.memory',
      'Memory Entitled=.status.entitlement.memory', 'Ready=.status.conditions[?(@.type=="Ready")].status', 'Age=.metadata.creationTimestamp',
    ]);
  });

  it('status has the fields the controller and the ledger write, each dimension in usage, entitlement and reservations', () => {
    const status = crd().spec.versions[0]!.schema.openAPIV3Schema.properties.status.properties;
    expect(Object.keys(status).sort()).toEqual(['conditions', 'entitlement', 'namespaceCount', 'namespaces', 'observedGeneration', 'plan', 'reservations', 'usage']);
    const dims = ['cpu', 'instances', 'memory', 'namespaces', 'pods', 'storage'];
    expect(Object.keys(status.usage.properties).sort()).toEqual(dims);
    expect(Object.keys(status.entitlement.properties).sort()).toEqual(dims);
    expect(Object.keys(status.reservations.items.properties.amounts.properties).sort()).toEqual(dims);
    expect(status.conditions.items.required).toEqual(['type', 'status', 'lastTransitionTime', 'reason', 'message']);
  });
});
