// bench:apiserver — what Redline's webhook pair adds to a create through a real kube-apiserver, at
// one request at a time, against what a bare node:https webhook pair adds.
//
// One e2e control plane (etcd + kube-apiserver, test/e2e/controlplane), three namespaces:
//   none    no webhook selects it
//   bare    selected by a bare node:https mutating + validating pair (this file, --bare-server):
//           JSON.parse, answer allowed, same certificate, same webhook settings as Redline's
//   redline a tenant namespace (redline.dev/tenant, plan free) served by the real `redline serve`
//           (dist/cli/main.js) with the shipped webhook configurations (manifests/base/webhooks.yaml)
// Creates of a compliant KubeDB Redis (admitted with an empty patch) go to the three namespaces one
// at a time, interleaved (the order rotates every round), so a change in the shared host's load
// hits all three alike. Every create must answer 201. Prints median and p90 of each, the ratio
// (redline − none) / (bare − none) on medians (target ≤ 1.2), the host's steal share during the
// measurement, and each server's own time per webhook call, per endpoint: Redline's `durationMs`
// from its log, the bare server's the same interval (request handler → after the answer's
// `res.end()`), which it keeps in memory, storing each value after its answer, and hands over on
// `GET /bench/timings` (asked once after the warm-up to start afresh, once after the measurement).
// Their difference is the part of Redline's excess spent inside the server; the rest is on the
// wire and in the API server. The policy library is snapshotted into a temp dir.
//
// With --variant-arg ARG (repeatable) a second `redline serve` with those extra arguments serves a
// fourth namespace (variant, a tenant namespace like redline's), in the same rotation: a setting
// changed there (e.g. --variant-arg --log-level=warn: no line per request) is measured against the
// same machine state, and the ratio (variant − none) / (redline − none) printed. The CPU time each
// server used during the measurement (from /proc) is printed per create. --variant-node-arg ARG
// (repeatable) gives the variant's node process a flag (e.g. --variant-node-arg --v8-pool-size=1);
// on its own it starts the variant too.
//
// Options: --rounds N (default 300) --warmup N (default 30) --redline-arg ARG (repeatable, passed
// to serve) --variant-arg ARG (repeatable) --cpu-prof DIR (profile serve) --help.

import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { systemClock } from '../../certs/clock.js';
import { ensureDevCertificates } from '../../certs/dev.js';
import { KubeApi, resourcePath } from '../../kube/api-client.js';
import { installCrds } from '../e2e/controlplane/crds.js';
import { freePort, startControlPlane, type ControlPlane } from '../e2e/controlplane/index.js';
import { isRedlineError, RedlineError } from '../../core/errors.js';
import { apiFor, ROOT } from './bootstrap-harness.js';
import { BARE_TIMINGS_PATH, bareServer, httpsRequest, type BareTimings } from './webhook-harness.js';

const NAMESPACES = { none: 'bench-none', bare: 'bench-bare', redline: 'bench-redline', variant: 'bench-variant' } as const;
type Target = keyof typeof NAMESPACES;
const BARE_LABEL = 'bench.redline.dev/bare';
/** Marks the variant's tenant namespace: Redline's own webhooks leave it to the variant's. */
const VARIANT_LABEL = 'bench.redline.dev/variant';
const PLAN = 'free';

// ---------------------------------------------------------------------------------------------
// The bare pair (a child process of the benchmark)


// ---------------------------------------------------------------------------------------------
// Processes

interface Proc {
  proc: ChildProcess;
  stop(): Promise<void>;
}

async function startProcess(name: string, args: string[], logFile: string, ready: () => Promise<boolean>): Promise<Proc> {
  const out = openSync(logFile, 'w');
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', out, 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (await ready().catch(() => false)) {
      return {
        proc,
        stop: async () => {
          proc.kill('SIGTERM');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
          proc.kill('SIGKILL');
        },
      };
    }
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${name} did not start:\n${err}\n${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * CPU time a process has used so far, in ms (user + system, from /proc), in all and on its main
 * thread (the rest is V8's and libuv's threads: GC, compilation, I/O): less sensitive to a busy
 * host than latency, which also counts the time a process waits for a CPU.
 */
function cpuMs(proc: ChildProcess): { all: number; main: number } | null {
  // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
  const ticks = (stat: string): number => {
    const fields = readFileSync(stat, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  };
  try {
    return { all: ticks(`/proc/${proc.pid}/stat`), main: ticks(`/proc/${proc.pid}/task/${proc.pid}/stat`) };
  } catch {
    return null;
  }
}
/** USER_HZ: 100 on every Linux the project runs on. */
const CLOCK_TICKS = 100;

function hostTicks(): { total: number; steal: number } | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: cpu.reduce((a, b) => a + b, 0), steal: cpu[7] ?? 0 };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Cluster set-up

/**
 * The shipped configurations (Redline's) and the bare twin: same settings, url + caBundle set. With
 * a variant URL, the variant's twin of Redline's main pair selects the variant namespace, which
 * Redline's own pair then leaves out.
 */
function webhookConfigurations(redlineUrl: string, bareUrl: string, variantUrl: string | null, caPem: string): Record<string, unknown>[] {
  const caBundle = Buffer.from(caPem).toString('base64');
  const shipped = YAML.parseAllDocuments(readFileSync(path.join(ROOT, 'manifests', 'base', 'webhooks.yaml'), 'utf8')).map((d) => d.toJS() as {
    kind: string; metadata: { name: string }; webhooks: Record<string, unknown>[];
  });
  const out: Record<string, unknown>[] = [];
  for (const config of shipped) {
    for (const hook of config.webhooks) {
      const p = (hook.clientConfig as { service?: { path?: string } }).service?.path ?? '/';
      hook.clientConfig = { url: `${redlineUrl}${p}`, caBundle };
    }
    out.push(config);
    // Twins of the entry that selects tenants' Redis objects: same settings, another server.
    const main = config.webhooks.find((h) => h.name === (config.kind === 'MutatingWebhookConfiguration' ? 'mutate.redline.dev' : 'validate.redline.dev'))!;
    const p = config.kind === 'MutatingWebhookConfiguration' ? '/mutate' : '/validate';
    const twin = (name: string, url: string, namespaceSelector: Record<string, unknown>): Record<string, unknown> => ({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: config.kind,
      metadata: { name: `bench-${name}` },
      webhooks: [{ ...main, name: `${p.slice(1)}.${name}.bench.redline.dev`, clientConfig: { url: `${url}${p}`, caBundle }, namespaceSelector }],
    });
    if (variantUrl) {
      const selector = main.namespaceSelector as { matchExpressions: Record<string, unknown>[] };
      out.push(twin('variant', variantUrl, { matchExpressions: [...selector.matchExpressions, { key: VARIANT_LABEL, operator: 'Exists' }] }));
      selector.matchExpressions = [...selector.matchExpressions, { key: VARIANT_LABEL, operator: 'DoesNotExist' }];
    }
    out.push(twin('bare', bareUrl, { matchLabels: { [BARE_LABEL]: 'true' } }));
  }
  return out;
}

/** A KubeDB Redis the free plan admits as it is: `redline mutate` of the standalone example. */
export function compliantRedis(name: string, namespace: string): Record<string, unknown> {
  return {
    apiVersion: 'kubedb.com/v1',
    kind: 'Redis',
    metadata: { name, namespace },
    spec: {
      version: '7.2.4',
      mode: 'Standalone',
      storageType: 'Durable',
      storage: { storageClassName: 'standard', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      podTemplate: {
        spec: {
          containers: [{
            name: 'redis',
            resources: { limits: { memory: '256Mi', cpu: '250m' }, requests: { memory: '256Mi', cpu: '250m' } },
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          }],
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        },
      },
      deletionPolicy: 'Delete',
      tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'redline-redis-ca' } },
    },
  };
}

async function setUpCluster(admin: KubeApi, variant: boolean): Promise<void> {
  const ns = (name: string, labels: Record<string, string>) => admin.create(resourcePath('v1', 'namespaces'), {
    apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
  });
  await ns(NAMESPACES.none, {});
  await ns(NAMESPACES.bare, { [BARE_LABEL]: 'true' });
  await ns(NAMESPACES.redline, { 'redline.dev/tenant': 'bench', 'redline.dev/plan': PLAN, 'redline.dev/managed': 'true' });
  if (variant) await ns(NAMESPACES.variant, { 'redline.dev/tenant': 'bench', 'redline.dev/plan': PLAN, 'redline.dev/managed': 'true', [VARIANT_LABEL]: 'true' });
  await admin.create(resourcePath('storage.k8s.io/v1', 'storageclasses'), {
    apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'standard' }, provisioner: 'ebs.csi.aws.com',
  });
}

// ---------------------------------------------------------------------------------------------
// The timed creates: one HTTPS client with keep-alive, the admin's token, one request at a time.

class Creator {
  private readonly agent: https.Agent;
  private readonly url: URL;
  private seq = 0;
  constructor(private readonly cp: ControlPlane) {
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: cp.caPem });
    this.url = new URL(cp.url);
  }

  /** Milliseconds from sending to the whole answer; throws unless 201. */
  create(target: Target): Promise<number> {
    const namespace = NAMESPACES[target];
    const body = JSON.stringify(compliantRedis(`r${++this.seq}`, namespace));
    return new Promise((resolve, reject) => {
      const start = performance.now();
      const req = https.request({
        agent: this.agent, host: this.url.hostname, port: this.url.port, method: 'POST',
        path: `/apis/kubedb.com/v1/namespaces/${namespace}/redises`,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Authorization: `Bearer ${this.cp.users.admin!.token}` },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const ms = performance.now() - start;
          if (res.statusCode !== 201) reject(new Error(`create in ${namespace} answered ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 600)}`));
          else resolve(ms);
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * Node's CPU profiler flags. Sampled every 50 µs: at one request at a time a request is about a
 * millisecond of work, which the default 1 ms interval would catch once or not at all.
 */
function profileFlags(dir: string | null): string[] {
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=50'] : [];
}

/** The bare server's time inside it per call since the last ask (see bareServer); the list starts afresh. */
async function bareTimings(port: number, caPem: string): Promise<BareTimings> {
  const answer = await httpsRequest({ port, ca: caPem, method: 'GET', path: BARE_TIMINGS_PATH });
  if (answer.status !== 200) throw new Error(`bare server's timings answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  return answer.json() as BareTimings;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}


interface Options { rounds: number; warmup: number; redlineArgs: string[]; variantArgs: string[]; variantNodeArgs: string[]; cpuProf: string | null }

function options(argv: string[]): Options | 'help' {
  const o: Options = { rounds: 300, warmup: 30, redlineArgs: [], variantArgs: [], variantNodeArgs: [], cpuProf: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new RedlineError('usage', `${a} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') return 'help';
    else if (a === '--rounds') o.rounds = Number(next());
    else if (a === '--warmup') o.warmup = Number(next());
    else if (a === '--redline-arg') o.redlineArgs.push(next());
    else if (a === '--variant-arg') o.variantArgs.push(next());
    else if (a === '--variant-node-arg') o.variantNodeArgs.push(next());
    else if (a === '--cpu-prof') o.cpuProf = path.resolve(next());
    else throw new RedlineError('usage', `unknown option ${a}; see --help`);
  }
  if (!(o.rounds > 0) || !(o.warmup >= 0)) throw new RedlineError('usage', '--rounds must be > 0 and --warmup ≥ 0');
  return o;
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  if (opts === 'help') {
    console.log('usage: npm run bench:apiserver -- [--rounds N] [--warmup N] [--redline-arg ARG]... [--variant-arg ARG]... [--variant-node-arg ARG]... [--cpu-prof DIR]');
    return;
  }
  const self = fileURLToPath(import.meta.url);
  const work = mkdtempSync(path.join(os.tmpdir(), 'redline-bench-apiserver-'));
  const certDir = path.join(work, 'dev');
  await ensureDevCertificates(certDir, systemClock);
  const caPem = readFileSync(path.join(certDir, 'ca.crt'), 'utf8');
  // A snapshot of the library, so an edit to policies/ during the run does not reload it mid-measurement.
  const library = path.join(work, 'library');
  cpSync(path.join(ROOT, 'policies', 'library'), library, { recursive: true });

  const cp = await startControlPlane();
  const procs: Proc[] = [];
  let creator: Creator | undefined;
  try {
    await installCrds(cp.adminKubeconfig);
    const admin = await apiFor(cp.adminKubeconfig);
    const variant = opts.variantArgs.length > 0 || opts.variantNodeArgs.length > 0;
    const targets: Target[] = variant ? ['none', 'bare', 'redline', 'variant'] : ['none', 'bare', 'redline'];
    await setUpCluster(admin, variant);

    const barePort = { value: 0 };
    const bareLog = path.join(work, 'bare.log');
    procs.push(await startProcess('bare server', [...profileFlags(opts.cpuProf && path.join(opts.cpuProf, 'bare')), self, '--bare-server', certDir], bareLog, async () => {
      const m = /"address":"127\.0\.0\.1:(\d+)"/.exec(readFileSync(bareLog, 'utf8'));
      if (m) barePort.value = Number(m[1]);
      return m !== null;
    }));
    const serve = async (name: string, args: string[], profileDir: string | null, nodeArgs: string[] = []): Promise<{ port: number; healthPort: number; log: string; proc: ChildProcess }> => {
      const port = await freePort();
      const healthPort = await freePort();
      const log = path.join(work, `${name}.log`);
      procs.push(await startProcess(`${name} serve`, [
        ...profileFlags(profileDir), ...nodeArgs,
        path.join(ROOT, 'dist', 'cli', 'main.js'), 'serve', '--dev', '--dev-cert-dir', certDir, '--kubeconfig', cp.adminKubeconfig,
        // --no-ledger: hundreds of creates on plan free would exceed its tenantTotals (one instance);
        // the ledger's own cost is bench:ledger's.
        '--policies', library, '--address', '127.0.0.1', '--port', String(port), '--health-port', String(healthPort), '--no-ledger', ...args,
      ], log, async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200));
      return { port, healthPort, log, proc: procs[procs.length - 1]!.proc };
    };
    const bareProc = procs[0]!.proc;
    const redline = await serve('redline', opts.redlineArgs, opts.cpuProf);
    const { port, log: redlineLog } = redline;
    const variantServe = variant ? await serve('variant', [...opts.redlineArgs, ...opts.variantArgs], opts.cpuProf && path.join(opts.cpuProf, 'variant'), opts.variantNodeArgs) : null;
    const served: [Target, ChildProcess][] = [['bare', bareProc], ['redline', redline.proc]];
    if (variantServe) served.push(['variant', variantServe.proc]);

    for (const config of webhookConfigurations(`https://127.0.0.1:${port}`, `https://127.0.0.1:${barePort.value}`, variantServe && `https://127.0.0.1:${variantServe.port}`, caPem)) {
      const plural = config.kind === 'MutatingWebhookConfiguration' ? 'mutatingwebhookconfigurations' : 'validatingwebhookconfigurations';
      await admin.create(resourcePath('admissionregistration.k8s.io/v1', plural), config as never);
    }

    creator = new Creator(cp);
    // The API server picks up new webhook configurations asynchronously: wait until Redline has
    // (and the variant) answered a create in its tenant namespace, then warm every namespace up.
    for (const [target, server] of [['redline', redline], ['variant', variantServe]] as const) {
      if (!server) continue;
      const deadline = Date.now() + 30_000;
      for (;;) {
        await creator.create(target);
        const metrics = await (await fetch(`http://127.0.0.1:${server.healthPort}/metrics`)).text();
        if (/^redline_admission_requests_total\{(?=[^}]*endpoint="validate")(?=[^}]*kind="Redis")/m.test(metrics)) break;
        if (Date.now() > deadline) throw new Error(`${target} serve saw no Redis create in 30 s; its log:\n${readFileSync(server.log, 'utf8').slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    for (let i = 0; i < opts.warmup; i++) for (const t of targets) await creator.create(t);
    const logStart = readFileSync(redlineLog, 'utf8').length;
    await bareTimings(barePort.value, caPem); // starts the bare server's list afresh

    const times: Record<Target, number[]> = { none: [], bare: [], redline: [], variant: [] };
    const host0 = hostTicks();
    const cpu0 = served.map(([, p]) => cpuMs(p));
    for (let round = 0; round < opts.rounds; round++) {
      for (let k = 0; k < targets.length; k++) {
        const t = targets[(round + k) % targets.length]!;
        times[t].push(await creator.create(t));
      }
    }
    const host1 = hostTicks();
    const cpu1 = served.map(([, p]) => cpuMs(p));
    await new Promise((r) => setTimeout(r, 1500)); // serve's buffered log lines
    const bareInside = await bareTimings(barePort.value, caPem);

    const stat: Record<Target, { p50: number; p90: number }> = {} as never;
    for (const t of targets) {
      const sorted = [...times[t]].sort((a, b) => a - b);
      stat[t] = { p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9) };
    }
    const ratio = (stat.redline.p50 - stat.none.p50) / (stat.bare.p50 - stat.none.p50);
    const ratio90 = (stat.redline.p90 - stat.none.p90) / (stat.bare.p90 - stat.none.p90);

    // Redline's own view: durationMs per endpoint, and whether any Redis create was patched.
    const lines = readFileSync(redlineLog, 'utf8').slice(logStart).split('\n').filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['kind'] === 'Redis');
    const inside: Record<string, number[]> = {};
    let patched = 0;
    for (const l of lines) {
      (inside[String(l['endpoint'])] ??= []).push(Number(l['durationMs']));
      if (l['patchOps']) patched++;
    }

    console.log(`# bench:apiserver — ${opts.rounds} rounds × ${targets.length} namespaces, one create at a time (order rotates each round), after ${opts.warmup} warm-up rounds`);
    console.log(`# kube-apiserver ${cp.url}; bare: node:https JSON.parse + allow; redline: dist/cli/main.js serve ${opts.redlineArgs.join(' ')} (plan ${PLAN}, shipped webhooks)${variant ? `; variant: the same serve with ${[...opts.variantNodeArgs.map((a) => `node ${a}`), ...opts.variantArgs].join(' ')}` : ''}`);
    console.log('| namespace | median ms | p90 ms | added over none (median) |');
    console.log('|---|---|---|---|');
    for (const t of targets) {
      console.log(`| ${t} | ${stat[t].p50.toFixed(2)} | ${stat[t].p90.toFixed(2)} | ${t === 'none' ? '—' : (stat[t].p50 - stat.none.p50).toFixed(2)} |`);
    }
    // The same interval in both servers: request handler → after the answer's res.end().
    console.log('# time inside the server per webhook call (request handler → after res.end), ms:');
    console.log('| endpoint | redline median | redline p90 | bare median | bare p90 | redline − bare (medians) |');
    console.log('|---|---|---|---|---|---|');
    let insideExcess = 0;
    for (const endpoint of ['mutate', 'validate']) {
      const r = (inside[endpoint] ?? []).sort((a, b) => a - b);
      const b = (bareInside[`/${endpoint}`] ?? []).sort((x, y) => x - y);
      const f = (v: number): string => (Number.isNaN(v) ? '—' : v.toFixed(3));
      insideExcess += quantile(r, 0.5) - quantile(b, 0.5);
      console.log(`| ${endpoint} (${r.length} / ${b.length} calls) | ${f(quantile(r, 0.5))} | ${f(quantile(r, 0.9))} | ${f(quantile(b, 0.5))} | ${f(quantile(b, 0.9))} | ${f(quantile(r, 0.5) - quantile(b, 0.5))} |`);
    }
    const latencyExcess = stat.redline.p50 - stat.bare.p50;
    console.log(`# inside the servers, Redline's pair spends ${insideExcess.toFixed(3)} ms more per create than the bare pair (sum of the two medians' differences), of the ${latencyExcess.toFixed(2)} ms it adds over bare to a create's median${latencyExcess > 0 ? ` (${((100 * insideExcess) / latencyExcess).toFixed(0)}%)` : ''}`);
    const cpuPerCreate = served.map(([t], i) => {
      const a = cpu0[i], b = cpu1[i];
      if (!a || !b) return `${t} unknown`;
      const us = (ms: number): string => ((1000 * ms) / opts.rounds).toFixed(0);
      return `${t} ${us(b.all - a.all)} µs (main thread ${us(b.main - a.main)}, other threads ${us(b.all - a.all - (b.main - a.main))})`;
    });
    console.log(`# CPU per create (both webhook calls, all of the server's work, 10 ms resolution over the run): ${cpuPerCreate.join(', ')}`);
    if (patched) console.log(`# WARNING: ${patched} Redis creates were patched by /mutate; the object is meant to need no patch`);
    const steal = host0 && host1 && host1.total > host0.total ? (host1.steal - host0.steal) / (host1.total - host0.total) : null;
    console.log(`# host steal during the measurement: ${steal === null ? 'unknown' : `${(100 * steal).toFixed(1)}%`}`);
    if (variant) {
      const v = (stat.variant.p50 - stat.none.p50) / (stat.bare.p50 - stat.none.p50);
      const ab = (stat.variant.p50 - stat.none.p50) / (stat.redline.p50 - stat.none.p50);
      console.log(`variant (variant − none) / (bare − none): median ${v.toFixed(2)}; (variant − none) / (redline − none): median ${ab.toFixed(2)}`);
    }
    console.log(`ratio (redline − none) / (bare − none): median ${ratio.toFixed(2)}, p90 ${ratio90.toFixed(2)} (target ≤ 1.20) ${ratio <= 1.2 ? 'OK' : 'MISS'}`);
  } finally {
    creator?.close();
    for (const p of procs.reverse()) await p.stop();
    await cp.stop();
  }
}

if (process.argv[2] === '--bare-server') {
  bareServer(process.argv[3]!, { timings: true });
} else {
  main().catch((e: unknown) => {
    console.error(isRedlineError(e, 'usage') ? `bench:apiserver: ${e.message}` : e instanceof Error ? e.stack ?? e.message : e);
    process.exitCode = isRedlineError(e, 'usage') ? 2 : 1;
  });
}
