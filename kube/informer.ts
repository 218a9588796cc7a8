// A restartable list+watch cache of one resource path (optionally filtered by a label selector).
//
// client-node's informers stop for good on an error; this one never stops until told to:
//   list (paginated) → replace the cache, emitting add/update/delete for the differences
//   → watch from the list's resourceVersion (bookmarks on), re-watch when the server ends the
//     stream, relist on 410 Gone
//   → on any failure (network, 5xx, 403, a silent connection): wait a capped exponential backoff
//     with jitter, then list again. The last good cache keeps answering meanwhile.
// Because every restart relists and diffs, a delete missed while the watch was down is still seen.

import { RedlineError } from '../core/errors.js';
import { ApiError, type KubeApi, type KubeObject, type WatchEvent } from './api-client.js';
import { backoffMs, type BackoffPolicy } from './backoff.js';

export interface InformerHandlers<T extends KubeObject> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface InformerOptions {
  api: KubeApi;
  /** Collection path, e.g. /api/v1/namespaces or /apis/networking.k8s.io/v1/networkpolicies. */
  path: string;
  /** Short name for logs and metrics, e.g. "networkpolicies". */
  name: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Applied to every object before it is cached (e.g. keep a Secret's metadata, never its data). */
  transform?: (obj: KubeObject) => KubeObject;
  /** Set on list items, which the API server sends without apiVersion/kind. */
  apiVersion?: string;
  kind?: string;
  backoff?: BackoffPolicy;
  random?: () => number;
  /** List page size; default 500. */
  pageSize?: number;
  /** Server-side watch timeout range in seconds; default [240, 360] (randomised per watch). */
  watchTimeoutSeconds?: [number, number];
  logger?: InformerLogger;
  /** Called on every failure that leads to a restart (metrics). */
  onRestart?: (err: unknown) => void;
  /** Called after every successful (re)list. */
  onList?: (count: number) => void;
  /** A full relist at least this often (catches anything a watch missed); default never. */
  relistMs?: number;
}

export const DEFAULT_INFORMER_BACKOFF: BackoffPolicy = Object.freeze({ initialMs: 500, maxMs: 30_000 });

const silent: InformerLogger = { info() {}, warn() {}, debug() {} };

interface ListResult {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KubeObject[];
}

/** resourceVersion order when both are decimal (etcd revisions), else undefined. */
export function compareResourceVersions(a: string | undefined, b: string | undefined): number | undefined {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function objectKey(obj: { metadata: { name: string; namespace?: string } }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

export class Informer<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly byNs = new Map<string, Map<string, T>>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private everSynced = false;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private readonly log: InformerLogger;
  /** Counters for tests and logs. */
  readonly stats = { lists: 0, watches: 0, restarts: 0, events: 0 };

  constructor(private readonly opts: InformerOptions) {
    this.log = opts.logger ?? silent;
  }

  get name(): string {
    return this.opts.name;
  }

  on(handlers: InformerHandlers<T>): void {
    this.handlers.push(handlers);
  }

  /** True once the first list is in the cache (stays true while a failed watch restarts). */
  synced(): boolean {
    return this.everSynced;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  inNamespace(namespace: string): T[] {
    return [...(this.byNs.get(namespace)?.values() ?? [])];
  }

  get size(): number {
    return this.items.size;
  }

  /**
   * Write-through from the caller's own successful write (the API server's answer): stored when
   * newer than the cached copy, without calling handlers; the watch event that follows is then a
   * no-op update. Keeps a reconcile that runs before the event from acting on stale state.
   */
  upsertIfNewer(obj: T): void {
    const key = objectKey(obj);
    const prev = this.items.get(key);
    if (prev && compareResourceVersions(prev.metadata.resourceVersion, obj.metadata.resourceVersion) !== -1) return;
    this.store(key, obj);
  }

  /** The caller deleted the object: drop it from the cache now (handlers are not called). */
  forget(obj: { metadata: { name: string; namespace?: string } }): void {
    const key = objectKey(obj);
    const prev = this.items.get(key);
    if (prev) this.remove(key, prev);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Stops list/watch (aborting an in-flight call); waits up to 2 s for the loop to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((r) => (timer = setTimeout(r, 2_000)))]);
    clearTimeout(timer);
  }

  /** Resolves once synced (or rejects after timeoutMs). */
  async waitForSync(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.everSynced) {
      if (Date.now() > deadline) throw new RedlineError('informer-not-synced', `informer ${this.opts.name} not synced after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    let attempt = 0;
    const backoff = this.opts.backoff ?? DEFAULT_INFORMER_BACKOFF;
    while (!this.stopped) {
      try {
        let rv = await this.relist();
        const listedAt = performance.now();
        // A list succeeded: the next failure starts the backoff again from the beginning, unless
        // the watch keeps failing right after the list (attempt is only reset by a healthy watch).
        for (;;) {
          if (this.stopped) return;
          const relistIn = this.opts.relistMs ? this.opts.relistMs - (performance.now() - listedAt) : Infinity;
          if (relistIn <= 0) break;
          const result = await this.watchOnce(rv, relistIn);
          if (this.stopped) return;
          if (result.healthy) attempt = 0;
          if (result.gone) {
            this.log.debug({ resource: this.opts.name }, 'watch expired (410); relisting');
            break;
          }
          // A stream the server ended at once without any event is not a healthy watch: back off.
          if (!result.healthy && !result.timedOut) throw new Error('watch ended early without events');
          rv = result.rv;
        }
      } catch (e) {
        if (this.stopped) return;
        this.stats.restarts++;
        this.opts.onRestart?.(e);
        const ms = backoffMs(attempt++, backoff, this.opts.random);
        this.log.warn({ resource: this.opts.name, backoffMs: ms, err: e instanceof Error ? e.message : String(e) }, 'list/watch failed; restarting');
        await this.sleep(ms);
      }
    }
  }

  private async relist(): Promise<string> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    const abort = new AbortController();
    this.abort = abort; // stop() aborts a list the API server is slow to answer
    do {
      const page = await this.opts.api.request<ListResult>({
        method: 'GET',
        path: this.opts.path,
        verb: 'list',
        query: { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, limit: this.opts.pageSize ?? 500, continue: cont },
        signal: abort.signal,
      });
      for (const raw of page.items ?? []) {
        if (this.opts.apiVersion && !raw.apiVersion) raw.apiVersion = this.opts.apiVersion;
        if (this.opts.kind && !raw.kind) raw.kind = this.opts.kind;
        const item = this.opts.transform ? this.opts.transform(raw) : raw;
        fresh.set(objectKey(item), item as T);
      }
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont);
    if (this.stopped) return rv;
    this.stats.lists++;
    // Diff against the old cache: adds/updates, then deletes of what is gone.
    const old = new Map(this.items);
    for (const [key, obj] of fresh) {
      const prev = old.get(key);
      old.delete(key);
      this.store(key, obj);
      if (!prev) this.emit('add', obj);
      else if (prev.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit('update', obj, prev);
    }
    for (const [key, obj] of old) {
      this.remove(key, obj);
      this.emit('delete', obj);
    }
    this.everSynced = true;
    this.opts.onList?.(fresh.size);
    return rv;
  }

  private async watchOnce(rv: string, maxMs: number): Promise<{ rv: string; gone: boolean; healthy: boolean; timedOut: boolean }> {
    const [lo, hi] = this.opts.watchTimeoutSeconds ?? [240, 360];
    const timeoutSeconds = Math.max(1, Math.min(Math.ceil(maxMs / 1000), Math.round(lo + (this.opts.random ?? Math.random)() * (hi - lo))));
    const abort = new AbortController();
    this.abort = abort;
    let current = rv;
    let gone = false;
    let events = 0;
    const started = performance.now();
    this.stats.watches++;
    await this.opts.api.watch(
      this.opts.path,
      { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds },
      (ev: WatchEvent) => {
        if (ev.type === 'ERROR') {
          const status = ev.object as unknown as { code?: number; message?: string };
          if (status.code === 410) {
            gone = true;
            abort.abort();
            return;
          }
          throw new ApiError(status.code ?? 500, 'watch', this.opts.path, status.message ?? 'watch error event');
        }
        if (ev.object?.metadata?.resourceVersion) current = ev.object.metadata.resourceVersion;
        if (ev.type === 'BOOKMARK') return;
        const obj = (this.opts.transform ? this.opts.transform(ev.object) : ev.object) as T;
        events++;
        this.stats.events++;
        const key = objectKey(obj);
        const prev = this.items.get(key);
        // Already newer in the cache (our own write went through upsertIfNewer): nothing new.
        if (ev.type !== 'DELETED' && prev && compareResourceVersions(prev.metadata.resourceVersion, obj.metadata.resourceVersion) === 1) return;
        if (ev.type === 'DELETED') {
          this.remove(key, obj);
          this.emit('delete', obj);
        } else {
          this.store(key, obj);
          if (prev) this.emit('update', obj, prev);
          else this.emit('add', obj);
        }
      },
      { signal: abort.signal, idleTimeoutMs: (timeoutSeconds + 30) * 1000 },
    );
    // A watch that delivered events or lasted a while counts as healthy.
    const elapsed = performance.now() - started;
    return { rv: current, gone, healthy: events > 0 || elapsed > 10_000, timedOut: elapsed >= timeoutSeconds * 1000 - 500 };
  }

  private store(key: string, obj: T): void {
    this.items.set(key, obj);
    const ns = obj.metadata.namespace ?? '';
    let m = this.byNs.get(ns);
    if (!m) this.byNs.set(ns, (m = new Map()));
    m.set(obj.metadata.name, obj);
  }

  private remove(key: string, obj: T): void {
    this.items.delete(key);
    const ns = obj.metadata.namespace ?? '';
    const m = this.byNs.get(ns);
    if (m) {
      m.delete(obj.metadata.name);
      if (m.size === 0) this.byNs.delete(ns);
    }
  }

  private emit(what: 'add' | 'update' | 'delete', obj: T, prev?: T): void {
    for (const h of this.handlers) {
      try {
        if (what === 'add') h.add?.(obj);
        else if (what === 'update') h.update?.(prev!, obj);
        else h.delete?.(obj);
      } catch (e) {
        this.log.warn({ resource: this.opts.name, err: e instanceof Error ? e.message : String(e) }, 'informer handler threw');
      }
    }
  }
}
