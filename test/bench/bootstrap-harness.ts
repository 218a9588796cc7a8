// Shared by the bootstrap e2e tests and the bootstrap benchmark: a real control plane with the
// CRDs and Redline's RBAC installed, `redline controller` as a real child process running as its
// service account, an admin client, a fault-injecting HTTP proxy, and small polling helpers.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import YAML from 'yaml';
import { KubeApi, resourcePath, type KubeObject } from '../../kube/api-client.js';
import { installCrds } from '../e2e/controlplane/crds.js';
import { freePort, startControlPlane, type ControlPlane, type ControlPlaneUser } from '../e2e/controlplane/index.js';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'manifests'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('repo root not found');
    dir = up;
  }
}
export const ROOT = findRoot();

export const CONTROLLER_USER = 'system:serviceaccount:redline-system:redline-controller';
export const CONTROLLER_GROUPS = ['system:serviceaccounts', 'system:serviceaccounts:redline-system'];

import { sleep, until } from '../helpers/wait.js';

export { sleep, until };

export async function apiFor(kubeconfigPath: string): Promise<KubeApi> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return KubeApi.create({ kubeConfig: kc, timeoutMs: 15_000 });
}

export interface BootstrapCluster {
  cp: ControlPlane;
  admin: KubeApi;
  /** kubeconfig of the controller's service account, direct to the API server. */
  controllerKubeconfig: string;
}

/** Control plane + CRDs + redline-system/redline-ledger/kubedb/monitoring namespaces + Redline's RBAC manifests. */
export async function startBootstrapCluster(users: ControlPlaneUser[] = []): Promise<BootstrapCluster> {
  const cp = await startControlPlane({
    users: [{ name: CONTROLLER_USER, token: randomBytes(16).toString('hex'), groups: CONTROLLER_GROUPS }, ...users],
  });
  try {
    await installCrds(cp.adminKubeconfig);
    const admin = await apiFor(cp.adminKubeconfig);
    for (const name of ['redline-system', 'redline-ledger', 'kubedb', 'monitoring']) {
      await admin.create(resourcePath('v1', 'namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } });
    }
    await applyManifests(admin, path.join(ROOT, 'manifests', 'base', 'rbac-tenant.yaml'));
    await applyManifests(admin, path.join(ROOT, 'manifests', 'base', 'rbac-controller.yaml'));
    await installTenantCrd(admin);
    return { cp, admin, controllerKubeconfig: cp.kubeconfigFor(CONTROLLER_USER) };
  } catch (e) {
    await cp.stop();
    throw e;
  }
}

const PLURALS: Record<string, string> = {
  ServiceAccount: 'serviceaccounts',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  Namespace: 'namespaces',
  CustomResourceDefinition: 'customresourcedefinitions',
};

/** The bundle's Tenant CRD (manifests/base/tenant-crd.yaml, or as rendered), applied and waited for until Tenants are served. */
export async function installTenantCrd(api: KubeApi, timeoutMs = 30_000, rendered?: object): Promise<void> {
  if (rendered) await api.apply(rendered as KubeObject, 'customresourcedefinitions', { force: true, fieldManager: 'redline-e2e-admin' });
  else await applyManifests(api, path.join(ROOT, 'manifests', 'base', 'tenant-crd.yaml'));
  await until('tenants.redline.dev Established and served', async () => {
    const crd = await api.get<{ status?: { conditions?: { type: string; status: string }[] } }>(resourcePath('apiextensions.k8s.io/v1', 'customresourcedefinitions', undefined, 'tenants.redline.dev'));
    if (crd.status?.conditions?.find((c) => c.type === 'Established')?.status !== 'True') return false;
    await api.get(resourcePath('redline.dev/v1alpha1', 'tenants'));
    return true;
  }, timeoutMs, 50);
}

export async function applyManifests(api: KubeApi, file: string): Promise<void> {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
    const obj = doc.toJS() as KubeObject | null;
    if (!obj) continue;
    const plural = PLURALS[obj.kind];
    if (!plural) throw new Error(`${file}: no plural known for ${obj.kind}`);
    await api.apply(obj, plural, { force: true, fieldManager: 'redline-e2e-admin' });
  }
}

/** A kubeconfig for `user` (token from the control plane) pointing at `server` (e.g. a proxy). */
export function kubeconfigVia(cp: ControlPlane, user: string, server: string): string {
  const u = cp.users[user];
  if (!u) throw new Error(`unknown user ${user}`);
  const file = path.join(cp.dir, `kubeconfig-via-${randomBytes(4).toString('hex')}.yaml`);
  const cluster: Record<string, string> = { server };
  if (server.startsWith('https:')) cluster['certificate-authority-data'] = Buffer.from(cp.caPem).toString('base64');
  // client-node refuses plain HTTP unless TLS verification is explicitly off (there is no TLS).
  else (cluster as Record<string, unknown>)['insecure-skip-tls-verify'] = true;
  fs.writeFileSync(
    file,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user: { token: u.token } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
    { mode: 0o600 },
  );
  return file;
}

// ---------------------------------------------------------------------------------------------
// The controller as a child process

export interface ControllerProcess {
  child: ChildProcess;
  pid: number;
  healthPort: number;
  identity: string;
  logFile: string;
  /** GET on the health port: status + body. */
  http(pathname: string): Promise<{ status: number; body: string }>;
  /** Parsed Prometheus samples: "name{labels}" → value. */
  metrics(): Promise<Map<string, number>>;
  waitReady(timeoutMs?: number): Promise<void>;
  /** Sends a signal and waits for the exit (SIGKILL after 10 s). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited(): boolean;
  tail(lines?: number): string;
}

/** How to run `redline controller`: through cli/main.js when it dispatches it, else cli/controller.js directly. */
export function controllerCommand(): string[] {
  const main = path.join(ROOT, 'dist', 'cli', 'main.js');
  const direct = path.join(ROOT, 'dist', 'cli', 'controller.js');
  if (!fs.existsSync(direct)) throw new Error(`${direct} is missing: run npm run build first`);
  if (fs.existsSync(main) && fs.readFileSync(main, 'utf8').includes('controller.js')) return [main, 'controller'];
  return ['--input-type=module', '-e', `import(${JSON.stringify(direct)}).then((m) => m.main(process.argv.slice(1))).then((c) => { process.exitCode = c; })`, '--'];
}

export async function spawnController(opts: { kubeconfig: string; identity: string; config?: Record<string, unknown>; env?: NodeJS.ProcessEnv; dir: string }): Promise<ControllerProcess> {
  const healthPort = await freePort();
  const configFile = path.join(opts.dir, `controller-${opts.identity}.yaml`);
  fs.writeFileSync(configFile, YAML.stringify({ controller: { healthPort, logLevel: 'info', ...opts.config, leaderElection: { identity: opts.identity, ...((opts.config?.['leaderElection'] as object) ?? {}) } } }));
  const logFile = path.join(opts.dir, `controller-${opts.identity}.log`);
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [...controllerCommand(), '--config', configFile, '--kubeconfig', opts.kubeconfig], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  const exitCode = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  process.once('exit', () => child.kill('SIGKILL'));
  const get = (pathname: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: healthPort, path: pathname, timeout: 5_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
    });
  const tail = (lines = 40): string => {
    try {
      return fs.readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  const proc: ControllerProcess = {
    child,
    pid: child.pid ?? -1,
    healthPort,
    identity: opts.identity,
    logFile,
    http: get,
    async metrics() {
      return parseMetrics((await get('/metrics')).body);
    },
    async waitReady(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (proc.exited()) throw new Error(`controller ${opts.identity} exited (code ${child.exitCode}):\n${tail()}`);
        if ((await get('/readyz').catch(() => ({ status: 0 }))).status === 200) return;
        if (Date.now() > deadline) throw new Error(`controller ${opts.identity} not ready after ${timeoutMs} ms\n--- controller log ---\n${tail()}`);
        await sleep(50);
      }
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exited()) return child.exitCode;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exitCode;
      clearTimeout(t);
      return code;
    },
    exited: () => child.exitCode !== null || child.signalCode !== null,
    tail,
  };
  return proc;
}

export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Sum of the samples of metric `name` whose labels match all of `labels`. */
export function metricSum(m: Map<string, number>, name: string, labels: Record<string, string | RegExp> = {}): number {
  let sum = 0;
  for (const [k, v] of m) {
    if (!(k === name || k.startsWith(`${name}{`))) continue;
    const ok = Object.entries(labels).every(([lk, lv]) => {
      const match = new RegExp(`${lk}="([^"]*)"`).exec(k);
      return match !== null && (typeof lv === 'string' ? match[1] === lv : lv.test(match[1]!));
    });
    if (ok) sum += v;
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Fault-injecting proxy (plain HTTP in, HTTPS to the API server)

export interface InjectRule {
  method?: string;
  pathIncludes?: string;
  status: number;
  reason?: string;
  message?: string;
  times: number;
}

export class FaultProxy {
  readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly upstreamAgent: https.Agent;
  private readonly rules: InjectRule[] = [];
  private blackholed = false;
  readonly stats = { forwarded: 0, injected: 0, dropped: 0 };

  constructor(
    private readonly upstream: string,
    caPem: string,
  ) {
    this.upstreamAgent = new https.Agent({ ca: caPem, keepAlive: true });
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      if (this.blackholed) {
        s.destroy();
        return;
      }
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    const addr = this.server.address() as net.AddressInfo;
    return `http://127.0.0.1:${addr.port}`;
  }

  inject(rule: InjectRule): void {
    this.rules.push({ ...rule });
  }

  clearRules(): void {
    this.rules.length = 0;
  }

  /** Cuts every open connection (in-flight requests and watches). */
  dropAll(): number {
    const n = this.sockets.size;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.upstreamAgent.destroy();
    this.stats.dropped += n;
    return n;
  }

  /** While on, new connections are closed at once (and open ones are cut). */
  blackhole(on: boolean): void {
    this.blackholed = on;
    if (on) this.dropAll();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const rule = this.rules.find((r) => r.times > 0 && (!r.method || r.method === req.method) && (!r.pathIncludes || (req.url ?? '').includes(r.pathIncludes)));
    if (rule) {
      rule.times--;
      this.stats.injected++;
      req.resume();
      const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: rule.message ?? `injected ${rule.status}`, reason: rule.reason ?? 'InternalError', code: rule.status });
      res.writeHead(rule.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    this.stats.forwarded++;
    const headers = { ...req.headers };
    delete headers.host;
    let upRes: http.IncomingMessage | undefined;
    const up = https.request(`${this.upstream}${req.url}`, { method: req.method, headers, agent: this.upstreamAgent }, (ur) => {
      upRes = ur;
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
      ur.on('error', () => res.destroy());
    });
    up.on('error', (e) => {
      if (!res.headersSent) {
        const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `proxy: ${e.message}`, reason: 'ServiceUnavailable', code: 503 });
        res.writeHead(503, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      } else res.destroy();
    });
    res.on('close', () => {
      if (!upRes?.complete) up.destroy(); // the client went away mid-stream (a dropped watch)
    });
    req.pipe(up);
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A private temp dir for controller configs and logs. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function annotationOf(ns: KubeObject | undefined): { plan: string; hash: string; time: string } | undefined {
  const v = ns?.metadata.annotations?.['redline.dev/bootstrap'];
  return v ? (JSON.parse(v) as { plan: string; hash: string; time: string }) : undefined;
}
