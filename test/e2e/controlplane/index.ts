/**
 * A real, throw-away Kubernetes control plane (etcd + kube-apiserver v1.20.2) on loopback,
 * for the e2e suite. Provision the binaries first with `bash test/e2e/controlplane/provision.sh`.
 *
 * No kube-controller-manager runs: there is no namespace controller (deleted namespaces stay
 * Terminating), no service-account/token controller (no `default` ServiceAccount in new
 * namespaces), no garbage collector. The API server, its admission chain (including webhooks),
 * RBAC and CRDs are real.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, generateKeyPairSync, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { sleep } from '../../helpers/wait.js';

export interface ControlPlaneUser {
  name: string;
  token: string;
  groups: string[];
  uid?: string;
}

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  url: string;
  /** PEM of the CA that signed the API server's serving certificate. */
  caPem: string;
  /** Temp dir with data, certs, kubeconfigs and logs. */
  dir: string;
  /** Path to a kubeconfig file (token auth) for a known user; written on first call. */
  kubeconfigFor(user: string): string;
  /** Kubeconfig path for user "admin" (group system:masters). */
  adminKubeconfig: string;
  users: Record<string, ControlPlaneUser>;
  /** Log file paths. */
  logs(): { etcd: string; apiserver: string };
  /** PIDs of the child processes (for leak checks). */
  pids: { etcd: number; apiserver: number };
  /** Kills both processes (SIGTERM, SIGKILL after 5 s); idempotent; removes `dir` unless REDLINE_KEEP_E2E=1. */
  stop(): Promise<void>;
}

export interface StartControlPlaneOptions {
  /** Extra users for the token file; "admin" (system:masters) is always present. */
  users?: ControlPlaneUser[];
  /**
   * Extra kube-apiserver flags, `--name=value`. A flag named here replaces the default flag of
   * the same name (so e.g. `--enable-admission-plugins=...` overrides the default list).
   */
  extraApiserverFlags?: string[];
}

export const KUBE_VERSION = 'v1.20.2';
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

/** Same rule as provision.sh: ${REDLINE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/redline} */
export function cacheDir(): string {
  if (process.env.REDLINE_CACHE_DIR) return process.env.REDLINE_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'redline');
}

const PROVISION_HINT = 'run `bash test/e2e/controlplane/provision.sh` (from the repo root) to install etcd and build it';

/** Path of the provisioned kube-apiserver (env REDLINE_KUBE_APISERVER overrides). Throws if missing. */
export function apiserverBinary(): string {
  const bin = process.env.REDLINE_KUBE_APISERVER || path.join(cacheDir(), 'kube-1.20.2', 'kube-apiserver');
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    throw new Error(`kube-apiserver ${KUBE_VERSION} not found at ${bin}: ${PROVISION_HINT}`);
  }
  return bin;
}

/** Path of etcd (env REDLINE_ETCD overrides; else PATH, else /usr/bin/etcd). Throws if missing. */
export function etcdBinary(): string {
  const candidates = process.env.REDLINE_ETCD
    ? [process.env.REDLINE_ETCD]
    : [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, 'etcd')), '/usr/bin/etcd'];
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  throw new Error(`etcd not found (looked on PATH and /usr/bin/etcd): ${PROVISION_HINT}`);
}

/** A currently free loopback TCP port (bind port 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not pick a free port'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// child process bookkeeping: children must never outlive the test worker

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

let setprivPath: string | null | undefined;
function setpriv(): string | null {
  if (setprivPath === undefined) {
    setprivPath = null;
    for (const p of ['/usr/bin/setpriv', '/bin/setpriv']) {
      try {
        fs.accessSync(p, fs.constants.X_OK);
        setprivPath = p;
        break;
      } catch {
        /* next */
      }
    }
  }
  return setprivPath;
}

function spawnLogged(bin: string, args: string[], logFile: string): ChildProcess {
  installExitHook();
  const fd = fs.openSync(logFile, 'a');
  // setpriv --pdeathsig KILL: the kernel kills the child if this (worker) process dies abruptly,
  // e.g. on SIGKILL, where no 'exit' handler runs. setpriv execs, so the PID is the real binary's.
  const sp = setpriv();
  const [cmd, argv] = sp ? [sp, ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, args];
  const child = spawn(cmd, argv, { stdio: ['ignore', fd, fd], detached: false });
  fs.closeSync(fd);
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
  return child;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function killChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.pid === undefined || exited(child)) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (!exited(child)) child.kill('SIGKILL');
  }, STOP_GRACE_MS);
  await done;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// small helpers

function tail(file: string, lines: number): string {
  try {
    const all = fs.readFileSync(file, 'utf8').split('\n');
    return all.slice(Math.max(0, all.length - lines - 1)).join('\n');
  } catch {
    return '(no log)';
  }
}


interface HttpResult {
  status: number;
  body: string;
}

function request(
  url: string,
  opts: { method?: string; token?: string; ca?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    const reqOpts: https.RequestOptions = {
      method: opts.method ?? 'GET',
      headers,
      ca: opts.ca,
      timeout: opts.timeoutMs ?? 5_000,
    };
    const cb = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const req = u.protocol === 'https:' ? https.request(u, reqOpts, cb) : http.request(u, reqOpts, cb);
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** The self-signed root in a PEM bundle (subject == issuer), or the whole bundle if none. */
function extractCa(bundle: string): string {
  const pems = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  for (const pem of pems) {
    try {
      const x = new X509Certificate(pem);
      if (x.subject === x.issuer && x.ca) return pem + '\n';
    } catch {
      /* skip */
    }
  }
  return bundle;
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function flagName(flag: string): string {
  return flag.replace(/^--?/, '').split('=')[0] ?? flag;
}

// ---------------------------------------------------------------------------------------------

class StartError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/**
 * Start etcd + kube-apiserver on free loopback ports and wait until the API server is ready
 * (GET /readyz == 200, namespace "default" exists, a namespace can be created).
 */
export async function startControlPlane(opts: StartControlPlaneOptions = {}): Promise<ControlPlane> {
  // Ports are picked by binding port 0 and released before the servers bind them; a concurrent
  // process may grab one in between. Retry on "address already in use".
  let lastErr: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      lastErr = err;
      if (!(err instanceof StartError) || !err.retryable) throw err;
    }
  }
  throw lastErr;
}

async function startOnce(opts: StartControlPlaneOptions): Promise<ControlPlane> {
  const apiserverBin = apiserverBinary();
  const etcdBin = etcdBinary();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redline-cp-'));
  const certDir = path.join(dir, 'certs');
  const etcdData = path.join(dir, 'etcd');
  fs.mkdirSync(certDir, { recursive: true, mode: 0o700 });
  const etcdLog = path.join(dir, 'etcd.log');
  const apiserverLog = path.join(dir, 'apiserver.log');

  // users + token file
  const users: Record<string, ControlPlaneUser> = {};
  const admin: ControlPlaneUser = {
    name: 'admin',
    token: randomBytes(24).toString('hex'),
    groups: ['system:masters'],
    uid: 'admin',
  };
  for (const u of [admin, ...(opts.users ?? [])]) {
    if (!u.name || !u.token) throw new Error(`control plane user needs a name and a token: ${JSON.stringify(u)}`);
    users[u.name] = { ...u, groups: [...u.groups] };
  }
  const tokenFile = path.join(dir, 'tokens.csv');
  fs.writeFileSync(
    tokenFile,
    Object.values(users)
      .map((u) => [u.token, u.name, u.uid ?? u.name, u.groups.join(',')].map(csvField).join(',') + '\n')
      .join(''),
    { mode: 0o600 },
  );

  // service-account signing key
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = path.join(dir, 'sa.key');
  const saPub = path.join(dir, 'sa.pub');
  fs.writeFileSync(saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  fs.writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));

  const [clientPort, peerPort, securePort] = await Promise.all([freePort(), freePort(), freePort()]);
  const etcdUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const url = `https://127.0.0.1:${securePort}`;

  let etcd: ChildProcess | undefined;
  let apiserver: ChildProcess | undefined;
  let stopping: Promise<void> | undefined;
  const keep = process.env.REDLINE_KEEP_E2E === '1';

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await killChild(apiserver);
      await killChild(etcd);
      if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const fail = async (what: string, log: string): Promise<never> => {
    const logText = tail(log, 30);
    const retryable = /address already in use/i.test(logText);
    await killChild(apiserver);
    await killChild(etcd);
    const where = keep ? `kept in ${dir}` : 'temp dir removed; set REDLINE_KEEP_E2E=1 to keep it';
    const msg = `${what}\n--- last 30 lines of ${path.basename(log)} (${where}) ---\n${logText}`;
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    throw new StartError(msg, retryable);
  };

  try {
    // ---- etcd
    etcd = spawnLogged(
      etcdBin,
      [
        '--name=redline-e2e',
        `--data-dir=${etcdData}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=redline-e2e=${peerUrl}`,
        '--initial-cluster-state=new',
        '--quota-backend-bytes=268435456', // 256 MiB
        '--snapshot-count=5000',
        '--max-snapshots=1',
        '--max-wals=1',
        '--log-level=warn',
        '--logger=zap',
      ],
      etcdLog,
    );
    const etcdDeadline = Date.now() + 20_000;
    for (;;) {
      if (exited(etcd)) await fail(`etcd exited early (code ${etcd.exitCode}, signal ${etcd.signalCode})`, etcdLog);
      try {
        const r = await request(`${etcdUrl}/health`, { timeoutMs: 1_000 });
        if (r.status === 200 && r.body.includes('true')) break;
      } catch {
        /* not up yet */
      }
      if (Date.now() > etcdDeadline) await fail('etcd not healthy after 20 s', etcdLog);
      await sleep(100);
    }

    // ---- kube-apiserver
    const defaults = [
      `--etcd-servers=${etcdUrl}`,
      `--secure-port=${securePort}`,
      '--insecure-port=0', // 1.20 still binds 127.0.0.1:8080 by default; would collide between parallel control planes
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--cert-dir=${certDir}`,
      `--token-auth-file=${tokenFile}`,
      '--anonymous-auth=false',
      '--authorization-mode=RBAC',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ResourceQuota,LimitRanger',
      '--allow-privileged=true',
      // no kubelets/controllers: keep the "kubernetes" Endpoints reconciler (loopback IPs are invalid there) quiet
      '--endpoint-reconciler-type=none',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--v=1',
    ];
    const extra = opts.extraApiserverFlags ?? [];
    const overridden = new Set(extra.map(flagName));
    const args = [...defaults.filter((f) => !overridden.has(flagName(f))), ...extra];
    apiserver = spawnLogged(apiserverBin, args, apiserverLog);

    // The serving cert is self-signed by the API server at startup into --cert-dir
    // (apiserver.crt = leaf for 127.0.0.1/localhost + its own CA). Wait for it.
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const crtFile = path.join(certDir, 'apiserver.crt');
    let caPem = '';
    let lastStatus = 'no response yet';
    const adminToken = admin.token;
    const tlsCertFromFlags = args.find((a) => flagName(a) === 'tls-cert-file');
    for (;;) {
      if (exited(apiserver)) {
        await fail(`kube-apiserver exited early (code ${apiserver.exitCode}, signal ${apiserver.signalCode})`, apiserverLog);
      }
      if (exited(etcd)) await fail('etcd died while kube-apiserver was starting', etcdLog);
      if (!caPem) {
        const f = tlsCertFromFlags ? tlsCertFromFlags.split('=').slice(1).join('=') : crtFile;
        if (fs.existsSync(f)) caPem = extractCa(fs.readFileSync(f, 'utf8'));
      }
      if (caPem) {
        try {
          const r = await request(`${url}/readyz`, { token: adminToken, ca: caPem, timeoutMs: 2_000 });
          lastStatus = `HTTP ${r.status}: ${r.body.slice(0, 500)}`;
          if (r.status === 200) break;
        } catch (e) {
          lastStatus = String(e);
        }
      }
      if (Date.now() > deadline) {
        await fail(`kube-apiserver not ready after ${READY_TIMEOUT_MS / 1000} s (last /readyz: ${lastStatus})`, apiserverLog);
      }
      await sleep(250);
    }

    // default namespace present and namespace creation works (dry run: no namespace controller to clean up)
    for (;;) {
      let ok = false;
      try {
        const ns = await request(`${url}/api/v1/namespaces/default`, { token: adminToken, ca: caPem });
        if (ns.status === 200) {
          const probe = await request(`${url}/api/v1/namespaces?dryRun=All`, {
            method: 'POST',
            token: adminToken,
            ca: caPem,
            body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'redline-readiness-probe' } },
          });
          lastStatus = `create namespace (dry run): HTTP ${probe.status}: ${probe.body.slice(0, 300)}`;
          ok = probe.status === 201 || probe.status === 200;
        } else {
          lastStatus = `GET namespace default: HTTP ${ns.status}`;
        }
      } catch (e) {
        lastStatus = String(e);
      }
      if (ok) break;
      if (exited(apiserver)) await fail('kube-apiserver exited', apiserverLog);
      if (Date.now() > deadline) await fail(`kube-apiserver not usable after ${READY_TIMEOUT_MS / 1000} s (${lastStatus})`, apiserverLog);
      await sleep(250);
    }

    const kubeconfigs = new Map<string, string>();
    const kubeconfigFor = (user: string): string => {
      const u = users[user];
      if (!u) throw new Error(`unknown control plane user "${user}" (known: ${Object.keys(users).join(', ')})`);
      let file = kubeconfigs.get(user);
      if (!file) {
        file = path.join(dir, `kubeconfig-${user.replace(/[^A-Za-z0-9_.-]/g, '_')}.yaml`);
        const doc = {
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'redline-e2e', cluster: { server: url, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
          users: [{ name: user, user: { token: u.token } }],
          contexts: [{ name: user, context: { cluster: 'redline-e2e', user, namespace: 'default' } }],
          'current-context': user,
        };
        fs.writeFileSync(file, YAML.stringify(doc), { mode: 0o600 });
        kubeconfigs.set(user, file);
      }
      return file;
    };
    const adminKubeconfig = kubeconfigFor('admin');
    const pids = { etcd: etcd.pid ?? -1, apiserver: apiserver.pid ?? -1 };

    return {
      url,
      caPem,
      dir,
      kubeconfigFor,
      adminKubeconfig,
      users,
      logs: () => ({ etcd: etcdLog, apiserver: apiserverLog }),
      pids,
      stop,
    };
  } catch (err) {
    // anything unexpected: never leave processes behind
    await killChild(apiserver);
    await killChild(etcd);
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
