// The resources the audit re-judges: every kind the validating webhook reviews with the policy
// engine (manifests/base/webhooks.yaml; an adapter in policies/workloads for each), in the first
// version the API server serves. Namespaces and Secrets are judged by guards, not policies: not here.

import type { KubeApi } from '../../kube/api-client.js';
import { servedResources } from '../../kube/discovery.js';
import { adapterFor } from '../../policies/workloads/index.js';
import { REDIS_KINDS, type RedisKind } from '../secrets.js';

/** A kind with the versions it may be served in (preferred first). */
export type AuditedKind = RedisKind;

export const AUDITED_KINDS: readonly AuditedKind[] = Object.freeze([
  ...REDIS_KINDS,
  { group: 'apps', versions: ['v1'], plural: 'statefulsets', kind: 'StatefulSet' },
  { group: 'apps', versions: ['v1'], plural: 'deployments', kind: 'Deployment' },
  { group: 'apps', versions: ['v1'], plural: 'replicasets', kind: 'ReplicaSet' },
  { group: 'apps', versions: ['v1'], plural: 'daemonsets', kind: 'DaemonSet' },
  { group: 'batch', versions: ['v1'], plural: 'jobs', kind: 'Job' },
  { group: 'batch', versions: ['v1', 'v1beta1'], plural: 'cronjobs', kind: 'CronJob' },
  { group: 'apps.k8s.appscode.com', versions: ['v1'], plural: 'petsets', kind: 'PetSet' },
  { group: '', versions: ['v1'], plural: 'pods', kind: 'Pod' },
  { group: '', versions: ['v1'], plural: 'replicationcontrollers', kind: 'ReplicationController' },
  { group: 'policy', versions: ['v1', 'v1beta1'], plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget' },
  { group: 'cert-manager.io', versions: ['v1'], plural: 'certificates', kind: 'Certificate' },
]);

/** One audited kind where this API server serves it. */
export interface ServedKind {
  apiVersion: string;
  kind: string;
  plural: string;
}

export function groupVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/**
 * The audited kinds this API server serves, each in its first served version that Redline has an
 * adapter for. A CRD that is not installed is simply absent (asked again on the next call).
 */
export async function servedAuditedKinds(api: KubeApi, kinds: readonly AuditedKind[] = AUDITED_KINDS): Promise<ServedKind[]> {
  const served = new Map<string, Set<string>>();
  const out: ServedKind[] = [];
  for (const k of kinds) {
    for (const v of k.versions) {
      const gv = groupVersion(k.group, v);
      if (!adapterFor(gv, k.kind)) continue;
      if (!served.has(gv)) served.set(gv, await servedResources(api, gv));
      if (!served.get(gv)!.has(k.plural)) continue;
      out.push({ apiVersion: gv, kind: k.kind, plural: k.plural });
      break;
    }
  }
  return out;
}
