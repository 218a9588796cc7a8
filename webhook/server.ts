// The admission hot path: a plain `node:https` server (no framework — express costs 0.31–0.41× of
// this, see DESIGN.md) with POST /validate and POST /mutate. Reading order = run order:
//
//   route (404/405) → content type (415) → declared length (413) → read body with a byte limit (413)
//   → [end of the event-loop turn, unless alone] → UTF-8, JSON, nesting depth (400) → AdmissionReview shape (400)
//   → admit → 200 AdmissionReview
//   (a `scale` subresource: read its parent first, then admit that UPDATE — webhook/scale.ts)
//
// Bodies read during one turn are admitted together at its end, one step at a time for all of them
// (decode all, admit all, answer all) rather than one request at a time. Under load a turn reads
// several requests (at 8 connections, most turns read all 8); each step then runs with its code and
// data still in the CPU caches, where one request at a time evicted them between requests (TLS,
// HTTP, the kernel). At 8 connections that brought Redline's CPU per request from about 1.75× the
// bare server's to about 1.25× (bench:webhook). Nothing is shared between the requests of a pass
// but the time they are done. Re-measured: admitting every request at once instead (no batching)
// cost 1.4–1.6× the CPU per request at 8 connections and 2.1× at 64 (throughput 0.16–0.23 of bare
// at 64 instead of 0.51–0.57).
//
// A request that is alone on the server (one at a time, as the API server sends a create's
// mutating and validating calls) has nothing to be batched with: it is admitted as soon as its
// body is read. Waiting for the end of the turn cost it about 35 µs from body to verdict and
// 15–25% more CPU per request at one connection (bench:webhook); through the API server
// (bench:apiserver) the difference is within noise.
//
// Bookkeeping waits for the answer: a request's log line, its metrics and the counts of its
// review's policy results are recorded after the answers of the pass are written (answer-log.ts),
// where nothing waits for them (bench:apiserver: the next webhook call arrives 0.2–0.8 ms after
// the previous answer; the bookkeeping takes about 0.05 ms). Counting a /validate review's 71 rule
// results before its answer cost it 17–28 µs (README, bench:apiserver).
//
// Every step answers with a value; an exception anywhere becomes a 500 Status answer, a log line
// and a metric, never a process exit.

import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { isRedlineError } from '../core/errors.js';
import type { FieldProblem } from '../core/result.js';
import { checkAdmissionReview, parseJsonBody, reviewResponseBody, type AdmissionRequest } from './admission-review.js';
import { admit, deny, requestFields, type AdmissionContext, type AdmissionEndpoint, type AdmissionResult } from './admission.js';
import { AnswerLog } from './answer-log.js';
import { listenOn } from './health.js';
import { LogKey } from './log-keys.js';
import type { Endpoint, AdmissionOutcome, WebhookMetrics } from './metrics.js';
import { isEnforcedNamespace } from '../core/vocabulary.js';
import { isScaleRequest, parentUpdate } from './scale.js';
import { TurnBatch } from './turn-batch.js';

export const MIN_TLS_VERSION = 'TLSv1.2' as const;

export interface ServingCertificate {
  cert: string | Buffer;
  key: string | Buffer;
}

export interface WebhookServerOptions {
  context: AdmissionContext;
  logger: Logger;
  metrics: WebhookMetrics;
  certificate: ServingCertificate;
  /** Maximum request body in bytes (the API server sends at most ~3 MiB). */
  bodyLimitBytes: number;
  /** Whole request (headers + body) must arrive within this; a slow client gets 408 and a closed socket. */
  requestTimeoutMs: number;
  /** Headers must arrive within this (≤ requestTimeoutMs). Default: min(requestTimeoutMs, 10 s). */
  headersTimeoutMs?: number;
  /**
   * Idle keep-alive sockets are closed after this. Default 120 s: longer than the API server's
   * client idle timeout (Go's 90 s), so the client closes idle connections first and never sends a
   * request into a connection we are closing.
   */
  keepAliveTimeoutMs?: number;
  /** How often Node checks request/headers timeouts. Default: min(1 s, requestTimeoutMs / 4). */
  connectionsCheckingIntervalMs?: number;
}

interface StatusBody {
  status: number;
  reason: string;
  message: string;
  field?: string;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  408: 'Timeout',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  500: 'InternalError',
};

/**
 * Most requests admitted in one pass of the steps: bounds how long the first answer of a turn waits
 * for the others (64 connections put 64 requests in a turn).
 */
const ADMISSION_PASS_REQUESTS = 16;
/** Most body bytes in one pass, so a few large objects are not all parsed and held at once. */
const ADMISSION_PASS_BYTES = 1024 * 1024;

/** A request whose body has been read, on its way through the admission steps. */
class Admission {
  request: AdmissionRequest | null = null;
  fields: Record<string, unknown> | null = null;
  result: AdmissionResult | null = null;
  constructor(
    public body: Buffer | null,
    readonly res: ServerResponse,
    readonly endpoint: AdmissionEndpoint,
    readonly start: number,
  ) {}
}

/** A metav1.Status document: what the API server's REST client decodes from a non-200 answer. */
export function statusDocument(s: StatusBody): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: s.field ? `${s.field}: ${s.message}` : s.message,
    reason: s.reason,
    code: s.status,
    ...(s.field ? { details: { causes: [{ field: s.field, message: s.message }] } } : {}),
  });
}

/** `application/json`, optionally with `charset=utf-8` (any other charset is refused). */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === 'application/json') return true; // what the API server sends
  if (!header) return false;
  const [type, ...params] = header.split(';');
  if (type!.trim().toLowerCase() !== 'application/json') return false;
  for (const p of params) {
    const [k, v] = p.split('=');
    if (k?.trim().toLowerCase() === 'charset') {
      const cs = (v ?? '').trim().replace(/^"|"$/g, '').toLowerCase();
      if (cs !== 'utf-8' && cs !== 'utf8') return false;
    }
  }
  return true;
}

export class WebhookServer {
  readonly server: https.Server;
  private readonly log: Logger;
  private readonly metrics: WebhookMetrics;
  private readonly ctx: AdmissionContext;
  private readonly bodyLimit: number;
  private readonly answers: AnswerLog;
  private readonly admissions: TurnBatch<Admission>;
  private draining = false;
  private inFlightCount = 0;
  /**
   * TLS connections that have not sent a request yet. A client that dials ahead (the API server
   * does, for webhook calls it makes in parallel) may keep one open and never use it;
   * closeIdleConnections() does not count such a connection as idle, and once close() has stopped
   * the timeout checks nothing would end it. shutdown() closes them.
   */
  private readonly unused = new Set<Socket>();

  constructor(opts: WebhookServerOptions) {
    this.log = opts.logger;
    this.metrics = opts.metrics;
    this.answers = new AnswerLog(opts.metrics);
    this.admissions = new TurnBatch((pass) => this.admitTogether(pass), {
      maxItems: ADMISSION_PASS_REQUESTS,
      maxWeight: ADMISSION_PASS_BYTES,
      weight: (a) => a.body?.length ?? 0,
      onError: (e, pass) => {
        for (const a of pass) if (!a.res.headersSent) this.internalError(a.res, a.endpoint, a.start, e);
      },
    });
    this.ctx = opts.context;
    this.bodyLimit = opts.bodyLimitBytes;
    const requestTimeout = opts.requestTimeoutMs;
    const headersTimeout = Math.min(opts.headersTimeoutMs ?? 10_000, requestTimeout);
    this.server = https.createServer({
      cert: opts.certificate.cert,
      key: opts.certificate.key,
      minVersion: MIN_TLS_VERSION,
      // A client that opens TCP and never completes the handshake.
      handshakeTimeout: Math.min(requestTimeout, 10_000),
      requestTimeout,
      headersTimeout,
      connectionsCheckingInterval: opts.connectionsCheckingIntervalMs ?? Math.max(50, Math.min(1000, Math.floor(requestTimeout / 4))),
      keepAlive: true,
      noDelay: true,
    });
    this.server.keepAliveTimeout = opts.keepAliveTimeoutMs ?? 120_000;
    this.server.on('secureConnection', (socket: Socket) => {
      this.unused.add(socket);
      socket.once('close', () => this.unused.delete(socket));
    });
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.onClientError(err, socket));
    this.server.on('tlsClientError', (err: Error) => {
      this.metrics.error('tls');
      this.log.debug({ [LogKey.component]: 'webhook', [LogKey.err]: err }, 'TLS handshake failed');
    });
  }

  /** Listen; resolves with the bound address (port 0 → an ephemeral port). */
  async listen(port: number, host?: string): Promise<AddressInfo> {
    const address = await listenOn(this.server, port, host);
    // After start-up a server error (e.g. EMFILE on accept) is logged and counted, never fatal.
    this.server.on('error', (e: Error) => {
      this.metrics.error('handler');
      this.log.error({ [LogKey.component]: 'webhook', [LogKey.err]: e }, 'server error');
    });
    return address;
  }

  /** Swap the serving certificate: new connections get it, in-flight requests are untouched. */
  setCertificate(c: ServingCertificate): void {
    this.server.setSecureContext({ cert: c.cert, key: c.key, minVersion: MIN_TLS_VERSION });
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Stop accepting, let in-flight requests finish (their answers carry `Connection: close`), close
   * idle keep-alive sockets. Resolves true when everything drained within `graceMs`; false when
   * the deadline hit and the remaining connections were destroyed.
   */
  async shutdown(graceMs: number): Promise<boolean> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const closeIdle = (): void => {
      this.server.closeIdleConnections();
      for (const socket of this.unused) socket.destroy();
    };
    closeIdle();
    const sweep = setInterval(closeIdle, 50);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const result = await Promise.race([closed.then(() => 'drained' as const), deadline]);
    clearInterval(sweep);
    clearTimeout(timer);
    this.answers.flush();
    if (result === 'timeout') {
      this.server.closeAllConnections();
      return false;
    }
    return true;
  }

  // -------------------------------------------------------------------------------------------

  private onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT';
    this.metrics.error(timeout ? 'timeout' : 'client');
    this.log.debug({ [LogKey.component]: 'webhook', [LogKey.reason]: err.code ?? 'client-error' }, 'client error');
    if (socket.writable && !socket.destroyed) {
      const status = timeout ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const text = timeout ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
      // Only when nothing has been written on this socket for the current request.
      const pending = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
      if (!pending || !pending.headersSent) {
        socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      }
    }
    socket.destroySoon?.();
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const start = performance.now();
    this.unused.delete(req.socket);
    this.inFlightCount++;
    res.once('close', () => {
      this.inFlightCount--;
    });
    req.on('error', () => undefined); // an aborted upload must not become an uncaught 'error'
    res.on('error', () => undefined);
    try {
      this.route(req, res, start);
    } catch (e) {
      this.internalError(res, 'other', start, e);
    }
  }

  private route(req: IncomingMessage, res: ServerResponse, start: number): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const endpoint: AdmissionEndpoint | undefined = path === '/validate' ? 'validate' : path === '/mutate' ? 'mutate' : undefined;
    if (!endpoint) {
      return this.reject(res, 'other', start, { status: 404, reason: REASONS[404]!, message: `no such endpoint ${truncate(path, 80)}; use POST /validate or POST /mutate` });
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return this.reject(res, endpoint, start, { status: 405, reason: REASONS[405]!, message: `method ${truncate(req.method ?? '', 16)} not allowed; use POST` });
    }
    if (!isJsonContentType(req.headers['content-type'])) {
      return this.reject(res, endpoint, start, {
        status: 415,
        reason: REASONS[415]!,
        message: `Content-Type must be application/json, got ${req.headers['content-type'] ? JSON.stringify(truncate(req.headers['content-type'], 80)) : 'none'}`,
      });
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > this.bodyLimit) {
      // Far too large to be worth draining: answer and close the connection.
      const closeNow = Number(declared) > 2 * this.bodyLimit;
      if (closeNow) res.setHeader('Connection', 'close');
      return this.tooLarge(req, res, endpoint, start, closeNow);
    }
    this.readBody(req, res, endpoint, start);
  }

  private readBody(req: IncomingMessage, res: ServerResponse, endpoint: AdmissionEndpoint, start: number): void {
    const limit = this.bodyLimit;
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (over) {
        // Drain politely up to another `limit` bytes so the client can read our 413; then cut.
        if (size > 2 * limit) req.socket.destroy();
        return;
      }
      if (size > limit) {
        over = true;
        chunks.length = 0;
        this.tooLarge(req, res, endpoint, start, false);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (over) return;
      try {
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        const admission = new Admission(body, res, endpoint, start);
        // The only request on the server (one at a time, as the API server sends a create's two
        // calls): nothing to admit it with, so now rather than at the end of the turn.
        if (this.inFlightCount === 1 && this.admissions.pending === 0) this.admissions.runNow(admission);
        else this.admissions.add(admission);
      } catch (e) {
        this.internalError(res, endpoint, start, e);
      }
    });
  }

  private tooLarge(req: IncomingMessage, res: ServerResponse, endpoint: AdmissionEndpoint, start: number, closeNow: boolean): void {
    this.reject(res, endpoint, start, {
      status: 413,
      reason: REASONS[413]!,
      message: `request body larger than ${this.bodyLimit} bytes`,
    });
    if (!closeNow) req.resume();
  }

  /** The admission steps, each for every request of the pass before the next step; each answers its own failures. */
  private admitTogether(pass: Admission[]): void {
    this.metrics.batch(pass.length);
    for (const a of pass) this.decode(a);
    for (const a of pass) {
      if (!a.request) continue;
      if (this.scalesParent(a)) this.decideScale(a);
      else this.decide(a);
    }
    for (const a of pass) if (a.result) this.answerOrHold(a);
    this.answers.flush();
  }

  /** A request that grows a tenant's usage is answered once the ledger has its reservation. */
  private answerOrHold(a: Admission): void {
    let held: Promise<AdmissionResult> | null = null;
    try {
      held = this.ctx.ledger?.hold(a.endpoint, a.request!, a.result!) ?? null;
    } catch (e) {
      return this.internalError(a.res, a.endpoint, a.start, e);
    }
    if (!held) return this.answer(a);
    held.then(
      (result) => {
        a.result = result;
        this.answer(a);
        this.answers.flush();
      },
      (e: unknown) => {
        this.internalError(a.res, a.endpoint, a.start, e);
        this.answers.flush();
      },
    );
  }

  /** Body → AdmissionRequest, or a 400 answer. */
  private decode(a: Admission): void {
    if (a.res.destroyed) return; // the client left while its request waited for the end of the turn
    try {
      const parsed = parseJsonBody(a.body!);
      a.body = null;
      if (!parsed.ok) return this.badRequest(a.res, a.endpoint, a.start, parsed.problem);
      const checked = checkAdmissionReview(parsed.value);
      if (!checked.ok) return this.badRequest(a.res, a.endpoint, a.start, checked.problem);
      a.request = checked.value;
    } catch (e) {
      this.internalError(a.res, a.endpoint, a.start, e);
    }
  }

  /** The verdict (its policy results counted after the answer), or a 500 answer. */
  private decide(a: Admission): void {
    const request = a.request!;
    try {
      // The fixed per-request keys; a child logger is bound only when something else must be logged
      // about this request (binding one costs more than the request's single line). Built here
      // rather than after the answer: built after it (bench:apiserver, same run, ten comparisons),
      // the review took 2–18 µs longer each time and nothing before it got faster.
      a.fields ??= requestFields(a.endpoint, request);
      a.result = admit(a.endpoint, request, this.ctx);
      if (a.result.policyResults) this.answers.countResults(a.result.policyResults);
    } catch (e) {
      this.internalError(a.res, a.endpoint, a.start, e, a.fields ? this.log.child(a.fields) : this.log, request.kind.kind, request.operation);
    }
  }

  /** A validating call for a scale subresource in an enforced namespace: judged through its parent. */
  private scalesParent(a: Admission): boolean {
    const request = a.request!;
    if (a.endpoint !== 'validate' || !isScaleRequest(request)) return false;
    const ns = this.ctx.namespaces.get(request.namespace);
    // Not enforced, or not known yet: admit() answers as for any other object there.
    return ns !== undefined && isEnforcedNamespace(ns.labels);
  }

  /** Reads the parent, then decides (and holds for the ledger) the scale as an UPDATE of it. */
  private decideScale(a: Admission): void {
    const scale = a.request!;
    a.fields = requestFields(a.endpoint, scale);
    parentUpdate(scale, this.ctx.parents).then(
      (update) => {
        if (update.ok) {
          a.request = update.value;
          this.decide(a);
        } else {
          a.result = deny(scale.uid, update.problem.reason, update.problem.message);
        }
        if (a.result) this.answerOrHold(a);
        this.answers.flush();
      },
      (e: unknown) => {
        this.internalError(a.res, a.endpoint, a.start, e);
        this.answers.flush();
      },
    );
  }

  /** The 200 AdmissionReview, then its log line and metrics (written at the end of the pass). */
  private answer(a: Admission): void {
    const request = a.request!;
    const result = a.result!;
    try {
      this.send(a.res, 200, reviewResponseBody(result.response));
      const seconds = (performance.now() - a.start) / 1000;
      // Assigned onto the fields object: spreading into a new literal measured 12 µs per line more.
      const line = a.fields!;
      line[LogKey.outcome] = result.outcome;
      line[LogKey.reason] = result.reason;
      line[LogKey.status] = 200;
      line[LogKey.durationMs] = Math.round(seconds * 1e6) / 1e3;
      if (request.dryRun) line[LogKey.dryRun] = true;
      if (result.patchOps) line[LogKey.patchOps] = result.patchOps;
      if (result.notable.length) line[LogKey.results] = result.notable;
      this.answers.add({
        endpoint: a.endpoint, kind: request.kind.kind, operation: request.operation, outcome: result.outcome, seconds,
        log: this.log, level: 'info', line, message: 'admission',
      });
    } catch (e) {
      this.internalError(a.res, a.endpoint, a.start, e);
    }
  }

  private send(res: ServerResponse, status: number, text: string): void {
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    };
    if (this.draining) headers.Connection = 'close';
    res.writeHead(status, headers);
    res.end(text);
  }

  private badRequest(res: ServerResponse, endpoint: Endpoint, start: number, p: FieldProblem): void {
    this.reject(res, endpoint, start, {
      status: 400,
      reason: REASONS[400]!,
      message: p.message,
      ...(p.path !== 'body' ? { field: p.path } : {}),
    });
  }

  private reject(res: ServerResponse, endpoint: Endpoint, start: number, s: StatusBody): void {
    this.send(res, s.status, statusDocument(s));
    this.finish(endpoint, 'other', 'other', 'rejected', start, s.status, s.field ? `${s.field}: ${s.message}` : s.message);
  }

  private internalError(res: ServerResponse, endpoint: Endpoint, start: number, err: unknown, log: Logger = this.log, kind = 'other', operation = 'other'): void {
    const code = isRedlineError(err, 'reviewer-failed') ? 'reviewer' : 'handler';
    if (code === 'handler') this.metrics.error('handler');
    try {
      this.send(res, 500, statusDocument({ status: 500, reason: REASONS[500]!, message: code === 'reviewer' ? 'policy evaluation failed' : 'internal error' }));
    } catch {
      res.destroy();
    }
    const seconds = (performance.now() - start) / 1000;
    const line = {
      [LogKey.component]: 'webhook',
      [LogKey.outcome]: 'error',
      [LogKey.status]: 500,
      [LogKey.durationMs]: Math.round(seconds * 1e6) / 1e3,
      [LogKey.err]: err instanceof Error ? err : new Error(String(err)),
    };
    this.answers.add({ endpoint, kind, operation, outcome: 'error', seconds, log, level: 'error', line, message: 'admission failed' });
  }

  private finish(endpoint: Endpoint, kind: string, operation: string, outcome: AdmissionOutcome, start: number, status: number, reason: string): void {
    const seconds = (performance.now() - start) / 1000;
    const line = {
      [LogKey.component]: 'webhook',
      [LogKey.endpoint]: endpoint,
      [LogKey.outcome]: outcome,
      [LogKey.status]: status,
      [LogKey.reason]: truncate(reason, 200),
      [LogKey.durationMs]: Math.round(seconds * 1e6) / 1e3,
    };
    this.answers.add({ endpoint, kind, operation, outcome, seconds, log: this.log, level: 'info', line, message: 'request rejected' });
  }
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
