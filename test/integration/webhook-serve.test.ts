// `redline serve` end to end: runServe in-process (config errors, readiness, drain on a signal) and
// the built CLI as a REAL child process (`node dist/cli/main.js serve`): a request in flight when
// SIGTERM arrives completes and the process exits 0; past the grace deadline it exits 1.

import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServe } from '../../cli/serve.js';
import { admissionReview, MemoryLog, repoRoot, testCertificates } from '../bench/webhook-harness.js';
import { until } from '../helpers/wait.js';

const root = repoRoot();
let dir: string;
let nsFile: string;

const NAMESPACES = `apiVersion: v1
kind: Namespace
metadata:
  name: tenant-acme
  labels: {redline.dev/tenant: acme, redline.dev/plan: standard}
`;

const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'tenant-acme' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'redline-serve-'));
  nsFile = path.join(dir, 'namespaces.yaml');
  writeFileSync(nsFile, NAMESPACES);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

class Capture {
  text = '';
  write(s: string | Uint8Array): boolean {
    this.text += typeof s === 'string' ? s : Buffer.from(s).toString();
    return true;
  }
}

async function getJson(port: number, p: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`http://127.0.0.1:${port}${p}`);
  return { status: r.status, body: await r.json() };
}

/** Waits until serve has the slow request: its /metrics count it in flight. */
async function requestInFlight(healthPort: number): Promise<void> {
  await until('the request in flight (redline_admission_requests_in_flight 1)', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    return /^redline_admission_requests_in_flight 1$/m.test(metrics);
  });
}

/** Headers and the first bytes of a body now; the rest when `finish()` is called. */
function slowRequest(port: number, ca: Buffer, uid: string) {
  const body = Buffer.from(JSON.stringify(admissionReview(pod, { uid })));
  let finish!: () => void;
  const answer = new Promise<{ status: number; connection: string | undefined; json: any }>((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', servername: 'localhost', port, path: '/validate', method: 'POST', ca, agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, json: text ? JSON.parse(text) : undefined }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.flushHeaders();
    req.write(body.subarray(0, 50));
    finish = () => req.end(body.subarray(50));
  });
  return { answer, finish: () => finish() };
}

function connectRefused(port: number, ca: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.request({ host: '127.0.0.1', servername: 'localhost', port, path: '/validate', method: 'POST', ca, agent: false }, () => resolve(false));
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET'));
    req.end('{}');
  });
}

describe('runServe in-process', () => {
  it('exits 2 with every configuration problem listed', async () => {
    const stderr = new Capture();
    const code = await runServe(['--port', 'abc', '--health-port=70000', '--log-level', 'loud'], { stderr, env: { REDLINE_BODY_LIMIT_BYTES: '1024' }, cwd: dir });
    expect(code).toBe(2);
    expect(stderr.text).toContain('serve.port: must be an integer 0-65535, got "abc" (from flag --port)');
    expect(stderr.text).toContain('serve.healthPort: must be an integer 0-65535, got "70000" (from flag --health-port)');
    expect(stderr.text).toContain('serve.logLevel: must be one of');
    expect(stderr.text).toContain('(from env REDLINE_BODY_LIMIT_BYTES)');
  });

  it('prints usage on --help', async () => {
    const stdout = new Capture();
    expect(await runServe(['--help'], { stdout, cwd: dir })).toBe(0);
    expect(stdout.text).toContain('REDLINE_HEALTH_PORT');
  });

  it('exits 1 naming the file when the policy library is bad', async () => {
    const bad = path.join(dir, 'badlib');
    rmSync(bad, { recursive: true, force: true });
    writeFileSync(path.join(dir, 'x'), '');
    const stderr = new Capture();
    const code = await runServe(['--dev', '--dev-cert-dir', path.join(dir, 'certs'), '--policies', bad, '--namespaces', nsFile], { stderr, cwd: dir, logDestination: new MemoryLog() });
    expect(code).toBe(1);
    expect(stderr.text).toMatch(/cannot load policies from .*badlib/);
  });

  it('exits 2 without a namespace source outside --dev', async () => {
    const certs = await testCertificates();
    try {
      const stderr = new Capture();
      const code = await runServe(['--tls-cert-file', certs.certPath, '--tls-key-file', certs.keyPath], { stderr, cwd: dir, env: { HOME: dir }, logDestination: new MemoryLog() });
      expect(code).toBe(2);
      expect(stderr.text).toContain('no namespace source: pass --namespaces FILE');
    } finally {
      certs.cleanup();
    }
  });

  it('runs --dev without any namespace source (every namespace a non-tenant) and says so', async () => {
    const stderr = new Capture();
    const signals = new EventEmitter();
    const code = runServe(['--dev', '--dev-cert-dir', path.join(dir, 'certs'), '--port', '0', '--health-port', '0', '--address', '127.0.0.1'], {
      stderr,
      cwd: dir,
      env: { HOME: dir },
      logDestination: new MemoryLog(),
      signals,
      onListening: () => signals.emit('SIGTERM', 'SIGTERM'),
    });
    expect(await code).toBe(0);
    expect(stderr.text).toContain('every namespace is treated as a non-tenant');
  });

  it('is ready after start; on SIGTERM readiness drops at once, the in-flight request completes, exit 0', async () => {
    const signals = new EventEmitter();
    const stderr = new Capture();
    const log = new MemoryLog();
    let ports!: { port: number; healthPort: number };
    const listening = new Promise<void>((resolve) => {
      void runServe(['--dev', '--dev-cert-dir', path.join(dir, 'certs'), '--port', '0', '--health-port', '0', '--namespaces', nsFile, '--address', '127.0.0.1'], {
        stderr,
        cwd: dir,
        signals,
        logDestination: log,
        onListening: (p) => {
          ports = p;
          resolve();
        },
      }).then((c) => exit.resolve(c));
    });
    const exit = deferred<number>();
    await listening;
    const ca = readFileSync(path.join(dir, 'certs', 'ca.crt'));
    expect(stderr.text).toMatch(/CA at .*ca\.crt.*curl --cacert/);

    const ready = await getJson(ports.healthPort, '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.map((c: { name: string }) => c.name)).toEqual(['policies', 'certificate', 'namespaces', 'storageclasses', 'poddisruptionbudgets', 'serving']);
    // This namespaces file has neither: not known, the rules that need them skip, and that is ready.
    expect(ready.body.checks.find((c: { name: string }) => c.name === 'storageclasses')).toEqual({ name: 'storageclasses', ok: true, detail: 'none in the namespaces file; the rules that need them skip' });

    const slow = slowRequest(ports.port, ca, 'in-flight');
    await requestInFlight(ports.healthPort);
    signals.emit('SIGTERM', 'SIGTERM');
    const draining = await getJson(ports.healthPort, '/readyz');
    expect(draining.status).toBe(503);
    expect(draining.body.checks.find((c: { name: string }) => c.name === 'serving')).toEqual({ name: 'serving', ok: false, detail: 'shutting down' });
    expect(await connectRefused(ports.port, ca)).toBe(true);
    slow.finish();
    const answer = await slow.answer;
    expect(answer.status).toBe(200);
    expect(answer.connection).toBe('close');
    expect(answer.json.response.uid).toBe('in-flight');
    expect(await exit.promise).toBe(0);
    expect(log.records().map((r) => r.msg)).toEqual(
      expect.arrayContaining(['webhook listening', expect.stringMatching(/^shutting down: draining \d+ in-flight request\(s\)$/), 'drained; exiting']),
    );
  });

  it('is not ready while the namespace cache has not synced (unreachable cluster)', async () => {
    const kc = path.join(dir, 'kubeconfig');
    writeFileSync(
      kc,
      `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
    );
    const signals = new EventEmitter();
    let ports!: { port: number; healthPort: number };
    const exit = deferred<number>();
    await new Promise<void>((resolve) => {
      void runServe(['--dev', '--dev-cert-dir', path.join(dir, 'certs'), '--port', '0', '--health-port', '0', '--kubeconfig', kc, '--address', '127.0.0.1'], {
        stderr: new Capture(),
        cwd: dir,
        signals,
        logDestination: new MemoryLog(),
        onListening: (p) => {
          ports = p;
          resolve();
        },
      }).then((c) => exit.resolve(c));
    });
    const r = await getJson(ports.healthPort, '/readyz');
    expect(r.status).toBe(503);
    expect(r.body.checks.find((c: { name: string }) => c.name === 'namespaces')).toEqual({ name: 'namespaces', ok: false, detail: 'cluster source not synced yet' });
    for (const name of ['storageclasses', 'poddisruptionbudgets']) {
      expect(r.body.checks.find((c: { name: string }) => c.name === name)).toEqual({ name, ok: false, detail: expect.stringMatching(new RegExp(`^${name}: not synced yet: .*ECONNREFUSED`)) });
    }
    const metrics = await (await fetch(`http://127.0.0.1:${ports.healthPort}/metrics`)).text();
    expect(metrics).toContain('redline_ready 0');
    signals.emit('SIGINT', 'SIGINT');
    expect(await exit.promise).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------

const MAIN = path.join(root, 'dist', 'cli', 'main.js');

function assertBuilt(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const built = statSync(path.join(root, 'dist', 'cli', 'serve.js')).mtimeMs;
  for (const src of ['cli/serve.ts', 'webhook/server.ts', 'webhook/admission.ts']) {
    if (statSync(path.join(root, src)).mtimeMs > built + 1000) throw new Error(`dist is older than ${src}: run \`npm run build\` first`);
  }
}

interface Child {
  proc: ChildProcess;
  port: number;
  healthPort: number;
  ca: Buffer;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
}

async function startChild(extra: string[]): Promise<Child> {
  assertBuilt();
  const certDir = path.join(dir, 'child-certs');
  const proc = spawn(process.execPath, [MAIN, 'serve', '--dev', '--dev-cert-dir', certDir, '--port', '0', '--health-port', '0', '--address', '127.0.0.1', '--namespaces', nsFile, ...extra], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, REDLINE_LOG_LEVEL: 'info' },
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const ports = await new Promise<{ port: number; healthPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not start:\n${err}\n${out}`)), 20_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const w = /"address":"127\.0\.0\.1:(\d+)","msg":"webhook listening"/.exec(out);
      const h = /"address":"127\.0\.0\.1:(\d+)","msg":"health listening"/.exec(out);
      if (w && h) {
        clearTimeout(timer);
        resolve({ port: Number(w[1]), healthPort: Number(h[1]) });
      }
    });
    void exit.then(() => reject(new Error(`child exited early:\n${err}\n${out}`)));
  });
  return { proc, ...ports, ca: readFileSync(path.join(certDir, 'ca.crt')), exit, stdout: () => out };
}

describe('redline serve as a child process', () => {
  it('SIGTERM: the in-flight request completes, then exit 0', async () => {
    const child = await startChild([]);
    try {
      // Warm-up: a full request works.
      const slow = slowRequest(child.port, child.ca, 'drain-me');
      await requestInFlight(child.healthPort);
      child.proc.kill('SIGTERM');
      await until('readiness to drop after SIGTERM', async () => (await getJson(child.healthPort, '/readyz')).status === 503);
      slow.finish();
      const answer = await slow.answer;
      expect(answer.status).toBe(200);
      expect(answer.json.response.uid).toBe('drain-me');
      expect(await child.exit).toEqual({ code: 0, signal: null });
      expect(child.stdout()).toContain('"msg":"drained; exiting"');
      // The request's own line, still buffered when SIGTERM came, was flushed before exit.
      expect(child.stdout()).toMatch(/"uid":"drain-me".*"msg":"admission"/);
    } finally {
      child.proc.kill('SIGKILL');
    }
  });

  it('past the grace deadline the remaining connections are cut and the exit code is 1', async () => {
    const child = await startChild(['--shutdown-grace-ms', '400']);
    try {
      const slow = slowRequest(child.port, child.ca, 'never-finishes');
      const cut = slow.answer.then(
        () => 'answered',
        () => 'cut',
      );
      await requestInFlight(child.healthPort);
      const t0 = Date.now();
      child.proc.kill('SIGTERM');
      const exit = await child.exit;
      expect(exit).toEqual({ code: 1, signal: null });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
      expect(await cut).toBe('cut');
      expect(child.stdout()).toContain('shutdown deadline hit');
    } finally {
      child.proc.kill('SIGKILL');
    }
  });
});

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
