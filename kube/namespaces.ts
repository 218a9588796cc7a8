// Where the webhook learns which namespaces are tenants (and their plan): a static file of Namespace
// manifests for development and CI, or a cluster informer for `serve`. Both answer `get(name)` from
// memory; the hot path never waits on the API server.

import { readFile } from 'node:fs/promises';
import { CoreV1Api, makeInformer, type KubeConfig, type V1Namespace } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { NamespaceInfo } from '../policies/engine/types.js';

export interface NamespaceSource {
  /** "file" and "static" know every namespace there is; "cluster" may lag a just-created one. */
  readonly kind: 'file' | 'cluster' | 'static';
  get(name: string): NamespaceInfo | undefined;
  /** True once the first full list is in memory (stays true while a broken watch restarts). */
  synced(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Minimal logger shape (pino's) so this module needs no logger instance in tests. */
export interface SourceLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}
const silent: SourceLogger = { info() {}, warn() {}, debug() {} };

function toInfo(ns: { metadata?: { name?: string; labels?: Record<string, string> | undefined } | undefined }): NamespaceInfo | undefined {
  const name = ns.metadata?.name;
  if (!name) return undefined;
  return { name, labels: { ...(ns.metadata?.labels ?? {}) } };
}

// ---------------------------------------------------------------------------------------------
// Static

export class StaticNamespaceSource implements NamespaceSource {
  readonly kind = 'static' as const;
  private readonly byName = new Map<string, NamespaceInfo>();
  constructor(namespaces: Iterable<NamespaceInfo> = []) {
    for (const ns of namespaces) this.byName.set(ns.name, ns);
  }
  get(name: string): NamespaceInfo | undefined {
    return this.byName.get(name);
  }
  synced(): boolean {
    return true;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------
// File

export class NamespaceFileError extends Error {
  override readonly name = 'NamespaceFileError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.join('; ')}`);
  }
}

/**
 * Parse multi-document YAML of Namespace manifests (a `kind: List` / `NamespaceList` with `items`
 * works too, as printed by `kubectl get ns -o yaml`). Other kinds are ignored.
 */
export function parseNamespaceManifests(text: string, file = '<namespaces>'): NamespaceInfo[] {
  const problems: string[] = [];
  const out: NamespaceInfo[] = [];
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    for (const err of doc.errors) {
      const pos = err.linePos?.[0];
      problems.push(`document ${i + 1}${pos ? ` line ${pos.line} column ${pos.col}` : ''}: ${err.message.split('\n')[0]}`);
    }
    if (doc.errors.length) return;
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const visit = (v: unknown, where: string): void => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        problems.push(`${where}: not a Kubernetes object`);
        return;
      }
      const o = v as Record<string, unknown>;
      if ((o.kind === 'List' || o.kind === 'NamespaceList') && Array.isArray(o.items)) {
        o.items.forEach((item, j) => visit(item, `${where} items[${j}]`));
        return;
      }
      if (o.kind !== 'Namespace') return;
      const md = o.metadata as { name?: unknown; labels?: unknown } | undefined;
      if (!md || typeof md.name !== 'string' || md.name === '') {
        problems.push(`${where}: Namespace without metadata.name`);
        return;
      }
      const labels: Record<string, string> = {};
      if (md.labels !== undefined && md.labels !== null) {
        if (typeof md.labels !== 'object' || Array.isArray(md.labels)) {
          problems.push(`${where} (${md.name}): metadata.labels must be a map`);
          return;
        }
        for (const [k, lv] of Object.entries(md.labels as Record<string, unknown>)) {
          if (typeof lv === 'string') labels[k] = lv;
          else if (typeof lv === 'number' || typeof lv === 'boolean') labels[k] = String(lv);
          else problems.push(`${where} (${md.name}): label ${k} must be a string`);
        }
      }
      out.push({ name: md.name, labels });
    };
    visit(value, `document ${i + 1}`);
  });
  if (problems.length) throw new NamespaceFileError(file, problems);
  return out;
}

export class FileNamespaceSource implements NamespaceSource {
  readonly kind = 'file' as const;
  private byName = new Map<string, NamespaceInfo>();
  private loaded = false;
  constructor(readonly file: string) {}

  /** Reads and parses the file; throws NamespaceFileError (or the fs error) when it is unusable. */
  async start(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      throw new NamespaceFileError(this.file, [e instanceof Error ? e.message : String(e)]);
    }
    const map = new Map<string, NamespaceInfo>();
    for (const ns of parseNamespaceManifests(text, this.file)) map.set(ns.name, ns);
    this.byName = map;
    this.loaded = true;
  }
  async stop(): Promise<void> {}
  get(name: string): NamespaceInfo | undefined {
    return this.byName.get(name);
  }
  synced(): boolean {
    return this.loaded;
  }
  size(): number {
    return this.byName.size;
  }
}

// ---------------------------------------------------------------------------------------------
// Cluster (informer with restart + periodic relist)

/** The part of a client-node informer this source uses (so tests can pass a fake). */
export interface NamespaceInformer {
  on(verb: 'error', cb: (err?: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): V1Namespace | undefined;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
}
export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ initialMs: 500, maxMs: 30_000, factor: 2 });

/** Capped exponential backoff with "equal jitter": uniformly in [base/2, base]. */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const base = Math.min(opts.maxMs, opts.initialMs * Math.pow(opts.factor, Math.max(0, attempt)));
  return Math.round(base / 2 + random() * (base / 2));
}

export interface ClusterNamespaceSourceOptions {
  /** Builds a fresh informer each time (start, restart after an error, periodic relist). */
  makeInformer: () => NamespaceInformer;
  /** Full relist period; default 10 minutes. 0 disables. */
  resyncMs?: number;
  backoff?: BackoffOptions;
  random?: () => number;
  logger?: SourceLogger;
  /** Called on every informer failure (metrics). */
  onError?: (err: unknown) => void;
  /**
   * A list+watch that has not started by then counts as failed and is retried with backoff
   * (a watch the API server never answers, e.g. list allowed but watch forbidden); default 10 s.
   */
  startTimeoutMs?: number;
}

export function namespaceInformerFactory(kc: KubeConfig): () => NamespaceInformer {
  const api = kc.makeApiClient(CoreV1Api);
  return () => makeInformer<V1Namespace>(kc, '/api/v1/namespaces', () => api.listNamespace());
}

/**
 * Keeps a namespace cache from a client-node informer. client-node's informer stops for good on an
 * error (a failed list, a broken watch): this source builds a new informer after a backoff
 * (exponential, jittered, capped) and keeps answering from the last good cache meanwhile. Every
 * `resyncMs` it lists again with a new informer and swaps caches once that list succeeded.
 */
export class ClusterNamespaceSource implements NamespaceSource {
  readonly kind = 'cluster' as const;
  private current: NamespaceInformer | undefined;
  private pending: NamespaceInformer | undefined;
  private stopped = true;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private everSynced = false;
  /** Counters for tests and logs. */
  readonly stats = { starts: 0, failures: 0, swaps: 0 };
  private readonly log: SourceLogger;

  constructor(private readonly opts: ClusterNamespaceSourceOptions) {
    this.log = opts.logger ?? silent;
  }

  get(name: string): NamespaceInfo | undefined {
    const ns = this.current?.get(name);
    return ns ? toInfo(ns) : undefined;
  }

  synced(): boolean {
    return this.everSynced;
  }

  /** Starts the first list+watch; resolves when that attempt ended (synced or scheduled a retry). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.attemptStart();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const informers = [this.current, this.pending].filter((i): i is NamespaceInformer => i !== undefined);
    this.pending = undefined;
    await Promise.allSettled(informers.map((i) => i.stop()));
  }

  private schedule(ms: number, what: 'restart' | 'resync'): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.attemptStart();
    }, ms);
    this.timer.unref?.();
    this.log.debug({ backoffMs: ms }, `namespace informer ${what} scheduled`);
  }

  private async attemptStart(): Promise<void> {
    if (this.stopped) return;
    let informer: NamespaceInformer;
    try {
      informer = this.opts.makeInformer();
    } catch (e) {
      this.failed(undefined, e);
      return;
    }
    this.pending = informer;
    this.stats.starts++;
    let failedEarly = false;
    informer.on('error', (err) => {
      if (this.pending === informer) failedEarly = true;
      this.failed(informer, err);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = this.opts.startTimeoutMs ?? 10_000;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`namespace list+watch did not start within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([informer.start(), timedOut]);
    } catch (e) {
      failedEarly = true;
      this.failed(informer, e);
      void informer.stop().catch(() => undefined);
    } finally {
      clearTimeout(timer);
    }
    if (this.stopped) {
      await informer.stop().catch(() => undefined);
      return;
    }
    if (failedEarly || this.pending !== informer) return;
    // The list succeeded and the watch is established: swap caches.
    this.pending = undefined;
    const old = this.current;
    this.current = informer;
    this.stats.swaps++;
    this.attempt = 0;
    if (!this.everSynced) this.log.info({}, 'namespace cache synced');
    this.everSynced = true;
    if (old) await old.stop().catch(() => undefined);
    const resync = this.opts.resyncMs ?? 10 * 60_000;
    if (resync > 0) this.schedule(resync, 'resync');
  }

  private failed(informer: NamespaceInformer | undefined, err: unknown): void {
    if (this.stopped) return;
    // Only the informer in use (or the one being started) matters; a stale one's error is noise.
    if (informer !== undefined && informer !== this.current && informer !== this.pending) return;
    if (informer !== undefined) void informer.stop().catch(() => undefined);
    if (informer === this.pending) this.pending = undefined;
    this.stats.failures++;
    this.opts.onError?.(err);
    const delay = backoffDelay(this.attempt++, this.opts.backoff ?? DEFAULT_BACKOFF, this.opts.random);
    this.log.warn(
      { err: err instanceof Error ? err : new Error(String(err)), backoffMs: delay },
      this.everSynced ? 'namespace watch failed; serving from the last cache and restarting' : 'namespace list failed; retrying',
    );
    this.schedule(delay, 'restart');
  }
}
