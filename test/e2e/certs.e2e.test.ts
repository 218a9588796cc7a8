// Redline manages its own webhook certificate against a real kube-apiserver 1.20: CertManager creates
// the Secret and server-side applies caBundle (only that field) into the shipped webhook
// configurations; `redline serve --tls-secret-dir` serves the Secret as mirrored kubelet-style; the
// API server's calls to the webhook keep succeeding before, during and after
// `redline certs rotate --ca` (a two-phase CA rotation: new CA trusted first, serving certificate
// switched after the rollout delay, old CA kept in the bundle).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CA_INJECTOR_FIELD_MANAGER, KubeCaBundleInjector } from '../../certs/inject.js';
import type { CertManager } from '../../certs/manager.js';
import { decodeSecretData } from '../../certs/secret.js';
import { KubeSecretStore } from '../../certs/secret-store.js';
import { createCertManager } from '../../certs/create.js';
import { DEFAULT_CERT_SETTINGS } from '../../core/settings/certs.js';
import { isIssuedBy, parseCertificate, splitPemBundle } from '../../certs/x509.js';
import { ApiError, KubeApi } from '../../kube/api-client.js';
import { CLI, ROOT, runCli, type CliResult } from '../helpers/cli.js';
import { freePort, startControlPlane, type ControlPlane } from './controlplane/index.js';
import { installCrds } from './controlplane/crds.js';
import { SecretDirMirror } from './helpers/secret-dir.js';
import { shippedWebhooks } from './helpers/serve.js';
import { sleep, until } from '../helpers/wait.js';

const NS = 'redline-system';
const SECRET = 'redline-webhook-tls';
const WEBHOOKS = '/apis/admissionregistration.k8s.io/v1';

interface WebhookConfig {
  metadata: { managedFields?: Array<{ manager: string; operation: string; fieldsV1?: unknown }> };
  webhooks: Array<{ name: string; clientConfig: { caBundle?: string; url?: string } }>;
}

/** `redline certs …` from the build: through main.js once it dispatches `certs`, else cli/certs.js directly. */
function certsCli(args: string[]): Promise<CliResult> {
  if (readFileSync(CLI, 'utf8').includes('./certs.js')) return runCli(['certs', ...args]);
  return new Promise((resolve, reject) => {
    const entry = path.join(ROOT, 'dist', 'cli', 'certs.js');
    const child = spawn(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(entry)}).then((m) => m.main(process.argv.slice(1))).then((c) => { process.exitCode = c; })`, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The serial of the certificate a new TLS connection to serve gets, verified against `ca`. */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca }, () => {
      const serial = s.getPeerCertificate().serialNumber.toLowerCase().replace(/^0+/, '');
      s.end();
      resolve(serial);
    });
    s.on('error', reject);
  });
}

describe('self-managed webhook certificate against a real API server', () => {
  let cp: ControlPlane;
  let api: KubeApi;
  let kc: KubeConfig;
  let manager: CertManager;
  let mirror: SecretDirMirror;
  let serve: ChildProcess | undefined;
  let serveOut = '';
  let port: number;
  let healthPort: number;
  let dir: string;
  const registry = new Registry();
  const managerLog: string[] = [];

  const secretState = async () => {
    const snap = await new KubeSecretStore(api, NS, SECRET).read();
    if (!snap) throw new Error('no secret');
    const d = decodeSecretData(snap.data);
    if (!d.ok) throw new Error(d.problem);
    return { snap, state: d.value };
  };
  const config = (kind: 'validating' | 'mutating') => api.get<WebhookConfig>(`${WEBHOOKS}/${kind}webhookconfigurations/redline`);

  beforeAll(async () => {
    cp = await startControlPlane();
    await installCrds(cp.adminKubeconfig);
    kc = new KubeConfig();
    kc.loadFromFile(cp.adminKubeconfig);
    api = await KubeApi.create({ kubeConfig: kc });
    await api.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    for (const d of parseAllDocuments(readFileSync(path.join(ROOT, 'manifests', 'examples', 'namespaces.yaml'), 'utf8'))) {
      await api.create('/api/v1/namespaces', d.toJS());
    }
    // The shipped webhook configurations, pointed at a local serve, WITHOUT a caBundle.
    [port, healthPort] = [await freePort(), await freePort()];
    for (const c of await shippedWebhooks(`https://127.0.0.1:${port}`, '')) {
      for (const w of c.webhooks) delete w.clientConfig.caBundle;
      await api.create(`${WEBHOOKS}/${c.kind === 'ValidatingWebhookConfiguration' ? 'validating' : 'mutating'}webhookconfigurations`, c);
    }

    const log = (level: string) => (obj: object, msg: string) => void managerLog.push(`${level} ${msg} ${JSON.stringify(obj)}`);
    // What the controller does: the defaults, plus the IP SAN the url-addressed webhooks need here.
    manager = createCertManager({
      api,
      settings: { ...DEFAULT_CERT_SETTINGS, ipAddresses: ['127.0.0.1'], checkIntervalMs: 300, caRolloutDelayMs: 3_000 },
      registry,
      logger: { info: log('info'), warn: log('warn'), error: log('error'), debug: () => undefined },
    });
    manager.start({ isLeader: () => true });
    const deadline = Date.now() + 30_000;
    while (!(await new KubeSecretStore(api, NS, SECRET).read())) {
      if (Date.now() > deadline) throw new Error(`secret never created:\n${managerLog.join('\n')}`);
      await sleep(100);
    }

    dir = mkdtempSync(path.join(os.tmpdir(), 'redline-secret-volume-'));
    mirror = await SecretDirMirror.create({ kubeConfig: kc, namespace: NS, name: SECRET, dir, intervalMs: 300 });
    await mirror.sync();
    mirror.start();
    serve = spawn(
      process.execPath,
      // --no-ledger: dozens of creates on plan free during the rotation would exceed its tenantTotals
      // (the ledger has its own suite).
      [CLI, 'serve', '--tls-secret-dir', dir, '--kubeconfig', cp.adminKubeconfig, '--port', String(port), '--health-port', String(healthPort), '--address', '127.0.0.1', '--no-ledger'],
      { cwd: ROOT, env: { ...process.env, REDLINE_CERT_RELOAD_INTERVAL_MS: '250' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    serve.stdout!.on('data', (d: Buffer) => (serveOut += d.toString()));
    serve.stderr!.on('data', (d: Buffer) => (serveOut += d.toString()));
    for (;;) {
      if (serve.exitCode !== null) throw new Error(`serve exited ${serve.exitCode}:\n${serveOut}`);
      try {
        if ((await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200) break;
      } catch {
        // not yet
      }
      if (Date.now() > deadline + 30_000) throw new Error(`serve not ready:\n${serveOut}`);
      await sleep(100);
    }
    // The API server picks webhook configurations up asynchronously: wait until it calls us.
    for (;;) {
      const v = await verdict(0, true);
      if (v.outcome === 'denied') break;
      if (Date.now() > deadline + 60_000) throw new Error(`webhook never called: ${JSON.stringify(v)}\n${serveOut.slice(-3000)}`);
      await sleep(200);
    }
  }, 150_000);

  afterAll(async () => {
    await manager?.stop();
    await mirror?.stop();
    if (serve && serve.exitCode === null) {
      const exited = new Promise((r) => serve!.once('exit', r));
      serve.kill('SIGTERM');
      await exited;
    }
    api?.close();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  /**
   * One admission round trip through the API server. Even i: a KubeDB Redis that /mutate must patch
   * (spec.tls.issuerRef proves Redline answered: the mutating webhook fails open). Odd i (or probe):
   * a PodDisruptionBudget /validate must deny with Redline's message.
   */
  async function verdict(i: number, probe = false): Promise<{ outcome: 'mutated' | 'denied' | 'wrong'; detail: string }> {
    const name = `obj-${i}-${Date.now().toString(36)}`;
    try {
      if (i % 2 === 0 && !probe) {
        const obj = await api.create<{ spec?: { tls?: { issuerRef?: { name?: string } } } }>('/apis/kubedb.com/v1/namespaces/tenant-free/redises', {
          apiVersion: 'kubedb.com/v1',
          kind: 'Redis',
          metadata: { name, namespace: 'tenant-free' },
          spec: { version: '7.2.4', mode: 'Standalone', storageType: 'Ephemeral', podTemplate: { spec: { containers: [{ name: 'redis', resources: { limits: { memory: '128Mi', cpu: '100m' } } }] } } },
        });
        return obj.spec?.tls?.issuerRef?.name === 'redline-redis-ca' ? { outcome: 'mutated', detail: name } : { outcome: 'wrong', detail: `${name} stored unmutated` };
      }
      await api.request({
        method: 'POST',
        path: '/apis/policy/v1beta1/namespaces/tenant-standard/poddisruptionbudgets',
        ...(probe ? { query: { dryRun: 'All' } } : {}),
        body: { apiVersion: 'policy/v1beta1', kind: 'PodDisruptionBudget', metadata: { name, namespace: 'tenant-standard' }, spec: { maxUnavailable: 0, selector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } } } },
      });
      return { outcome: 'wrong', detail: `${name} admitted` };
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (e instanceof ApiError && e.status === 403 && msg.includes('admission webhook "validate.redline.dev" denied the request') && msg.includes('blocks node drains')) {
        return { outcome: 'denied', detail: name };
      }
      return { outcome: 'wrong', detail: msg };
    }
  }

  it('creates the Secret and injects the caBundle into every webhook entry, owning only caBundle', async () => {
    const { snap, state } = await secretState();
    expect(snap.type).toBe('kubernetes.io/tls');
    expect(snap.labels['app.kubernetes.io/managed-by']).toBe('redline');
    const serving = parseCertificate(state.serving.certPem);
    expect(serving.dnsNames).toEqual(expect.arrayContaining(['redline-webhook.redline-system.svc', 'redline-webhook.redline-system.svc.cluster.local']));
    expect(serving.ipAddresses).toEqual(['127.0.0.1']);
    const bundle = state.caBundle.join('');
    for (const kind of ['validating', 'mutating'] as const) {
      const c = await config(kind);
      expect(c.webhooks.length).toBeGreaterThan(0);
      for (const w of c.webhooks) {
        expect(Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString()).toBe(bundle);
        expect(w.clientConfig.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//); // untouched
      }
      const mine = c.metadata.managedFields?.filter((m) => m.manager === CA_INJECTOR_FIELD_MANAGER) ?? [];
      expect(mine).toHaveLength(1);
      expect(mine[0]!.operation).toBe('Apply');
      // Owns per entry exactly: the entry (key) and clientConfig.caBundle.
      const entries = (mine[0]!.fieldsV1 as { 'f:webhooks': Record<string, unknown> })['f:webhooks'];
      for (const [key, fields] of Object.entries(entries)) {
        expect(key).toMatch(/^k:\{"name":".+"\}$/);
        expect(fields).toEqual({ '.': {}, 'f:name': {}, 'f:clientConfig': { 'f:caBundle': {} } });
      }
    }
    // The webhook serves exactly that certificate.
    expect(await servedSerial(port, bundle)).toBe(serving.serialHex);
  });

  it('admission keeps working across `redline certs rotate --ca`; old CA kept in the bundle', async () => {
    const before = await secretState();
    const oldCa = before.state.ca.certPem;
    const results: Array<{ phase: string; outcome: string; detail: string }> = [];
    let phase = 'before';
    let running = true;
    const loop = (async () => {
      for (let i = 0; running; i++) {
        results.push({ phase, ...(await verdict(i)) });
        await sleep(30); // the pace of the traffic (a fixed pause on purpose)
      }
    })();
    await until('six verdicts before the rotation', () => results.length >= 6, 30_000, 20);

    phase = 'during';
    const rotated = await certsCli(['rotate', '--ca', '--kubeconfig', cp.adminKubeconfig, '--namespace', NS, '--secret', SECRET, '--timeout', '90']);
    expect(rotated.code, `${rotated.stdout}\n${rotated.stderr}\n${managerLog.join('\n')}`).toBe(0);
    expect(rotated.stdout).toContain('rotated: serving certificate');

    const after = await secretState();
    const newServing = parseCertificate(after.state.serving.certPem);
    expect(after.state.ca.certPem).not.toBe(oldCa);
    expect(isIssuedBy(after.state.serving.certPem, after.state.ca.certPem)).toBe(true);
    expect(after.state.caBundle).toEqual([after.state.ca.certPem, oldCa]);
    for (const kind of ['validating', 'mutating'] as const) {
      for (const w of (await config(kind)).webhooks) {
        expect(splitPemBundle(Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString())).toEqual(after.state.caBundle);
      }
    }
    // serve switches to the new certificate (kubelet-style mirror + hot reload)...
    const deadline = Date.now() + 20_000;
    while ((await servedSerial(port, after.state.caBundle.join(''))) !== newServing.serialHex) {
      if (Date.now() > deadline) throw new Error(`serve never switched:\n${serveOut.slice(-2000)}`);
      await sleep(100);
    }
    phase = 'after';
    const n = results.length;
    await until('six verdicts after the switch', () => results.length >= n + 6, 30_000, 20);
    running = false;
    await loop;

    const wrong = results.filter((r) => r.outcome === 'wrong');
    expect(wrong, JSON.stringify(wrong.slice(0, 5))).toEqual([]);
    for (const p of ['before', 'during', 'after']) {
      expect(results.filter((r) => r.phase === p && r.outcome === 'mutated').length, p).toBeGreaterThan(0);
      expect(results.filter((r) => r.phase === p && r.outcome === 'denied').length, p).toBeGreaterThan(0);
    }
    console.log(`certs e2e: ${results.length} objects through the webhooks (${results.filter((r) => r.phase === 'during').length} during the rotation), 0 failed`);
    // No TLS handshake failed on serve's side (the API server never distrusted what it was served).
    const serveMetrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    expect(serveMetrics).not.toMatch(/redline_errors_total\{kind="tls"\} [1-9]/);
    expect(serveMetrics).toContain(`redline_certificate_expiry_timestamp_seconds{certificate="serving",serial="${newServing.serialHex}"}`);
    const metrics = await registry.metrics();
    expect(metrics).toContain('redline_certificate_rotations_total{certificate="ca"} 2');
    expect(metrics).toContain(`redline_certificate_expiry_timestamp_seconds{certificate="serving",serial="${newServing.serialHex}"}`);
  }, 120_000);

  it('`redline certs show` on the Secret and on the mounted directory', async () => {
    const { state } = await secretState();
    const serial = parseCertificate(state.serving.certPem).serialHex;
    const fromSecret = await certsCli(['show', '--kubeconfig', cp.adminKubeconfig]);
    expect(fromSecret.code, fromSecret.stderr).toBe(0);
    expect(fromSecret.stdout).toContain(`Secret ${NS}/${SECRET} (managed by Redline)`);
    expect(fromSecret.stdout).toContain(`serial:       ${serial}`);
    expect(fromSecret.stdout).toContain('IP addresses: 127.0.0.1');
    expect(fromSecret.stdout).toContain('CA bundle (2)');
    expect(fromSecret.stdout).toMatch(/\[current, signed the serving certificate\]/);
    expect(fromSecret.stdout).toMatch(/\[previous\]/);
    const fromDir = await certsCli(['show', '--dir', dir, '--output', 'json']);
    expect(fromDir.code, fromDir.stderr).toBe(0);
    const report = JSON.parse(fromDir.stdout) as { serving: { serial: string; ready: boolean }; caBundle: unknown[] };
    expect(report.serving.serial).toBe(serial);
    expect(report.serving.ready).toBe(true);
    expect(report.caBundle).toHaveLength(2);
  }, 60_000);

  it('json-patch injection strategy (an Update-operation owner) on a configuration that matches nothing', async () => {
    await api.create(`${WEBHOOKS}/validatingwebhookconfigurations`, {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'redline-inert' },
      webhooks: [{
        name: 'inert.redline.dev', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore',
        clientConfig: { url: 'https://127.0.0.1:1/validate' },
        namespaceSelector: { matchLabels: { 'redline.dev/never': 'true' } },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], operations: ['CREATE'] }],
      }],
    });
    const injector = new KubeCaBundleInjector(api, { validating: 'redline-inert', mutating: null, strategy: 'json-patch' });
    const { state } = await secretState();
    const r = await injector.inject(state.caBundle.join(''));
    expect(r).toEqual({ complete: true, targets: [{ kind: 'ValidatingWebhookConfiguration', name: 'redline-inert', found: true, webhooks: 1, changed: 1 }] });
    expect((await injector.inject(state.caBundle.join(''))).targets[0]!.changed).toBe(0);
    const c = await api.get<WebhookConfig>(`${WEBHOOKS}/validatingwebhookconfigurations/redline-inert`);
    expect(Buffer.from(c.webhooks[0]!.clientConfig.caBundle!, 'base64').toString()).toBe(state.caBundle.join(''));
    expect(c.metadata.managedFields?.find((m) => m.manager === CA_INJECTOR_FIELD_MANAGER)?.operation).toBe('Update');
    const missing = await new KubeCaBundleInjector(api, { validating: 'nope', mutating: null }).inject('x');
    expect(missing.complete).toBe(false);
    expect(missing.targets[0]!.found).toBe(false);
  });
});
