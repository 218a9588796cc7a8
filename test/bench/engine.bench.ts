// npm run bench:engine — time to review one realistic object through every shipped policy, the way
// admission does it (mutate, then validate the mutated object). Median and p99 of many runs, next
// to a baseline measured in the same run: JSON.parse of the same object as a ~5 KB request body.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Engine, defaultLibraryDir, loadLibrary, type JsonObject, type ReviewInput } from '../../policies/engine/index.js';

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

const engine = new Engine(await loadLibrary(process.env.REDLINE_BENCH_LIBRARY ?? defaultLibraryDir()));
const cases: [string, JsonObject, string][] = [
  ['KubeDB Redis (Sentinel, 3 pods)', await example('kubedb-sentinel.yaml', 'Redis'), 'standard'],
  ['StatefulSet (Bitnami-style, 3 pods)', await example('statefulset-bitnami.yaml', 'StatefulSet'), 'standard'],
];

console.log(`engine review, ${engine.policyNames.length} policies, median of ${RUNS} runs after ${WARMUP} warm-up (µs)`);
console.log('object                                 review med  review p99  JSON.parse med  ratio');
for (const [label, object, plan] of cases) {
  const input: ReviewInput = {
    object, operation: 'CREATE', plan, mutate: true,
    namespace: { name: 'tenant-standard', labels: { 'redline.dev/tenant': 'globex', 'redline.dev/plan': plan } },
  };
  const outcome = engine.review(input);
  if (outcome.denied) throw new Error(`${label} is denied: the benchmark must review an admissible object`);
  const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x', object } });
  const review = measure(() => engine.review(input));
  const parse = measure(() => JSON.parse(body));
  console.log(`${label.padEnd(38)} ${review.median.toFixed(1).padStart(10)}  ${review.p99.toFixed(1).padStart(10)}  ${parse.median.toFixed(1).padStart(14)}  ${(review.median / parse.median).toFixed(1).padStart(5)}x  (body ${body.length} B)`);
}
