// npm run bench:engine — time to review one realistic object through every shipped policy, the way
// admission does it (mutate, then validate the mutated object). Median and p99 of many runs, next
// to two baselines measured in the same run: JSON.parse of the same object as a request body, and
// the same review with every expression evaluated by cel-js (what the compiler in cel-compile.ts
// saves).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Compiled } from '../../policies/engine/cel.js';
import { Engine, defaultLibraryDir, loadLibrary, type Library, type JsonObject, type ReviewInput } from '../../policies/engine/index.js';

const WARMUP = 2_000;
const RUNS = 20_000;

function stats(samples: number[]): { median: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, p99: sorted[Math.floor(sorted.length * 0.99)]! };
}

function measure(fn: () => unknown): { median: number; p99: number } {
  for (let i = 0; i < WARMUP; i++) fn();
  const samples = new Array<number>(RUNS);
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    fn();
    samples[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  return stats(samples);
}

async function example(file: string, kind: string): Promise<JsonObject> {
  const text = await readFile(join(defaultLibraryDir(), '..', '..', 'manifests', 'examples', 'good', file), 'utf8');
  const doc = parseAllDocuments(text).map((d) => d.toJS() as JsonObject).find((o) => o['kind'] === kind);
  if (!doc) throw new Error(`${file} has no ${kind}`);
  return doc;
}

/** The library with compilation switched off: every expression is interpreted by cel-js. */
function interpretedOnly(library: Library): Library {
  for (const policy of library.policies) {
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

const libraryDir = process.env.REDLINE_BENCH_LIBRARY ?? defaultLibraryDir();
const engine = new Engine(await loadLibrary(libraryDir));
const interpreter = new Engine(interpretedOnly(await loadLibrary(libraryDir)));
const cases: [string, JsonObject, string][] = [
  ['KubeDB Redis (Sentinel, 3 pods)', await example('kubedb-sentinel.yaml', 'Redis'), 'standard'],
  ['StatefulSet (Bitnami-style, 3 pods)', await example('statefulset-bitnami.yaml', 'StatefulSet'), 'standard'],
];

console.log(`engine review, ${engine.policyNames.length} policies, median of ${RUNS} runs after ${WARMUP} warm-up (µs)`);
console.log('object                                 review med  review p99  JSON.parse med  ratio   cel-js-only med  speed-up');
for (const [label, object, plan] of cases) {
  const input: ReviewInput = {
    object, operation: 'CREATE', plan, mutate: true,
    namespace: { name: 'tenant-standard', labels: { 'redline.dev/tenant': 'globex', 'redline.dev/plan': plan } },
  };
  const outcome = engine.review(input);
  if (outcome.denied) throw new Error(`${label} is denied: the benchmark must review an admissible object`);
  if (JSON.stringify(interpreter.review(input).results) !== JSON.stringify(outcome.results)) {
    throw new Error(`${label}: compiled and cel-js-only reviews disagree`);
  }
  const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x', object } });
  const review = measure(() => engine.review(input));
  const parse = measure(() => JSON.parse(body));
  const interpreted = measure(() => interpreter.review(input));
  console.log(`${label.padEnd(38)} ${review.median.toFixed(1).padStart(10)}  ${review.p99.toFixed(1).padStart(10)}  ${parse.median.toFixed(1).padStart(14)}  ${(review.median / parse.median).toFixed(1).padStart(5)}x  ${interpreted.median.toFixed(1).padStart(15)}  ${(interpreted.median / review.median).toFixed(1).padStart(7)}x  (body ${body.length} B)`);
}
