// The controller's one door to the API server: a small HTTP client over node:http(s) with
//  - authentication and TLS from a client-node KubeConfig (token, client certificate, exec plugin,
//    in-cluster service account), with one keep-alive agent;
//  - a global token bucket every call waits on (lists, watches, writes, leases, events);
//  - a write gate checked right before a mutating call leaves (a leader that lost its lease
//    never writes, even when the call was queued before);
//  - a per-call observer for metrics (verb, HTTP code);
//  - server-side apply (PATCH application/apply-patch+yaml, fieldManager, force only when asked),
//    JSON merge patch, create, delete with a UID precondition, and streaming watches.
// Errors are ApiError values with the HTTP status and the Kubernetes Status fields; a mutating call
// refused locally because this process may not write (not the leader) is a 'write-gate-closed' RedlineError.

import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { RedlineError } from '../core/errors.js';
import type { TokenBucket } from './token-bucket.js';

export const FIELD_MANAGER = 'redline';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

/** metav1.StatusCause: its CauseType travels as "reason" on the wire. */
export interface StatusCause {
  reason?: string;
  field?: string;
  message?: string;
}

/** A failed API call: the 'kube-api' RedlineError, with the call and the Kubernetes Status fields. */
export class ApiError extends RedlineError {
  /** HTTP status; 0 for a network error or timeout. */
  declare readonly status: number;
  constructor(
    status: number,
    readonly verb: Verb,
    readonly path: string,
    message: string,
    readonly reason?: string,
    readonly causes: readonly StatusCause[] = [],
    options?: { cause?: unknown },
  ) {
    super('kube-api', `${verb} ${path}: ${status ? `HTTP ${status}${reason ? ` ${reason}` : ''}: ` : ''}${message}`, { status, cause: options?.cause });
  }
  get notFound(): boolean {
    return this.status === 404;
  }
  /** A server-side-apply field-ownership conflict (not an optimistic-lock conflict). */
  get fieldConflict(): boolean {
    return this.status === 409 && this.causes.some((c) => c.reason === 'FieldManagerConflict');
  }
  /** Worth retrying as is: network errors, 409 optimistic-lock conflicts, 429, 5xx. */
  get retryable(): boolean {
    return this.status === 0 || (this.status === 409 && !this.fieldConflict) || this.status === 429 || this.status >= 500;
  }
}

export interface KubeApiOptions {
  kubeConfig: KubeConfig;
  limiter?: TokenBucket;
  /** Called once per finished call; code is the HTTP status or "error" (network/timeout). */
  observe?: (verb: Verb, code: string, ms: number) => void;
  /** Returns null when writes are allowed, else the reason they are not. Checked per write. */
  writeGate?: () => string | null;
  /** Per-call timeout for non-watch calls; default 30 s. */
  timeoutMs?: number;
  /** How long cached auth headers are reused before asking the KubeConfig again; default 10 s. */
  authTtlMs?: number;
}

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** The verb for metrics/RBAC vocabulary; derived from method when absent. */
  verb?: Verb;
  /** Goes ahead of ordinary waiters at the rate limiter (lease renewals). */
  priority?: boolean;
  /** Bypass the write gate (the lease itself must be writable to become leader). */
  ungated?: boolean;
  /** Overrides the client's per-call timeout. */
  timeoutMs?: number;
  /** Aborts the call (it then rejects with ApiError status 0). */
  signal?: AbortSignal;
}

export interface WatchEvent<T = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

const MUTATING: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function verbOf(spec: RequestSpec): Verb {
  if (spec.verb) return spec.verb;
  switch (spec.method) {
    case 'GET':
      return 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
  }
}

/** Path of a collection or an object: /api/v1/namespaces/ns/configmaps/name. */
export function resourcePath(apiVersion: string, plural: string, namespace?: string, name?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export class KubeApi {
  readonly server: URL;
  private readonly agent: http.Agent;
  private authHeaders: Record<string, string> = {};
  private authAt = -Infinity;
  private authPending: Promise<void> | undefined;
  private readonly timeoutMs: number;
  private readonly authTtlMs: number;

  private constructor(
    private readonly opts: KubeApiOptions,
    server: URL,
    tls: https.AgentOptions,
  ) {
    this.server = server;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.authTtlMs = opts.authTtlMs ?? 10_000;
    this.agent =
      server.protocol === 'https:'
        ? new https.Agent({ ...tls, keepAlive: true, maxSockets: 64, maxFreeSockets: 16 })
        : new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 });
  }

  static async create(opts: KubeApiOptions): Promise<KubeApi> {
    const cluster = opts.kubeConfig.getCurrentCluster();
    if (!cluster) throw new RedlineError('kubeconfig-invalid', 'kubeconfig has no current cluster');
    const probe: https.RequestOptions = {};
    await opts.kubeConfig.applyToHTTPSOptions(probe);
    const tls: https.AgentOptions = {};
    if (probe.ca) tls.ca = probe.ca;
    if (probe.cert) tls.cert = probe.cert;
    if (probe.key) tls.key = probe.key;
    if (probe.rejectUnauthorized !== undefined) tls.rejectUnauthorized = probe.rejectUnauthorized;
    if (probe.servername) tls.servername = probe.servername;
    const api = new KubeApi(opts, new URL(cluster.server), tls);
    api.setAuth(probe);
    return api;
  }

  private setAuth(o: https.RequestOptions): void {
    const headers: Record<string, string> = {};
    const h = (o.headers ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(h)) if (typeof v === 'string') headers[k] = v;
    if (o.auth) headers['Authorization'] = `Basic ${Buffer.from(o.auth).toString('base64')}`;
    this.authHeaders = headers;
    this.authAt = performance.now();
  }

  private async auth(): Promise<Record<string, string>> {
    if (performance.now() - this.authAt < this.authTtlMs) return this.authHeaders;
    this.authPending ??= (async () => {
      const o: https.RequestOptions = {};
      await this.opts.kubeConfig.applyToHTTPSOptions(o);
      (o.agent as http.Agent | undefined)?.destroy();
      this.setAuth(o);
    })().finally(() => (this.authPending = undefined));
    await this.authPending;
    return this.authHeaders;
  }

  close(): void {
    this.agent.destroy();
  }

  private url(path: string, query?: RequestSpec['query']): URL {
    const u = new URL(path, this.server);
    // keep a server path prefix (e.g. https://host/k8s/clusters/x)
    if (this.server.pathname && this.server.pathname !== '/') u.pathname = this.server.pathname.replace(/\/$/, '') + path;
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  private async gate(spec: RequestSpec, verb: Verb): Promise<void> {
    await this.opts.limiter?.take(spec.priority === true);
    if (MUTATING.has(spec.method) && !spec.ungated && this.opts.writeGate) {
      const why = this.opts.writeGate();
      if (why !== null) throw new RedlineError('write-gate-closed', `${verb} ${spec.path} refused: ${why}`);
    }
  }

  /** One call; resolves with the parsed JSON body of a 2xx answer, throws ApiError otherwise. */
  async request<T = unknown>(spec: RequestSpec): Promise<T> {
    const verb = verbOf(spec);
    await this.gate(spec, verb);
    const headers: Record<string, string> = { ...(await this.auth()), Accept: 'application/json' };
    let payload: Buffer | undefined;
    if (spec.body !== undefined) {
      payload = Buffer.from(JSON.stringify(spec.body));
      headers['Content-Type'] = spec.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const url = this.url(spec.path, spec.query);
    const started = performance.now();
    const lib = url.protocol === 'https:' ? https : http;
    const timeoutMs = spec.timeoutMs ?? this.timeoutMs;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (code: string, fn: () => void): void => {
        if (settled) return;
        settled = true;
        this.opts.observe?.(verb, code, performance.now() - started);
        fn();
      };
      const req = lib.request(url, { method: spec.method, headers, agent: this.agent, timeout: timeoutMs, ...(spec.signal ? { signal: spec.signal } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => finish('error', () => reject(new ApiError(0, verb, spec.path, e.message, undefined, [], { cause: e }))));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = undefined;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = text;
          }
          if (status >= 200 && status < 300) finish(String(status), () => resolve(body as T));
          else finish(String(status), () => reject(statusError(status, verb, spec.path, body)));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
      req.on('error', (e) => finish('error', () => reject(new ApiError(0, verb, spec.path, e.message, undefined, [], { cause: e }))));
      if (payload) req.write(payload);
      req.end();
    });
  }

  /**
   * One watch request: calls onEvent per event until the server ends the stream (resolves) or the
   * connection fails / stays silent for idleTimeoutMs / `signal` aborts (rejects with ApiError 0,
   * or resolves quietly when aborted).
   */
  async watch(path: string, query: RequestSpec['query'], onEvent: (e: WatchEvent) => void, opts: { signal: AbortSignal; idleTimeoutMs: number }): Promise<void> {
    const spec: RequestSpec = { method: 'GET', path, query: { ...query, watch: 1 }, verb: 'watch' };
    await this.gate(spec, 'watch');
    if (opts.signal.aborted) return;
    const headers = { ...(await this.auth()), Accept: 'application/json' };
    const url = this.url(path, spec.query);
    const lib = url.protocol === 'https:' ? https : http;
    const started = performance.now();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let observed = false;
      const observe = (code: string): void => {
        if (observed) return;
        observed = true;
        this.opts.observe?.('watch', code, performance.now() - started);
      };
      const done = (err?: Error): void => {
        if (settled) return;
        settled = true;
        opts.signal.removeEventListener('abort', onAbort);
        if (err && !opts.signal.aborted) reject(err);
        else resolve();
      };
      const req = lib.request(url, { method: 'GET', headers, agent: this.agent }, (res) => {
        const status = res.statusCode ?? 0;
        observe(String(status));
        if (status !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let body: unknown;
            try {
              body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              body = undefined;
            }
            done(statusError(status, 'watch', path, body));
          });
          res.on('error', (e) => done(new ApiError(0, 'watch', path, e.message)));
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            let ev: WatchEvent;
            try {
              ev = JSON.parse(line) as WatchEvent;
            } catch (e) {
              req.destroy(new Error(`bad watch line: ${(e as Error).message}`));
              return;
            }
            try {
              onEvent(ev);
            } catch (e) {
              req.destroy(e instanceof Error ? e : new Error(String(e)));
              return;
            }
          }
        });
        res.on('end', () => done());
        res.on('error', (e) => done(new ApiError(0, 'watch', path, e.message)));
        res.on('aborted', () => done(new ApiError(0, 'watch', path, 'watch connection aborted')));
      });
      // No bytes for idleTimeoutMs (a frozen server, a half-open connection): give up.
      req.setTimeout(opts.idleTimeoutMs, () => req.destroy(new Error(`watch idle for ${opts.idleTimeoutMs} ms`)));
      req.on('error', (e) => {
        observe('error');
        done(new ApiError(0, 'watch', path, e.message, undefined, [], { cause: e }));
      });
      req.on('close', () => done(settled ? undefined : new ApiError(0, 'watch', path, 'watch connection closed')));
      const onAbort = (): void => {
        req.destroy();
        done();
      };
      opts.signal.addEventListener('abort', onAbort);
      req.end();
    });
  }

  // ------------------------------------------------------------------ conveniences

  get<T = KubeObject>(path: string): Promise<T> {
    return this.request<T>({ method: 'GET', path });
  }

  /** GET, undefined on 404. */
  async getOptional<T = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (e) {
      if (e instanceof ApiError && e.notFound) return undefined;
      throw e;
    }
  }

  /**
   * Server-side apply of `obj` (apiVersion/kind/metadata.name[/namespace] + the fields to own).
   * `force` takes over fields another manager owns: only for objects this manager owns.
   */
  apply<T = KubeObject>(obj: KubeObject, plural: string, opts: { force: boolean; fieldManager?: string }): Promise<T> {
    const path = resourcePath(obj.apiVersion, plural, obj.metadata.namespace, obj.metadata.name);
    return this.request<T>({
      method: 'PATCH',
      path,
      query: { fieldManager: opts.fieldManager ?? FIELD_MANAGER, force: opts.force ? 'true' : undefined },
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
  }

  mergePatch<T = KubeObject>(path: string, patch: unknown, fieldManager = FIELD_MANAGER): Promise<T> {
    return this.request<T>({ method: 'PATCH', path, query: { fieldManager }, body: patch, contentType: 'application/merge-patch+json' });
  }

  /** PUT of `obj`'s status subresource; its metadata.resourceVersion makes the write conditional (409 when stale). */
  replaceStatus<T = KubeObject>(obj: KubeObject, plural: string): Promise<T> {
    const path = `${resourcePath(obj.apiVersion, plural, obj.metadata.namespace, obj.metadata.name)}/status`;
    return this.request<T>({ method: 'PUT', path, query: { fieldManager: FIELD_MANAGER }, body: obj });
  }

  create<T = KubeObject>(path: string, body: unknown, opts: { ungated?: boolean; priority?: boolean } = {}): Promise<T> {
    return this.request<T>({ method: 'POST', path, query: { fieldManager: FIELD_MANAGER }, body, ...opts });
  }

  /** DELETE; with `uid`, only that incarnation of the object. Resolves false on 404. */
  async delete(path: string, opts: { uid?: string } = {}): Promise<boolean> {
    try {
      await this.request({
        method: 'DELETE',
        path,
        body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background', ...(opts.uid ? { preconditions: { uid: opts.uid } } : {}) },
      });
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.notFound) return false;
      throw e;
    }
  }
}

function statusError(status: number, verb: Verb, path: string, body: unknown): ApiError {
  const s = (typeof body === 'object' && body !== null ? body : {}) as { message?: unknown; reason?: unknown; details?: { causes?: unknown } };
  const message = typeof s.message === 'string' ? s.message : typeof body === 'string' && body ? body.slice(0, 300) : 'request failed';
  const causes = Array.isArray(s.details?.causes) ? (s.details.causes as StatusCause[]) : [];
  return new ApiError(status, verb, path, message, typeof s.reason === 'string' ? s.reason : undefined, causes);
}
