// The scale subresource on a real kube-apiserver 1.20 with `redline serve` under the bundle's RBAC
// (its get-only grant on the scalable kinds) and the shipped webhook configurations: a subject
// allowed to scale (here the tenant's group, through a Role the platform might grant, or what an
// autoscaler or operator holds) PUTs statefulsets/NAME/scale. Above the plan's pods per shard it is
// refused by plan-limits; within the plan admitted; past the tenant's tenantTotals refused by the
// ledger with its arithmetic; a dry run is judged the same; scaling down is never held.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../bench/bootstrap-harness.js';
import { until } from '../helpers/wait.js';
import { ok, P, type Answer } from './helpers/isolation-http.js';
import { NAMESPACES, TOTALS, startLedgerCluster, type LedgerCluster } from './helpers/ledger-cluster.js';

let w: LedgerCluster;
const [NS] = NAMESPACES;
const SCALE = `${P.statefulSets(NS, 'redis')}/scale`;
const DENIED = 'admission webhook "validate.redline.dev" denied the request: ';

/** The shipped Bitnami-style example (2Gi per pod) in the tenant's namespace, at one pod. */
function statefulSet(): Record<string, unknown> {
  const sts = parse(readFileSync(path.join(ROOT, 'manifests', 'examples', 'good', 'statefulset-bitnami.yaml'), 'utf8'));
  sts.metadata.namespace = NS;
  sts.spec.replicas = 1;
  return sts;
}

function scaleTo(replicas: number, dryRun = false): Promise<Answer> {
  const scale = { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'redis', namespace: NS }, spec: { replicas } };
  return w.tenants[0]!.request('PUT', SCALE, scale, { dryRun });
}

async function replicas(): Promise<number> {
  return (ok(await w.admin.get(P.statefulSets(NS, 'redis')), 'read the StatefulSet').body as { spec: { replicas: number } }).spec.replicas;
}

describe('kubectl scale through the webhook on a real kube-apiserver', () => {
  beforeAll(async () => {
    // 5Gi of memory for the tenant: two 2Gi pods fit, a third does not.
    w = await startLedgerCluster({ replicas: 1, totals: { ...TOTALS, memory: '5Gi' } });
    // A subject allowed to scale StatefulSets (redline-tenant itself grants no */scale).
    ok(await w.admin.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'scaler' },
      rules: [{ apiGroups: ['apps'], resources: ['statefulsets/scale'], verbs: ['get', 'update'] }],
    }), 'the scaler Role');
    ok(await w.admin.create(P.roleBindings(NS), {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'scaler' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'scaler' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'redline:tenant:acme' }],
    }), 'the scaler RoleBinding');
    ok(await w.admin.create(P.statefulSets(NS), statefulSet()), 'the Redis StatefulSet at one pod');
  }, 180_000);

  afterAll(async () => {
    await w?.stop();
  }, 60_000);

  it('above the plan\'s pods per shard: refused with the plan-limits message, and nothing changes', async () => {
    const a = await scaleTo(4);
    expect(a.status, a.message).toBe(403);
    expect(a.message).toBe(`${DENIED}plan-limits.pods-per-shard: 4 pods per shard exceed plan standard's limit of 3; set replicas to at most 3`);
    expect(await replicas()).toBe(1);
  });

  it('within the plan and the tenant\'s totals: admitted and stored', async () => {
    const a = await scaleTo(2);
    expect(a.status, a.message).toBe(200);
    expect(await replicas()).toBe(2);
  });

  it('past the tenant\'s tenantTotals: refused by the ledger with its arithmetic (a dry run too); scaling down is admitted', async () => {
    // The ledger counts the two pods (its cache, or the reservation the scale to 2 left).
    const dry = await scaleTo(3, true);
    expect(dry.status, dry.message).toBe(403);
    expect(dry.message).toMatch(/^admission webhook "validate\.redline\.dev" denied the request: tenant acme: memory \S+ used \+ \S+ reserved \+ 2Gi requested > 5Gi in plan standard$/);
    const a = await scaleTo(3);
    expect(a.status, a.message).toBe(403);
    expect(a.message).toMatch(/tenant acme: memory \S+ used \+ \S+ reserved \+ 2Gi requested > 5Gi in plan standard$/);
    // Once the cache shows the stored two pods: 4Gi used, nothing reserved beyond it.
    const settled = await until('the cache shows the two pods', async () => {
      const b = await scaleTo(3, true);
      return b.message.includes('memory 4Gi used + 0 reserved + 2Gi requested > 5Gi') ? b : undefined;
    }, 15_000, 200);
    expect(settled.status).toBe(403);
    expect(await replicas()).toBe(2);
    const down = await scaleTo(1);
    expect(down.status, down.message).toBe(200);
    expect(await replicas()).toBe(1);
  });
});
