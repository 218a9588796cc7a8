// Serving-certificate hot reload over real TLS: the files are swapped the way the kubelet updates a
// mounted Secret (a `..data` symlink flipped atomically); new connections get the new certificate,
// an in-flight request on an old connection finishes untouched, a bad pair is refused and the old
// one stays in service.

import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../certs/clock.js';
import { defaultLibraryDir, Engine, loadLibrary } from '../../policies/engine/index.js';
import { CertReloader } from '../../webhook/cert-reloader.js';
import {
  admissionReview,
  httpsRequest,
  MemoryLog,
  startTestWebhook,
  TENANT_NS,
  testCertificates,
  type TestCerts,
  type TestWebhook,
} from '../bench/webhook-harness.js';
import { waitFor } from '../helpers/wait.js';

let a: TestCerts;
let b: TestCerts;
let mount: string;
let hook: TestWebhook;
let reloader: CertReloader;
const log = new MemoryLog();
let generation = 0;

/** Kubelet-style atomic update: write a new timestamped dir, flip the `..data` symlink. */
function publish(cert: Buffer | string, key: Buffer | string): void {
  generation++;
  const dir = path.join(mount, `..gen_${generation}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'tls.crt'), cert);
  writeFileSync(path.join(dir, 'tls.key'), key);
  const tmpLink = path.join(mount, '..data_tmp');
  symlinkSync(path.basename(dir), tmpLink);
  renameSync(tmpLink, path.join(mount, '..data'));
}

const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'tenant-acme' }, spec: {} };

async function works(ca: Buffer): Promise<boolean> {
  try {
    return (await httpsRequest({ port: hook.port, ca, body: JSON.stringify(admissionReview(pod)) })).status === 200;
  } catch {
    return false;
  }
}


beforeAll(async () => {
  [a, b] = await Promise.all([testCertificates(), testCertificates()]);
  mount = mkdtempSync(path.join(os.tmpdir(), 'redline-mount-'));
  publish(a.cert, a.key);
  symlinkSync('..data/tls.crt', path.join(mount, 'tls.crt'));
  symlinkSync('..data/tls.key', path.join(mount, 'tls.key'));
  hook = await startTestWebhook({ certs: a, reviewer: new Engine(await loadLibrary(defaultLibraryDir())), namespaces: [TENANT_NS] });
  reloader = new CertReloader({
    paths: { certFile: path.join(mount, 'tls.crt'), keyFile: path.join(mount, 'tls.key') },
    clock: systemClock,
    intervalMs: 200,
    debounceMs: 20,
    logger: pino(log),
    metrics: hook.metrics,
    onChange: (c) => hook.server.setCertificate(c),
  });
  await reloader.load();
  reloader.start();
});

afterAll(async () => {
  reloader?.stop();
  await hook?.close();
  a?.cleanup();
  b?.cleanup();
  if (mount) rmSync(mount, { recursive: true, force: true });
});

describe('serving certificate hot reload', () => {
  it('swaps the certificate for new connections; an in-flight request finishes on the old one', async () => {
    expect(reloader.status().ready).toBe(true);
    expect(await works(a.ca)).toBe(true);
    expect(await works(b.ca)).toBe(false);

    // An in-flight request on a connection made with certificate A: headers and half the body.
    const body = Buffer.from(JSON.stringify(admissionReview(pod, { uid: 'in-flight' })));
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const inFlight = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', servername: 'localhost', port: hook.port, path: '/validate', method: 'POST', ca: a.ca, agent, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(body.subarray(0, 100));
      void waitFor(() => reloader.stats.reloads === 1).then(() => req.end(body.subarray(100)));
    });

    publish(b.cert, b.key);
    await waitFor(() => reloader.stats.reloads === 1);
    expect(await works(b.ca)).toBe(true);
    expect(await works(a.ca)).toBe(false);
    const done = await inFlight;
    expect(done.status).toBe(200);
    expect(JSON.parse(done.text).response.uid).toBe('in-flight');
    agent.destroy();
    expect(log.records().some((r) => r.msg === 'serving certificate reloaded')).toBe(true);
  });

  it('refuses a mismatched pair and keeps the current certificate', async () => {
    const before = reloader.stats.reloads;
    publish(a.cert, b.key); // key of B with the certificate of A
    await waitFor(() => reloader.stats.rejected === 1);
    expect(reloader.stats.reloads).toBe(before);
    expect(await works(b.ca)).toBe(true);
    expect(reloader.status().ready).toBe(true);
    expect(await hook.metrics.registry.metrics()).toMatch(/redline_errors_total\{kind="cert_reload"\} 1/);
    const rec = log.records().find((r) => r.msg === 'changed serving certificate is not usable; keeping the current one');
    expect(rec?.reason).toMatch(/does not match/);
  });

  it('a good pair published after a bad one is picked up', async () => {
    publish(a.cert, a.key);
    await waitFor(() => reloader.stats.reloads === 2);
    expect(await works(a.ca)).toBe(true);
  });

  it('an unusable initial pair is a load error with the reason', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'redline-badcert-'));
    try {
      writeFileSync(path.join(dir, 'tls.crt'), readFileSync(a.certPath));
      writeFileSync(path.join(dir, 'tls.key'), readFileSync(b.keyPath));
      const r = new CertReloader({ paths: { certFile: path.join(dir, 'tls.crt'), keyFile: path.join(dir, 'tls.key') }, clock: systemClock, onChange: () => undefined });
      await expect(r.load()).rejects.toThrow(expect.objectContaining({ kind: 'input', code: 'certificate-unreadable' }));
      await expect(r.load()).rejects.toThrow(/does not match/);
      const expired = new CertReloader({ paths: { certFile: a.certPath, keyFile: a.keyPath }, clock: () => new Date('2199-01-01T00:00:00Z'), onChange: () => undefined });
      await expect(expired.load()).rejects.toThrow(/expired/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
