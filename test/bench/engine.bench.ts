// npm run bench:engine — what reviewing one object through the whole shipped library costs, in the
// three ways Redline runs it, each next to a baseline measured in the same run on the same objects:
//
//  (a) first contact, as `redline review` of a repository: a fresh process loads the library as
//      review does (expressions generated on first use) and reviews each of N distinct objects once,
//      back to back (mutate, then validate the mutated object). Baseline: parsing each object's YAML
//      document with the yaml package, interleaved with the reviews. Printed as totals.
//  (b) cold, as `serve` sees it: the admission pair of each object — the mutating review, then the
//      validating review of the mutated object — each on its own timer tick ~5 ms apart, so caches
//      and the JIT are as cold as between two API server requests. Baseline: JSON.parse of the
//      request body in the same tick. Median, p90 and mean per request.
//  (c) warm: one object reviewed 20,000 times in a row (the figure this bench printed first).
//
// Every figure also runs with each expression interpreted by cel-js (what the compiler in
// cel-compile.ts saves), interleaved with the compiled reviews so the machine's load hits both.
// The N objects are the shipped examples (manifests/examples, good and bad), each copied under new
// names and namespaces, with 0–11 extra labels and annotations so their sizes vary too.
//
//   npm run bench:engine -- [--objects N (600)] [--tick MS (5)] [--only first-contact,cold,warm]

import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import type { Compiled } from '../../policies/engine/cel.js';
import {
  Engine, defaultLibraryDir, loadLibrary, type Library, type JsonObject, type LoadOptions, type PdbInfo, type ReviewInput, type StorageClassInfo,
} from '../../policies/engine/index.js';
import { RECOGNISED_KINDS } from '../../policies/workloads/index.js';
import { LABEL_PLAN, LABEL_TENANT } from '../../core/vocabulary.js';

const { values: options } = parseArgs({
  options: {
    objects: { type: 'string', default: '600' },
    tick: { type: 'string', default: '5' },
    only: { type: 'string', default: 'first-contact,cold,warm' },
  },
});
const OBJECTS = Number(options.objects);
const TICK_MS = Number(options.tick);
const FIGURES = new Set(options.only.split(','));
const WARMUP = 2_000;
const RUNS = 20_000;
const EXAMPLES = join(defaultLibraryDir(), '..', '..', 'manifests', 'examples');
const libraryDir = process.env.REDLINE_BENCH_LIBRARY ?? defaultLibraryDir();

// ---- the objects -------------------------------------------------------------------------------

interface Sample {
  /** The object's YAML document, as review reads it. */
  yaml: string;
  object: JsonObject;
  namespace: { name: string; labels: Record<string, string> };
  plan: string;
}

const PLANS: Record<string, string> = { 'tenant-free': 'free', 'tenant-standard': 'standard', 'tenant-premium': 'premium' };
const STORAGE_CLASSES: StorageClassInfo[] = [
  { name: 'standard', provisioner: 'ebs.csi.aws.com', default: true },
  { name: 'local', provisioner: 'kubernetes.io/no-provisioner', default: false },
];

/** Every document of the shipped examples (good and bad), as text. */
async function exampleDocuments(): Promise<string[]> {
  const out: string[] = [];
  for (const dir of ['good', 'bad']) {
    for (const file of (await readdir(join(EXAMPLES, dir))).sort()) {
      const text = await readFile(join(EXAMPLES, dir, file), 'utf8');
      for (const doc of parseAllDocuments(text)) if (doc.toJS()) out.push(String(doc));
    }
  }
  return out;
}

/** Copy `i` of an example: its own name, one of eight namespaces of the example's plan, 0–11 extra labels and annotations. */
function variant(yaml: string, i: number): Sample {
  const object = parseAllDocuments(yaml)[0]!.toJS() as JsonObject;
  const meta = object['metadata'] as JsonObject;
  const home = typeof meta['namespace'] === 'string' ? meta['namespace'] : 'tenant-standard';
  const plan = PLANS[home] ?? 'standard';
  const namespace = `${home}-${i % 8}`;
  meta['name'] = `${String(meta['name'])}-${i}`;
  meta['namespace'] = namespace;
  const labels = { ...(meta['labels'] as Record<string, string> | undefined) };
  const annotations = { ...(meta['annotations'] as Record<string, string> | undefined) };
  for (let k = 0; k < i % 12; k++) {
    labels[`team.example.com/l${k}`] = `v${i}-${k}`;
    annotations[`notes.example.com/a${k}`] = `copy ${i} of the example, annotation ${k}: ${'x'.repeat((i * 7 + k) % 40)}`;
  }
  meta['labels'] = labels;
  meta['annotations'] = annotations;
  return {
    yaml: stringify(object),
    object,
    namespace: { name: namespace, labels: { [LABEL_TENANT]: `tenant-${i % 5}`, [LABEL_PLAN]: plan } },
    plan,
  };
}

function pdbsFor(sample: Sample): PdbInfo[] {
  return [{ name: 'other', namespace: sample.namespace.name, selector: { matchLabels: { app: 'something-else' } } }];
}

function inputOf(sample: Sample, object: JsonObject, endpoint: 'mutate' | 'validate' | 'both'): ReviewInput {
  return {
    object, operation: 'CREATE', plan: sample.plan, namespace: sample.namespace,
    userInfo: { username: 'system:serviceaccount:ci:deployer', groups: ['system:serviceaccounts'] },
    mutate: endpoint !== 'validate', validate: endpoint !== 'mutate',
    storageClasses: STORAGE_CLASSES, pdbs: pdbsFor(sample),
  };
}

// ---- the engines -------------------------------------------------------------------------------

/** The library with compilation switched off: every expression is interpreted by cel-js. */
function interpretedOnly(library: Library): Library {
  for (const policy of library.policies) {
    policy.fused = null;
    const expressions = [
      ...policy.variables.map((v) => v.expr),
      ...policy.rules.flatMap((r) => [r.when, r.expression, r.violations, r.messageExpression, r.skipMessageExpression]),
      ...policy.mutations.flatMap((m) => [m.when, m.addExpression]),
    ];
    for (const expr of expressions) {
      if (!expr) continue;
      const writable = expr as { -readonly [K in keyof Compiled]: Compiled[K] };
      writable.evaluate = expr.interpret;
      writable.evaluateNative = () => {
        throw new Error('interpreted only');
      };
    }
  }
  return library;
}

/**
 * Both engines run every rule to the end: on a loaded machine a first-contact review by cel-js alone
 * once took over the engine's default 250 ms budget, and its rules then came out as "evaluation
 * stopped" errors the compiled review did not have. The budget is only a guard; the clock is read as always.
 */
const BENCH_BUDGET = { timeBudgetMs: 60_000 };

async function engines(load: LoadOptions): Promise<{ compiled: Engine; interpreted: Engine }> {
  return {
    compiled: new Engine(await loadLibrary(libraryDir, load), BENCH_BUDGET),
    interpreted: new Engine(interpretedOnly(await loadLibrary(libraryDir, load)), BENCH_BUDGET),
  };
}

// ---- measuring ---------------------------------------------------------------------------------

function micros(fn: () => unknown): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1000;
}

function stats(samples: number[]): { median: number; p90: number; p99: number; mean: number; total: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const total = samples.reduce((s, x) => s + x, 0);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
  return { median: at(0.5), p90: at(0.9), p99: at(0.99), mean: total / samples.length, total };
}

const f = (x: number, width = 8): string => x.toFixed(1).padStart(width);
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

/** The compiled and the cel-js-only review of the same thing, alternately first (so neither always meets the colder caches). */
function both(i: number, compiled: () => unknown, interpreted: () => unknown): [number, number] {
  if (i % 2 === 0) {
    const c = micros(compiled);
    return [c, micros(interpreted)];
  }
  const n = micros(interpreted);
  return [micros(compiled), n];
}

/** The outcome of both engines must agree, or the comparison means nothing. */
function agree(label: string, a: unknown, b: unknown): void {
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  const first = Array.isArray(a) && Array.isArray(b) ? a.findIndex((x, i) => JSON.stringify(x) !== JSON.stringify(b[i])) : -1;
  const where = first >= 0 ? `; first difference: ${JSON.stringify((a as unknown[])[first])} vs ${JSON.stringify((b as unknown[])[first])}` : '';
  throw new Error(`${label}: compiled and cel-js-only reviews disagree${where}`);
}

// ---- (a) first contact -------------------------------------------------------------------------

async function firstContact(samples: Sample[]): Promise<void> {
  const { compiled, interpreted } = await engines({ tests: false, lazy: true });
  const review: number[] = [];
  const celjs: number[] = [];
  const yaml: number[] = [];
  samples.forEach((s, i) => {
    let outcome: unknown;
    let other: unknown;
    yaml.push(micros(() => parseAllDocuments(s.yaml).map((d) => d.toJS())));
    const [c, n] = both(i, () => (outcome = compiled.review(inputOf(s, s.object, 'both'))), () => (other = interpreted.review(inputOf(s, s.object, 'both'))));
    agree(String((s.object['metadata'] as JsonObject)['name']), (outcome as { results: unknown }).results, (other as { results: unknown }).results);
    review.push(c);
    celjs.push(n);
  });
  const r = stats(review);
  const y = stats(yaml);
  const n = stats(celjs);
  console.log(`(a) first contact: ${samples.length} distinct objects reviewed once each, back to back, in a fresh process (ms)`);
  console.log(`    review (mutate + validate)  ${f(r.total / 1000)}   yaml parse ${f(y.total / 1000)}   ratio ${ratio(r.total, y.total).padStart(7)}`);
  console.log(`    cel-js only                 ${f(n.total / 1000)}   compiled saves ${ratio(n.total, r.total)}`);
}

// ---- (b) cold, one request per tick ------------------------------------------------------------

async function cold(samples: Sample[]): Promise<void> {
  const { compiled, interpreted } = await engines({});
  // A process that has served before: every object reviewed once, back to back, not measured.
  for (const s of samples) {
    compiled.review(inputOf(s, s.object, 'both'));
    interpreted.review(inputOf(s, s.object, 'both'));
  }
  const rows = { mutate: [] as number[], validate: [] as number[], parse: [] as number[], celMutate: [] as number[], celValidate: [] as number[] };
  let i = 0;
  for (const s of samples) {
    const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: `u${i}`, object: s.object } });
    await sleep(TICK_MS);
    rows.parse.push(micros(() => JSON.parse(body)));
    let mutated: JsonObject = s.object;
    let other: JsonObject = s.object;
    const [m, cm] = both(i, () => (mutated = compiled.review(inputOf(s, s.object, 'mutate')).mutated), () => (other = interpreted.review(inputOf(s, s.object, 'mutate')).mutated));
    agree(`mutating ${i}`, mutated, other);
    rows.mutate.push(m);
    rows.celMutate.push(cm);
    await sleep(TICK_MS);
    const validated = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: `v${i}`, object: mutated } });
    rows.parse.push(micros(() => JSON.parse(validated)));
    const [v, cv] = both(i + 1, () => compiled.review(inputOf(s, mutated, 'validate')), () => interpreted.review(inputOf(s, mutated, 'validate')));
    rows.validate.push(v);
    rows.celValidate.push(cv);
    i++;
  }
  const m = stats(rows.mutate);
  const v = stats(rows.validate);
  const p = stats(rows.parse);
  const cm = stats(rows.celMutate);
  const cv = stats(rows.celValidate);
  console.log(`(b) cold: the admission pair of ${samples.length} distinct objects, one review per ${TICK_MS} ms tick (µs per request)`);
  console.log('                          median       p90      mean   ratio (median to JSON.parse median)');
  const row = (label: string, x: ReturnType<typeof stats>): void => console.log(`    ${label.padEnd(20)} ${f(x.median)}  ${f(x.p90)}  ${f(x.mean)}   ${ratio(x.median, p.median).padStart(7)}`);
  row('mutating review', m);
  row('validating review', v);
  row('JSON.parse of body', p);
  row('cel-js only, mutate', cm);
  row('cel-js only, validate', cv);
  console.log(`    compiled saves (sum of medians)  ${ratio(cm.median + cv.median, m.median + v.median)}`);
}

// ---- (c) warm ----------------------------------------------------------------------------------

function repeat(fn: () => unknown): { median: number; p99: number } {
  for (let i = 0; i < WARMUP; i++) fn();
  const samples = new Array<number>(RUNS);
  for (let i = 0; i < RUNS; i++) samples[i] = micros(fn);
  return stats(samples);
}

async function example(file: string, kind: string): Promise<JsonObject> {
  const text = await readFile(join(EXAMPLES, 'good', file), 'utf8');
  const doc = parseAllDocuments(text).map((d) => d.toJS() as JsonObject).find((o) => o['kind'] === kind);
  if (!doc) throw new Error(`${file} has no ${kind}`);
  return doc;
}

async function warm(): Promise<void> {
  const { compiled: engine, interpreted: interpreter } = await engines({});
  const cases: [string, JsonObject, string][] = [
    ['KubeDB Redis (Sentinel, 3 pods)', await example('kubedb-sentinel.yaml', 'Redis'), 'standard'],
    ['StatefulSet (Bitnami-style, 3 pods)', await example('statefulset-bitnami.yaml', 'StatefulSet'), 'standard'],
  ];
  console.log(`(c) warm: one object reviewed ${RUNS} times after ${WARMUP} warm-up (µs)`);
  console.log('    object                                 review med  review p99  JSON.parse med  ratio   cel-js-only med  speed-up');
  for (const [label, object, plan] of cases) {
    const input: ReviewInput = {
      object, operation: 'CREATE', plan, mutate: true,
      namespace: { name: 'tenant-standard', labels: { [LABEL_TENANT]: 'globex', [LABEL_PLAN]: plan } },
    };
    const outcome = engine.review(input);
    if (outcome.denied) throw new Error(`${label} is denied: the benchmark must review an admissible object`);
    agree(label, interpreter.review(input).results, outcome.results);
    const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x', object } });
    const review = repeat(() => engine.review(input));
    const parse = repeat(() => JSON.parse(body));
    const interpreted = repeat(() => interpreter.review(input));
    console.log(`    ${label.padEnd(38)} ${review.median.toFixed(1).padStart(10)}  ${review.p99.toFixed(1).padStart(10)}  ${parse.median.toFixed(1).padStart(14)}  ${(review.median / parse.median).toFixed(1).padStart(5)}x  ${interpreted.median.toFixed(1).padStart(15)}  ${(interpreted.median / review.median).toFixed(1).padStart(7)}x  (body ${body.length} B)`);
  }
}

// ---- main --------------------------------------------------------------------------------------

const documents = await exampleDocuments();
// Only the kinds the engine has an adapter for (Namespaces and the like are not its to judge). No
// review runs before (a): it must meet the code as a fresh `redline review` does.
const known = new Set(RECOGNISED_KINDS.map((k) => `${k.apiVersion}/${k.kind}`));
const reviewable = documents.filter((d) => {
  const object = parseAllDocuments(d)[0]!.toJS() as JsonObject;
  return known.has(`${String(object['apiVersion'])}/${String(object['kind'])}`);
});
const samples = Array.from({ length: OBJECTS }, (_, i) => variant(reviewable[i % reviewable.length]!, i));
const policies = (await loadLibrary(libraryDir, { tests: false, lazy: true })).policies.length;
console.log(`engine review through the shipped library (${policies} policies), ${reviewable.length} example objects in ${OBJECTS} variants`);
console.log('');
if (FIGURES.has('first-contact')) await firstContact(samples);
if (FIGURES.has('cold')) await cold(samples);
if (FIGURES.has('warm')) await warm();
