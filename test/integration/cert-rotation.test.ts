// Certificate rotation under load, end to end on one machine: a REAL `redline serve` process
// (node dist/cli/main.js serve --tls-secret-dir DIR) serves what CertManager writes, the Secret being
// mirrored into DIR the way the kubelet updates a Secret volume (timestamped dir + `..data` symlink
// swap). CertManager runs on a clock the test controls, with short lifetimes: the test moves the
// clock one poll interval at a time and runs the manager's poll step, so it renews on its own
// schedule several times, including a CA renewal (two-phase) and a forced CA rotation. After each
// write the clock stands still until the new certificate (or, in phase A, the new bundle) has
// reached a new client connection. Meanwhile clients that trust ONLY the published bundle (what the
// injector would put into caBundle, re-read for every new connection) keep sending AdmissionReviews
// over keep-alive connections and over a fresh connection per request. Expected: zero failed
// requests, and every serving certificate written got served. (TLS peers judge certificates on the
// wall clock; every certificate is backdated 5 min, more than the test moves its clock ahead.)
//
// Also: serve's readiness with a certificate that is missing, not yet valid, or expires while served.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCaBundleInjector } from '../../certs/inject.js';
import { CertManager } from '../../certs/manager.js';
import { ANNOTATION_ROTATE } from '../../core/vocabulary.js';
import { MemorySecretStore, type SecretSnapshot } from '../../certs/secret-store.js';
import { generateKeyPair, isIssuedBy, issueCa, issueLeaf, parseCertificate, splitPemBundle } from '../../certs/x509.js';
import { freePort } from '../e2e/controlplane/index.js';
import { writeSecretDir } from '../e2e/helpers/secret-dir.js';
import { CLI, ROOT } from '../helpers/cli.js';
import { admissionReview } from '../bench/webhook-harness.js';
import { sleep, until } from '../helpers/wait.js';

const NAMESPACES = path.join(ROOT, 'manifests', 'examples', 'namespaces.yaml');

interface Serve {
  child: ChildProcess;
  port: number;
  healthPort: number;
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

async function spawnServe(dir: string, opts: { waitReady?: boolean } = {}): Promise<Serve> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  const [port, healthPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--tls-secret-dir', dir, '--namespaces', NAMESPACES, '--port', String(port), '--health-port', String(healthPort), '--address', '127.0.0.1', '--log-level', 'warn'],
    { cwd: ROOT, env: { ...process.env, REDLINE_CERT_RELOAD_INTERVAL_MS: '250' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const serve: Serve = {
    child,
    port,
    healthPort,
    output: () => out,
    exited,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  if (opts.waitReady !== false) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redline serve exited with ${child.exitCode}:\n${out}`);
      try {
        if ((await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`redline serve not ready in 30 s:\n${out}`);
      }
      await sleep(100);
    }
  }
  return serve;
}

const review = Buffer.from(
  JSON.stringify(admissionReview({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } })),
);

/** An https.Agent whose every NEW connection trusts exactly the bundle file as it is at that moment. */
class BundleAgent extends https.Agent {
  connections = 0;
  constructor(
    private readonly bundleFile: string,
    keepAlive: boolean,
    private readonly onConnect: (serial: string, bundle: string) => void,
  ) {
    super({ keepAlive, maxSockets: keepAlive ? 4 : Infinity });
  }
  override createConnection(options: https.RequestOptions): Duplex {
    const bundle = readFileSync(this.bundleFile, 'utf8');
    this.connections++;
    const socket = tls.connect({ ...(options as tls.ConnectionOptions), ca: bundle, servername: undefined });
    socket.once('secureConnect', () => this.onConnect(socket.getPeerCertificate().serialNumber.toLowerCase().replace(/^0+/, ''), bundle));
    return socket;
  }
}

function post(port: number, agent: https.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/validate', method: 'POST', agent, timeout: 10_000, headers: { 'Content-Type': 'application/json', 'Content-Length': review.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(review);
  });
}

describe('certificate rotation under continuous HTTPS load (real redline serve)', () => {
  let root: string;
  let secretDir: string;
  let bundleFile: string;
  let serve: Serve | undefined;
  let manager: CertManager | undefined;

  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'redline-rotation-'));
    secretDir = path.join(root, 'secret');
    bundleFile = path.join(root, 'published-ca-bundle.pem');
  });
  afterAll(async () => {
    await manager?.stop();
    await serve?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('zero failed requests while the certificate rotates several times, CA included', async () => {
    // The Secret, and its kubelet-style mirror into secretDir.
    const store = new MemorySecretStore();
    const written: Array<{ at: number; serial: string; caSerial: string; bundle: number }> = [];
    let mirror: Promise<void> = Promise.resolve();
    store.onWrite = (snap: SecretSnapshot) => {
      const files: Record<string, Buffer> = {};
      for (const [k, v] of Object.entries(snap.data)) files[k] = Buffer.from(v, 'base64');
      const serving = parseCertificate(files['tls.crt']!.toString());
      const ca = parseCertificate(files['ca.crt']!.toString());
      if (written.at(-1)?.serial !== serving.serialHex || written.at(-1)?.caSerial !== ca.serialHex) {
        written.push({ at: Date.now(), serial: serving.serialHex, caSerial: ca.serialHex, bundle: splitPemBundle(files['ca-bundle.crt']!.toString()).length });
      }
      mirror = mirror.then(() => writeSecretDir(secretDir, files));
    };
    // The "caBundle" the API server would trust: written atomically on every injection.
    const injector = new MemoryCaBundleInjector();
    const bundles: Array<{ at: number; cas: number }> = [];
    injector.onInject = (pem) => {
      const tmp = `${bundleFile}.tmp`;
      writeFileSync(tmp, pem);
      renameSync(tmp, bundleFile);
      bundles.push({ at: Date.now(), cas: splitPemBundle(pem).length });
    };
    // Short lifetimes. Every certificate is backdated 5 min (clock skew), and renewal is at 2/3 of
    // notBefore..notAfter: a 157.5 s serving certificate is renewed 5 s after issuance, a 169.5 s
    // CA 13 s after issuance.
    let now = Date.now();
    manager = new CertManager({
      clock: () => new Date(now),
      authority: {
        serviceName: 'redline-webhook',
        namespace: 'redline-system',
        ipAddresses: ['127.0.0.1'],
        extraDnsNames: ['localhost'],
        servingLifetimeMs: 157_500,
        caLifetimeMs: 169_500,
      },
      store,
      injector,
      checkIntervalMs: 200,
      resyncMs: 60_000,
      caRolloutDelayMs: 1_500,
    });
    const first = await manager.reconcileOnce();
    expect(first.action).toBe('issue-all');
    await mirror;
    serve = await spawnServe(secretDir);

    // Load: 4 keep-alive workers + 1 worker with a fresh connection per request.
    const served: Array<{ at: number; serial: string; cas: number }> = [];
    const onConnect = (serial: string, bundle: string) => served.push({ at: Date.now(), serial, cas: splitPemBundle(bundle).length });
    const keepAlive = new BundleAgent(bundleFile, true, onConnect);
    const fresh = new BundleAgent(bundleFile, false, onConnect);
    let total = 0;
    const failures: string[] = [];
    let running = true;
    const worker = async (agent: https.Agent) => {
      while (running) {
        try {
          const status = await post(serve!.port, agent);
          total++;
          if (status !== 200) failures.push(`HTTP ${status}`);
        } catch (e) {
          total++;
          failures.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
        }
      }
    };
    const workers = [...Array.from({ length: 4 }, () => worker(keepAlive)), worker(fresh)];

    // Let the manager renew on its own: serving every ~5 s (clock time), the CA once at ~13 s (phase
    // A, then B after 1.5 s). After the CA switch, force one more CA rotation the way `redline certs
    // rotate --ca` does.
    const started = Date.now();
    const startedAt = now;
    const report = () => `written=${JSON.stringify(written)}; failures=${failures.slice(0, 5).join(' | ')}`;
    // A written certificate has arrived: a new connection after the write, trusting a bundle at least
    // as large as the one written, was served that serving certificate.
    const arrived = (w: { at: number; serial: string; bundle: number }) => served.some((s) => s.serial === w.serial && s.at > w.at && s.cas >= w.bundle);
    const advanceUntil = async (what: string, cond: () => boolean) => {
      while (!cond()) {
        if (now - startedAt > 120_000) throw new Error(`no ${what} after 120 s on the manager's clock; ${report()}`);
        const before = written.length;
        now += 200; // one checkIntervalMs
        await manager!.tick();
        await mirror;
        if (written.length > before) await until(`certificate ${written.at(-1)!.serial} to reach a new connection`, () => arrived(written.at(-1)!), 10_000, 25, report);
      }
    };
    const caSerials = () => [...new Set(written.map((w) => w.caSerial))];
    await until('the first certificate to reach a new connection', () => arrived(written[0]!), 10_000, 25, report);
    await advanceUntil('CA renewal and serving certificate from the new CA', () => caSerials().length >= 2 && written.at(-1)!.caSerial === caSerials()[1] && isIssued(written.at(-1)!));
    store.modify((s) => {
      s.annotations[ANNOTATION_ROTATE] = 'ca';
    });
    await advanceUntil('forced CA rotation', () => caSerials().length >= 3 && isIssued(written.at(-1)!));
    await advanceUntil('further serving renewal', () => written.length >= 8 && isIssued(written.at(-1)!));
    // Load goes on over the connections that carry the last certificate.
    const total0 = total;
    await until('more requests over the last certificate', () => total >= total0 + 50, 10_000, 25, report);
    running = false;
    await Promise.all(workers);
    keepAlive.destroy();
    fresh.destroy();
    await manager.stop();

    const servingSerials = [...new Set(written.map((w) => w.serial))];
    const servedOrder = [...new Set(served.map((s) => s.serial))];
    console.log(
      `cert-rotation: ${total} requests, ${failures.length} failed, ${keepAlive.connections + fresh.connections} TLS connections, ` +
        `${servingSerials.length - 1} serving certificate changes, ${caSerials().length - 1} CA rotations in ${((now - startedAt) / 1000).toFixed(1)} s of the manager's clock, ${((Date.now() - started) / 1000).toFixed(1)} s of wall time`,
    );
    expect(failures).toEqual([]);
    expect(total).toBeGreaterThan(200);
    // The served certificate changed each time a new one was written, in that order.
    expect(servedOrder).toEqual(servingSerials);
    expect(servingSerials.length).toBeGreaterThanOrEqual(6);
    expect(caSerials().length).toBeGreaterThanOrEqual(3);
    // Phase A of each CA rotation: the new CA was published first and the OLD serving certificate
    // (signed by the previous CA, kept in the bundle) was still served to new connections and verified.
    for (const ca of caSerials().slice(1)) {
      const introduced = written.find((w) => w.caSerial === ca)!;
      expect(introduced.bundle).toBeGreaterThanOrEqual(2);
      const previousServing = written[written.indexOf(introduced) - 1]!.serial;
      expect(introduced.serial).toBe(previousServing);
      expect(served.some((s) => s.serial === previousServing && s.at > introduced.at && s.cas >= introduced.bundle)).toBe(true);
    }
    // serve's own expiry metric reports what it serves.
    const metrics = await (await fetch(`http://127.0.0.1:${serve.healthPort}/metrics`)).text();
    expect(metrics).toContain(`redline_certificate_expiry_timestamp_seconds{certificate="serving",serial="${written.at(-1)!.serial}"}`);
    expect(await serve.stop()).toBe(0);
    serve = undefined;

    function isIssued(w: { serial: string; caSerial: string }): boolean {
      const snap = store.peek()!;
      const leaf = Buffer.from(snap.data['tls.crt']!, 'base64').toString();
      const ca = Buffer.from(snap.data['ca.crt']!, 'base64').toString();
      return parseCertificate(leaf).serialHex === w.serial && isIssuedBy(leaf, ca);
    }
  }, 120_000);
});

describe('serve readiness follows the certificate (missing, not yet valid, expired)', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'redline-readiness-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function material(notBefore: Date, lifetimeMs: number) {
    const [caKey, leafKey] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    const ca = issueCa({ commonName: 'test-ca', notBefore: new Date(Date.now() - 3600_000), lifetimeMs: 10 * 3600_000, key: caKey });
    const leaf = issueLeaf(ca, { commonName: 'redline', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], notBefore, lifetimeMs, key: leafKey });
    return { 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem, 'ca.crt': ca.certPem };
  }

  it('refuses to start without a usable certificate, and turns unready when it expires', async () => {
    // missing
    const missing = await spawnServe(path.join(root, 'none'), { waitReady: false });
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toContain('cannot read the serving certificate');
    // not yet valid (issued for an hour from now; the 5 min backdating does not reach now)
    const future = path.join(root, 'future');
    await writeSecretDir(future, await material(new Date(Date.now() + 3600_000), 3600_000));
    const early = await spawnServe(future, { waitReady: false });
    expect(await early.exited).toBe(1);
    expect(early.output()).toContain('not yet valid');
    // expires while served: ready first, then /readyz 503 naming the expiry
    const soon = path.join(root, 'soon');
    const issuedAt = new Date();
    await writeSecretDir(soon, await material(issuedAt, 15_000)); // notAfter = issuance + 15 s (serve takes a few s to start)
    const s = await spawnServe(soon);
    try {
      expect((await fetch(`http://127.0.0.1:${s.healthPort}/readyz`)).status).toBe(200);
      // serve judges its certificate on the wall clock: wait until /readyz answers otherwise (by notAfter).
      const r = await until('serve to notice the expiry', async () => {
        const res = await fetch(`http://127.0.0.1:${s.healthPort}/readyz`);
        return res.status === 200 ? undefined : res;
      }, 30_000, 100, s.output);
      expect(Date.now()).toBeGreaterThanOrEqual(Math.floor((issuedAt.getTime() + 15_000) / 1000) * 1000);
      expect(r.status).toBe(503);
      const body = (await r.json()) as { checks: Array<{ name: string; ok: boolean; detail: string }> };
      const cert = body.checks.find((c) => c.name === 'certificate');
      expect(cert?.ok).toBe(false);
      expect(cert?.detail).toContain('serving certificate expired');
      // an expired replacement is refused too; a valid one makes it ready again
      await writeSecretDir(soon, await material(new Date(), 3600_000));
      const end = Date.now() + 10_000;
      while ((await fetch(`http://127.0.0.1:${s.healthPort}/readyz`)).status !== 200) {
        if (Date.now() > end) throw new Error(`not ready again:\n${s.output()}`);
        await sleep(100);
      }
    } finally {
      expect(await s.stop()).toBe(0);
    }
  }, 90_000);
});
