// npm run bench:review — what `redline review` costs as a CI step, as two ratios measured in the
// same run against baselines run alternately with it (so the machine's changing load hits both):
//
//  (a) start-up: `redline review` of one file (a KubeDB Redis, --plan free) against a bare
//      `node -e 0`; target at most 4×.
//  (b) a repository of 1,000 manifest files (the shipped examples, copied under new names into
//      tenant namespaces, with their Namespaces): `redline review DIR` against a node process that
//      reads the same files and parses them with the yaml package; target at most 1.5×. A third
//      command in the same rotation reviews it with V8's default interrupt budget, which review
//      otherwise raises (cli/batch-tiering.ts), to show what that is worth on the same machine state.
//
// Each figure is the median of --runs runs (default 9). Wall time is what a CI step waits for; CPU
// time (user + system of the child, from bash's `times`) is printed next to it because it is what
// stays put when other processes share the machine. After (b), where the review's CPU goes, phase
// by phase (review-phases.ts: medians of up to 3 cold processes), to tell the policy engine's share
// from parsing and from review's own work.
//
//   npm run bench:review -- [--runs N] [--files N] [--keep]

import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { V8_DEFAULT_INTERRUPT_BUDGET } from '../../cli/batch-tiering.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const EXAMPLES = join(ROOT, 'manifests', 'examples');

interface Sample { wall: number; cpu: number }

/** Runs a command through bash so `times` reports the child's CPU; throws unless it exits with one of `codes`. */
function run(argv: string[], codes: readonly number[]): Sample {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const started = performance.now();
  const r = spawnSync('bash', ['-c', `${quoted} >/dev/null 2>/tmp/redline-bench-review.err; echo "rc=$?" >&2; times >&2`], { encoding: 'utf8', cwd: ROOT });
  const wall = performance.now() - started;
  const rc = Number(/rc=(\d+)/.exec(r.stderr)?.[1]);
  if (!codes.includes(rc)) throw new Error(`${argv.join(' ')} exited ${rc}: ${readFileSync('/tmp/redline-bench-review.err', 'utf8').slice(0, 2000)}`);
  // `times` prints the shell's own user/system times, then its children's: "0m0.612s 0m0.048s".
  const lines = r.stderr.trim().split('\n');
  const children = lines[lines.length - 1]!.match(/(\d+)m([\d.]+)s/g)!;
  const cpu = children.reduce((sum, t) => {
    const [, m, s] = /(\d+)m([\d.]+)s/.exec(t)!;
    return sum + (Number(m) * 60 + Number(s)) * 1000;
  }, 0);
  return { wall, cpu };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs the commands in turn `runs` times, the order rotating each round (after one warm-up each); the medians of each. */
function compare(runs: number, ...commands: (() => Sample)[]): Sample[] {
  for (const c of commands) c();
  const samples: Sample[][] = commands.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < commands.length; k++) {
      const which = (i + k) % commands.length;
      samples[which]!.push(commands[which]!());
    }
  }
  return samples.map((s) => ({ wall: median(s.map((x) => x.wall)), cpu: median(s.map((x) => x.cpu)) }));
}

/** A repository of `count` manifest files: the examples, renamed per copy, in tenant namespaces. */
function makeRepository(count: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'redline-bench-review-'));
  cpSync(join(EXAMPLES, 'namespaces.yaml'), join(dir, 'namespaces.yaml'));
  const sources = ['good', 'bad'].flatMap((d) => readdirSync(join(EXAMPLES, d)).sort().map((f) => join(EXAMPLES, d, f)));
  for (let i = 0; i < count - 1; i++) {
    const source = sources[i % sources.length]!;
    const text = readFileSync(source, 'utf8').replace(/^(\s*name: )([a-z0-9-]+)\s*$/m, `$1$2-${i}`);
    const sub = join(dir, `team-${i % 20}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `${i}-${source.split('/').at(-1)}`), text);
  }
  return dir;
}

const PARSE_ONLY = `
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
const walk = (d) => readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))
  .flatMap((e) => e.isDirectory() ? walk(join(d, e.name)) : /\\.(ya?ml|json)$/.test(e.name) ? [join(d, e.name)] : []);
let n = 0;
for (const f of walk(process.argv[1])) for (const doc of parseAllDocuments(readFileSync(f, 'utf8'))) if (doc.toJS()) n++;
if (n === 0) process.exit(3);
`;

function main(): void {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '9' },
      files: { type: 'string', default: '1000' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: npm run bench:review -- [--runs N (9)] [--files N (1000)] [--keep (the generated repository)]');
    return;
  }
  const runs = Number(values.runs);
  const files = Number(values.files);
  const one = join(EXAMPLES, 'good', 'kubedb-standalone.yaml');
  const node = process.execPath;

  const [startupReview, startupNode] = compare(runs, () => run([node, CLI, 'review', '--plan', 'free', one], [0]), () => run([node, '-e', '0'], [0]));
  const startup = { subject: startupReview!, baseline: startupNode! };
  const repo = makeRepository(files);
  // The bad examples are denied: review exits 1 there. The third command is review with V8's
  // default interrupt budget, which review raises unless node was given one (cli/batch-tiering.ts).
  const [scanReview, scanParse, scanDefault] = compare(runs,
    () => run([node, CLI, 'review', repo], [1]),
    () => run([node, '--input-type=module', '-e', PARSE_ONLY, repo], [0]),
    () => run([node, `--interrupt-budget=${V8_DEFAULT_INTERRUPT_BUDGET}`, CLI, 'review', repo], [1]));
  const scan = { subject: scanReview!, baseline: scanParse!, defaultTiering: scanDefault! };
  const phases = breakdown(repo, Math.min(runs, 3));
  if (values.keep) console.log(`repository kept at ${repo}`);
  else rmSync(repo, { recursive: true, force: true });

  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
  console.log(`redline review, median of ${runs} runs each, alternating with the baseline`);
  console.log('');
  console.log(`(a) start-up, one file (${one.slice(ROOT.length + 1)})                target ≤ 4×`);
  console.log(`    review      wall ${ms(startup.subject.wall).padStart(8)}   cpu ${ms(startup.subject.cpu).padStart(8)}`);
  console.log(`    node -e 0   wall ${ms(startup.baseline.wall).padStart(8)}   cpu ${ms(startup.baseline.cpu).padStart(8)}`);
  console.log(`    ratio       wall ${ratio(startup.subject.wall, startup.baseline.wall).padStart(8)}   cpu ${ratio(startup.subject.cpu, startup.baseline.cpu).padStart(8)}`);
  console.log('');
  console.log(`(b) a repository of ${files} files                                        target ≤ 1.5×`);
  console.log(`    review      wall ${ms(scan.subject.wall).padStart(8)}   cpu ${ms(scan.subject.cpu).padStart(8)}`);
  console.log(`    yaml parse  wall ${ms(scan.baseline.wall).padStart(8)}   cpu ${ms(scan.baseline.cpu).padStart(8)}`);
  console.log(`    ratio       wall ${ratio(scan.subject.wall, scan.baseline.wall).padStart(8)}   cpu ${ratio(scan.subject.cpu, scan.baseline.cpu).padStart(8)}`);
  console.log(`    review with V8's default interrupt budget (what cli/batch-tiering.ts raises):`);
  console.log(`                wall ${ms(scan.defaultTiering.wall).padStart(8)}   cpu ${ms(scan.defaultTiering.cpu).padStart(8)}`);
  console.log(`    ratio       wall ${ratio(scan.defaultTiering.wall, scan.baseline.wall).padStart(8)}   cpu ${ratio(scan.defaultTiering.cpu, scan.baseline.cpu).padStart(8)}`);
  console.log('');
  console.log(`    where review's CPU goes (one process, tsc's modules unbundled; median of ${Math.min(runs, 3)}), against the yaml parse's cpu:`);
  for (const [phase, cpu] of Object.entries(phases)) {
    console.log(`      ${phase.padEnd(14)} ${ms(cpu).padStart(8)}   ${ratio(cpu, scan.baseline.cpu).padStart(6)}`);
  }
}

/** Median CPU per phase of `runs` cold processes reviewing `repo` (see review-phases.ts). */
function breakdown(repo: string, runs: number): Record<string, number> {
  const samples: Record<string, number>[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'test', 'bench', 'review-phases.js'), repo], { encoding: 'utf8', cwd: ROOT });
    if (r.status !== 0) throw new Error(`review-phases exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
    samples.push(JSON.parse(r.stdout) as Record<string, number>);
  }
  return Object.fromEntries(Object.keys(samples[0]!).map((phase) => [phase, median(samples.map((s) => s[phase]!))]));
}

main();
