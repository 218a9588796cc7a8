// Shared by the webhook integration tests and the webhook benchmark (no vitest import here, so the
// benchmark can run it from dist/). Real HTTPS everywhere: a real dev certificate, a client that
// trusts its CA, no mocked transport.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { systemClock } from '../../certs/clock.js';
import { ensureDevCertificates } from '../../certs/dev.js';
import { StaticNamespaceSource, type NamespaceSource } from '../../kube/namespaces.js';
import type { JsonObject, JsonPatchOp, NamespaceInfo, ReviewInput, ReviewOutcome, RuleResult } from '../../policies/engine/types.js';
import type { AdmissionContext, Reviewer } from '../../webhook/admission.js';
import { LabelGuard, type Admins } from '../../webhook/label-guard.js';
import { WebhookMetrics } from '../../webhook/metrics.js';
import { WebhookServer } from '../../webhook/server.js';

// ---------------------------------------------------------------------------------------------
// Paths and fixtures

/** The repository root, from the sources (test/bench) or the build (dist/test/bench). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'test', 'bench', 'fixtures'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the repository root (test/bench/fixtures)');
}

export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(repoRoot(), 'test', 'bench', 'fixtures', name), 'utf8')) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Certificates

export interface TestCerts {
  dir: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  caPath: string;
  certPath: string;
  keyPath: string;
  cleanup(): void;
}

/** A fresh dev CA + serving certificate (localhost, 127.0.0.1, ::1) in a private temp dir. */
export async function testCertificates(): Promise<TestCerts> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'redline-webhook-certs-'));
  const p = await ensureDevCertificates(dir, systemClock);
  return {
    dir,
    ca: readFileSync(p.caPath),
    cert: readFileSync(p.certPath),
    key: readFileSync(p.keyPath),
    caPath: p.caPath,
    certPath: p.certPath,
    keyPath: p.keyPath,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// ---------------------------------------------------------------------------------------------
// HTTPS client

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json(): any;
}

export interface RequestOptions {
  port: number;
  ca: Buffer | string;
  path?: string;
  method?: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  agent?: https.Agent | false;
  host?: string;
  timeoutMs?: number;
}

export function httpsRequest(o: RequestOptions): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const body = o.body === undefined ? undefined : typeof o.body === 'string' ? Buffer.from(o.body) : o.body;
    const headers: Record<string, string | number> = { ...(o.headers ?? {}) };
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length' || h.toLowerCase() === 'transfer-encoding')) {
      headers['Content-Length'] = body.length;
    }
    const req = https.request(
      {
        host: o.host ?? '127.0.0.1',
        servername: 'localhost',
        port: o.port,
        path: o.path ?? '/validate',
        method: o.method ?? 'POST',
        headers,
        ca: o.ca,
        agent: o.agent ?? false,
        timeout: o.timeoutMs ?? 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/**
 * Sends every request on its own TLS connection, all written in one go once every connection is up
 * (so the server reads them in one event-loop turn), and resolves with the answers in order.
 */
export async function burst(port: number, ca: Buffer | string, requests: { path: string; body: string }[]): Promise<HttpAnswer[]> {
  const sockets = await Promise.all(
    requests.map(
      () =>
        new Promise<tls.TLSSocket>((resolve, reject) => {
          const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => resolve(s));
          s.on('error', reject);
        }),
    ),
  );
  const answers = sockets.map((s) => readOneAnswer(s));
  requests.forEach((r, i) => {
    const body = Buffer.from(r.body);
    sockets[i]!.write(Buffer.concat([Buffer.from(`POST ${r.path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
  });
  try {
    return await Promise.all(answers);
  } finally {
    for (const s of sockets) s.destroy();
  }
}

/**
 * One HTTP/1.1 answer at the start of `buf`, framed by its Content-Length: the head (status line and
 * headers) and the answer's total length, or undefined while it is incomplete.
 */
export function frameAnswer(buf: Buffer): { head: string; bodyStart: number; total: number } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString('latin1');
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  const total = end + 4 + (m ? Number(m[1]) : 0);
  return buf.length < total ? undefined : { head, bodyStart: end + 4, total };
}

function readOneAnswer(socket: tls.TLSSocket): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    socket.on('close', () => reject(new Error('connection closed before a whole answer')));
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const frame = frameAnswer(buf);
      if (!frame) return;
      const [statusLine, ...headerLines] = frame.head.split('\r\n');
      const headers: IncomingHttpHeaders = {};
      for (const h of headerLines) {
        const colon = h.indexOf(':');
        headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
      }
      const text = buf.subarray(frame.bodyStart, frame.total).toString('utf8');
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, text, json: () => JSON.parse(text) });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// AdmissionReview builders

export interface ReviewOptions {
  uid?: string;
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  namespace?: string;
  username?: string;
  groups?: string[];
  oldObject?: JsonObject | null;
  dryRun?: boolean;
  subResource?: string;
  /** request.resource (default: the object's group and version, and its kind in lower case + s). */
  resource?: { group: string; version: string; resource: string };
}

let uidCounter = 0;
export function nextUid(): string {
  uidCounter++;
  return `00000000-0000-4000-8000-${uidCounter.toString(16).padStart(12, '0')}`;
}

function gvk(obj: JsonObject): { group: string; version: string; kind: string } {
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : 'v1';
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return { group: group ?? '', version: version ?? 'v1', kind: typeof obj.kind === 'string' ? obj.kind : '' };
}

/** An AdmissionReview as the API server sends it for `object` (or oldObject on DELETE). */
export function admissionReview(object: JsonObject | null, o: ReviewOptions = {}): Record<string, unknown> {
  const operation = o.operation ?? 'CREATE';
  const subject = (object ?? o.oldObject)!;
  const md = (subject.metadata ?? {}) as JsonObject;
  const kind = gvk(subject);
  const isNamespace = kind.group === '' && kind.kind === 'Namespace';
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: o.uid ?? nextUid(),
      kind,
      resource: o.resource ?? { group: kind.group, version: kind.version, resource: `${kind.kind.toLowerCase()}s` },
      requestKind: kind,
      name: typeof md.name === 'string' ? md.name : '',
      ...(isNamespace ? {} : { namespace: o.namespace ?? (typeof md.namespace === 'string' ? md.namespace : 'default') }),
      ...(o.subResource ? { subResource: o.subResource } : {}),
      operation,
      userInfo: { username: o.username ?? 'alice@acme.example', groups: o.groups ?? ['system:authenticated'] },
      object: operation === 'DELETE' ? null : object,
      oldObject: o.oldObject ?? null,
      dryRun: o.dryRun ?? false,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// JSONPatch 'add' applier (RFC 6902, just the operation Redline emits), written independently of
// the engine so the tests check the patch, not the engine against itself.

function unescapePointer(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function applyAddPatch<T>(doc: T, ops: readonly { op: string; path: string; value: unknown }[]): T {
  const root = structuredClone(doc) as unknown;
  for (const op of ops) {
    if (op.op !== 'add') throw new Error(`unsupported op ${op.op}`);
    if (op.path === '') throw new Error('replacing the whole document is not expected');
    const tokens = op.path.split('/').slice(1).map(unescapePointer);
    let parent: any = root;
    for (const t of tokens.slice(0, -1)) {
      const next = Array.isArray(parent) ? parent[Number(t)] : parent?.[t];
      if (next === undefined || next === null || typeof next !== 'object') throw new Error(`path ${op.path}: ${t} does not exist`);
      parent = next;
    }
    const last = tokens[tokens.length - 1]!;
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new Error(`path ${op.path}: bad array index`);
      parent.splice(index, 0, structuredClone(op.value));
    } else if (parent && typeof parent === 'object') {
      parent[last] = structuredClone(op.value);
    } else {
      throw new Error(`path ${op.path}: parent is not a container`);
    }
  }
  return root as T;
}

export function decodePatch(patch: string): JsonPatchOp[] {
  return JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as JsonPatchOp[];
}

// ---------------------------------------------------------------------------------------------
// A fake reviewer (unit-level tests only: the integration tests use the real Engine)

export type FakeRule = (input: ReviewInput) => Omit<RuleResult, 'denies'> & { denies?: boolean; patch?: JsonPatchOp[] };

export class FakeReviewer implements Reviewer {
  readonly calls: ReviewInput[] = [];
  constructor(private readonly rules: FakeRule[] = [], private readonly isRedis: (o: JsonObject) => boolean = () => true) {}
  review(input: ReviewInput): ReviewOutcome {
    this.calls.push(input);
    if (!this.isRedis(input.object)) return { redis: false, reason: 'not redis', results: [], patch: [], mutated: input.object, denied: false };
    const results: RuleResult[] = [];
    const patch: JsonPatchOp[] = [];
    for (const rule of this.rules) {
      const { patch: p, ...r } = rule(input);
      results.push({ ...r, denies: r.denies ?? false });
      if (input.mutate && p) patch.push(...p);
    }
    const denied = results.some((r) => (r.result === 'fail' && r.action === 'Deny') || (r.result === 'error' && r.denies));
    return { redis: true, reason: '', results, patch, mutated: input.object, denied };
  }
}

// ---------------------------------------------------------------------------------------------
// An in-process webhook server on port 0

export class MemoryLog extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(line);
    cb();
  }
  records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export interface TestWebhookOptions {
  reviewer: Reviewer;
  certs: TestCerts;
  namespaces?: NamespaceSource | NamespaceInfo[];
  admins?: Admins;
  bodyLimitBytes?: number;
  requestTimeoutMs?: number;
  unknownNamespace?: AdmissionContext['unknownNamespace'];
  parents?: AdmissionContext['parents'];
  logLevel?: string;
}

export interface TestWebhook {
  port: number;
  server: WebhookServer;
  metrics: WebhookMetrics;
  log: MemoryLog;
  logger: Logger;
  post(body: unknown, path?: string, extra?: Partial<RequestOptions>): Promise<HttpAnswer>;
  close(): Promise<void>;
}

export const TEST_ADMINS: Admins = { users: ['platform-admin'], groups: ['platform:admins'], serviceAccounts: ['gitops/platform-sync'] };

export async function startTestWebhook(o: TestWebhookOptions): Promise<TestWebhook> {
  const log = new MemoryLog();
  const logger = pino({ level: o.logLevel ?? 'info' }, log);
  const metrics = new WebhookMetrics();
  const namespaces = Array.isArray(o.namespaces) ? new StaticNamespaceSource(o.namespaces) : (o.namespaces ?? new StaticNamespaceSource());
  const server = new WebhookServer({
    context: {
      reviewer: () => o.reviewer,
      namespaces,
      labelGuard: new LabelGuard(o.admins ?? TEST_ADMINS),
      metrics,
      unknownNamespace: o.unknownNamespace ?? 'allow',
      ...(o.parents ? { parents: o.parents } : {}),
    },
    logger,
    metrics,
    certificate: { cert: o.certs.cert, key: o.certs.key },
    bodyLimitBytes: o.bodyLimitBytes ?? 6 * 1024 * 1024,
    requestTimeoutMs: o.requestTimeoutMs ?? 10_000,
  });
  const { port } = await server.listen(0, '127.0.0.1');
  return {
    port,
    server,
    metrics,
    log,
    logger,
    post: (body, p = '/validate', extra = {}) =>
      httpsRequest({ port, ca: o.certs.ca, path: p, body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body), ...extra }),
    close: async () => {
      await server.shutdown(2000);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Namespaces used by the tests

export const TENANT_NS: NamespaceInfo = {
  name: 'tenant-acme',
  labels: { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'standard', 'kubernetes.io/metadata.name': 'tenant-acme' },
};
export const PLAIN_NS: NamespaceInfo = { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } };

/** The bare server's own time per request, in ms, by path: from its request handler to after `res.end()`. */
export type BareTimings = Record<string, number[]>;

/** A request's path without its query (the API server calls `/validate?timeout=10s`). */
function pathOf(url = ''): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** The path on which a bare server started with timings answers (and clears) its `BareTimings`. */
export const BARE_TIMINGS_PATH = '/bench/timings';

/**
 * The bare webhook both benchmarks compare Redline with, run as a child process: node:https, the
 * body parsed, a fixed "allowed" answer. Prints its address as one JSON line; SIGTERM stops it.
 *
 * With `timings` (bench:apiserver) it also keeps, in memory, its time inside the server for each
 * request: the interval Redline logs as `durationMs` (request handler → after the answer's
 * `res.end()`). Both clock reads are all it adds before the answer; the value is stored after it.
 * `GET /bench/timings` answers them as JSON (`BareTimings`) and starts a new list.
 */
export function bareServer(certDir: string, opts: { timings?: boolean } = {}): void {
  let timings: BareTimings = {};
  const server = https.createServer(
    { cert: readFileSync(path.join(certDir, 'tls.crt')), key: readFileSync(path.join(certDir, 'tls.key')), minVersion: 'TLSv1.2', keepAlive: true, noDelay: true },
    (req: IncomingMessage, res: ServerResponse) => {
      const start = opts.timings ? performance.now() : 0;
      if (opts.timings && req.method === 'GET' && req.url === BARE_TIMINGS_PATH) {
        const body = JSON.stringify(timings);
        timings = {};
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: { uid: string } };
        const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        if (opts.timings) (timings[pathOf(req.url)] ??= []).push(performance.now() - start);
      });
    },
  );
  server.keepAliveTimeout = 120_000;
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address() as { port: number };
    process.stdout.write(`{"msg":"bare listening","address":"127.0.0.1:${addr.port}"}\n`);
  });
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
  });
}
