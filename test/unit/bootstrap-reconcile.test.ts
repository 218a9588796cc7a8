import { beforeAll, describe, expect, it } from 'vitest';
import { TenantReconciler, type ClusterView, type ClusterWriter, type EventSink } from '../../bootstrap/reconcile.js';
import { OWNED_BY_KIND, renderTenant, type PlanLike } from '../../bootstrap/render.js';
import { ANNOTATION_BOOTSTRAP, LABEL_MANAGED_BY } from '../../core/vocabulary.js';
import { TENANT_FINALIZER, type TenantStatus } from '../../bootstrap/tenants.js';
import { REDIS_KINDS, type SecretSources } from '../../bootstrap/secrets.js';
import { defaultControllerSettings, type ControllerSettings } from '../../core/settings/controller.js';
import { ApiError, type KubeObject } from '../../kube/api-client.js';
import type { EventSpec } from '../../kube/events.js';
import { defaultLibraryDir, loadLibrary, type Library } from '../../policies/engine/index.js';
import { makePlan } from '../../policies/engine/library.js';

let library: Library;
beforeAll(async () => {
  library = await loadLibrary(defaultLibraryDir());
});

/** A tiny fake cluster: objects by kind/ns/name; apply merges like SSA for our purposes. */
class FakeCluster implements ClusterView, ClusterWriter, EventSink {
  objects = new Map<string, KubeObject>();
  writes: string[] = [];
  events: EventSpec[] = [];
  private lastEvent = new Map<string, string>();
  private rv = 1;
  failApply: ((obj: KubeObject, force: boolean) => ApiError | undefined) | undefined;
  /** What the "server" adds on every write (to simulate defaults a newer version adds). */
  serverDefaults: ((obj: KubeObject) => void) | undefined;

  key(kind: string, ns: string | undefined, name: string): string {
    return `${kind}/${ns ?? ''}/${name}`;
  }
  put(obj: KubeObject): KubeObject {
    const o = structuredClone(obj);
    if (o.metadata.labels?.[LABEL_MANAGED_BY] === 'redline') this.serverDefaults?.(o);
    o.metadata.resourceVersion = String(++this.rv);
    o.metadata.uid ??= `uid-${o.metadata.name}`;
    this.objects.set(this.key(o.kind, o.metadata.namespace, o.metadata.name), o);
    return o;
  }
  namespace(name: string): KubeObject | undefined {
    return this.objects.get(this.key('Namespace', undefined, name));
  }
  ownedIn(namespace: string): KubeObject[] {
    return [...this.objects.values()].filter((o) => o.metadata.namespace === namespace && o.metadata.labels?.[LABEL_MANAGED_BY] === 'redline');
  }
  owned(kind: string, namespace: string, name: string): KubeObject | undefined {
    const o = this.objects.get(this.key(kind, namespace, name));
    return o?.metadata.labels?.[LABEL_MANAGED_BY] === 'redline' ? o : undefined;
  }
  remember(): void {}
  forget(): void {}
  tenant(id: string): KubeObject | undefined {
    return this.objects.get(this.key('Tenant', undefined, id));
  }
  namespaces(): KubeObject[] {
    return [...this.objects.values()].filter((o) => o.kind === 'Namespace');
  }
  async replaceStatus(obj: KubeObject): Promise<KubeObject> {
    this.writes.push(`status ${obj.kind}/${obj.metadata.name}`);
    const cur = this.objects.get(this.key(obj.kind, undefined, obj.metadata.name))!;
    if (cur.metadata.resourceVersion !== obj.metadata.resourceVersion) throw new ApiError(409, 'update', obj.metadata.name, 'the object has been modified', 'Conflict');
    return this.put({ ...cur, status: structuredClone(obj['status']) });
  }
  /** Set to false to play a source cache that has not listed yet. */
  sourcesComplete = true;
  secretSources(namespace: string): SecretSources {
    const inNs = [...this.objects.values()].filter((o) => o.metadata.namespace === namespace);
    const redisKind = (o: KubeObject): boolean => REDIS_KINDS.some((k) => o.kind === k.kind && k.versions.some((v) => o.apiVersion === `${k.group}/${v}`));
    return {
      redis: inNs.filter(redisKind),
      certificates: inNs.filter((o) => o.kind === 'Certificate'),
      secrets: inNs.filter((o) => o.kind === 'Secret'),
      complete: this.sourcesComplete,
    };
  }
  async apply(obj: KubeObject, _plural: string, opts: { force: boolean }): Promise<KubeObject> {
    const err = this.failApply?.(obj, opts.force);
    if (err) throw err;
    this.writes.push(`apply ${obj.kind}/${obj.metadata.name}${opts.force ? ' force' : ''}`);
    const prev = this.objects.get(this.key(obj.kind, obj.metadata.namespace, obj.metadata.name));
    if (obj.kind === 'Namespace') {
      const merged = structuredClone(prev ?? obj);
      merged.metadata.labels = { ...(prev?.metadata.labels ?? {}), ...(obj.metadata.labels ?? {}) };
      if (obj.metadata.annotations) merged.metadata.annotations = { ...(prev?.metadata.annotations ?? {}), ...obj.metadata.annotations };
      return this.put(merged);
    }
    // like server-side apply: our maps merge into the live object, lists are replaced; fields
    // someone else added stay
    const merge = (a: any, b: any): any => {
      if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
        const out = { ...a };
        for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
        return out;
      }
      return structuredClone(b);
    };
    return this.put(prev ? merge(prev, obj) : obj);
  }
  async mergePatch(path: string, patch: any): Promise<KubeObject> {
    this.writes.push(`merge-patch ${path}`);
    const clusterScoped = (x: KubeObject): boolean => (x.kind === 'Namespace' && path.startsWith('/api/v1/namespaces/')) || (x.kind === 'Tenant' && path.includes('/tenants/'));
    const o = [...this.objects.values()].find((x) => path.endsWith(`/${x.metadata.name}`) && (clusterScoped(x) || path.includes(`/namespaces/${x.metadata.namespace}/`)))!;
    const rv = patch?.metadata?.resourceVersion;
    if (rv !== undefined && rv !== o.metadata.resourceVersion) throw new ApiError(409, 'patch', path, 'the object has been modified', 'Conflict');
    const apply = (target: any, p: any): void => {
      for (const [k, v] of Object.entries(p)) {
        if (v === null) delete target?.[k];
        else if (typeof v === 'object' && !Array.isArray(v)) apply((target[k] ??= {}), v);
        else target[k] = v;
      }
    };
    apply(o, patch);
    return this.put(o);
  }
  async delete(path: string): Promise<boolean> {
    this.writes.push(`delete ${path}`);
    for (const [k, o] of this.objects) {
      if (o.kind !== 'Namespace' && path.endsWith(`/namespaces/${o.metadata.namespace}/${OWNED_BY_KIND.get(o.kind)?.plural}/${o.metadata.name}`)) {
        this.objects.delete(k);
        return true;
      }
    }
    return false;
  }
  async emit(ns: { name: string }, ev: EventSpec, opts: { dedupe?: boolean } = {}): Promise<boolean> {
    const k = `${ev.reason}|${ev.message}`;
    if (opts.dedupe && this.lastEvent.get(ns.name) === k) return false;
    this.lastEvent.set(ns.name, k);
    this.events.push(ev);
    return true;
  }
  reset(namespace: string): void {
    this.lastEvent.delete(namespace);
  }
}

function setup(settings: ControllerSettings = defaultControllerSettings(), plans: () => ReadonlyMap<string, PlanLike> = () => library.plans) {
  const cluster = new FakeCluster();
  let t = 0;
  const reconciler = new TenantReconciler({
    view: cluster,
    writer: cluster,
    events: cluster,
    plans,
    settings,
    now: () => new Date(1_700_000_000_000 + ++t * 1000),
  });
  return { cluster, reconciler };
}

const ns = (name: string, labels: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

describe('TenantReconciler', () => {
  it('stamps a new tenant namespace once; a second reconcile writes nothing', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(ns('team-a', { 'redline.dev/tenant': 'a', 'redline.dev/plan': 'free' }));
    expect(await reconciler.reconcile('team-a')).toBe('stamped');
    const desired = renderTenant({ namespace: 'team-a', tenant: 'a', plan: library.plans.get('free')! }, defaultControllerSettings());
    expect(cluster.writes).toEqual([...desired.objects.map((o) => `apply ${o.kind}/${o.metadata.name}`), 'apply Namespace/team-a']);
    const annotation = JSON.parse(cluster.namespace('team-a')!.metadata.annotations![ANNOTATION_BOOTSTRAP]!);
    expect(annotation).toMatchObject({ plan: 'free', hash: desired.hash });
    expect(cluster.events.map((e) => e.reason)).toEqual(['Stamped']);
    cluster.writes = [];
    expect(await reconciler.reconcile('team-a')).toBe('unchanged');
    expect(cluster.writes).toEqual([]);
    expect(cluster.events).toHaveLength(1);
  });

  it('repairs only the drifted or deleted object, with force only for objects it owns', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(ns('team-a', { 'redline.dev/tenant': 'a', 'redline.dev/plan': 'free' }));
    await reconciler.reconcile('team-a');
    cluster.writes = [];
    const quota = cluster.owned('ResourceQuota', 'team-a', 'redline-quota')!;
    (quota as any).spec.hard.pods = '100';
    cluster.objects.delete(cluster.key('NetworkPolicy', 'team-a', 'redline-default-deny'));
    expect(await reconciler.reconcile('team-a')).toBe('repaired');
    expect(cluster.writes).toEqual(['apply ResourceQuota/redline-quota force', 'apply NetworkPolicy/redline-default-deny', 'apply Namespace/team-a']);
    expect(cluster.events.at(-1)).toMatchObject({ reason: 'Repaired', message: expect.stringContaining('ResourceQuota/redline-quota (spec)') });
  });

  it('removes fields others added to objects Redline owns (apply alone would keep them)', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(ns('team-a', { 'redline.dev/tenant': 'a', 'redline.dev/plan': 'free' }));
    await reconciler.reconcile('team-a');
    const deny = cluster.owned('NetworkPolicy', 'team-a', 'redline-default-deny') as any;
    deny.spec.ingress = [{}]; // allow all ingress
    deny.spec.podSelector = { matchLabels: { only: 'these' } };
    deny.metadata.labels.extra = 'kept'; // others' labels are fine
    const quota = cluster.owned('ResourceQuota', 'team-a', 'redline-quota') as any;
    quota.spec.scopeSelector = { matchExpressions: [{ operator: 'Exists', scopeName: 'PriorityClass' }] };
    cluster.writes = [];
    expect(await reconciler.reconcile('team-a')).toBe('repaired');
    expect(cluster.writes).toEqual([
      'apply ResourceQuota/redline-quota force',
      'merge-patch /api/v1/namespaces/team-a/resourcequotas/redline-quota',
      'apply NetworkPolicy/redline-default-deny force',
      'merge-patch /apis/networking.k8s.io/v1/namespaces/team-a/networkpolicies/redline-default-deny',
      'apply Namespace/team-a',
    ]);
    const repaired = cluster.owned('NetworkPolicy', 'team-a', 'redline-default-deny') as any;
    expect(repaired.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(repaired.metadata.labels.extra).toBe('kept');
    expect((cluster.owned('ResourceQuota', 'team-a', 'redline-quota') as any).spec.scopeSelector).toBeUndefined();
    cluster.writes = [];
    expect(await reconciler.reconcile('team-a')).toBe('unchanged');
    expect(cluster.writes).toEqual([]);
  });

  it('loop breaker: a server that keeps adding a field is not fought on every reconcile', async () => {
    const { cluster, reconciler } = setup();
    cluster.serverDefaults = (o) => {
      if (o.kind === 'LimitRange') (o as any).spec.newDefault = 'x';
    };
    cluster.put(ns('team-a', { 'redline.dev/tenant': 'a', 'redline.dev/plan': 'free' }));
    await reconciler.reconcile('team-a'); // created (not ours yet: no repair attempted)
    cluster.writes = [];
    await reconciler.reconcile('team-a'); // one repair attempt, then accepted
    expect(cluster.writes.filter((w) => w.includes('LimitRange') || w.includes('limitranges'))).toHaveLength(2);
    cluster.writes = [];
    expect(await reconciler.reconcile('team-a')).toBe('unchanged');
    expect(cluster.writes).toEqual([]);
  });

  it('plan change: quota and limits follow, PlanChanged; unknown plan: one event, no writes', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(ns('team-a', { 'redline.dev/tenant': 'a', 'redline.dev/plan': 'free' }));
    await reconciler.reconcile('team-a');
    cluster.put(ns('team-a', { ...cluster.namespace('team-a')!.metadata.labels!, 'redline.dev/plan': 'premium' }));
    cluster.namespace('team-a')!.metadata.annotations = { [ANNOTATION_BOOTSTRAP]: JSON.stringify({ plan: 'free', hash: 'x', time: 't' }) };
    expect(await reconciler.reconcile('team-a')).toBe('plan_changed');
    expect((cluster.owned('ResourceQuota', 'team-a', 'redline-quota') as any).spec.hard.pods).toBe('64');
    expect(cluster.events.at(-1)!.reason).toBe('PlanChanged');

    cluster.writes = [];
    const before = structuredClone([...cluster.objects.values()]);
    const labels = cluster.namespace('team-a')!.metadata.labels!;
    labels['redline.dev/plan'] = 'platinum';
    expect(await reconciler.reconcile('team-a')).toBe('unknown_plan');
    expect(await reconciler.reconcile('team-a')).toBe('unknown_plan');
    expect(cluster.writes).toEqual([]);
    expect(cluster.events.filter((e) => e.reason === 'UnknownPlan')).toHaveLength(1); // de-duplicated
    expect(cluster.events.at(-1)!.message).toMatch(/"platinum" is not in the plan library \(known: free, premium, standard\)/);
    expect([...cluster.objects.values()].filter((o) => o.kind !== 'Namespace')).toEqual(before.filter((o) => o.kind !== 'Namespace'));
  });

  /** How many objects the free plan stamps (with the default settings). */
  const stampedFree = (settings: ControllerSettings = defaultControllerSettings()): number =>
    renderTenant({ namespace: 'team-a', tenant: 'a', plan: library.plans.get('free')! }, settings).objects.length;

  it('offboarding (delete) removes only stamped objects and Redline marks, keeps Pod Security labels', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(ns('team-a', { 'redline.dev/tenant': 'a', 'redline.dev/plan': 'free', owner: 'x' }));
    await reconciler.reconcile('team-a');
    cluster.put({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'team-a', labels: { [LABEL_MANAGED_BY]: 'redline' } } });
    cluster.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'redline-tenant-ca', namespace: 'team-a' } });
    cluster.put({ apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'cache', namespace: 'team-a' } });
    cluster.put({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'mine', namespace: 'team-a', labels: { [LABEL_MANAGED_BY]: 'redline' } } });
    const labels = { ...cluster.namespace('team-a')!.metadata.labels! };
    delete labels['redline.dev/tenant'];
    cluster.namespace('team-a')!.metadata.labels = labels;
    cluster.writes = [];
    expect(await reconciler.reconcile('team-a')).toBe('offboarded');
    const left = [...cluster.objects.values()].map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(left).toEqual(['Namespace/team-a', 'NetworkPolicy/mine', 'PersistentVolumeClaim/data', 'Redis/cache', 'Secret/redline-tenant-ca']);
    expect(cluster.writes.filter((w) => w.startsWith('delete'))).toHaveLength(stampedFree());
    // Access ends first (the tenant's RoleBindings, then its Secrets Role), enforcement last.
    expect(cluster.writes.slice(0, 3)).toEqual([
      'delete /apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings/redline-tenant',
      'delete /apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings/redline-tenant-secrets',
      'delete /apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles/redline-tenant-secrets',
    ]);
    expect(cluster.writes.at(-1)).toBe('merge-patch /api/v1/namespaces/team-a');
    expect(cluster.writes).toHaveLength(stampedFree() + 1);
    expect(cluster.events.at(-1)!.reason).toBe('Offboarded');
    const after = cluster.namespace('team-a')!.metadata;
    expect(after.labels!['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(after.labels!['redline.dev/managed']).toBeUndefined();
    expect(after.labels!['redline.dev/plan']).toBeUndefined();
    expect(after.labels!['owner']).toBe('x');
    expect(after.annotations?.[ANNOTATION_BOOTSTRAP]).toBeUndefined();
    expect(await reconciler.reconcile('team-a')).toBe('not_tenant'); // done once
  });

  it('offboarding (orphan) strips Redline labels from the objects and keeps them', async () => {
    const { cluster, reconciler } = setup({ ...defaultControllerSettings(), offboarding: 'orphan' });
    cluster.put(ns('team-a', { 'redline.dev/tenant': 'a', 'redline.dev/plan': 'free' }));
    await reconciler.reconcile('team-a');
    delete cluster.namespace('team-a')!.metadata.labels!['redline.dev/tenant'];
    cluster.writes = [];
    expect(await reconciler.reconcile('team-a')).toBe('offboarded');
    // Orphan keeps the fences but never the tenant's access: its RoleBindings and Role go first.
    expect(cluster.writes.slice(0, 3)).toEqual([
      'delete /apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings/redline-tenant',
      'delete /apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings/redline-tenant-secrets',
      'delete /apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles/redline-tenant-secrets',
    ]);
    for (const w of cluster.writes.slice(3, -1)) expect(w).toMatch(/^merge-patch \/apis?\/.*\/namespaces\/team-a\/[a-z]+\/redline-/);
    expect(cluster.writes.slice(3, -1)).toHaveLength(stampedFree() - 3);
    expect(cluster.writes.at(-1)).toBe('merge-patch /api/v1/namespaces/team-a');
    expect(cluster.writes.filter((w) => w.startsWith('delete'))).toHaveLength(3);
    expect(cluster.ownedIn('team-a')).toEqual([]);
    const left = [...cluster.objects.values()].filter((o) => o.metadata.namespace === 'team-a').map((o) => `${o.kind}/${o.metadata.name}`);
    expect(left).toHaveLength(stampedFree() - 3);
    expect(left.filter((k) => k.startsWith('Role'))).toEqual([]);
    expect(cluster.namespace('team-a')!.metadata.labels!['redline.dev/managed']).toBeUndefined();
  });

  it('a namespace without tenant label and without Redline marks is left alone', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(ns('kube-system', {}));
    expect(await reconciler.reconcile('kube-system')).toBe('not_tenant');
    expect(await reconciler.reconcile('nope')).toBe('gone');
    expect(cluster.writes).toEqual([]);
  });

  it('takes ownership of Pod Security labels another manager set (with a Warning event); bookkeeping conflicts are taken back quietly', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(ns('team-a', { 'redline.dev/tenant': 'a', 'redline.dev/plan': 'free', 'pod-security.kubernetes.io/enforce': 'privileged' }));
    const conflict = (field: string) =>
      new ApiError(409, 'patch', '/api/v1/namespaces/team-a', 'Apply failed with 1 conflict', 'Conflict', [
        { reason: 'FieldManagerConflict', field, message: `conflict with "kubectl-label": ${field}` },
      ]);
    cluster.failApply = (o, force) => (o.kind === 'Namespace' && !force ? conflict('.metadata.labels.pod-security.kubernetes.io/enforce') : undefined);
    expect(await reconciler.reconcile('team-a')).toBe('stamped');
    expect(cluster.writes.at(-1)).toBe('apply Namespace/team-a force');
    expect(cluster.namespace('team-a')!.metadata.labels!['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const warning = cluster.events.find((e) => e.reason === 'LabelConflict')!;
    expect(warning).toMatchObject({ type: 'Warning', message: expect.stringMatching(/took ownership.*kubectl-label/) });
    expect(cluster.events.at(-1)!.reason).toBe('Stamped');

    const { cluster: c2, reconciler: r2 } = setup();
    c2.put(ns('team-a', { 'redline.dev/tenant': 'a', 'redline.dev/plan': 'free' }));
    c2.failApply = (o, force) => (o.kind === 'Namespace' && !force ? conflict(`.metadata.annotations.${ANNOTATION_BOOTSTRAP}`) : undefined);
    expect(await r2.reconcile('team-a')).toBe('stamped');
    expect(c2.writes.at(-1)).toBe('apply Namespace/team-a force');
    expect(c2.events.map((e) => e.reason)).toEqual(['Stamped']);
  });

  it('Secrets Role: exactly the referenced, certificate and tenant-created Secrets; never tokens, the CA or Redline\'s; quiet updates', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(ns('team-a', { 'redline.dev/tenant': 'a', 'redline.dev/plan': 'free' }));
    expect(await reconciler.reconcile('team-a')).toBe('stamped');
    const role = () => cluster.owned('Role', 'team-a', 'redline-tenant-secrets') as any;
    expect(role().rules).toEqual([]); // nothing to grant: no rule at all (empty resourceNames would grant every Secret)
    const hash = JSON.parse(cluster.namespace('team-a')!.metadata.annotations![ANNOTATION_BOOTSTRAP]!).hash;

    const secret = (name: string, labels: Record<string, string> = {}, type = 'Opaque', annotations: Record<string, string> = {}) =>
      cluster.put({ apiVersion: 'v1', kind: 'Secret', type, metadata: { name, namespace: 'team-a', labels, annotations } } as KubeObject);
    const issued = (certificate: string) => ({ 'cert-manager.io/certificate-name': certificate });
    const mine = { 'redline.dev/tenant-secret': 'true' };
    secret('mine', mine);
    secret('tls-secret', {}, 'kubernetes.io/tls', issued('server'));
    secret('sa-token', mine, 'kubernetes.io/service-account-token');
    secret('redline-tenant-ca', mine, 'kubernetes.io/tls');
    secret('redline-webhook-tls', { ...mine, [LABEL_MANAGED_BY]: 'redline' });
    secret('unrelated');
    cluster.put({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'server', namespace: 'team-a' }, spec: { secretName: 'tls-secret' } });
    cluster.put({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'later', namespace: 'team-a' }, spec: { secretName: 'not-issued-yet' } });
    cluster.writes = [];
    const events = cluster.events.length;
    expect(await reconciler.reconcile('team-a')).toBe('access_updated');
    expect(role().rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch'], resourceNames: ['mine', 'tls-secret'] }]);
    expect(cluster.writes).toEqual(['apply Role/redline-tenant-secrets force']);
    expect(cluster.events).toHaveLength(events); // an access update is not a repair of the bootstrap
    expect(JSON.parse(cluster.namespace('team-a')!.metadata.annotations![ANNOTATION_BOOTSTRAP]!).hash).toBe(hash);
    expect(await reconciler.reconcile('team-a')).toBe('unchanged');

    // the Certificate's Secret appears: granted; a cache still filling never takes names away
    secret('not-issued-yet', {}, 'kubernetes.io/tls', issued('later'));
    cluster.sourcesComplete = false;
    cluster.objects.delete(cluster.key('Secret', 'team-a', 'mine'));
    expect(await reconciler.reconcile('team-a')).toBe('unchanged');
    cluster.sourcesComplete = true;
    expect(await reconciler.reconcile('team-a')).toBe('access_updated');
    expect(role().rules[0].resourceNames).toEqual(['not-issued-yet', 'tls-secret']);

    // someone widens the Role: a repair (Warning-free, but an event and the annotation), not an access update
    role().rules = [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }];
    expect(await reconciler.reconcile('team-a')).toBe('repaired');
    expect(role().rules[0]).toEqual({ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch'], resourceNames: ['not-issued-yet', 'tls-secret'] });

    // nothing left to grant: back to no rules
    for (const n of ['not-issued-yet', 'tls-secret']) cluster.objects.delete(cluster.key('Secret', 'team-a', n));
    expect(await reconciler.reconcile('team-a')).toBe('access_updated');
    expect(role().rules).toEqual([]);
  });

  it('Secrets Role: the Secrets a Redis object uses (adapters\' secretRefs), names the operator derives included', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(ns('team-a', { 'redline.dev/tenant': 'a', 'redline.dev/plan': 'free' }));
    cluster.put({
      apiVersion: 'kubedb.com/v1',
      kind: 'Redis',
      metadata: { name: 'cache', namespace: 'team-a' },
      spec: { version: '7.2.4', mode: 'Standalone', authSecret: { name: 'cache-creds' }, storageType: 'Durable', storage: { resources: { requests: { storage: '1Gi' } } } },
    });
    cluster.put({ apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'other', namespace: 'team-a' }, spec: { version: '7.2.4', mode: 'Standalone' } });
    // written by KubeDB (its managed-by label); a platform Secret a Redis object names is not granted
    for (const name of ['cache-creds', 'other-auth', 'redline-tenant-ca']) cluster.put({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace: 'team-a', labels: { 'app.kubernetes.io/managed-by': 'kubedb.com' } } } as KubeObject);
    cluster.put({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'platform-registry', namespace: 'team-a' } } as KubeObject);
    cluster.put({ apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'grab', namespace: 'team-a' }, spec: { version: '7.2.4', mode: 'Standalone', authSecret: { name: 'platform-registry' } } });
    // a Redis object may name the tenant CA: it is still never granted
    (cluster.objects.get(cluster.key('Redis', 'team-a', 'other')) as any).spec.tls = { certificates: [{ alias: 'server', secretName: 'redline-tenant-ca' }] };
    expect(await reconciler.reconcile('team-a')).toBe('stamped');
    expect((cluster.owned('Role', 'team-a', 'redline-tenant-secrets') as any).rules[0].resourceNames).toEqual(['cache-creds', 'other-auth']);
  });

  it('does not take over an existing object it does not own', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(ns('team-a', { 'redline.dev/tenant': 'a', 'redline.dev/plan': 'free' }));
    cluster.failApply = (o, force) =>
      o.kind === 'ResourceQuota' && !force
        ? new ApiError(409, 'patch', '/x', 'conflict', 'Conflict', [{ reason: 'FieldManagerConflict', field: '.spec.hard.pods', message: 'conflict with "helm"' }])
        : undefined;
    expect(await reconciler.reconcile('team-a')).toBe('conflict');
    expect(cluster.writes.some((w) => w.includes('ResourceQuota'))).toBe(false);
    expect(cluster.events.at(-1)).toMatchObject({ reason: 'ApplyFailed', message: expect.stringContaining('ResourceQuota redline-quota exists and is managed by someone else') });
    expect(cluster.namespace('team-a')!.metadata.annotations).toBeUndefined(); // not "finished"
  });
});

// ---------------------------------------------------------------------------------------------
// Tenant objects

const tenantObj = (id: string, spec: Record<string, unknown>, generation = 1): KubeObject => ({ apiVersion: 'redline.dev/v1alpha1', kind: 'Tenant', metadata: { name: id, generation }, spec });

/** The shipped plans plus "teams": standard with the multi-namespace settings. */
function teamsPlans(): ReadonlyMap<string, PlanLike> {
  const standard = library.plans.get('standard')!;
  const teams = makePlan('teams', { ...standard.spec, tenancy: { allowTrafficBetweenNamespaces: true, namespacePattern: '{tenant}-(dev|staging|prod)' } });
  return new Map([...library.plans, ['teams', teams]]);
}

describe('TenantReconciler with Tenant objects', () => {
  it('stamps the Tenant\'s plan as the namespace label; a plan change on the Tenant moves it and its quota', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(tenantObj('acme', { plan: 'free' }));
    cluster.put(ns('acme-dev', { 'redline.dev/tenant': 'acme' }));
    expect(await reconciler.reconcile('acme-dev')).toBe('stamped');
    expect(cluster.namespace('acme-dev')!.metadata.labels!['redline.dev/plan']).toBe('free');
    const freeQuota = structuredClone((cluster.owned('ResourceQuota', 'acme-dev', 'redline-quota') as any).spec.hard);
    expect(await reconciler.reconcile('acme-dev')).toBe('unchanged');

    (cluster.tenant('acme') as any).spec.plan = 'standard';
    expect(await reconciler.reconcile('acme-dev')).toBe('plan_changed');
    expect(cluster.namespace('acme-dev')!.metadata.labels!['redline.dev/plan']).toBe('standard');
    const hard = (cluster.owned('ResourceQuota', 'acme-dev', 'redline-quota') as any).spec.hard;
    expect(hard).toEqual(renderTenant({ namespace: 'acme-dev', tenant: 'acme', plan: library.plans.get('standard')! }, defaultControllerSettings()).objects[0]!['spec']!['hard' as never]);
    expect(hard).not.toEqual(freeQuota);
  });

  it('an admin relabelling a Tenant\'s namespace to another plan is repaired back to the Tenant\'s', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(tenantObj('acme', { plan: 'free' }));
    cluster.put(ns('acme-dev', { 'redline.dev/tenant': 'acme' }));
    await reconciler.reconcile('acme-dev');
    cluster.namespace('acme-dev')!.metadata.labels!['redline.dev/plan'] = 'premium';
    expect(await reconciler.reconcile('acme-dev')).toBe('repaired');
    expect(cluster.namespace('acme-dev')!.metadata.labels!['redline.dev/plan']).toBe('free');
  });

  it('a Tenant naming an unknown plan changes nothing; a namespace without Tenant keeps its own label', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(tenantObj('acme', { plan: 'gold' }));
    cluster.put(ns('acme-dev', { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'free' }));
    expect(await reconciler.reconcile('acme-dev')).toBe('unknown_plan');
    expect(cluster.writes).toEqual([]);
    expect(cluster.events.at(-1)).toMatchObject({ reason: 'UnknownPlan', message: expect.stringContaining('Tenant acme names plan "gold"') });
    cluster.put(ns('globex-dev', { 'redline.dev/tenant': 'globex', 'redline.dev/plan': 'premium' }));
    expect(await reconciler.reconcile('globex-dev')).toBe('stamped');
    expect(cluster.namespace('globex-dev')!.metadata.labels!['redline.dev/plan']).toBe('premium');
  });

  it('a Tenant whose spec the controller cannot use (an API server without its schema) changes nothing, with a Warning', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(tenantObj('acme', { plan: 'free', subjects: [{ kind: 'ServiceAccount', name: 'deployer' }] }));
    cluster.put(ns('acme-dev', { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'free' }));
    expect(await reconciler.reconcile('acme-dev')).toBe('unknown_plan');
    expect(cluster.writes).toEqual([]);
    expect(cluster.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'InvalidTenant', message: 'Tenant acme: spec.subjects[0].namespace is required for a ServiceAccount; nothing was changed' });
  });

  it('spec.subjects are the RoleBindings\' subjects; without them the settings\' default group', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(tenantObj('acme', { plan: 'free', subjects: [{ kind: 'User', name: 'alice@acme.example' }, { kind: 'ServiceAccount', name: 'deployer', namespace: 'acme-ci' }] }));
    cluster.put(ns('acme-dev', { 'redline.dev/tenant': 'acme' }));
    await reconciler.reconcile('acme-dev');
    const expected = [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice@acme.example' }, { kind: 'ServiceAccount', name: 'deployer', namespace: 'acme-ci' }];
    expect((cluster.owned('RoleBinding', 'acme-dev', 'redline-tenant') as any).subjects).toEqual(expected);
    expect((cluster.owned('RoleBinding', 'acme-dev', 'redline-tenant-secrets') as any).subjects).toEqual(expected);
    delete (cluster.tenant('acme') as any).spec.subjects;
    expect(await reconciler.reconcile('acme-dev')).toBe('repaired');
    expect((cluster.owned('RoleBinding', 'acme-dev', 'redline-tenant') as any).subjects).toEqual([{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'redline:tenant:acme' }]);
  });

  it('multi-namespace plan: the NetworkPolicy admits the tenant\'s namespaces by label, both ways', async () => {
    const { cluster, reconciler } = setup(defaultControllerSettings(), teamsPlans);
    cluster.put(tenantObj('acme', { plan: 'teams' }));
    cluster.put(ns('acme-dev', { 'redline.dev/tenant': 'acme' }));
    expect(await reconciler.reconcile('acme-dev')).toBe('stamped');
    const np = cluster.owned('NetworkPolicy', 'acme-dev', 'redline-allow-tenant-namespaces') as any;
    const peer = { namespaceSelector: { matchLabels: { 'redline.dev/tenant': 'acme' } } };
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress).toEqual([{ from: [peer], ports: [6379, 26379, 16379].map((port) => ({ protocol: 'TCP', port })) }]);
    expect(np.spec.egress[0].to).toEqual([peer]);
    // back to a plan without it: the policy goes
    (cluster.tenant('acme') as any).spec.plan = 'standard';
    await reconciler.reconcile('acme-dev');
    expect(cluster.owned('NetworkPolicy', 'acme-dev', 'redline-allow-tenant-namespaces')).toBeUndefined();
  });

  it('namespace pattern: a namespace the Tenant\'s plan refuses is not moved to it, and stays repaired on its own plan', async () => {
    const { cluster, reconciler } = setup(defaultControllerSettings(), teamsPlans);
    cluster.put(tenantObj('acme', { plan: 'standard' }));
    cluster.put(ns('acme-dev', { 'redline.dev/tenant': 'acme' }));
    cluster.put(ns('legacy-cache', { 'redline.dev/tenant': 'acme' }));
    await reconciler.reconcile('acme-dev');
    await reconciler.reconcile('legacy-cache');
    (cluster.tenant('acme') as any).spec.plan = 'teams';
    expect(await reconciler.reconcile('acme-dev')).toBe('plan_changed');
    expect(await reconciler.reconcile('legacy-cache')).toBe('unchanged');
    expect(cluster.namespace('legacy-cache')!.metadata.labels!['redline.dev/plan']).toBe('standard');
    expect(cluster.events.at(-1)).toMatchObject({ reason: 'NamespaceNameRefused', message: expect.stringContaining('"legacy-cache" does not match plan teams') });
    // a newcomer with a refused name and no plan of its own is not stamped at all
    cluster.put(ns('random', { 'redline.dev/tenant': 'acme' }));
    cluster.writes = [];
    expect(await reconciler.reconcile('random')).toBe('name_refused');
    expect(cluster.writes).toEqual([]);
  });

  it('status: namespaces, plan, Ready with observedGeneration; written only when it changes', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(tenantObj('acme', { plan: 'free' }, 3));
    cluster.put(ns('acme-prod', { 'redline.dev/tenant': 'acme' }));
    cluster.put(ns('acme-dev', { 'redline.dev/tenant': 'acme' }));
    cluster.put(ns('other', { 'redline.dev/tenant': 'globex', 'redline.dev/plan': 'free' }));
    expect(await reconciler.reconcileTenant('acme')).toBe('tenant_status');
    let t = cluster.tenant('acme')!;
    expect(t.metadata['finalizers']).toEqual([TENANT_FINALIZER]);
    let st = t['status'] as TenantStatus;
    expect(st).toMatchObject({ observedGeneration: 3, namespaces: ['acme-dev', 'acme-prod'], namespaceCount: 2 });
    expect(st.plan).toBeUndefined();
    expect(st.conditions).toEqual([{ type: 'Ready', status: 'False', reason: 'Stamping', observedGeneration: 3, lastTransitionTime: expect.any(String), message: 'waiting for acme-dev, acme-prod to be stamped with plan free' }]);
    const since = st.conditions![0]!.lastTransitionTime;
    await reconciler.reconcile('acme-dev');
    await reconciler.reconcile('acme-prod');
    expect(await reconciler.reconcileTenant('acme')).toBe('tenant_status');
    st = cluster.tenant('acme')!['status'] as TenantStatus;
    expect(st.plan).toBe('free');
    expect(st.conditions![0]).toMatchObject({ status: 'True', reason: 'Stamped', message: '2 namespaces stamped with plan free' });
    expect(st.conditions![0]!.lastTransitionTime).not.toBe(since);
    cluster.writes = [];
    expect(await reconciler.reconcileTenant('acme')).toBe('tenant_unchanged');
    expect(cluster.writes).toEqual([]);
    // a field the ledger (serve) writes is kept
    (cluster.tenant('acme') as any).status.reservations = [{ id: 'r1', namespace: 'acme-dev', kind: 'Redis', name: 'cache', expiresAt: '2030-01-01T00:00:00Z' }];
    (cluster.tenant('acme') as any).spec.plan = 'gold';
    (cluster.tenant('acme') as any).metadata.generation = 4;
    expect(await reconciler.reconcileTenant('acme')).toBe('tenant_status');
    t = cluster.tenant('acme')!;
    st = t['status'] as TenantStatus;
    expect(st.reservations).toHaveLength(1);
    expect(st.plan).toBe('free'); // still what the namespaces carry
    expect(st.observedGeneration).toBe(4);
    expect(st.conditions![0]).toMatchObject({ status: 'False', reason: 'UnknownPlan', observedGeneration: 4, message: expect.stringContaining('plan "gold" is not in the plan library') });
  });

  it('status: a stale resourceVersion is a conflict (retried), never a blind overwrite', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(tenantObj('acme', { plan: 'free' }));
    await reconciler.reconcileTenant('acme');
    const stale = structuredClone(cluster.tenant('acme')!);
    const view = Object.assign(Object.create(cluster) as FakeCluster, { tenant: () => stale });
    cluster.put({ ...cluster.tenant('acme')!, spec: { plan: 'standard' } });
    const r2 = new TenantReconciler({ view, writer: cluster, events: cluster, plans: () => library.plans, settings: defaultControllerSettings() });
    (stale as any).spec.plan = 'gold';
    await expect(r2.reconcileTenant('acme')).rejects.toMatchObject({ status: 409 });
  });

  it('deleting a Tenant offboards its namespaces (access first, the tenant label last) and then releases the finalizer', async () => {
    const { cluster, reconciler } = setup();
    cluster.put(tenantObj('acme', { plan: 'free' }));
    cluster.put(ns('acme-dev', { 'redline.dev/tenant': 'acme' }));
    await reconciler.reconcileTenant('acme');
    await reconciler.reconcile('acme-dev');
    (cluster.tenant('acme') as any).metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    expect(await reconciler.reconcileTenant('acme')).toBe('tenant_offboarding');
    expect((cluster.tenant('acme')!['status'] as TenantStatus).conditions![0]).toMatchObject({ reason: 'Offboarding' });
    expect(cluster.tenant('acme')!.metadata['finalizers']).toEqual([TENANT_FINALIZER]);
    cluster.writes = [];
    expect(await reconciler.reconcile('acme-dev')).toBe('offboarded');
    const order = cluster.writes.map((w) => w.split('/').slice(-2).join('/'));
    expect(order.slice(0, 3)).toEqual(['rolebindings/redline-tenant', 'rolebindings/redline-tenant-secrets', 'roles/redline-tenant-secrets']);
    expect(order.at(-1)).toBe('namespaces/acme-dev');
    const labels = cluster.namespace('acme-dev')!.metadata.labels!;
    expect(labels['redline.dev/tenant']).toBeUndefined();
    expect(labels['redline.dev/managed']).toBeUndefined();
    expect(labels['redline.dev/plan']).toBeUndefined();
    expect(labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(cluster.events.at(-1)).toMatchObject({ reason: 'Offboarded', message: expect.stringContaining('Tenant acme deleted') });
    expect(await reconciler.reconcileTenant('acme')).toBe('offboarded');
    expect(cluster.tenant('acme')!.metadata['finalizers']).toEqual([]);
  });
});
