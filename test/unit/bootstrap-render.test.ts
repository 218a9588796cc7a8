import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import YAML from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { covers, extraFieldPaths, matchesDesired, nullPatch } from '../../bootstrap/compare.js';
import {
  canonicalJson,
  enterpriseAllowed,
  OWNED_KINDS,
  parseBootstrapAnnotation,
  bootstrapAnnotation,
  grantedSecretNames,
  renderTenant,
  secretRules,
  selectStamped,
  type DesiredState,
} from '../../bootstrap/render.js';
import { LABEL_MANAGED_BY } from '../../core/vocabulary.js';
import { grantableSecrets, REDIS_KINDS, secretMetadataOnly } from '../../bootstrap/secrets.js';
import { defaultControllerSettings, validateControllerSettings } from '../../core/settings/controller.js';
import type { KubeObject } from '../../kube/api-client.js';
import { defaultLibraryDir, loadLibrary, type Library } from '../../policies/engine/index.js';
import { Quantity } from '../../policies/engine/quantity.js';
import { sharedCrdsDir } from '../e2e/controlplane/crds.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const CRDS = join(sharedCrdsDir(), 'cert-manager');

let library: Library;
beforeAll(async () => {
  library = await loadLibrary(defaultLibraryDir());
});

function render(plan: string, namespace = 'team-a', tenant = 'a', settings = defaultControllerSettings()): DesiredState {
  const p = library.plans.get(plan);
  if (!p) throw new Error(`no plan ${plan}`);
  return renderTenant({ namespace, tenant, plan: p }, settings);
}

function find(d: DesiredState, kind: string, name: string): KubeObject {
  const o = d.objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not rendered`);
  return o;
}

describe('renderTenant', () => {
  it.each(['free', 'standard', 'premium'])('renders plan %s deterministically, every object labelled and namespaced', (plan) => {
    const a = render(plan);
    const b = render(plan);
    expect(a).toEqual(b);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.hash).toBe(b.hash);
    expect(a.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ResourceQuota/redline-quota',
      'LimitRange/redline-limits',
      'NetworkPolicy/redline-default-deny',
      'NetworkPolicy/redline-allow-dns',
      'NetworkPolicy/redline-allow-same-namespace',
      'NetworkPolicy/redline-allow-operator',
      'NetworkPolicy/redline-allow-monitoring',
      // the plan lets the namespace have a Redis Enterprise cluster unless its quota says 0
      ...(enterpriseAllowed((a.objects[0] as any).spec.hard) ? ['NetworkPolicy/redline-allow-redis-enterprise', 'NetworkPolicy/redline-allow-redis-enterprise-clients'] : []),
      'Certificate/redline-tenant-ca',
      'Issuer/redline-redis-ca',
      'Role/redline-tenant-secrets',
      'RoleBinding/redline-tenant-secrets',
      'RoleBinding/redline-tenant',
    ]);
    for (const o of a.objects) {
      expect(o.metadata.namespace).toBe('team-a');
      expect(o.metadata.labels).toEqual({ [LABEL_MANAGED_BY]: 'redline', 'redline.dev/tenant': 'a', 'redline.dev/plan': plan });
    }
  });

  it('sizes quota and limits from the plan, always forbidding load balancers and node ports', () => {
    const spec = library.plans.get('standard')!.spec as Record<string, any>;
    const d = render('standard');
    const quota = find(d, 'ResourceQuota', 'redline-quota') as any;
    expect(quota.spec.hard).toEqual({ ...spec.quota.hard, 'services.loadbalancers': '0', 'services.nodeports': '0' });
    const limits = find(d, 'LimitRange', 'redline-limits') as any;
    expect(limits.spec.limits).toEqual([
      {
        type: 'Container',
        // every container without resources (exporters, sidecars) gets the plan's "other" defaults
        default: { cpu: spec.defaults.other.cpu, memory: spec.defaults.other.memory },
        defaultRequest: { cpu: spec.defaults.other.cpu, memory: spec.defaults.other.memory },
        max: { cpu: spec.perPod.cpu, memory: spec.perPod.memory },
        min: { cpu: spec.containerMin?.cpu ?? '1m', memory: spec.containerMin?.memory ?? '1Mi' },
      },
      { type: 'Pod', max: { cpu: spec.podMax?.cpu ?? spec.perPod.cpu, memory: spec.podMax?.memory ?? spec.perPod.memory } },
      { type: 'PersistentVolumeClaim', max: { storage: spec.perPod.storage } },
    ]);
    expect(spec.defaults.other.memory).not.toBe(spec.defaults.memory); // so the check above means something
    // a plan without defaults.other: the Redis defaults, as before
    const older = { name: 'older', spec: { ...spec, defaults: { memory: '1Gi', cpu: '500m' } } };
    const olderLimits = (renderTenant({ namespace: 'n', tenant: 't', plan: older }, defaultControllerSettings()).objects.find((o) => o.kind === 'LimitRange') as any).spec.limits[0];
    expect(olderLimits.default).toEqual({ cpu: '500m', memory: '1Gi' });
    // a plan cannot re-open load balancers
    const sneaky = { name: 'sneaky', spec: { ...spec, quota: { hard: { ...spec.quota.hard, 'services.loadbalancers': '5' } } } };
    const q2 = renderTenant({ namespace: 'n', tenant: 't', plan: sneaky }, defaultControllerSettings()).objects[0] as any;
    expect(q2.spec.hard['services.loadbalancers']).toBe('0');
  });

  it('renders the network policies, RBAC, PKI and namespace labels of the contract', () => {
    const d = render('free');
    const deny = find(d, 'NetworkPolicy', 'redline-default-deny') as any;
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const dns = find(d, 'NetworkPolicy', 'redline-allow-dns') as any;
    expect(dns.spec.egress[0].to[0]).toEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
    });
    expect(dns.spec.egress[0].ports).toEqual([{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }]);
    const same = find(d, 'NetworkPolicy', 'redline-allow-same-namespace') as any;
    expect(same.spec.ingress[0].ports.map((p: any) => p.port)).toEqual([6379, 26379, 16379]);
    expect(same.spec.egress[0].to).toEqual([{ podSelector: {} }]);
    const mon = find(d, 'NetworkPolicy', 'redline-allow-monitoring') as any;
    expect(mon.spec.ingress[0].ports.map((p: any) => p.port)).toContain(9121);
    expect(mon.spec.ingress[0].from[0].namespaceSelector.matchExpressions[0]).toEqual({ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['monitoring'] });
    const rb = find(d, 'RoleBinding', 'redline-tenant') as any;
    expect(rb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'redline-tenant' });
    expect(rb.subjects).toEqual([{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'redline:tenant:a' }]);
    const cert = find(d, 'Certificate', 'redline-tenant-ca') as any;
    expect(cert.spec).toMatchObject({ isCA: true, commonName: 'a.redline-tenant-ca', secretName: 'redline-tenant-ca', issuerRef: { kind: 'ClusterIssuer', name: 'redline-platform-ca' } });
    const issuer = find(d, 'Issuer', 'redline-redis-ca') as any;
    expect(issuer.spec).toEqual({ ca: { secretName: 'redline-tenant-ca' } });
    expect(d.namespaceObject.metadata.labels).toEqual({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'latest',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/warn-version': 'latest',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/audit-version': 'latest',
      'redline.dev/managed': 'true',
      // before 1.21 an ordinary label: a tenant namespace claiming another name is corrected
      'kubernetes.io/metadata.name': d.namespace,
    });
    expect(d.namespaceObject.metadata.annotations).toBeUndefined();
  });

  it('hash: stable across key order, different per plan, tenant, namespace and settings', () => {
    const base = render('free');
    expect(canonicalJson({ b: 1, a: [{ y: 2, x: 1 }] })).toBe(canonicalJson({ a: [{ x: 1, y: 2 }], b: 1 }));
    const hashes = new Set([
      base.hash,
      render('standard').hash,
      render('premium').hash,
      render('free', 'team-b').hash,
      render('free', 'team-a', 'b').hash,
      render('free', 'team-a', 'a', validateControllerSettings({ certManager: { clusterIssuer: 'other' } }).settings!).hash,
    ]);
    expect(hashes.size).toBe(6);
    // the hash is sha256 of the canonical JSON of exactly what is applied, the granted Secret names left out
    const hashed = base.objects.map((o) => (o.kind === 'Role' ? { ...o, rules: '<the tenant Secrets>' } : o));
    expect(base.hash).toBe(createHash('sha256').update(canonicalJson({ objects: hashed, namespace: base.namespaceObject })).digest('hex'));
    const granted = renderTenant({ namespace: 'team-a', tenant: 'a', plan: library.plans.get('free')!, secretNames: ['cache-auth'] }, defaultControllerSettings());
    expect(granted.hash).toBe(base.hash);
    expect(granted.objects).not.toEqual(base.objects);
  });

  it('settings: subjects templates, cert-manager off, no operator/monitoring namespaces', () => {
    const { settings, problems } = validateControllerSettings({
      tenantSubjects: [
        { kind: 'Group', name: 'org:{tenant}:admins' },
        { kind: 'ServiceAccount', name: 'ci', namespace: '{namespace}' },
      ],
      certManager: { enabled: false },
      network: { operatorNamespaces: [], monitoringNamespaces: ['prom', 'grafana'] },
    });
    expect(problems).toEqual([]);
    const d = render('free', 'team-x', 'x', settings!);
    expect(d.objects.some((o) => o.apiVersion.startsWith('cert-manager.io'))).toBe(false);
    expect(d.objects.some((o) => o.metadata.name === 'redline-allow-operator')).toBe(false);
    expect((find(d, 'NetworkPolicy', 'redline-allow-monitoring') as any).spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values).toEqual(['grafana', 'prom']);
    expect((find(d, 'RoleBinding', 'redline-tenant') as any).subjects).toEqual([
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'org:x:admins' },
      { kind: 'ServiceAccount', name: 'ci', namespace: 'team-x' },
    ]);
  });

  it('API server egress: one policy for the configured addresses and ports, none by default', () => {
    expect(render('standard').objects.some((o) => o.metadata.name === 'redline-allow-apiserver')).toBe(false);
    const { settings, problems } = validateControllerSettings({ network: { apiServerCidrs: ['10.0.0.10', 'fd00::1/128'], apiServerPorts: [6443] } });
    expect(problems).toEqual([]);
    const d = render('standard', 'team-a', 'a', settings!);
    expect(find(d, 'NetworkPolicy', 'redline-allow-apiserver').spec).toEqual({
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.0.0.10/32' } }, { ipBlock: { cidr: 'fd00::1/128' } }], ports: [{ protocol: 'TCP', port: 6443 }] }],
    });
    // A stamped name, so offboarding deletes it and a later empty setting removes it.
    expect(OWNED_KINDS.find((k) => k.kind === 'NetworkPolicy')!.names).toContain('redline-allow-apiserver');
    expect(d.hash).not.toBe(render('standard').hash);
  });

  it('Redis Enterprise: its operator and nodes talk inside the namespace on any port; monitoring scrapes 8070; the API server reaches the operator webhook only', () => {
    const { settings, problems } = validateControllerSettings({ network: { apiServerCidrs: ['10.0.0.10'], monitoringNamespaces: ['prom'] } });
    expect(problems).toEqual([]);
    const spec = structuredClone(library.plans.get('premium')!.spec) as Record<string, any>;
    const plan = (count: string | undefined) => {
      const hard = { ...spec.quota.hard };
      if (count === undefined) delete hard['count/redisenterpriseclusters.app.redislabs.com'];
      else hard['count/redisenterpriseclusters.app.redislabs.com'] = count;
      return { name: 'p', spec: { ...spec, quota: { hard } } };
    };
    const d = renderTenant({ namespace: 'team-a', tenant: 'a', plan: plan('1') }, settings!);
    const names = d.objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name);
    expect(names.slice(-3)).toEqual(['redline-allow-redis-enterprise', 'redline-allow-redis-enterprise-admission', 'redline-allow-redis-enterprise-clients']);
    expect(find(d, 'NetworkPolicy', 'redline-allow-redis-enterprise').spec).toEqual({
      podSelector: { matchLabels: { app: 'redis-enterprise' } },
      policyTypes: ['Ingress'],
      ingress: [
        { from: [{ podSelector: {} }] },
        { from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['prom'] }] } }], ports: [{ protocol: 'TCP', port: 8070 }] },
      ],
    });
    expect(find(d, 'NetworkPolicy', 'redline-allow-redis-enterprise-admission').spec).toEqual({
      podSelector: { matchLabels: { name: 'redis-enterprise-operator' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.10/32' } }], ports: [{ protocol: 'TCP', port: 8443 }] }],
    });
    expect(find(d, 'NetworkPolicy', 'redline-allow-redis-enterprise-clients').spec).toEqual({
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: { app: 'redis-enterprise' } } }] }],
    });
    // Nothing of it crosses the namespace but the monitoring namespaces (8070) and the API server (8443).
    for (const o of d.objects.filter((x) => x.metadata.name.startsWith('redline-allow-redis-enterprise'))) {
      const peers = [...((o as any).spec.ingress ?? []), ...((o as any).spec.egress ?? [])].flatMap((r: any) => [...(r.from ?? []), ...(r.to ?? [])]);
      for (const p of peers) if (p.namespaceSelector || p.ipBlock) expect(p.namespaceSelector ? 'prom' : p.ipBlock.cidr).toMatch(/^(prom|10\.0\.0\.10\/32)$/);
    }
    // A plan that counts RECs to 0 gets none of it; absent counts as allowed; every name is stamped (offboarding deletes it).
    for (const zero of ['0', '00']) {
      expect(renderTenant({ namespace: 'team-a', tenant: 'a', plan: plan(zero) }, settings!).objects.some((o) => o.metadata.name.includes('redis-enterprise'))).toBe(false);
    }
    expect(renderTenant({ namespace: 'team-a', tenant: 'a', plan: plan(undefined) }, settings!).objects.filter((o) => o.metadata.name.includes('redis-enterprise'))).toHaveLength(3);
    // without API server addresses there is no webhook ingress (and no egress to it: Redis Enterprise then cannot run)
    const bare = renderTenant({ namespace: 'team-a', tenant: 'a', plan: plan('1') }, defaultControllerSettings());
    expect(bare.objects.filter((o) => o.metadata.name.includes('redis-enterprise')).map((o) => o.metadata.name)).toEqual(['redline-allow-redis-enterprise', 'redline-allow-redis-enterprise-clients']);
    const owned = OWNED_KINDS.find((k) => k.kind === 'NetworkPolicy')!.names;
    for (const n of ['redline-allow-redis-enterprise', 'redline-allow-redis-enterprise-admission', 'redline-allow-redis-enterprise-clients']) expect(owned).toContain(n);
  });

  it('LimitRange: container min (defaults 1Mi/1m) refuses 0; a Pod max bounds every container together (fallback perPod)', () => {
    const spec = structuredClone(library.plans.get('standard')!.spec) as Record<string, any>;
    delete spec.podMax;
    delete spec.containerMin;
    const limits = (plan: Record<string, unknown>) =>
      (renderTenant({ namespace: 'n', tenant: 't', plan: { name: 'p', spec: plan } }, defaultControllerSettings()).objects.find((o) => o.kind === 'LimitRange') as any).spec.limits;
    const bare = limits(spec);
    expect(bare[0].min).toEqual({ cpu: '1m', memory: '1Mi' });
    expect(bare[1]).toEqual({ type: 'Pod', max: { cpu: spec.perPod.cpu, memory: spec.perPod.memory } });
    const set = limits({ ...spec, podMax: { memory: '5Gi', cpu: '3' }, containerMin: { memory: '4Mi', cpu: '10m' } });
    expect(set[0].min).toEqual({ cpu: '10m', memory: '4Mi' });
    expect(set[1]).toEqual({ type: 'Pod', max: { cpu: '3', memory: '5Gi' } });
    // half a pair: the other half falls back
    expect(limits({ ...spec, podMax: { memory: '5Gi' } })[1].max).toEqual({ cpu: spec.perPod.cpu, memory: '5Gi' });
    // the API server's LimitRange validation: min ≤ defaultRequest ≤ default ≤ max (per resource); a Pod item has max only
    for (const name of ['free', 'standard', 'premium']) {
      const [c, pod] = (render(name).objects.find((o) => o.kind === 'LimitRange') as any).spec.limits;
      for (const r of ['cpu', 'memory']) {
        const q = (v: string) => Quantity.parse(v);
        expect(q(c.min[r]).compareTo(q(c.defaultRequest[r])), `${name} ${r} min ≤ defaultRequest`).toBeLessThanOrEqual(0);
        expect(q(c.defaultRequest[r]).compareTo(q(c.default[r])), `${name} ${r} defaultRequest ≤ default`).toBeLessThanOrEqual(0);
        expect(q(c.default[r]).compareTo(q(c.max[r])), `${name} ${r} default ≤ max`).toBeLessThanOrEqual(0);
        expect(q(c.max[r]).compareTo(q(pod.max[r])), `${name} ${r} container max ≤ pod max`).toBeLessThanOrEqual(0);
        expect(q(c.min[r]).compareTo(q('0')), `${name} ${r} min > 0`).toBe(1);
      }
      expect(Object.keys(pod).sort()).toEqual(['max', 'type']);
    }
    expect(() => limits({ ...spec, containerMin: { memory: '' } })).toThrow(/containerMin\.memory/);
  });

  it('quota: every shipped plan counts every supported Redis kind and Certificates, passed through as is', () => {
    const kinds = [...REDIS_KINDS.map((k) => `count/${k.plural}.${k.group}`), 'count/certificates.cert-manager.io'];
    // KubeDB 2, OT 4, Redis Enterprise 4, Spotahome 1, Certificates
    expect(kinds).toHaveLength(12);
    for (const [name, plan] of library.plans) {
      const hard = (plan.spec as any).quota?.hard ?? {};
      const missing = kinds.filter((k) => hard[k] === undefined);
      expect(missing, `plan ${name} (policies/library/plans) has no quota.hard count for: ${missing.join(', ')}`).toEqual([]);
      const quota = render(name).objects.find((o) => o.kind === 'ResourceQuota') as any;
      for (const k of kinds) expect(quota.spec.hard[k], `${name} ${k}`).toBe(String(hard[k]));
    }
  });

  it('Secrets Role: no names → no rules (an empty resourceNames would grant every Secret); names sorted, unique', () => {
    expect(secretRules([])).toEqual([]);
    expect(secretRules(['', ''])).toEqual([]);
    expect(secretRules(['b', 'a', 'b'])).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch'], resourceNames: ['a', 'b'] }]);
    const d = render('free');
    const role = find(d, 'Role', 'redline-tenant-secrets') as any;
    expect(role.rules).toEqual([]);
    const rb = find(d, 'RoleBinding', 'redline-tenant-secrets') as any;
    expect(rb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'redline-tenant-secrets' });
    expect(rb.subjects).toEqual((find(d, 'RoleBinding', 'redline-tenant') as any).subjects);
    const granted = renderTenant({ namespace: 'team-a', tenant: 'a', plan: library.plans.get('free')!, secretNames: ['x', 'a'] }, defaultControllerSettings());
    expect((find(granted, 'Role', 'redline-tenant-secrets') as any).rules[0].resourceNames).toEqual(['a', 'x']);
    // reading a live Role back: our shape → its names; anything else → undefined (a repair, not an access update)
    expect(grantedSecretNames(find(granted, 'Role', 'redline-tenant-secrets'))).toEqual(['a', 'x']);
    expect(grantedSecretNames({ ...role, rules: null })).toEqual([]);
    expect(grantedSecretNames({ ...role, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'], resourceNames: ['a'] }] })).toBeUndefined();
    expect(grantedSecretNames({ ...role, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch'] }] })).toBeUndefined();
  });

  it('grantableSecrets: referenced, certificate and labelled Secrets that exist; never tokens, the tenant CA or Redline-managed ones', () => {
    const secret = (name: string, extra: Record<string, unknown> = {}, labels: Record<string, string> = {}): KubeObject =>
      ({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace: 'n', labels }, data: { k: 'c2VjcmV0' }, ...extra }) as KubeObject;
    const mine = { 'redline.dev/tenant-secret': 'true' };
    const g = grantableSecrets({
      redis: [
        { apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'cache', namespace: 'n' }, spec: { version: '7.2.4', mode: 'Standalone', authSecret: { name: 'creds' } } },
        // a tenant naming a Secret the platform put in its namespace, and a pull secret
        { apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'grab', namespace: 'n' }, spec: { version: '7.2.4', mode: 'Standalone', authSecret: { name: 'platform-creds' }, podTemplate: { spec: { imagePullSecrets: [{ name: 'registry' }] } } } },
        // no authSecret: KubeDB derives owned-auth and owns it
        { apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'owned', namespace: 'n' }, spec: { version: '7.2.4', mode: 'Standalone' } },
        // a Pod is not a Redis object: its references grant nothing
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n' }, spec: { containers: [{ name: 'c', image: 'busybox', envFrom: [{ secretRef: { name: 'pod-secret' } }] }] } },
      ],
      certificates: [
        { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'c', namespace: 'n' }, spec: { secretName: 'cert-tls' } },
        { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'c2', namespace: 'n' }, spec: { secretName: 'adopted' } },
        { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'c3', namespace: 'n' }, spec: { secretName: 'foreign-owner' } },
      ],
      secrets: [
        secret('creds', {}, { 'app.kubernetes.io/managed-by': 'kubedb.com' }),
        secret('owned-auth', { metadata: { name: 'owned-auth', namespace: 'n', ownerReferences: [{ apiVersion: 'kubedb.com/v1', kind: 'Redis', name: 'owned' }] } }),
        secret('cert-tls', { type: 'kubernetes.io/tls', data: { 'tls.crt': 'Yw==', 'tls.key': 'aw==', 'ca.crt': '' }, metadata: { name: 'cert-tls', namespace: 'n', annotations: { 'cert-manager.io/certificate-name': 'c' } } }),
        // cert-manager adopted a Secret that holds more than its keys: not the certificate's alone
        secret('adopted', { data: { 'tls.crt': 'Yw==', 'tls.key': 'aw==', token: 'cA==' }, metadata: { name: 'adopted', namespace: 'n', annotations: { 'cert-manager.io/certificate-name': 'c2' } } }),
        // an owner of another group that is merely called Redis
        secret('foreign-owner', { metadata: { name: 'foreign-owner', namespace: 'n', ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'Redis', name: 'owned' }] } }),
        secret('platform-creds'),
        secret('registry', { type: 'kubernetes.io/dockerconfigjson' }, mine),
        secret('pod-secret', {}, { 'app.kubernetes.io/managed-by': 'kubedb.com' }),
        secret('uploaded', {}, mine),
        secret('token', { type: 'kubernetes.io/service-account-token' }, mine),
        secret('redline-tenant-ca', { type: 'kubernetes.io/tls' }, mine),
        secret('ours', {}, { ...mine, 'app.kubernetes.io/managed-by': 'redline' }),
        secret('unrelated'),
      ],
    });
    // registry: labelled as the tenant's own, so granted as such — not through the pull-secret reference
    expect(g.names).toEqual(['cert-tls', 'creds', 'owned-auth', 'registry', 'uploaded']);
    expect(Object.fromEntries(g.refused.map((r) => [r.name, r.why]))).toEqual({
      'adopted': 'referenced, but neither the tenant, cert-manager nor a Redis operator wrote it',
      'foreign-owner': 'referenced, but neither the tenant, cert-manager nor a Redis operator wrote it',
      'ours': 'managed by Redline',
      'platform-creds': 'referenced, but neither the tenant, cert-manager nor a Redis operator wrote it',
      'redline-tenant-ca': 'the tenant CA key',
      'token': 'a ServiceAccount token',
    });
    // the Secret informer keeps metadata, type and the names of the data keys, never the values
    const kept = secretMetadataOnly(secret('creds', { stringData: { p: 'x' } }, mine));
    expect(kept).toEqual({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'creds', namespace: 'n', labels: mine }, dataKeys: ['k'] });
    expect(JSON.stringify(kept)).not.toContain('c2VjcmV0');
    // …and provenance reads the same from what it kept
    const slim = grantableSecrets({ redis: [], certificates: [{ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'c2', namespace: 'n' }, spec: { secretName: 'adopted' } }],
      secrets: [secretMetadataOnly(secret('adopted', { data: { 'tls.crt': 'Yw==', token: 'cA==' }, metadata: { name: 'adopted', namespace: 'n', annotations: { 'cert-manager.io/certificate-name': 'c2' } } }))] });
    expect(slim.names).toEqual([]);
  });

  it('grantableSecrets: the Secrets of Redis Enterprise and Spotahome objects (derived names included), by the same provenance rules', () => {
    const secret = (name: string, owner?: string, labels: Record<string, string> = {}): KubeObject =>
      ({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace: 'n', labels, ...(owner ? { ownerReferences: [{ apiVersion: 'app.redislabs.com/v1alpha1', kind: owner, name: 'x' }] } : {}) } }) as KubeObject;
    const mine = { 'redline.dev/tenant-secret': 'true' };
    const re = 'app.redislabs.com';
    const g = grantableSecrets({
      redis: [
        // REC: its admin credentials default to the REC's name
        { apiVersion: `${re}/v1`, kind: 'RedisEnterpriseCluster', metadata: { name: 'rec', namespace: 'n' }, spec: { nodes: 3 } },
        // REDB: redb-<name> when no databaseSecretName; a named one
        { apiVersion: `${re}/v1alpha1`, kind: 'RedisEnterpriseDatabase', metadata: { name: 'cache', namespace: 'n' }, spec: { redisEnterpriseCluster: { name: 'rec' } } },
        { apiVersion: `${re}/v1alpha1`, kind: 'RedisEnterpriseDatabase', metadata: { name: 'grab', namespace: 'n' }, spec: { redisEnterpriseCluster: { name: 'rec' }, databaseSecretName: 'platform-creds' } },
        { apiVersion: `${re}/v1alpha1`, kind: 'RedisEnterpriseRemoteCluster', metadata: { name: 'rerc-a', namespace: 'n' }, spec: { recName: 'rec', recNamespace: 'n', secretName: 'rerc-creds' } },
        { apiVersion: 'databases.spotahome.com/v1', kind: 'RedisFailover', metadata: { name: 'rf', namespace: 'n' }, spec: { auth: { secretPath: 'rf-auth' } } },
      ],
      certificates: [],
      secrets: [
        secret('rec', 'RedisEnterpriseCluster'),
        secret('redb-cache', 'RedisEnterpriseDatabase'),
        secret('platform-creds'),
        secret('rerc-creds', undefined, mine),
        secret('rf-auth', undefined, mine),
      ],
    });
    expect(g.names).toEqual(['rec', 'redb-cache', 'rerc-creds', 'rf-auth']);
    expect(g.refused).toEqual([{ name: 'platform-creds', why: 'referenced, but neither the tenant, cert-manager nor a Redis operator wrote it' }]);
    // every new kind is watched (the informers are discovered from REDIS_KINDS)
    expect(REDIS_KINDS.map((k) => `${k.plural}.${k.group}`)).toEqual(expect.arrayContaining([
      'redisenterpriseclusters.app.redislabs.com', 'redisenterprisedatabases.app.redislabs.com', 'redisenterpriseactiveactivedatabases.app.redislabs.com',
      'redisenterpriseremoteclusters.app.redislabs.com', 'redisfailovers.databases.spotahome.com',
    ]));
  });

  it('bootstrap annotation round-trips; foreign values are ignored', () => {
    const d = render('premium');
    const v = bootstrapAnnotation(d, new Date('2024-01-02T03:04:05.000Z'));
    expect(JSON.parse(v)).toEqual({ plan: 'premium', hash: d.hash, time: '2024-01-02T03:04:05.000Z' });
    expect(parseBootstrapAnnotation(v)).toEqual({ plan: 'premium', hash: d.hash, time: '2024-01-02T03:04:05.000Z' });
    expect(parseBootstrapAnnotation('not json')).toBeUndefined();
    expect(parseBootstrapAnnotation('{"plan":1}')).toBeUndefined();
    expect(parseBootstrapAnnotation(undefined)).toBeUndefined();
  });
});

describe('cert-manager objects validate against the real CRD schemas (v1)', () => {
  const schemaOf = (file: string): object => {
    const crd = YAML.parse(readFileSync(join(CRDS, file), 'utf8')) as { spec: { versions: { name: string; schema: { openAPIV3Schema: object } }[] } };
    const v1 = crd.spec.versions.find((v) => v.name === 'v1');
    if (!v1) throw new Error(`${file}: no v1`);
    return v1.schema.openAPIV3Schema;
  };
  const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));

  it.each([
    ['Certificate', 'cert-manager.io_certificates.yaml'],
    ['Issuer', 'cert-manager.io_issuers.yaml'],
  ])('%s', (kind, file) => {
    const validate = ajv.compile(schemaOf(file));
    for (const plan of ['free', 'standard', 'premium']) {
      const obj = render(plan).objects.find((o) => o.kind === kind)!;
      expect(obj.apiVersion).toBe('cert-manager.io/v1');
      const ok = validate(obj);
      expect(validate.errors ?? [], `${kind} (${plan})`).toEqual([]);
      expect(ok).toBe(true);
    }
    // the schema is strict enough to catch a broken object
    const broken = structuredClone(render('free').objects.find((o) => o.kind === kind)!) as any;
    if (kind === 'Certificate') broken.spec.isCA = 'yes';
    else broken.spec.ca = { secretName: 42 };
    expect(validate(broken)).toBe(false);
  });
});

describe('offboarding selection (selectStamped)', () => {
  const mk = (kind: string, apiVersion: string, name: string, ns: string, labels: Record<string, string> = { [LABEL_MANAGED_BY]: 'redline' }): KubeObject => ({
    apiVersion,
    kind,
    metadata: { name, namespace: ns, labels },
  });

  it('selects only managed-by=redline objects with the deterministic names of the owned kinds in that namespace', () => {
    const stamped = render('free').objects.map((o) => ({ ...o, metadata: { ...o.metadata } }));
    const foreign = [
      mk('PersistentVolumeClaim', 'v1', 'data-redis-0', 'team-a'),
      mk('Secret', 'v1', 'redline-tenant-ca', 'team-a'),
      mk('Redis', 'kubedb.com/v1', 'cache', 'team-a'),
      mk('NetworkPolicy', 'networking.k8s.io/v1', 'tenant-own-policy', 'team-a'),
      mk('ResourceQuota', 'v1', 'redline-quota', 'team-a', { [LABEL_MANAGED_BY]: 'helm' }),
      mk('ResourceQuota', 'v1', 'redline-quota', 'team-a', {}),
      mk('ResourceQuota', 'v1', 'redline-quota', 'team-b'),
      mk('Issuer', 'cert-manager.io/v1alpha2', 'redline-redis-ca', 'team-a'),
    ];
    const picked = selectStamped('team-a', [...stamped, ...foreign]);
    expect(picked.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(stamped.map((o) => `${o.kind}/${o.metadata.name}`).sort());
    expect(selectStamped('team-c', [...stamped, ...foreign])).toEqual([]);
    // every owned name is selectable
    const all = OWNED_KINDS.flatMap((k) => k.names.map((n) => mk(k.kind, k.apiVersion, n, 'x')));
    expect(selectStamped('x', all)).toHaveLength(all.length);
  });
});

describe('covers (drift detection)', () => {
  it('is a subset match with exact lists and quantity equality', () => {
    const desired = { spec: { hard: { 'requests.cpu': '500m', pods: '2' }, list: [{ a: 1 }] }, metadata: { labels: { x: 'y' } } };
    expect(covers({ spec: { hard: { 'requests.cpu': '0.5', pods: '2', extra: '1' }, list: [{ a: 1, b: 2 }] }, metadata: { labels: { x: 'y', other: 'z' } } }, desired)).toBe(true);
    expect(covers({ spec: { hard: { 'requests.cpu': '1', pods: '2' }, list: [{ a: 1 }] }, metadata: { labels: { x: 'y' } } }, desired)).toBe(false);
    expect(covers({ spec: { hard: { 'requests.cpu': '500m', pods: '2' }, list: [{ a: 1 }, { a: 2 }] }, metadata: { labels: { x: 'y' } } }, desired)).toBe(false);
    expect(covers({ spec: { hard: { 'requests.cpu': '500m', pods: '2' }, list: [{ a: 1 }] }, metadata: { labels: {} } }, desired)).toBe(false);
    expect(covers({ spec: {} }, { spec: { podSelector: {} } })).toBe(true);
    expect(covers({ ports: [{ port: 53, protocol: 'UDP' }] }, { ports: [{ port: 53, protocol: 'TCP' }] })).toBe(false);
  });

  it('matchesDesired: owned objects must match exactly (but labels, annotations, status); extra fields are found and nulled', () => {
    const desired = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'd', labels: { a: 'b' } }, spec: { podSelector: {}, policyTypes: ['Ingress'] } };
    const live = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'd', uid: 'u', labels: { a: 'b', x: 'y' }, annotations: { z: '1' } }, spec: { policyTypes: ['Ingress'], podSelector: {} }, status: {} };
    expect(matchesDesired(live, desired)).toBe(true);
    expect(matchesDesired({ ...live, spec: { ...live.spec, ingress: [{}] } }, desired)).toBe(false);
    expect(matchesDesired({ ...live, spec: { ...live.spec, podSelector: { matchLabels: { k: 'v' } } } }, desired)).toBe(false);
    expect(matchesDesired({ ...live, metadata: { name: 'd', labels: {} } }, desired)).toBe(false);
    expect(matchesDesired({ ...live, spec: { hard: { cpu: '0.5' } } }, { ...desired, spec: { hard: { cpu: '500m' } } })).toBe(true);
    const extra = extraFieldPaths({ ...live, spec: { ...live.spec, ingress: [{}], podSelector: { matchLabels: { k: 'v' } } } }, desired);
    expect(extra).toEqual([['spec', 'podSelector', 'matchLabels'], ['spec', 'ingress']]);
    expect(nullPatch(extra)).toEqual({ spec: { podSelector: { matchLabels: null }, ingress: null } });
  });
});
