// Derived facts of a view that every adapter computes the same way.

import { Quantity } from '../engine/quantity.js';
import type { ContainerView, FlatContainer, PodView, WorkloadView } from './view.js';

type Computed = 'memoryLimit' | 'cpuLimit' | 'memoryRequest' | 'cpuRequest' | 'totalMemoryLimit' | 'zeroResources' | 'containers';
type Defaulted = 'disruptionBudget' | 'controlled' | 'pdb' | 'redis' | 'services' | 'namespaceRefs' | 'secretRefs' | 'issuerRefs' | 'certificate' | 'enterprise';
type Base = Omit<WorkloadView, Computed | Defaulted> & Partial<Pick<WorkloadView, Defaulted>>;

/**
 * Fills in per-pod and total resources of the Redis containers from the pod templates, and the
 * defaults of what a kind does not have. Every view leaves here as one object literal with its
 * fields in the same order, whatever adapter made it: one hidden class, so the compiled
 * expressions' reads of `workload.…` stay monomorphic across kinds (adapters assigning in their own
 * orders made nine shapes, and every such read megamorphic).
 */
export function summarise(base: Base): WorkloadView {
  const pods = base.podTemplates;
  const containers: FlatContainer[] = [];
  const zeroResources: string[] = [];
  for (const p of pods) {
    p.securityManaged ??= '';
    for (const c of p.containers) {
      containers.push({
        name: c.name, kind: c.kind, image: c.image, redis: c.redis, securityContext: c.securityContext,
        resources: c.resources, ports: c.ports, args: c.args, env: c.env,
        imageUser: c.imageUser, imageRunsAsNonRoot: c.imageRunsAsNonRoot,
        template: p.path, os: p.os, podSecurityContext: p.securityContext,
      });
      zeroes(c, zeroResources);
    }
  }
  const memory = memoryLimits(pods);
  return {
    apiVersion: base.apiVersion,
    kind: base.kind,
    engine: base.engine,
    role: base.role,
    redis: base.redis ?? (base.role === 'workload' || base.role === 'pod' || base.role === 'pdb'),
    name: base.name,
    namespace: base.namespace,
    mode: base.mode,
    shards: base.shards,
    podsPerShard: base.podsPerShard,
    pods: base.pods,
    version: base.version,
    memoryLimit: memory.perPod,
    cpuLimit: largest(pods, 'limits', 'cpu'),
    memoryRequest: largest(pods, 'requests', 'memory'),
    cpuRequest: largest(pods, 'requests', 'cpu'),
    totalMemoryLimit: memory.total,
    zeroResources,
    storage: base.storage,
    tls: base.tls,
    podTemplates: pods,
    containers,
    controlled: base.controlled ?? false,
    pdb: base.pdb ?? { supported: false, blocks: [] },
    disruptionBudget: base.disruptionBudget ?? null,
    services: base.services ?? [],
    namespaceRefs: base.namespaceRefs ?? [],
    secretRefs: base.secretRefs ?? [],
    issuerRefs: base.issuerRefs ?? [],
    certificate: base.certificate ?? null,
    enterprise: base.enterprise ?? null,
  };
}

type Side = 'limits' | 'requests';

function isZero(q: Quantity | undefined): boolean {
  return q !== undefined && q.nanos === 0n;
}

function zeroes(c: ContainerView, out: string[]): void {
  for (const side of ['limits', 'requests'] as const) {
    const values = c.resources[side];
    for (const resource in values) {
      if (!isZero(Quantity.tryParse(values[resource] ?? ''))) continue;
      const entry = `${c.name} ${side}.${resource}`;
      if (!out.includes(entry)) out.push(entry);
    }
  }
}

/**
 * The pod's total over its Redis-server containers; undefined when there is none, or one has no
 * value or 0 (the kubelet treats a 0 limit as no limit). One container keeps its text as written.
 */
function perPod(pod: PodView, side: Side, resource: string): Quantity | undefined {
  let total: Quantity | undefined;
  for (const c of pod.containers) {
    if (!c.redis) continue;
    const text = c.resources[side][resource];
    const q = text === undefined ? undefined : Quantity.tryParse(text);
    if (!q || isZero(q)) return undefined;
    total = total ? total.plus(q) : q;
  }
  return total;
}

/** A template that runs no Redis server (the REC's services rigger) neither sets nor voids the figures. */
function runsRedis(pod: PodView): boolean {
  for (const c of pod.containers) if (c.redis) return true;
  return false;
}

function largest(pods: PodView[], side: Side, resource: string): string {
  let best: Quantity | undefined;
  for (const pod of pods) {
    if (!runsRedis(pod)) continue;
    const q = perPod(pod, side, resource);
    if (!q) return '';
    if (!best || q.compareTo(best) > 0) best = q;
  }
  return best?.text ?? '';
}

/**
 * The largest per-pod memory limit and pods × per-pod limit summed over the templates, from one
 * pass (each template's sum is computed once for both); '' where unknown, as largest() does.
 */
function memoryLimits(pods: PodView[]): { perPod: string; total: string } {
  let best: Quantity | undefined;
  let total = 0n;
  let counted = 0;
  for (const pod of pods) {
    if (!runsRedis(pod)) continue;
    const q = perPod(pod, 'limits', 'memory');
    if (!q) return { perPod: '', total: '' };
    if (!best || q.compareTo(best) > 0) best = q;
    total += q.nanos * BigInt(pod.replicas);
    counted++;
  }
  return { perPod: best?.text ?? '', total: counted === 0 ? '' : Quantity.fromNanos(total).text };
}
