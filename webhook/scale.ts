// The `scale` subresource (`kubectl scale`, an autoscaler, an operator scaling a set): its object is
// an autoscaling/v1 Scale, which carries neither labels nor a pod template, so nothing in it says
// whether a Redis workload is scaled, or how large its pods are. Redline judges it as what it does:
// an UPDATE of the parent with spec.replicas set to the Scale's. The parent is read fresh from the
// API server (a quorum read: never older than what the API server is about to write; a newer one
// means the write conflicts and the API server asks again). A parent that cannot be read is refused
// (fail closed).

import { errorMessage } from '../core/errors.js';
import { fail, ok, type Problem, type Result } from '../core/result.js';
import type { JsonObject } from '../policies/engine/types.js';
import type { AdmissionRequest } from './admission-review.js';

/** The kinds Redline reviews that have a scale subresource; every one keeps its replicas in spec.replicas. */
export const SCALE_PARENTS: readonly { group: string; resource: string }[] = [
  { group: 'apps', resource: 'statefulsets' },
  { group: 'apps', resource: 'deployments' },
  { group: 'apps', resource: 'replicasets' },
  { group: '', resource: 'replicationcontrollers' },
  { group: 'apps.k8s.appscode.com', resource: 'petsets' },
];

/** Reads one object from the API server (kube/object-reader.ts); rejects when it cannot. */
export interface ParentReader {
  get(apiVersion: string, plural: string, namespace: string, name: string): Promise<JsonObject>;
}

/** The parent's UPDATE, or why the scale cannot be judged: `reason` is the denial's reason. */
export type ParentUpdate = Result<AdmissionRequest, Problem & { reason: string }>;

export function isScaleRequest(req: AdmissionRequest): boolean {
  return req.subResource === 'scale' && (req.operation === 'UPDATE' || req.operation === 'CREATE');
}

/** The Scale's spec.replicas: absent means 0 (autoscaling/v1 omits a zero); anything else but a whole number ≥ 0 is an error. */
export function scaleReplicas(scale: JsonObject | null): number | string {
  const spec = scale?.['spec'];
  if (spec === undefined || spec === null) return 0;
  if (typeof spec !== 'object' || Array.isArray(spec)) return 'spec must be an object';
  const v = (spec as Record<string, unknown>)['replicas'];
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return `spec.replicas must be a whole number ≥ 0, got ${JSON.stringify(v)}`;
  return n;
}

/** The scale request as an UPDATE of its parent, read through `reader`; or why it cannot be judged. */
export async function parentUpdate(req: AdmissionRequest, reader: ParentReader | undefined): Promise<ParentUpdate> {
  const { group, version, resource } = req.resource;
  const what = `${resource}${group ? `.${group}` : ''} ${req.namespace}/${req.name}`;
  if (!SCALE_PARENTS.some((p) => p.group === group && p.resource === resource)) {
    return fail({ reason: 'scale-unknown-parent', message: `scale of ${what}: not a kind whose scale Redline judges` });
  }
  const replicas = scaleReplicas(req.object);
  if (typeof replicas === 'string') return fail({ reason: 'scale-invalid', message: `scale of ${what}: ${replicas}` });
  if (!reader) {
    return fail({ reason: 'scale-parent-unreadable', message: `scale of ${what}: Redline has no cluster access here to read the ${resource} it scales` });
  }
  const apiVersion = group ? `${group}/${version}` : version;
  let parent: JsonObject;
  try {
    parent = await reader.get(apiVersion, resource, req.namespace, req.name);
  } catch (e) {
    return fail({ reason: 'scale-parent-unreadable', message: `scale of ${what}: cannot read it to judge the new replicas (${errorMessage(e)}); retry in a moment` });
  }
  const spec = parent['spec'];
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    return fail({ reason: 'scale-invalid', message: `scale of ${what}: the stored object has no spec` });
  }
  const scaled: JsonObject = { ...parent, spec: { ...(spec as JsonObject), replicas } };
  return ok({
    ...req,
    kind: { group, version, kind: typeof parent['kind'] === 'string' ? parent['kind'] : '' },
    subResource: '',
    operation: 'UPDATE',
    object: scaled,
    oldObject: parent,
  });
}
