// What one object uses of a tenant's entitlement (plan spec.tenantTotals), from the adapters' views.
// Each workload is counted once, at its top-level object: a KubeDB Redis counts its pods, its PetSet
// and the Pods count nothing as long as their owner is known (see `owner`). Pure: no I/O.
//
//   memory, cpu   the Redis-server containers' limits × the template's replicas, summed over the
//                 templates (Sentinels included; exporters and sidecars are not what is sold). A
//                 container without a limit (or a limit of 0) counts the plan's default for its role,
//                 which is what the namespace LimitRange gives it.
//   storage       the workload's PersistentVolumeClaim request per pod × its data pods (not Sentinels)
//   pods          every pod the object runs
//   instances     1 per Redis workload (a Redis Enterprise remote cluster is a reference: 0)
//   namespaces    never from an object: a namespace joining the tenant counts 1 (ledger)
//
// An object counts 0 while its controller (ownerReference) is among its namespace's objects — but
// only the kinds controllers create (sets, Pods) are counted by an owner, never a Redis custom
// resource: a tenant cannot hide a Redis behind another by naming it as controller.

import { Quantity } from '../engine/quantity.js';
import type { JsonObject } from '../engine/types.js';
import { recognise } from '../workloads/index.js';
import { list, obj, str, type PodView, type WorkloadView } from '../workloads/view.js';

export const DIMENSIONS = ['memory', 'cpu', 'storage', 'pods', 'instances', 'namespaces'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** Amounts in nano-units (Quantity's unit), so every dimension adds, compares and prints the same way. */
export type Amounts = Record<Dimension, bigint>;

const ONE = 1_000_000_000n;

export function zero(): Amounts {
  return { memory: 0n, cpu: 0n, storage: 0n, pods: 0n, instances: 0n, namespaces: 0n };
}

export function isZero(a: Amounts): boolean {
  return DIMENSIONS.every((d) => a[d] === 0n);
}

export function add(into: Amounts, a: Amounts): Amounts {
  for (const d of DIMENSIONS) into[d] += a[d];
  return into;
}

/** Per dimension, how much `next` uses beyond `prev` (never negative). */
export function growth(prev: Amounts, next: Amounts): Amounts {
  const out = zero();
  for (const d of DIMENSIONS) out[d] = next[d] > prev[d] ? next[d] - prev[d] : 0n;
  return out;
}

/** For messages and metrics: "10Gi", "1500m", "3". */
export function formatAmount(nanos: bigint): string {
  return Quantity.fromNanos(nanos).text;
}

export function count(n: number): bigint {
  return BigInt(n) * ONE;
}

/** Requests and limits a container without its own gets (the plan's defaults, as the LimitRange gives them). */
export interface ResourceDefaults {
  memory: string;
  cpu: string;
  sentinel?: { memory: string; cpu: string };
}

/** The controller ownerReference: the object is counted by its owner when the owner is known. */
export interface OwnerRef {
  kind: string;
  name: string;
  uid: string;
}

export interface ObjectUsage {
  /** What the object uses when it is counted itself. */
  amounts: Amounts;
  /** Its controller, if any: the object counts 0 while that owner exists in the same namespace. */
  owner: OwnerRef | null;
  /** Not a Redis workload (counts nothing whatever its owner). */
  counted: boolean;
}

const NOTHING: ObjectUsage = Object.freeze({ amounts: Object.freeze(zero()), owner: null, counted: false }) as ObjectUsage;

export function controllerOf(object: JsonObject): OwnerRef | null {
  for (const r of list(obj(object['metadata'])['ownerReferences'])) {
    const ref = obj(r);
    if (ref['controller'] === true) return { kind: str(ref['kind']), name: str(ref['name']), uid: str(ref['uid']) };
  }
  return null;
}

/** The usage of any object (a kind Redline does not know, or one that runs no Redis, uses nothing). */
export function objectUsage(object: JsonObject, defaults?: ResourceDefaults): ObjectUsage {
  const r = recognise(object);
  return r.redis ? usageOf(r.result.view, object, defaults) : NOTHING;
}

/** objectUsage of an object whose view is at hand (`view` must be recognise(object)'s). */
export function usageOf(view: WorkloadView, object: JsonObject, defaults?: ResourceDefaults): ObjectUsage {
  if (!view.redis || (view.role !== 'workload' && view.role !== 'pod')) return NOTHING;
  // Only what operators and controllers create (sets, Pods) is counted by an owner. A Redis custom
  // resource is what a tenant writes: one that names another as its controller still counts itself.
  return { amounts: viewUsage(view, defaults), owner: view.engine === 'kubernetes' ? controllerOf(object) : null, counted: true };
}

/** A Redis workload's or pod's usage from its view, counted as if it had no owner. */
export function viewUsage(view: WorkloadView, defaults?: ResourceDefaults): Amounts {
  const out = zero();
  let dataPods = 0;
  const atLeastDefault = countsAtLeastDefault(view);
  for (const t of view.podTemplates) {
    const replicas = BigInt(Math.max(0, t.replicas));
    out.pods += replicas * ONE;
    if (!runsRedis(t)) continue;
    out.memory += perPod(t, 'memory', defaults, atLeastDefault) * replicas;
    out.cpu += perPod(t, 'cpu', defaults, atLeastDefault) * replicas;
    if (t.role !== 'sentinel') dataPods += Math.max(0, t.replicas);
  }
  const size = view.storage.ephemeral ? undefined : Quantity.tryParse(view.storage.size);
  if (size && size.nanos > 0n) out.storage = size.nanos * BigInt(dataPods);
  const remote = view.enterprise?.object === 'remote-cluster';
  out.instances = remote ? 0n : ONE;
  return out;
}

function runsRedis(t: PodView): boolean {
  return t.containers.some((c) => c.redis);
}

/** One pod of the template: its Redis containers' limits, each missing or 0 limit as the default. */
function perPod(t: PodView, resource: 'memory' | 'cpu', defaults?: ResourceDefaults, atLeastDefault = false): bigint {
  const fallbackText = t.role === 'sentinel' && defaults?.sentinel ? defaults.sentinel[resource] : defaults?.[resource];
  const fallback = fallbackText ? (Quantity.tryParse(fallbackText)?.nanos ?? 0n) : 0n;
  let total = 0n;
  for (const c of t.containers) {
    if (!c.redis || c.kind === 'ephemeral') continue;
    const q = Quantity.tryParse(c.resources.limits[resource] ?? '');
    const limit = q && q.nanos > 0n ? q.nanos : fallback;
    total += atLeastDefault && limit < fallback ? fallback : limit;
  }
  return total;
}

/**
 * KubeDB stores Redis as v1, and its upstream CRD converts with strategy None: a v1alpha2 write's
 * flat podTemplate.spec.resources are pruned on the way in, and the stored object runs with the
 * defaults. Where no conversion webhook converts them, a v1alpha2 limit below the plan's default
 * would be counted for pods that run with the default; counted at least at the default, a
 * cluster that does convert them counts a small v1alpha2 container high, never low.
 */
function countsAtLeastDefault(view: WorkloadView): boolean {
  return view.engine === 'kubedb' && view.apiVersion === 'kubedb.com/v1alpha2';
}

/** The plan's defaults for containers without limits (Plan spec.defaults). */
export function planDefaults(spec: JsonObject): ResourceDefaults | undefined {
  const d = obj(spec['defaults']);
  const memory = str(d['memory']);
  const cpu = str(d['cpu']);
  if (!memory || !cpu) return undefined;
  const s = obj(d['sentinel']);
  return { memory, cpu, ...(str(s['memory']) && str(s['cpu']) ? { sentinel: { memory: str(s['memory']), cpu: str(s['cpu']) } } : {}) };
}
