// webhook/scale.ts: a scale request turned into the UPDATE of its parent that the engine and the
// ledger judge (the reader is the seam to the API server; over HTTP in test/integration/webhook-scale).
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../policies/engine/types.js';
import type { AdmissionRequest } from '../../webhook/admission-review.js';
import { isScaleRequest, parentUpdate, scaleReplicas } from '../../webhook/scale.js';

const petset: JsonObject = {
  apiVersion: 'apps.k8s.appscode.com/v1', kind: 'PetSet',
  metadata: { name: 'cache', namespace: 'tenant-a', resourceVersion: '42' },
  spec: { replicas: 1, template: { spec: { containers: [{ name: 'redis' }] } } },
};

function scaleRequest(replicas: unknown, o: Partial<AdmissionRequest> = {}): AdmissionRequest {
  const scale = (n: unknown): JsonObject => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'cache', namespace: 'tenant-a' }, spec: n === undefined ? {} : { replicas: n } } as JsonObject);
  return {
    uid: 'u-1', kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    resource: { group: 'apps.k8s.appscode.com', version: 'v1', resource: 'petsets' },
    operation: 'UPDATE', namespace: 'tenant-a', name: 'cache', subResource: 'scale',
    object: scale(replicas), oldObject: scale(1), userInfo: { username: 'hpa', groups: ['g'] }, dryRun: true, ...o,
  };
}

describe('scale subresource → UPDATE of the parent', () => {
  it('the parent with the new replicas as object, the stored parent as oldObject; uid, user and dryRun kept; the stored copy untouched', async () => {
    const read: string[] = [];
    const update = await parentUpdate(scaleRequest(5), { get: async (...args) => (read.push(args.join(' ')), petset) });
    expect(read).toEqual(['apps.k8s.appscode.com/v1 petsets tenant-a cache']);
    expect(update.ok).toBe(true);
    if (!update.ok) return;
    const r = update.value;
    expect(r).toMatchObject({ uid: 'u-1', operation: 'UPDATE', subResource: '', dryRun: true, userInfo: { username: 'hpa', groups: ['g'] } });
    expect(r.kind).toEqual({ group: 'apps.k8s.appscode.com', version: 'v1', kind: 'PetSet' });
    expect(r.object).toEqual({ ...petset, spec: { ...(petset['spec'] as JsonObject), replicas: 5 } });
    expect(r.oldObject).toBe(petset);
    expect((petset['spec'] as JsonObject)['replicas']).toBe(1);
  });

  it('core ReplicationControllers are read at /api/v1', async () => {
    const read: string[] = [];
    await parentUpdate(scaleRequest(2, { resource: { group: '', version: 'v1', resource: 'replicationcontrollers' } }), {
      get: async (...args) => (read.push(args.join(' ')), { ...petset, apiVersion: 'v1', kind: 'ReplicationController' }),
    });
    expect(read).toEqual(['v1 replicationcontrollers tenant-a cache']);
  });

  it('replicas: absent is 0; negative, fractional, non-numeric or a non-object spec is an error', () => {
    expect(scaleReplicas({ spec: {} })).toBe(0);
    expect(scaleReplicas({})).toBe(0);
    expect(scaleReplicas({ spec: { replicas: 7 } })).toBe(7);
    for (const bad of [-1, 0.5, '3', true]) expect(scaleReplicas({ spec: { replicas: bad } } as JsonObject), String(bad)).toMatch(/whole number/);
    expect(scaleReplicas({ spec: [] })).toBe('spec must be an object');
  });

  it('a stored parent without a spec, or a reader that fails, is refused with what and where', async () => {
    const noSpec = await parentUpdate(scaleRequest(2), { get: async () => ({ apiVersion: 'apps.k8s.appscode.com/v1', kind: 'PetSet', metadata: {} }) });
    expect(noSpec).toEqual({ ok: false, problem: { reason: 'scale-invalid', message: 'scale of petsets.apps.k8s.appscode.com tenant-a/cache: the stored object has no spec' } });
    const failing = await parentUpdate(scaleRequest(2), { get: async () => { throw new Error('connection refused'); } });
    expect(failing).toEqual({ ok: false, problem: { reason: 'scale-parent-unreadable', message: 'scale of petsets.apps.k8s.appscode.com tenant-a/cache: cannot read it to judge the new replicas (connection refused); retry in a moment' } });
  });

  it('only UPDATE/CREATE of the scale subresource is routed', () => {
    expect(isScaleRequest(scaleRequest(1))).toBe(true);
    expect(isScaleRequest(scaleRequest(1, { subResource: 'status' }))).toBe(false);
    expect(isScaleRequest(scaleRequest(1, { operation: 'DELETE' }))).toBe(false);
  });
});
