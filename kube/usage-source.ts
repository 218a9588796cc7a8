// What every tenant uses, from the cluster: one list+watch (kube/watched-source.ts) per supported
// kind that can run Redis, each at the newest version the API server serves (a CRD that is not
// installed is not served and counts nothing). Objects are reduced to their usage on arrival
// (policies/tenancy/usage.ts), so the cache holds a few numbers per object, not the objects. A
// tenant's total is summed from scratch whenever it is asked for, so it cannot drift; every relist
// (resyncMs) recomputes each object's usage from what the API server holds.

import type { JsonObject } from '../policies/engine/types.js';
import { objectKey, type TalliedObject } from '../policies/tenancy/tally.js';
import { UsageIndex, type TenantSnapshot } from '../policies/tenancy/usage-index.js';
import { objectUsage, type ObjectUsage, type ResourceDefaults } from '../policies/tenancy/usage.js';
import { RECOGNISED_KINDS } from '../policies/workloads/index.js';
import type { KubeObject } from './api-client.js';
import { servedResources } from './discovery.js';
import { slimMetadata, WatchedSource, type ClusterCacheOptions, type ServedResource } from './watched-source.js';

/** The kinds that can run Redis, by group and plural (the API path); versions come from the adapters. */
export const USAGE_RESOURCES: readonly { group: string; kind: string; plural: string }[] = [
  { group: 'kubedb.com', kind: 'Redis', plural: 'redises' },
  { group: 'kubedb.com', kind: 'RedisSentinel', plural: 'redissentinels' },
  { group: 'redis.redis.opstreelabs.in', kind: 'Redis', plural: 'redis' },
  { group: 'redis.redis.opstreelabs.in', kind: 'RedisCluster', plural: 'redisclusters' },
  { group: 'redis.redis.opstreelabs.in', kind: 'RedisReplication', plural: 'redisreplications' },
  { group: 'redis.redis.opstreelabs.in', kind: 'RedisSentinel', plural: 'redissentinels' },
  { group: 'app.redislabs.com', kind: 'RedisEnterpriseCluster', plural: 'redisenterpriseclusters' },
  { group: 'app.redislabs.com', kind: 'RedisEnterpriseDatabase', plural: 'redisenterprisedatabases' },
  { group: 'app.redislabs.com', kind: 'RedisEnterpriseActiveActiveDatabase', plural: 'redisenterpriseactiveactivedatabases' },
  { group: 'app.redislabs.com', kind: 'RedisEnterpriseRemoteCluster', plural: 'redisenterpriseremoteclusters' },
  { group: 'databases.spotahome.com', kind: 'RedisFailover', plural: 'redisfailovers' },
  { group: 'apps', kind: 'StatefulSet', plural: 'statefulsets' },
  { group: 'apps', kind: 'Deployment', plural: 'deployments' },
  { group: 'apps', kind: 'ReplicaSet', plural: 'replicasets' },
  { group: 'apps', kind: 'DaemonSet', plural: 'daemonsets' },
  { group: 'batch', kind: 'Job', plural: 'jobs' },
  { group: 'batch', kind: 'CronJob', plural: 'cronjobs' },
  { group: '', kind: 'ReplicationController', plural: 'replicationcontrollers' },
  { group: '', kind: 'Pod', plural: 'pods' },
  { group: 'apps.k8s.appscode.com', kind: 'PetSet', plural: 'petsets' },
];

/** The adapters' apiVersions of a group's kind, in their order (newest first). */
export function versionsOf(group: string, kind: string): string[] {
  return RECOGNISED_KINDS
    .filter((k) => k.kind === kind && (group === '' ? !k.apiVersion.includes('/') : k.apiVersion.startsWith(`${group}/`)))
    .map((k) => k.apiVersion);
}

const USAGE_FIELD = 'usage';

/** What is kept of an object: its identity and its usage. */
export function slimToUsage(obj: KubeObject, defaults: ResourceDefaults | undefined): KubeObject {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: slimMetadata(obj.metadata, true),
    [USAGE_FIELD]: objectUsage(obj as unknown as JsonObject, defaults),
  };
}

export function tallied(o: KubeObject): TalliedObject | undefined {
  const usage = o[USAGE_FIELD] as ObjectUsage | undefined;
  if (!usage || !usage.counted) return undefined;
  return { key: objectKey(o.metadata.namespace ?? '', o.apiVersion, o.kind, o.metadata.name), uid: o.metadata.uid ?? '', usage };
}

export interface UsageSourceOptions extends ClusterCacheOptions {
  /** The defaults the namespace's plan gives containers without limits. */
  defaultsFor(namespace: string): ResourceDefaults | undefined;
  /** After the usage of these namespaces was recomputed (the controller re-queues their Tenants). */
  onChange?(namespaces: ReadonlySet<string>): void;
}

export class ClusterUsageSource {
  private readonly sources: WatchedSource[] = [];
  /** Per kind, per namespace: the Redis objects (what counts nothing is not kept). */
  private readonly index = new UsageIndex(USAGE_RESOURCES.length);

  constructor(opts: UsageSourceOptions) {
    USAGE_RESOURCES.forEach((r, i) => {
      const versions = versionsOf(r.group, r.kind);
      this.sources[i] = new WatchedSource(
        {
          name: r.group ? `${r.plural}.${r.group}` : r.plural,
          locate: async (api, signal): Promise<ServedResource | null> => {
            for (const apiVersion of versions) {
              if ((await servedResources(api, apiVersion, signal)).has(r.plural)) {
                const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
                return { path: `${base}/${r.plural}`, apiVersion, kind: r.kind };
              }
            }
            return null;
          },
          transform: (o) => slimToUsage(o, opts.defaultsFor(o.metadata.namespace ?? '')),
          changed: (informer, namespaces) => {
            for (const ns of namespaces) this.index.set(i, ns, informer.inNamespace(ns).flatMap((o) => tallied(o) ?? []));
            opts.onChange?.(namespaces);
          },
        },
        opts,
      );
    });
  }

  /** Every kind listed, or known not to be served. */
  synced(): boolean {
    return this.sources.every((s) => s.synced());
  }

  /** The kinds not synced yet (for readiness and the retry hint). */
  pending(): string[] {
    return USAGE_RESOURCES.filter((_, i) => !this.sources[i]!.synced()).map((r) => r.plural);
  }

  async start(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.start()));
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.sources.map((s) => s.stop()));
  }

  /** A tenant's usage over these namespaces, from scratch. */
  snapshot(namespaces: readonly string[]): TenantSnapshot {
    return this.index.snapshot(namespaces);
  }
}
