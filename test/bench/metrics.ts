// npm run bench:metrics — the two pieces of hand-made performance code on serve's per-request path,
// each against the library that does the same job, measured in the same run on the path admission
// takes (alternating rounds, so the machine's changing load hits both alike):
//
//   latency histogram: CountingHistogram (webhook/histogram.ts) vs prom-client's Histogram, one
//     observation per request through the series/child cached per label set (what
//     WebhookMetrics.request does), over the label sets of a realistic mix of requests;
//   log lines: the per-request answer line through pino into serve's destination (bufferedDestination in
//     webhook/log-destination.ts: sonic-boom in buffer mode, each line handed over as bytes) vs pino's own
//     destination with the same buffering (pino.destination minLength, string mode), written to
//     /dev/null;
//   log line time, cold: serve's answer line with its `time` field from isoTime (webhook/log-keys.ts:
//     the date formatted once per second, each millisecond appending its digits) vs pino's own
//     stdTimeFunctions.isoTime (a Date formatted per line), one line per timer tick with the CPU
//     caches evicted between lines, as at one request at a time, where every line has a
//     millisecond of its own (the warm case above formats one Date per millisecond for many lines).
//
// Prints ns per operation (median of the rounds) and library / custom. The rule (issue 18): where
// the library is within 10% (ratio ≤ 1.10), use the library; otherwise keep the custom code behind
// its one interface, with the figure next to it.

import { openSync, closeSync } from 'node:fs';
import { pino } from 'pino';
import { Histogram, Registry } from 'prom-client';
import { bufferedDestination } from '../../webhook/log-destination.js';
import { isoTime } from '../../webhook/log-keys.js';
import { CountingHistogram, type HistogramSeries } from '../../webhook/histogram.js';
import { DURATION_BUCKETS } from '../../webhook/metrics.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 15);

/** The label sets a busy webhook sees: 2 endpoints × 6 kinds × 2 operations. */
const LABELS: Array<[string, string, string]> = [];
for (const endpoint of ['validate', 'mutate']) {
  for (const kind of ['Redis', 'StatefulSet', 'Pod', 'RedisFailover', 'Namespace', 'Secret']) {
    for (const op of ['CREATE', 'UPDATE']) LABELS.push([endpoint, kind, op]);
  }
}
/** Latencies in seconds spread over the buckets, as admission produces them. */
const VALUES = Array.from({ length: 1024 }, (_, i) => 0.0002 * 1.006 ** (i % 800));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** ns per call of `op(i)` over `n` calls. */
function time(n: number, op: (i: number) => void): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op(i);
  return Number(process.hrtime.bigint() - t) / n;
}

// ---- histogram ----

function histogramOps(): { custom: (i: number) => void; library: (i: number) => void; check: () => void } {
  const keyOf = (l: [string, string, string]): string => l.join('\0');
  const custom = new CountingHistogram('bench_custom_seconds', 'bench', ['endpoint', 'kind', 'operation'] as const, DURATION_BUCKETS, new Registry());
  const customSeries = new Map<string, HistogramSeries>();
  const library = new Histogram({ name: 'bench_library_seconds', help: 'bench', labelNames: ['endpoint', 'kind', 'operation'] as const, buckets: DURATION_BUCKETS, registers: [new Registry()] });
  const libraryChildren = new Map<string, { observe(v: number): void }>();
  const keys = LABELS.map(keyOf);
  return {
    custom: (i) => {
      const l = LABELS[i % LABELS.length]!;
      const key = keys[i % keys.length]!;
      let s = customSeries.get(key);
      if (!s) customSeries.set(key, (s = custom.labels(...l)));
      custom.observe(s, VALUES[i & 1023]!);
    },
    library: (i) => {
      const l = LABELS[i % LABELS.length]!;
      const key = keys[i % keys.length]!;
      let c = libraryChildren.get(key);
      if (!c) libraryChildren.set(key, (c = library.labels(...l)));
      c.observe(VALUES[i & 1023]!);
    },
    // Both counted the same observations (guards against measuring a no-op).
    check: () => {
      const count = (values: Array<{ metricName?: string; value: number }>): number =>
        values.filter((v) => v.metricName?.endsWith('_count')).reduce((a, v) => a + v.value, 0);
      const a = count(custom.get().values);
      return void Promise.resolve(library.get()).then((g) => {
        const b = count(g.values as Array<{ metricName?: string; value: number }>);
        if (a !== b) throw new Error(`histograms disagree: ${a} vs ${b} observations`);
      });
    },
  };
}

// ---- log lines ----

function logOps(devNull: number): { custom: (i: number) => void; library: (i: number) => void; flush: () => void } {
  const line = (log: pino.Logger, i: number): void =>
    log.info({ uid: `0b3c0c7e-5f1a-4c1e-9a77-${String(i).padStart(12, '0')}`, endpoint: 'validate', kind: 'Redis', namespace: 'team-a', name: 'cache', operation: 'CREATE', allowed: true, durationMs: 0.41 }, 'admission');
  const customDest = bufferedDestination(devNull, 4096);
  const libraryDest = pino.destination({ fd: devNull, sync: false, minLength: 4096 });
  const opts = { level: 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  const custom = pino(opts, customDest).child({ component: 'admission' });
  const library = pino(opts, libraryDest).child({ component: 'admission' });
  return {
    custom: (i) => line(custom, i),
    library: (i) => line(library, i),
    flush: () => {
      customDest.flush();
      libraryDest.flush();
    },
  };
}

/** The answer line serve writes (webhook/server.ts), all its fields. */
function answerLine(i: number): Record<string, unknown> {
  return {
    endpoint: 'validate', uid: `0b3c0c7e-5f1a-4c1e-9a77-${String(i).padStart(12, '0')}`, operation: 'CREATE', kind: 'Redis', namespace: 'team-a',
    name: 'cache', user: 'system:serviceaccount:team-a:deployer', outcome: 'allowed', reason: 'reviewed', status: 200, durationMs: 0.812,
  };
}

/** Touches 8 MB at random: what the API server, etcd and the rest of a request leave in the caches. */
const evictee = new Float64Array(1 << 20);
let evictSeed = 1;
function evictCaches(): void {
  for (let k = 0; k < 300_000; k++) evictee[(evictSeed = (evictSeed * 1103515245 + 12345) >>> 0) & 0xfffff]! += 1;
}

/**
 * Median ns of one answer line written cold: for each line, the caches evicted and a 1 ms timer
 * waited for (a new millisecond, as between requests), then the line timed alone; alternating.
 */
async function coldLines(devNull: number, n: number): Promise<{ custom: number; library: number }> {
  const opts = { level: 'info', base: { pid: process.pid } };
  const custom = pino({ ...opts, timestamp: isoTime }, bufferedDestination(devNull, 4096)).child({ component: 'webhook' });
  const library = pino({ ...opts, timestamp: pino.stdTimeFunctions.isoTime }, bufferedDestination(devNull, 4096)).child({ component: 'webhook' });
  const c: number[] = [];
  const l: number[] = [];
  for (let i = 0; i < n; i++) {
    for (const [log, times] of i % 2 === 0 ? [[custom, c], [library, l]] as const : [[library, l], [custom, c]] as const) {
      evictCaches();
      await new Promise((r) => setTimeout(r, 1));
      const t = process.hrtime.bigint();
      log.info(answerLine(i), 'admission');
      times.push(Number(process.hrtime.bigint() - t));
    }
  }
  return { custom: median(c), library: median(l) };
}

/**
 * ns per call of `op(i)` over `n` calls, `perTurn` calls per event-loop turn (as serve answers a
 * batch of requests per turn; the log destinations write in the turns between).
 */
async function timeTurns(n: number, perTurn: number, op: (i: number) => void): Promise<number> {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + perTurn);
    for (; i < end; i++) op(i);
    await new Promise<void>((r) => setImmediate(r));
  }
  return Number(process.hrtime.bigint() - t) / n;
}

function report(name: string, result: { custom: number; library: number }): void {
  const ratio = result.library / result.custom;
  console.log(
    `${name.padEnd(18)} custom ${result.custom.toFixed(1).padStart(7)} ns/op   library ${result.library.toFixed(1).padStart(7)} ns/op   library/custom ${ratio.toFixed(2)}  ` +
      (ratio <= 1.1 ? '→ within 10%: use the library' : '→ custom is faster by more than 10%: keep it behind its interface'),
  );
}

async function run(name: string, n: number, perTurn: number, custom: (i: number) => void, library: (i: number) => void): Promise<{ custom: number; library: number }> {
  const c: number[] = [];
  const l: number[] = [];
  const measure = (op: (i: number) => void): Promise<number> => (perTurn > 0 ? timeTurns(n, perTurn, op) : Promise.resolve(time(n, op)));
  await measure(custom); // warm-up
  await measure(library);
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which goes first.
    if (r % 2 === 0) {
      c.push(await measure(custom));
      l.push(await measure(library));
    } else {
      l.push(await measure(library));
      c.push(await measure(custom));
    }
  }
  const result = { custom: median(c), library: median(l) };
  report(name, result);
  return result;
}

async function main(): Promise<void> {
  console.log(`bench:metrics — median of ${ROUNDS} alternating rounds, same process, node ${process.version}`);
  const h = histogramOps();
  await run('latency histogram', 200_000, 0, h.custom, h.library);
  h.check();
  const devNull = openSync('/dev/null', 'w');
  const logs = logOps(devNull);
  await run('log line', 20_000, 8, logs.custom, logs.library);
  logs.flush();
  report('log line time, cold', await coldLines(devNull, Number(process.env['BENCH_COLD_LINES'] ?? 1500)));
  await new Promise((r) => setTimeout(r, 100));
  closeSync(devNull);
  process.exit(0); // the destinations' streams would keep the process alive
}

void main();
