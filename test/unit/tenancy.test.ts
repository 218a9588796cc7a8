// The multi-namespace settings of a plan (spec.tenancy): the naming pattern as the library loads
// it, as the webhook's namespace guard holds a joining namespace to it (the Tenant's plan first,
// else the namespace's own label), and the Tenant status the controller computes.
import { describe, expect, it } from 'vitest';
import { nextTenantStatus, setCondition, stampedWith, tenantSpec } from '../../bootstrap/tenants.js';
import type { KubeObject } from '../../kube/api-client.js';
import { StaticNamespaceSource } from '../../kube/namespaces.js';
import { slimTenant } from '../../kube/tenant-source.js';
import type { DocumentError } from '../../policies/engine/documents.js';
import { compileLibrary, makePlan } from '../../policies/engine/library.js';
import type { JsonObject } from '../../policies/engine/types.js';
import { namespaceNameRefusal, namespacePatternProblem, tenancyOf } from '../../policies/tenancy/namespaces.js';
import { admit, type AdmissionContext } from '../../webhook/admission.js';
import type { AdmissionRequest } from '../../webhook/admission-review.js';
import { LabelGuard } from '../../webhook/label-guard.js';
import { checkNamespaceName } from '../../webhook/namespace-pattern.js';

const planDoc = (tenancy: string): string => `apiVersion: redline.dev/v1alpha1
kind: Plan
metadata:
  name: teams
spec:
  modes: [Standalone]
  maxShards: 1
  maxPodsPerShard: 1
  perPod: {memory: 256Mi, cpu: 250m, storage: 1Gi}
  maxTotalMemory: 256Mi
  defaults: {memory: 128Mi, cpu: 100m}
  quota: {hard: {pods: "2"}}
${tenancy}`;

function loadProblems(text: string): string[] {
  try {
    compileLibrary('lib', [{ file: 'teams.yaml', text }]);
    return [];
  } catch (e) {
    return (e as DocumentError).problems.map((p) => `${p.file}:${p.line}: ${p.path}: ${p.message}`);
  }
}

describe('plan spec.tenancy in the library', () => {
  it('loads, with defaults off', () => {
    const lib = compileLibrary('lib', [{ file: 'teams.yaml', text: planDoc('  tenancy: {allowTrafficBetweenNamespaces: true, namespacePattern: "{tenant}-(dev|staging|prod)"}\n') }]);
    expect(tenancyOf(lib.plans.get('teams')!.spec)).toEqual({ allowTrafficBetweenNamespaces: true, namespacePattern: '{tenant}-(dev|staging|prod)' });
    const plain = compileLibrary('lib', [{ file: 'teams.yaml', text: planDoc('') }]).plans.get('teams')!;
    expect(tenancyOf(plain.spec)).toEqual({ allowTrafficBetweenNamespaces: false, namespacePattern: '' });
    expect(plain.json['tenancy']).toEqual({ allowTrafficBetweenNamespaces: false, namespacePattern: '' });
  });

  it('a pattern without {tenant}, or that is no regular expression, fails the load with file, line and path', () => {
    expect(loadProblems(planDoc('  tenancy:\n    namespacePattern: "team-.*"\n'))).toEqual([
      expect.stringMatching(/^teams\.yaml:14: spec\.tenancy\.namespacePattern: .*\{tenant\}/),
    ]);
    expect(loadProblems(planDoc('  tenancy:\n    namespacePattern: "{tenant}-(dev"\n'))).toEqual([
      'teams.yaml:14: spec.tenancy.namespacePattern: namespacePattern is not a regular expression: Invalid regular expression: /^(?:tenant-(dev)$/: Unterminated group',
    ]);
    expect(namespacePatternProblem('{tenant}-[a-z]+')).toBe('');
    // the webhook runs it on every joining namespace: no catastrophic backtracking
    expect(loadProblems(planDoc('  tenancy:\n    namespacePattern: "{tenant}-(a+)+"\n'))[0]).toContain('can backtrack catastrophically');
    expect(namespacePatternProblem('{tenant}-(dev|prod)+')).toContain('can backtrack catastrophically');
  });
});

describe('the naming pattern', () => {
  const settings = { allowTrafficBetweenNamespaces: false, namespacePattern: '{tenant}-(dev|staging|prod)' };

  it('matches the whole name, with the tenant id taken literally', () => {
    expect(namespaceNameRefusal('acme-prod', 'acme', 'teams', settings)).toBe('');
    // anchored: no prefix or suffix rides along
    expect(namespaceNameRefusal('acme-prod-evil', 'acme', 'teams', settings)).toContain('does not match');
    expect(namespaceNameRefusal('x-acme-prod', 'acme', 'teams', settings)).toContain('does not match');
    // another tenant's name
    expect(namespaceNameRefusal('globex-prod', 'acme', 'teams', settings)).toBe(
      'namespace "globex-prod" does not match plan teams\'s namespace pattern "{tenant}-(dev|staging|prod)" for tenant acme (^(?:acme-(dev|staging|prod))$)',
    );
    // an alternation in the pattern cannot escape the anchors
    expect(namespaceNameRefusal('anything', 'acme', 'teams', { ...settings, namespacePattern: '{tenant}-dev|.*' })).toBe('');
    expect(namespaceNameRefusal('anything', 'acme', 'teams', { ...settings, namespacePattern: '{tenant}-dev' })).not.toBe('');
  });

  it('no pattern: any name', () => {
    expect(namespaceNameRefusal('whatever', 'acme', 'standard', { allowTrafficBetweenNamespaces: false, namespacePattern: '' })).toBe('');
  });
});

describe('the namespace guard holds a joining namespace to the pattern', () => {
  const teams = makePlan('teams', { tenancy: { namespacePattern: '{tenant}-(dev|staging|prod)' } });
  const standard = makePlan('standard', {});
  const plans = new Map([['teams', teams], ['standard', standard]]);
  const tenants = new Map<string, string>([['acme', 'teams']]);
  const tenantPlans = { planOf: (id: string) => tenants.get(id) };
  const ns = (name: string, labels: Record<string, string> = {}): JsonObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  const check = (operation: string, object: JsonObject, oldObject: JsonObject | null = null) =>
    checkNamespaceName({ operation, name: '', object, oldObject }, plans, tenantPlans);

  it('the Tenant\'s plan decides, whatever plan label the request carries', () => {
    expect(check('CREATE', ns('acme-prod', { 'redline.dev/tenant': 'acme' }))).toEqual({ allowed: true });
    const refused = check('CREATE', ns('scratch', { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'standard' }));
    expect(refused).toEqual({ allowed: false, message: expect.stringContaining('namespace "scratch" cannot be a namespace of tenant acme: namespace "scratch" does not match plan teams') });
    // joining by UPDATE, and moving from another tenant
    expect(check('UPDATE', ns('scratch', { 'redline.dev/tenant': 'acme' }), ns('scratch')).allowed).toBe(false);
    expect(check('UPDATE', ns('globex-prod', { 'redline.dev/tenant': 'acme' }), ns('globex-prod', { 'redline.dev/tenant': 'globex' })).allowed).toBe(false);
  });

  it('without a Tenant, the namespace\'s own plan label decides (the label-only path)', () => {
    expect(check('CREATE', ns('scratch', { 'redline.dev/tenant': 'globex', 'redline.dev/plan': 'teams' })).allowed).toBe(false);
    expect(check('CREATE', ns('scratch', { 'redline.dev/tenant': 'globex', 'redline.dev/plan': 'standard' })).allowed).toBe(true);
    // raising a member's plan to one whose pattern it fails
    expect(check('UPDATE', ns('scratch', { 'redline.dev/tenant': 'globex', 'redline.dev/plan': 'teams' }), ns('scratch', { 'redline.dev/tenant': 'globex', 'redline.dev/plan': 'standard' })).allowed).toBe(false);
  });

  it('a member that stays (no tenant or plan label change) is left alone; leaving is never refused', () => {
    const member = ns('legacy', { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'standard' });
    expect(check('UPDATE', { ...member, metadata: { ...(member.metadata as object), annotations: { a: 'b' } } }, member).allowed).toBe(true);
    expect(check('UPDATE', ns('legacy', { 'redline.dev/plan': 'standard' }), member).allowed).toBe(true);
    expect(check('DELETE', member, member).allowed).toBe(true);
  });

  it('admit() denies it at /validate, for admins too, with reason namespace-pattern', () => {
    const ctx: AdmissionContext = {
      reviewer: () => ({ review: () => { throw new Error('not called for Namespaces'); } }),
      namespaces: new StaticNamespaceSource(),
      labelGuard: new LabelGuard({ users: ['root'], groups: [], serviceAccounts: [] }),
      plans: () => plans,
      tenants: tenantPlans,
      unknownNamespace: 'allow',
    };
    const request = (object: JsonObject): AdmissionRequest => ({
      uid: 'u', kind: { group: '', version: 'v1', kind: 'Namespace' }, resource: { group: '', version: 'v1', resource: 'namespaces' },
      name: 'scratch', namespace: '', operation: 'CREATE', userInfo: { username: 'root', groups: [] }, object, oldObject: null, dryRun: false,
    } as unknown as AdmissionRequest);
    const denied = admit('validate', request(ns('scratch', { 'redline.dev/tenant': 'acme' })), ctx);
    expect(denied.reason).toBe('namespace-pattern');
    expect(denied.response.status?.message).toContain('does not match plan teams');
    expect(admit('validate', request(ns('acme-dev', { 'redline.dev/tenant': 'acme' })), ctx).response.allowed).toBe(true);
  });
});

describe('Tenant status', () => {
  const plans = new Map([['free', makePlan('free', {})]]);
  const tenant = (extra: Partial<KubeObject['metadata']> = {}, status?: unknown): KubeObject => ({
    apiVersion: 'redline.dev/v1alpha1', kind: 'Tenant', metadata: { name: 'acme', generation: 2, ...extra }, spec: { plan: 'free' }, ...(status ? { status } : {}),
  });
  const stamped = (name: string): KubeObject => ({
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name, labels: { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'free', 'redline.dev/managed': 'true' }, annotations: { 'redline.dev/bootstrap': JSON.stringify({ plan: 'free', hash: 'h', time: 't' }) } },
  });
  const now = new Date('2026-12-06T00:00:00Z');

  it('stamped means label, managed and the bootstrap annotation all on the plan', () => {
    expect(stampedWith(stamped('acme-dev'), 'free')).toBe(true);
    expect(stampedWith(stamped('acme-dev'), 'standard')).toBe(false);
    const half = stamped('acme-dev');
    half.metadata.annotations = {};
    expect(stampedWith(half, 'free')).toBe(false);
  });

  it('no namespaces yet: Ready with reason NoNamespaces; the condition time moves only when its status does', () => {
    const s1 = nextTenantStatus({ tenant: tenant(), namespaces: [], plans, now });
    expect(s1).toEqual({
      observedGeneration: 2, plan: 'free', namespaces: [], namespaceCount: 0,
      conditions: [{ type: 'Ready', status: 'True', reason: 'NoNamespaces', message: 'no namespace is labelled redline.dev/tenant=acme yet', observedGeneration: 2, lastTransitionTime: now.toISOString() }],
    });
    const later = new Date('2026-12-07T00:00:00Z');
    const s2 = nextTenantStatus({ tenant: tenant({}, s1), namespaces: [stamped('acme-dev')], plans, now: later });
    expect(s2.conditions![0]).toMatchObject({ reason: 'Stamped', lastTransitionTime: now.toISOString() });
    expect(setCondition(s2.conditions!, { type: 'Ready', status: 'False', reason: 'Stamping', message: 'm' }, later)[0]!.lastTransitionTime).toBe(later.toISOString());
  });

  it('an invalid spec is reported, not thrown', () => {
    expect(tenantSpec({ ...tenant(), spec: { plan: 'free', subjects: [{ kind: 'ServiceAccount', name: 'x' }] } })).toEqual({ ok: false, problem: 'spec.subjects[0].namespace is required for a ServiceAccount' });
    const s = nextTenantStatus({ tenant: { ...tenant(), spec: {} }, namespaces: [], plans, now });
    expect(s.conditions![0]).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
  });

  it('serve keeps only name and plan of a Tenant', () => {
    expect(slimTenant({ ...tenant({ resourceVersion: '7' }, { namespaces: ['x'] }), spec: { plan: 'free', subjects: [{ kind: 'Group', name: 'g' }] } })).toEqual({
      apiVersion: 'redline.dev/v1alpha1', kind: 'Tenant', metadata: { name: 'acme', resourceVersion: '7' }, spec: { plan: 'free' },
    });
  });
});
