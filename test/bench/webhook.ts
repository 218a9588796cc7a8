// Webhook benchmark (not a test): `npm run bench:webhook` = `node dist/test/bench/webhook.js`.
//
// Three processes: the server under test (the real `redline serve` as a child, or a bare
// `node:https` server that parses the body and answers a fixed allow), and this process as the load
// generator (HTTPS keep-alive on loopback, N connections, fixed duration per cell). The two servers
// are measured in alternating slices of each cell, so the shared machine's changing load hits both
// alike. For every cell it prints requests/s, p50/p99 latency, the server's CPU per request (from
// /proc), the generator's own CPU share, so a generator-bound cell is visible, and the host's
// steal (CPU time the hypervisor gave other guests), so a cell hit by a noisy host is visible too.
//
// Flags: --seconds N (per server per cell, default 4; warm-up 1 s extra), --rounds N (alternating
//        slices the seconds are split into, default 4), --connections 1,8,64,
//        --client raw|https (raw: keep-alive TLS sockets with a pre-built request, the default —
//        https.request costs the generator more CPU than the bare server spends per request),
//        --fixtures statefulset,kubedb, --profile (run both servers with --cpu-prof and print
//        their top functions), --help; --bare-server CERTDIR (internal: be the bare server, the
//        first argument).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, openSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isRedlineError, RedlineError } from '../../core/errors.js';
import { bareServer, fixture, frameAnswer, repoRoot } from './webhook-harness.js';

// ---------------------------------------------------------------------------------------------
// The bare server (a child process of the benchmark)


// ---------------------------------------------------------------------------------------------
// Server processes

interface ServerProc {
  name: string;
  proc: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

function cpuTicks(pid: number): number {
  // utime + stime of the process, in clock ticks (100/s on Linux).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
const TICKS_PER_SECOND = 100;

/**
 * The machine's CPU time so far, all CPUs, in clock ticks, and how much of it the hypervisor stole
 * (time a vCPU was runnable but the host ran something else): /proc/stat's "cpu" line. Null where
 * there is no /proc/stat. Printed per cell, it tells a slow cell on a noisy host from a slow server.
 */
function hostTicks(): { total: number; steal: number } | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: cpu.reduce((a, b) => a + b, 0), steal: cpu[7] ?? 0 };
  } catch {
    return null;
  }
}

async function startProcess(name: string, args: string[], cwd: string, logFile: string, pattern: RegExp): Promise<ServerProc> {
  const out = openSync(logFile, 'w');
  const proc = spawn(process.execPath, args, { cwd, stdio: ['ignore', out, 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    const m = pattern.exec(text);
    if (m) {
      return {
        name,
        proc,
        port: Number(m[1]),
        stop: async () => {
          proc.kill('SIGTERM');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
          proc.kill('SIGKILL');
        },
      };
    }
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL'); // else the child keeps this process alive after the error
      throw new Error(`${name} did not start:\n${err}\n${text.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------------------------
// Load generation

interface CellResult {
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  serverCpuUsPerReq: number;
  generatorCpuShare: number;
  /** Share of all CPUs' time the hypervisor stole during this server's slices (null: unknown). */
  stealShare: number | null;
}

type Client = 'raw' | 'https';

/**
 * One keep-alive TLS connection speaking just enough HTTP/1.1: a pre-built request written as one
 * buffer, the answer framed by Content-Length. Several times cheaper per request than
 * https.request (no agent, no header objects), so the generator stays off the critical path.
 */
class RawConnection {
  private socket: tls.TLSSocket | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private pending: { resolve: (status: number) => void; reject: (e: Error) => void } | undefined;
  constructor(
    private readonly port: number,
    private readonly ca: Buffer,
    private readonly request: Buffer,
  ) {}
  private connect(): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: this.port, servername: 'localhost', ca: this.ca }, () => resolve(s));
      s.setNoDelay(true);
      s.on('data', (d: Buffer) => this.onData(d));
      s.on('error', (e) => {
        this.socket = undefined;
        reject(e);
        this.fail(e);
      });
      s.on('close', () => {
        this.socket = undefined;
        this.fail(new Error('connection closed'));
      });
    });
  }
  private fail(e: Error): void {
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
  }
  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    const frame = frameAnswer(this.buf);
    if (!frame) return;
    this.buf = this.buf.subarray(frame.total);
    const status = Number(frame.head.slice(9, 12));
    const p = this.pending;
    this.pending = undefined;
    p?.resolve(status);
  }
  async send(): Promise<number> {
    this.socket ??= await this.connect();
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket!.write(this.request);
    });
  }
  close(): void {
    this.socket?.destroy();
  }
}

/** What one measured slice of load saw. */
interface Slice {
  latencies: number[];
  errors: number;
  wall: number;
  serverTicks: number;
  generatorCpuSeconds: number;
  /** Host clock ticks of all CPUs during the slice and the stolen part of them; null without /proc/stat. */
  host: { total: number; steal: number } | null;
}

/**
 * Load on one server for one cell: its connections stay open between slices, so slices of the two
 * servers can alternate without new TLS handshakes.
 */
class Load {
  private readonly raws: RawConnection[];
  private readonly agent: https.Agent;
  private readonly viaHttps: () => Promise<number>;

  constructor(port: number, ca: Buffer, body: Buffer, pathname: string, private readonly connections: number, private readonly serverPid: number, private readonly client: Client) {
    const rawRequest = Buffer.concat([
      Buffer.from(`POST ${pathname}?timeout=10s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: ${body.length}\r\n\r\n`),
      body,
    ]);
    this.raws = Array.from({ length: connections }, () => new RawConnection(port, ca, rawRequest));
    this.agent = new https.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
    const options = {
      host: '127.0.0.1',
      servername: 'localhost',
      port,
      path: pathname,
      method: 'POST',
      ca,
      agent: this.agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
    };
    this.viaHttps = () =>
      new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const req = https.request(options, (res) => {
          let ok = res.statusCode === 200;
          res.on('data', () => undefined);
          res.on('end', () => (ok ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`status ${res.statusCode}`))));
          res.on('error', (e) => {
            ok = false;
            reject(e);
          });
        });
        req.on('error', reject);
        req.end(body);
      });
  }

  private async viaRaw(c: RawConnection): Promise<number> {
    const t0 = process.hrtime.bigint();
    const status = await c.send();
    if (status !== 200) throw new Error(`status ${status}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  }

  /** `connections` requests in flight for `ms` (each worker on its own raw connection). */
  async run(ms: number): Promise<Slice> {
    const cpu0 = process.cpuUsage();
    const ticks0 = cpuTicks(this.serverPid);
    const host0 = hostTicks();
    const t0 = process.hrtime.bigint();
    const latencies: number[] = [];
    let errors = 0;
    const end = Date.now() + ms;
    const worker = async (i: number): Promise<void> => {
      while (Date.now() < end) {
        try {
          latencies.push(this.client === 'raw' ? await this.viaRaw(this.raws[i]!) : await this.viaHttps());
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: this.connections }, (_, i) => worker(i)));
    const cpu = process.cpuUsage(cpu0);
    const host1 = hostTicks();
    return {
      latencies,
      errors,
      wall: Number(process.hrtime.bigint() - t0) / 1e9,
      serverTicks: cpuTicks(this.serverPid) - ticks0,
      generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
      host: host0 && host1 ? { total: host1.total - host0.total, steal: host1.steal - host0.steal } : null,
    };
  }

  close(): void {
    this.agent.destroy();
    for (const r of this.raws) r.close();
  }
}

/** The slices of one server in one cell, as one result. */
function combine(slices: Slice[]): CellResult {
  const latencies = slices.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const wall = slices.reduce((t, s) => t + s.wall, 0);
  const serverCpuSeconds = slices.reduce((t, s) => t + s.serverTicks, 0) / TICKS_PER_SECOND;
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return {
    errors: slices.reduce((t, s) => t + s.errors, 0),
    rps: latencies.length / wall,
    p50: pct(50),
    p99: pct(99),
    serverCpuUsPerReq: latencies.length ? (serverCpuSeconds * 1e6) / latencies.length : NaN,
    generatorCpuShare: slices.reduce((t, s) => t + s.generatorCpuSeconds, 0) / wall,
    stealShare: slices.every((s) => s.host && s.host.total > 0)
      ? slices.reduce((t, s) => t + s.host!.steal, 0) / slices.reduce((t, s) => t + s.host!.total, 0)
      : null,
  };
}

/**
 * One cell: both servers warmed up, then measured in alternating slices (bare, redline, redline,
 * bare, …), so a change in the shared machine's load hits both alike instead of skewing the ratio.
 */
async function runCell(servers: { bare: ServerProc; redline: ServerProc }, ca: Buffer, body: Buffer, pathname: string, connections: number, seconds: number, rounds: number, client: Client): Promise<{ bare: CellResult; redline: CellResult }> {
  const bare = new Load(servers.bare.port, ca, body, pathname, connections, servers.bare.proc.pid!, client);
  const redline = new Load(servers.redline.port, ca, body, pathname, connections, servers.redline.proc.pid!, client);
  try {
    await bare.run(1000); // warm-up: JIT, TLS sessions, sockets
    await redline.run(1000);
    const sliceMs = (seconds * 1000) / rounds;
    const slices = { bare: [] as Slice[], redline: [] as Slice[] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['bare', 'redline'] as const) : (['redline', 'bare'] as const);
      for (const name of order) slices[name].push(await (name === 'bare' ? bare : redline).run(sliceMs));
    }
    return { bare: combine(slices.bare), redline: combine(slices.redline) };
  } finally {
    bare.close();
    redline.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Profile summary (self time by function) of a .cpuprofile

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

function summariseProfile(file: string, top = 15): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const total = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const byFn = new Map<string, number>();
  for (const n of profile.nodes) {
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(repoRoot(), '.');
    const key = `${n.callFrame.functionName || '(anonymous)'} ${url ? `${path.relative('.', url) || url}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + (n.hitCount ?? 0));
  }
  return [...byFn.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}

// ---------------------------------------------------------------------------------------------

const FIXTURES: Record<string, string> = { statefulset: 'statefulset-review.json', kubedb: 'kubedb-redis-review.json' };

function percent(share: number | null): string {
  return share === null ? 'n/a' : `${(100 * share).toFixed(1)}%`;
}

const USAGE = 'usage: npm run bench:webhook -- [--seconds N] [--rounds N] [--connections 1,8,64] [--client raw|https] [--fixtures statefulset,kubedb] [--profile]';

interface BenchOptions {
  seconds: number;
  rounds: number;
  connections: number[];
  fixtures: string[];
  profile: boolean;
  client: Client;
}

/** Strict: an unknown flag or a bad value stops the run with the usage, rather than running 2 minutes with defaults. */
function benchOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      seconds: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '4' },
      connections: { type: 'string', default: '1,8,64' },
      fixtures: { type: 'string', default: 'statefulset,kubedb' },
      client: { type: 'string', default: 'raw' },
      profile: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const positive = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new RedlineError('usage', `--${name}: expected a positive integer, got "${v}"`);
    return n;
  };
  const fixtures = values.fixtures.split(',');
  for (const f of fixtures) if (!(f in FIXTURES)) throw new RedlineError('usage', `--fixtures: unknown fixture "${f}" (known: ${Object.keys(FIXTURES).join(', ')})`);
  if (values.client !== 'raw' && values.client !== 'https') throw new RedlineError('usage', `--client: expected raw or https, got "${values.client}"`);
  return {
    seconds: positive('seconds', values.seconds),
    rounds: positive('rounds', values.rounds),
    connections: values.connections.split(',').map((c) => positive('connections', c)),
    fixtures,
    profile: values.profile,
    client: values.client,
  };
}


async function main(): Promise<void> {
  const options = benchOptions(process.argv.slice(2));
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  const { seconds, rounds, connections, fixtures, profile, client } = options;
  const root = repoRoot();
  const main = path.join(root, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build`);
  const self = fileURLToPath(import.meta.url);

  const work = mkdtempSync(path.join(os.tmpdir(), 'redline-bench-'));
  const certDir = path.join(work, 'certs');
  const nsFile = path.join(work, 'namespaces.yaml');
  const profDir = path.join(work, 'profile');
  writeFileSync(nsFile, 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tenant-acme\n  labels: {redline.dev/tenant: acme, redline.dev/plan: premium}\n');

  const redline = await startProcess(
    'redline',
    [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), main, 'serve', '--dev', '--dev-cert-dir', certDir, '--port', '0', '--health-port', '0', '--address', '127.0.0.1', '--namespaces', nsFile, '--log-level', 'info'],
    work,
    path.join(work, 'redline.log'),
    /"address":"127\.0\.0\.1:(\d+)","msg":"webhook listening"/,
  );
  const bare = await startProcess('bare', [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profDir, 'bare')}`] : []), self, '--bare-server', certDir], work, path.join(work, 'bare.log'), /"address":"127\.0\.0\.1:(\d+)"/);
  const ca = readFileSync(path.join(certDir, 'ca.crt'));

  console.log(`# Redline webhook benchmark — ${os.cpus().length} CPU(s) ${os.cpus()[0]?.model ?? ''}, node ${process.version}`);
  console.log(`# ${seconds} s per server per cell after 1 s warm-up, in ${rounds} alternating slices; HTTPS keep-alive on loopback; load generator = this process (pid ${process.pid}), client ${client === 'raw' ? 'raw TLS + pre-built HTTP/1.1 request' : 'https.request + Agent(keepAlive)'}`);
  console.log(`# redline: dist/cli/main.js serve (pid ${redline.proc.pid}, logging one JSON line per request to a file); bare: node:https + JSON.parse + fixed allow (pid ${bare.proc.pid})`);
  const sizes = fixtures.map((f) => `${f} ${Buffer.byteLength(JSON.stringify(fixture(FIXTURES[f]!)))} B`).join(', ');
  console.log(`# bodies: ${sizes}; namespace tenant-acme on plan premium (every policy evaluates, all allowed)`);
  console.log('');
  const header = ['fixture', 'endpoint', 'conns', 'bare req/s', 'p50 ms', 'p99 ms', 'µs CPU/req', 'redline req/s', 'p50 ms', 'p99 ms', 'µs CPU/req', 'ratio', 'gen CPU (bare/redline)', 'host steal (bare/redline)', 'errors'];
  const rows: string[][] = [];
  const verdicts: string[] = [];
  const cells: { fixture: string; endpoint: string; conns: number }[] = [];
  for (const f of fixtures) for (const c of connections) cells.push({ fixture: f, endpoint: '/validate', conns: c });
  for (const f of fixtures) if (connections.includes(8)) cells.push({ fixture: f, endpoint: '/mutate', conns: 8 });

  try {
    for (const cell of cells) {
      const body = Buffer.from(JSON.stringify(fixture(FIXTURES[cell.fixture]!)));
      const { bare: b, redline: r } = await runCell({ bare, redline }, ca, body, cell.endpoint, cell.conns, seconds, rounds, client);
      const ratio = r.rps / b.rps;
      const row = [
        cell.fixture,
        cell.endpoint,
        String(cell.conns),
        b.rps.toFixed(0),
        b.p50.toFixed(2),
        b.p99.toFixed(2),
        b.serverCpuUsPerReq.toFixed(0),
        r.rps.toFixed(0),
        r.p50.toFixed(2),
        r.p99.toFixed(2),
        r.serverCpuUsPerReq.toFixed(0),
        ratio.toFixed(2),
        `${(100 * b.generatorCpuShare).toFixed(0)}% / ${(100 * r.generatorCpuShare).toFixed(0)}%`,
        `${percent(b.stealShare)} / ${percent(r.stealShare)}`,
        `${b.errors}/${r.errors}`,
      ];
      rows.push(row);
      console.error(`  done: ${row.join('  ')}`);
      if (cell.endpoint === '/validate') {
        verdicts.push(`${cell.fixture} @${cell.conns}: throughput ${(100 * ratio).toFixed(0)}% of bare (target ≥ 70%) ${ratio >= 0.7 ? 'OK' : 'MISS'}`);
        if (cell.conns === 8) verdicts.push(`${cell.fixture} @8: p99 ${r.p99.toFixed(2)} ms (target < 5 ms) ${r.p99 < 5 ? 'OK' : 'MISS'}`);
      }
      if (r.generatorCpuShare > 0.9 || b.generatorCpuShare > 0.9) {
        verdicts.push(`${cell.fixture} ${cell.endpoint} @${cell.conns}: generator CPU > 90% of a core: this cell may be generator-bound`);
      }
    }
  } finally {
    await redline.stop();
    await bare.stop();
  }

  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cols: string[]): string => `| ${cols.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log('');
  for (const v of verdicts) console.log(`- ${v}`);
  console.log('- "gen CPU" is this load generator\'s CPU time per wall second (100% = one core busy); the servers\' CPU per request comes from /proc.');
  console.log('- "host steal" is the share of all CPUs\' time the hypervisor gave to other guests during the server\'s slices (/proc/stat): where it is high, latency tails are the host\'s as much as the server\'s.');

  if (profile) {
    // Both servers, so the extra cost is read against the same run's bare costs.
    for (const [name, dir] of [['redline', profDir], ['bare', path.join(profDir, 'bare')]] as const) {
      const file = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) : undefined;
      if (!file) continue;
      console.log(`\n# ${name} CPU profile, self time (whole run incl. start-up):`);
      for (const l of summariseProfile(path.join(dir, file))) console.log(l);
      console.log(`# profile: ${path.join(dir, file)} (kept)`);
    }
    return;
  }
  rmSync(work, { recursive: true, force: true });
}

if (process.argv[2] === '--bare-server') {
  bareServer(process.argv[3]!);
} else {
  main().catch((e: unknown) => {
    if (isRedlineError(e, 'usage') || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`${(e as Error).message}\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    console.error(e);
    process.exitCode = 1;
  });
}
