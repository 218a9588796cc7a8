// The HTTP layer of the webhook over real HTTPS: routing, content type, body limits, malformed
// input of every class, timeouts against slow clients, exceptions → 500, keep-alive, logs, and the
// health/readiness/metrics surface.

import https from 'node:https';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealthApp, HealthServer, type ReadinessCheck } from '../../webhook/health.js';
import { WebhookMetrics } from '../../webhook/metrics.js';
import type { NamespaceSource } from '../../kube/namespaces.js';
import { defaultLibraryDir, Engine, loadLibrary } from '../../policies/engine/index.js';
import type { JsonObject } from '../../policies/engine/types.js';
import {
  admissionReview,
  FakeReviewer,
  PLAIN_NS,
  startTestWebhook,
  TENANT_NS,
  testCertificates,
  type TestCerts,
  type TestWebhook,
} from '../bench/webhook-harness.js';

const SECRET_MARKER = 'do-not-log-me-7f3a9c';

/** A compliant Redis Pod (the shipped policies allow it) carrying a value that must never be logged. */
const redisPod: JsonObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'cache-0', namespace: 'tenant-acme', annotations: { note: SECRET_MARKER } },
  spec: {
    securityContext: { runAsNonRoot: true, runAsUser: 999, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'redis',
        image: 'redis:7.2',
        args: ['--port', '0', '--tls-port', '6379'],
        resources: { limits: { memory: '1Gi', cpu: '1' } },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
        env: [
          { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'cache-auth', key: 'password' } } },
          { name: 'APP_NOTE', value: SECRET_MARKER },
        ],
      },
    ],
  },
};

let certs: TestCerts;
let hook: TestWebhook;
const LIMIT = 4 * 1024 * 1024; // 4 MiB, above the API server's 3 MiB

beforeAll(async () => {
  certs = await testCertificates();
  hook = await startTestWebhook({
    certs,
    reviewer: new Engine(await loadLibrary(defaultLibraryDir())),
    namespaces: [TENANT_NS, PLAIN_NS],
    bodyLimitBytes: LIMIT,
    requestTimeoutMs: 1500,
  });
});

afterAll(async () => {
  await hook?.close();
  certs?.cleanup();
});

function expectStatusDoc(a: { status: number; json(): any; headers: Record<string, unknown> }, code: number, msg: RegExp, field?: string): void {
  expect(a.status).toBe(code);
  expect(a.headers['content-type']).toBe('application/json');
  const doc = a.json();
  expect(doc).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code });
  expect(doc.message).toMatch(msg);
  if (field) expect(doc.details.causes[0].field).toBe(field);
}

describe('routing', () => {
  it('answers a valid review with 200 and the uid echoed', async () => {
    const body = admissionReview(redisPod, { uid: 'uid-ok-1' });
    const a = await hook.post(body);
    expect(a.status).toBe(200);
    expect(a.json()).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'uid-ok-1', allowed: true } });
  });

  it('ignores the ?timeout= query the API server appends', async () => {
    const a = await hook.post(admissionReview(redisPod, { uid: 'q' }), '/mutate?timeout=10s');
    expect(a.status).toBe(200);
    expect(a.json().response.uid).toBe('q');
  });

  it('404 on an unknown path, 405 on a wrong method', async () => {
    expectStatusDoc(await hook.post(admissionReview(redisPod), '/admit'), 404, /no such endpoint \/admit/);
    const get = await hook.post(undefined as unknown as string, '/validate', { method: 'GET', body: undefined });
    expectStatusDoc(get, 405, /method GET not allowed/);
    expect(get.headers.allow).toBe('POST');
  });
});

describe('bad input → 4xx with a clear message', () => {
  it('415 without application/json', async () => {
    const body = JSON.stringify(admissionReview(redisPod));
    expectStatusDoc(await hook.post(body, '/validate', { headers: { 'Content-Type': 'text/plain' } }), 415, /Content-Type must be application\/json, got "text\/plain"/);
    expectStatusDoc(await hook.post(body, '/validate', { headers: { 'Content-Type': 'application/json; charset=latin1' } }), 415, /application\/json/);
    const ok = await hook.post(body, '/validate', { headers: { 'Content-Type': 'Application/JSON; charset=UTF-8' } });
    expect(ok.status).toBe(200);
  });

  it('400 on malformed JSON', async () => {
    expectStatusDoc(await hook.post('{"apiVersion": "admission.k8s.io/v1", '), 400, /^malformed JSON: /);
    expectStatusDoc(await hook.post(''), 400, /malformed JSON/);
  });

  it('400 on non-UTF-8 bytes', async () => {
    const bytes = Buffer.concat([Buffer.from('{"apiVersion":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]);
    expectStatusDoc(await hook.post(bytes), 400, /not valid UTF-8/);
  });

  it('400 on nesting deeper than 100 levels (bodies over 64 KiB before JSON.parse, smaller ones after)', async () => {
    expectStatusDoc(await hook.post('['.repeat(100_000) + ']'.repeat(100_000)), 400, /nesting deeper than 100/);
    expectStatusDoc(await hook.post('['.repeat(15_000) + ']'.repeat(15_000)), 400, /nesting deeper than 100/);
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 120; i++) {
      const next = {};
      cur.x = next;
      cur = next;
    }
    const review = admissionReview({ ...redisPod, spec: deep } as never);
    expectStatusDoc(await hook.post(review), 400, /nesting deeper/);
    // Brackets inside strings do not count.
    const inString = admissionReview({ ...redisPod, metadata: { ...(redisPod.metadata as JsonObject), name: '[[[['.repeat(200) } } as never);
    expect((await hook.post(inString)).status).toBe(200);
  });

  it('400 naming the field for a wrong envelope', async () => {
    const good = admissionReview(redisPod) as Record<string, any>;
    expectStatusDoc(await hook.post({ ...good, apiVersion: 'admission.k8s.io/v1beta1' }), 400, /must be "admission.k8s.io\/v1", got "admission.k8s.io\/v1beta1"/, 'apiVersion');
    expectStatusDoc(await hook.post({ ...good, kind: 'ConversionReview' }), 400, /must be "AdmissionReview"/, 'kind');
    expectStatusDoc(await hook.post({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), 400, /is required/, 'request');
    expectStatusDoc(await hook.post([good]), 400, /must be a JSON object/);
    expectStatusDoc(await hook.post('null'), 400, /must be a JSON object/);
    const { uid: _uid, ...noUid } = good.request;
    expectStatusDoc(await hook.post({ ...good, request: noUid }), 400, /is required/, 'request.uid');
    expectStatusDoc(await hook.post({ ...good, request: { ...good.request, uid: 42 } }), 400, /non-empty string, got a number/, 'request.uid');
    expectStatusDoc(await hook.post({ ...good, request: { ...good.request, operation: 'PATCH' } }), 400, /CREATE, UPDATE, DELETE, CONNECT, got "PATCH"/, 'request.operation');
    expectStatusDoc(await hook.post({ ...good, request: { ...good.request, kind: 'Pod' } }), 400, /must be an object/, 'request.kind');
    expectStatusDoc(await hook.post({ ...good, request: { ...good.request, kind: { group: '', version: 'v1' } } }), 400, /is required/, 'request.kind.kind');
    expectStatusDoc(await hook.post({ ...good, request: { ...good.request, object: null } }), 400, /required for CREATE/, 'request.object');
    expectStatusDoc(await hook.post({ ...good, request: { ...good.request, object: [1] } }), 400, /must be an object, got an array/, 'request.object');
    expectStatusDoc(await hook.post({ ...good, request: { ...good.request, operation: 'UPDATE' } }), 400, /required for UPDATE/, 'request.oldObject');
    expectStatusDoc(await hook.post({ ...good, request: { ...good.request, userInfo: { groups: 'admins' } } }), 400, /array of strings/, 'request.userInfo.groups');
    expectStatusDoc(await hook.post({ ...good, request: { ...good.request, namespace: 7 } }), 400, /must be a string/, 'request.namespace');
    expectStatusDoc(await hook.post({ ...good, request: { ...good.request, dryRun: 'yes' } }), 400, /must be a boolean/, 'request.dryRun');
  });

  it('413 over the body limit (declared length), and the server answers the next request', async () => {
    const big = Buffer.alloc(LIMIT + 1024, 0x20);
    const a = await hook.post(big);
    expectStatusDoc(a, 413, new RegExp(`larger than ${LIMIT} bytes`));
    const next = await hook.post(admissionReview(redisPod, { uid: 'after-413' }));
    expect(next.status).toBe(200);
    expect(next.json().response.uid).toBe('after-413');
  });

  it('413 and a closed connection for a declared length far over the limit, without reading the body', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: hook.port, servername: 'localhost', ca: certs.ca }, () => {
        socket.write(`POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${10 * LIMIT}\r\n\r\n{`);
      });
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(data));
    });
    expect(outcome).toMatch(/^HTTP\/1\.1 413 /);
    expect(outcome).toMatch(/connection: close/i);
    expect(outcome).toContain('RequestEntityTooLarge');
  });

  it('413 over the body limit when streamed without a length (chunked)', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', servername: 'localhost', port: hook.port, path: '/validate', method: 'POST', ca: certs.ca, agent: false, headers: { 'Content-Type': 'application/json' } },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent < LIMIT + chunk.length * 2) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    expect(answer.status).toBe(413);
    expect((await hook.post(admissionReview(redisPod))).status).toBe(200);
  });

  it('a slow client that never finishes its body is cut off by the request timeout', async () => {
    const started = Date.now();
    const outcome = await new Promise<string>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: hook.port, servername: 'localhost', ca: certs.ca }, () => {
        socket.write('POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion":');
      });
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(data));
    });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(6000);
    expect(outcome).toMatch(/^HTTP\/1\.1 408/);
    expect((await hook.post(admissionReview(redisPod))).status).toBe(200);
  });
});

describe('robustness', () => {
  it('an exception in the reviewer is a 500 Status answer, a metric and a log line; the server stays up', async () => {
    const certs2 = certs;
    const thrower = await startTestWebhook({
      certs: certs2,
      reviewer: { review: () => { throw new Error('boom'); } },
      namespaces: [TENANT_NS],
    });
    try {
      const a = await thrower.post(admissionReview(redisPod, { uid: 'boom-uid', username: 'carol' }));
      expectStatusDoc(a, 500, /policy evaluation failed/);
      // The request's keys are on the failure's line too (built only when it is written).
      expect(thrower.log.records().find((r) => r.msg === 'admission failed')).toMatchObject({
        uid: 'boom-uid', operation: 'CREATE', kind: 'Pod', namespace: 'tenant-acme', name: 'cache-0', user: 'carol', endpoint: 'validate', outcome: 'error', status: 500,
      });
      const text = await thrower.metrics.registry.metrics();
      expect(text).toMatch(/redline_errors_total\{kind="reviewer"\} 1/);
      expect(text).toMatch(/redline_admission_requests_total\{endpoint="validate",kind="Pod",operation="CREATE",outcome="error"\} 1/);
      expect(thrower.log.records().some((r) => r.msg === 'admission failed' && (r.err as { message: string }).message.includes('boom'))).toBe(true);
      expect((await thrower.post(admissionReview(redisPod, { namespace: 'default' }))).status).toBe(200);
    } finally {
      await thrower.close();
    }
  });

  it('an exception elsewhere in the handler is a 500 too', async () => {
    const broken: NamespaceSource = { kind: 'static', get: () => { throw new TypeError('cache exploded'); }, synced: () => true, start: async () => {}, stop: async () => {} };
    const h = await startTestWebhook({ certs, reviewer: new FakeReviewer(), namespaces: broken });
    try {
      expectStatusDoc(await h.post(admissionReview(redisPod)), 500, /internal error/);
      expect(await h.metrics.registry.metrics()).toMatch(/redline_errors_total\{kind="handler"\} 1/);
    } finally {
      await h.close();
    }
  });

  it('keeps connections alive between requests', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (s) => sockets.add(s));
    try {
      for (let i = 0; i < 3; i++) {
        const a = await hook.post(admissionReview(redisPod), '/validate', { agent });
        expect(a.status).toBe(200);
        expect(a.headers.connection).toBe('keep-alive');
      }
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('shutdown drains at once past connections a client dialled and never used, and idle keep-alive ones', async () => {
    const h = await startTestWebhook({ certs, reviewer: new FakeReviewer(), namespaces: [TENANT_NS] });
    const agent = new https.Agent({ keepAlive: true });
    const unused: tls.TLSSocket[] = [];
    try {
      // As the API server does when it calls several webhooks at once: one connection per call in
      // flight, some left over, open and unused.
      for (let i = 0; i < 3; i++) {
        unused.push(await new Promise<tls.TLSSocket>((resolve, reject) => {
          const socket = tls.connect({ host: '127.0.0.1', port: h.port, servername: 'localhost', ca: certs.ca }, () => resolve(socket));
          socket.on('error', reject);
        }));
      }
      expect((await h.post(admissionReview(redisPod), '/validate', { agent })).status).toBe(200);
      const closed = Promise.all(unused.map((s) => new Promise((r) => s.once('close', r))));
      const started = performance.now();
      expect(await h.server.shutdown(5000)).toBe(true);
      expect(performance.now() - started).toBeLessThan(1000);
      await closed;
    } finally {
      agent.destroy();
      for (const s of unused) s.destroy();
      await h.close();
    }
  });

  it('refuses TLS below 1.2', async () => {
    const err = await new Promise<Error | undefined>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: hook.port, servername: 'localhost', ca: certs.ca, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }, () => {
        s.end();
        resolve(undefined);
      });
      s.on('error', (e) => resolve(e));
    });
    expect(err).toBeDefined();
  });

  it('logs one line per request with the fixed keys and never the object', async () => {
    const before = hook.log.lines.length;
    await hook.post(admissionReview(redisPod, { uid: 'log-uid', username: 'bob' }));
    const lines = hook.log.lines.slice(before);
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]!);
    expect(rec).toMatchObject({ uid: 'log-uid', operation: 'CREATE', kind: 'Pod', namespace: 'tenant-acme', name: 'cache-0', user: 'bob', endpoint: 'validate', outcome: 'allowed', status: 200 });
    expect(typeof rec.durationMs).toBe('number');
    expect(hook.log.lines.join('\n')).not.toContain(SECRET_MARKER);
  });
});

describe('health surface', () => {
  it('serves /healthz, /readyz (with each check) and /metrics with the counters', async () => {
    let checks: ReadinessCheck[] = [{ name: 'policies', ok: false, detail: 'not compiled' }];
    const metrics = hook.metrics;
    metrics.setReadinessProbe(() => checks.every((c) => c.ok));
    const health = new HealthServer(createHealthApp({ readiness: () => checks, registry: metrics.registry }));
    const { port } = await health.listen(0, '127.0.0.1');
    const get = async (p: string): Promise<{ status: number; text: string }> => {
      const r = await fetch(`http://127.0.0.1:${port}${p}`);
      return { status: r.status, text: await r.text() };
    };
    try {
      expect((await get('/healthz')).status).toBe(200);
      const notReady = await get('/readyz');
      expect(notReady.status).toBe(503);
      expect(JSON.parse(notReady.text)).toEqual({ ready: false, checks: [{ name: 'policies', ok: false, detail: 'not compiled' }] });
      checks = [
        { name: 'policies', ok: true, detail: '3 policies' },
        { name: 'certificate', ok: true, detail: 'valid' },
      ];
      const ready = await get('/readyz');
      expect(ready.status).toBe(200);
      expect(JSON.parse(ready.text).checks).toHaveLength(2);
      await hook.post(admissionReview(redisPod));
      const m = await get('/metrics');
      expect(m.status).toBe(200);
      expect(m.text).toContain('# TYPE redline_admission_requests_total counter');
      expect(m.text).toMatch(/redline_admission_requests_total\{endpoint="validate",kind="Pod",operation="CREATE",outcome="allowed"\} \d+/);
      expect(m.text).toMatch(/redline_admission_requests_total\{endpoint="validate",kind="other",operation="other",outcome="rejected"\} \d+/);
      expect(m.text).toContain('redline_admission_request_duration_seconds_bucket{le="0.005",endpoint="validate",kind="Pod",operation="CREATE"}');
      expect(m.text).toContain('# TYPE redline_policy_results_total counter');
      expect(m.text).toMatch(/redline_policy_results_total\{policy="pod-security",rule="privileged",result="pass"\} \d+/);
      expect(m.text).toMatch(/redline_errors_total\{kind="timeout"\} \d+/);
      expect(m.text).toContain('redline_ready 1');
      expect((await get('/nope')).status).toBe(404);
    } finally {
      await health.close();
    }
  });

  it('uses a dedicated registry per server', () => {
    const a = new WebhookMetrics();
    const b = new WebhookMetrics();
    a.error('tls');
    expect(a.registry).not.toBe(b.registry);
  });
});
