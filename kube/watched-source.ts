// One cluster resource kept in memory for `serve` with the restartable informer of kube/informer.ts
// (the namespace cache's machinery): optionally find out first which path the API server serves
// (retried with backoff), then list+watch with slimmed objects. After every batch of changes the
// owner recomputes what requests read, so the admission hot path only looks things up.

import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApi, type KubeObject } from './api-client.js';
import { DEFAULT_INFORMER_BACKOFF, Informer, type InformerLogger } from './informer.js';
import { backoffMs, type BackoffPolicy } from './backoff.js';

export interface ClusterCacheOptions {
  kubeConfig: KubeConfig;
  /** Full relist period; default 10 minutes. 0 disables. */
  resyncMs?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  logger?: InformerLogger;
  /** Called on every discovery/list/watch failure (metrics). */
  onError?: (err: unknown) => void;
  /** start() returns after the first attempt succeeded or failed, or after this long; default 10 s. */
  startTimeoutMs?: number;
  /**
   * While the API server serves none of the resource's versions, ask discovery again this often
   * (a CRD installed after serve started); undefined: never (a built-in API does not appear).
   */
  rediscoverMs?: number;
}

export interface ServedResource {
  /** Collection path, e.g. /apis/policy/v1/poddisruptionbudgets. */
  path: string;
  apiVersion: string;
  kind: string;
}

export interface SourceStatus {
  ok: boolean;
  detail: string;
}

export interface WatchedSourceSpec {
  /** Plural resource name, for logs and readiness. */
  name: string;
  /**
   * Where the API server serves the resource, or null when it serves none of the versions Redline
   * reads (the source then counts as synced and its facts as unknown). Throws to be retried.
   */
  locate(api: KubeApi, signal: AbortSignal): Promise<ServedResource | null>;
  /** Keeps only the fields requests need; the cache never holds whole objects. */
  transform(obj: KubeObject): KubeObject;
  /** After a batch of changes (a relist, a chunk of watch events): the namespaces touched ('' = cluster-scoped). */
  changed(informer: Informer, namespaces: ReadonlySet<string>): void;
}

/** What a slimmed cached object keeps of its metadata: name, namespace, resourceVersion, and uid when asked. */
export function slimMetadata(md: KubeObject['metadata'], keepUid = false): KubeObject['metadata'] {
  return {
    name: md.name,
    ...(md.namespace ? { namespace: md.namespace } : {}),
    ...(keepUid && md.uid ? { uid: md.uid } : {}),
    ...(md.resourceVersion ? { resourceVersion: md.resourceVersion } : {}),
  };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class WatchedSource {
  private api: KubeApi | undefined;
  private informer: Informer | undefined;
  private served: ServedResource | null | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private settleFirst: (() => void) | undefined;
  private lastError = '';
  private readonly dirty = new Set<string>();
  private flushQueued = false;
  /** Not served at the first discovery, served at a later one. */
  private foundLate = false;

  constructor(
    private readonly spec: WatchedSourceSpec,
    private readonly opts: ClusterCacheOptions,
  ) {}

  /** The resource is served and its first list is in memory (stays true while a watch restarts). */
  listed(): boolean {
    return this.informer?.synced() ?? false;
  }

  /**
   * Ready for admission: listed, or known not to be served by this API server. A resource found
   * later keeps the source ready while its first list runs (its facts stay unknown until then, as
   * they were): readiness dropping on every replica at once would refuse the cluster's writes.
   */
  synced(): boolean {
    return this.served === null || this.listed() || this.foundLate;
  }

  /** The served resource, null when none is served, undefined before discovery answered. */
  resource(): ServedResource | null | undefined {
    return this.served;
  }

  status(count: () => number): SourceStatus {
    const name = this.spec.name;
    if (this.served === null) return { ok: true, detail: `${name}: not served by this API server; the rules that need them skip` };
    if (this.listed()) return { ok: true, detail: `${name}: ${this.served!.apiVersion} synced (${count()})` };
    const why = this.lastError ? `: ${this.lastError}` : '';
    return { ok: false, detail: `${name}: not synced yet${why}` };
  }

  /** Resolves once the first attempt ended (synced, not served, or failed and retrying). Throws only when the kubeconfig cannot make a client. */
  async start(): Promise<void> {
    if (this.api) return;
    this.api = await KubeApi.create({ kubeConfig: this.opts.kubeConfig });
    let timer: NodeJS.Timeout | undefined;
    const first = new Promise<void>((resolve) => {
      this.settleFirst = resolve;
      timer = setTimeout(resolve, this.opts.startTimeoutMs ?? 10_000);
    });
    this.loop = this.run(this.api);
    await first;
    clearTimeout(timer);
    this.settleFirst = undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
    await this.informer?.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((r) => (timer = setTimeout(r, 2_000)))]);
    clearTimeout(timer);
    this.api?.close();
  }

  private async run(api: KubeApi): Promise<void> {
    const log = this.opts.logger;
    for (let attempt = 0; !this.stopped; attempt++) {
      this.abort = new AbortController();
      try {
        this.served = await this.spec.locate(api, this.abort.signal);
        break;
      } catch (e) {
        if (this.stopped) return;
        this.lastError = message(e);
        this.opts.onError?.(e);
        this.settleFirst?.();
        const ms = backoffMs(attempt, this.opts.backoff ?? DEFAULT_INFORMER_BACKOFF, this.opts.random);
        log?.warn({ resource: this.spec.name, backoffMs: ms, err: this.lastError }, 'discovery failed; retrying');
        await this.pause(ms);
      }
    }
    if (this.stopped || this.served === undefined) return;
    if (this.served === null) {
      log?.warn({ resource: this.spec.name }, `the API server serves no ${this.spec.name} Redline reads; the rules that need them skip`);
      this.settleFirst?.();
      if (this.opts.rediscoverMs === undefined) return;
      const found = await this.rediscover(api, this.opts.rediscoverMs);
      if (!found) return;
      this.foundLate = true;
      this.served = found;
      log?.info({ resource: this.spec.name, apiVersion: found.apiVersion }, `the API server serves ${this.spec.name} now; listing them`);
    }
    const served = this.served;
    const resyncMs = this.opts.resyncMs ?? 10 * 60_000;
    let logged = false;
    const informer = new Informer({
      api,
      path: served.path,
      name: this.spec.name,
      apiVersion: served.apiVersion,
      kind: served.kind,
      transform: this.spec.transform,
      ...(resyncMs > 0 ? { relistMs: resyncMs } : {}),
      ...(this.opts.backoff ? { backoff: this.opts.backoff } : {}),
      ...(this.opts.random ? { random: this.opts.random } : {}),
      ...(log ? { logger: log } : {}),
      onList: (count) => {
        this.lastError = '';
        this.flush();
        if (!logged) log?.info({ resource: this.spec.name, count, apiVersion: served.apiVersion }, `${this.spec.name} cache synced`);
        logged = true;
        this.settleFirst?.();
      },
      onRestart: (err) => {
        this.lastError = message(err);
        this.opts.onError?.(err);
        this.settleFirst?.();
      },
    });
    const touch = (obj: KubeObject): void => this.touched(obj.metadata.namespace ?? '');
    informer.on({ add: touch, update: (_old, obj) => touch(obj), delete: touch });
    this.informer = informer;
    informer.start();
  }

  /** Waits `ms`, or less when stop() wakes it. */
  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = undefined;
  }

  /** Asks discovery every `everyMs` until the resource is served (its location) or the source stops (null). */
  private async rediscover(api: KubeApi, everyMs: number): Promise<ServedResource | null> {
    while (!this.stopped) {
      await this.pause(everyMs);
      if (this.stopped) return null;
      this.abort = new AbortController();
      try {
        const found = await this.spec.locate(api, this.abort.signal);
        if (found) return found;
      } catch (e) {
        if (this.stopped) return null;
        this.opts.onError?.(e);
        this.opts.logger?.warn({ resource: this.spec.name, err: message(e) }, 'discovery failed; asking again later');
      }
    }
    return null;
  }

  /**
   * Changes arrive synchronously one by one (a relist emits them all in one go): batch them into
   * one recomputation in a microtask, which runs before any request can be answered.
   */
  private touched(namespace: string): void {
    this.dirty.add(namespace);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushQueued = false;
    if (!this.informer || this.dirty.size === 0) return;
    const namespaces = new Set(this.dirty);
    this.dirty.clear();
    try {
      this.spec.changed(this.informer, namespaces);
    } catch (e) {
      this.opts.logger?.warn({ resource: this.spec.name, err: message(e) }, 'recomputing the cache failed');
    }
  }
}
