// Derived facts of a view that every adapter computes the same way.

import { Quantity } from '../engine/quantity.js';
import type { PodView, WorkloadView } from './view.js';

type Base = Omit<WorkloadView, 'memoryLimit' | 'cpuLimit' | 'totalMemoryLimit' | 'containers' | 'disruptionBudget' | 'controlled' | 'pdb'> &
  Partial<Pick<WorkloadView, 'disruptionBudget' | 'controlled' | 'pdb'>>;

/** Fills in per-pod and total limits of the Redis container from the pod templates. */
export function summarise(base: Base): WorkloadView {
  const memory = largestLimit(base.podTemplates, 'memory');
  const cpu = largestLimit(base.podTemplates, 'cpu');
  return {
    ...base,
    memoryLimit: memory,
    cpuLimit: cpu,
    totalMemoryLimit: totalMemory(base.podTemplates),
    containers: base.podTemplates.flatMap((p) =>
      p.containers.map((c) => ({ ...c, template: p.path, os: p.os, podSecurityContext: p.securityContext }))),
    controlled: base.controlled ?? false,
    pdb: base.pdb ?? { supported: false, blocks: [] },
    disruptionBudget: base.disruptionBudget ?? null,
  };
}

function redisLimit(pod: PodView, resource: string): Quantity | undefined {
  const text = pod.containers.find((c) => c.redis)?.resources.limits[resource];
  return text === undefined ? undefined : Quantity.tryParse(text);
}

function largestLimit(pods: PodView[], resource: string): string {
  let best: Quantity | undefined;
  for (const pod of pods) {
    const q = redisLimit(pod, resource);
    if (!q) return '';
    if (!best || q.compareTo(best) > 0) best = q;
  }
  return best?.text ?? '';
}

function totalMemory(pods: PodView[]): string {
  let total = Quantity.fromNanos(0n);
  for (const pod of pods) {
    const q = redisLimit(pod, 'memory');
    if (!q) return '';
    total = total.plus(q.times(BigInt(pod.replicas)));
  }
  return pods.length === 0 ? '' : total.text;
}
