// The cluster's Tenants (redline.dev/v1alpha1) for `serve`: which plan each tenant id has, so the
// namespace guard can hold a joining namespace to its Tenant's plan (namespacePattern). Found by
// discovery: an API server without the Tenant CRD leaves every tenant on the label-only path (the
// namespace's own redline.dev/plan label) and does not hold readiness back; discovery is asked
// again every 30 s (REDISCOVER_MS), so a CRD installed later is listed and used without a restart.
// Only name and spec.plan are cached.

import type { KubeApi, KubeObject } from './api-client.js';
import { servedResources } from './discovery.js';
import type { Informer } from './informer.js';
import { WatchedSource, type ClusterCacheOptions, type ServedResource, type SourceStatus } from './watched-source.js';

const GROUP_VERSION = 'redline.dev/v1alpha1';
/** How often serve asks again whether Tenants are served, while they are not. */
export const REDISCOVER_MS = 30_000;

export interface TenantPlans {
  /** spec.plan of the Tenant named `id`; undefined when there is none (the label-only path). */
  planOf(id: string): string | undefined;
}

export async function locateTenants(api: KubeApi, signal?: AbortSignal): Promise<ServedResource | null> {
  if (!(await servedResources(api, GROUP_VERSION, signal)).has('tenants')) return null;
  return { path: `/apis/${GROUP_VERSION}/tenants`, apiVersion: GROUP_VERSION, kind: 'Tenant' };
}

/** Name, resourceVersion and spec.plan: nothing else is kept. */
export function slimTenant(obj: KubeObject): KubeObject {
  const plan = (obj['spec'] as { plan?: unknown } | undefined)?.plan;
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: { name: obj.metadata.name, ...(obj.metadata.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}) },
    spec: typeof plan === 'string' ? { plan } : {},
  };
}

export class ClusterTenantSource implements TenantPlans {
  readonly name = 'tenants';
  private plans: ReadonlyMap<string, string> = new Map();
  private readonly source: WatchedSource;

  constructor(opts: ClusterCacheOptions) {
    this.source = new WatchedSource(
      { name: this.name, locate: (api, signal) => locateTenants(api, signal), transform: slimTenant, changed: (informer) => this.republish(informer) },
      { rediscoverMs: REDISCOVER_MS, ...opts },
    );
  }

  planOf(id: string): string | undefined {
    return this.plans.get(id);
  }

  synced(): boolean {
    return this.source.synced();
  }

  status(): SourceStatus {
    return this.source.status(() => this.plans.size);
  }

  start(): Promise<void> {
    return this.source.start();
  }

  stop(): Promise<void> {
    return this.source.stop();
  }

  private republish(informer: Informer): void {
    const next = new Map<string, string>();
    for (const t of informer.list()) {
      const plan = (t['spec'] as { plan?: unknown }).plan;
      if (typeof plan === 'string') next.set(t.metadata.name, plan);
    }
    this.plans = next;
  }
}
