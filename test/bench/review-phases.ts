// Where `redline review DIR` spends its CPU, phase by phase, in one cold process (run by
// review-cli.ts as a child, once per run): what `runReview` does, step by step, through the same
// modules (tsc's output, not the CLI bundle: module loading is shown apart), with V8's interrupt
// budget raised as the CLI raises it (cli/batch-tiering.ts). The policy engine's
// share of the review phase is its share of that phase's wall time, timed around Engine.review
// (reading the process's CPU time costs a system call, too much to do per object); the rest is
// review's own (locating findings, tenant totals, objects not reviewed). Prints one JSON line of
// CPU ms.
//
//   node dist/test/bench/review-phases.js DIR

import { cpuUsage } from 'node:process';
import { tierUpLater } from '../../cli/batch-tiering.js';

// As the CLI runs review (cli/main.ts).
tierUpLater();

function cpu(): number {
  const u = cpuUsage();
  return (u.user + u.system) / 1000;
}

const phases: Record<string, number> = {};
let last = cpu();
const lap = (name: string): void => {
  const now = cpu();
  phases[name] = (phases[name] ?? 0) + now - last;
  last = now;
};

const { Engine, defaultLibraryDir, loadLibrary } = await import('../../policies/engine/index.js');
const { readManifests } = await import('../../policies/review/inputs.js');
const { schemaProblems } = await import('../../policies/review/schemas.js');
const { reviewInput } = await import('../../policies/review/review.js');
const { render } = await import('../../policies/review/format.js');
lap('modules');
const engine = new Engine(await loadLibrary(defaultLibraryDir(), { tests: false, lazy: true }), { timeBudgetMs: 10_000 });
lap('library');
const { docs } = await readManifests([process.argv[2]!], () => Promise.resolve(''));
lap('read + parse');
docs.flatMap(schemaProblems);
lap('schemas');
let engineWall = 0;
const review = engine.review.bind(engine);
engine.review = (input) => {
  const started = performance.now();
  try {
    return review(input);
  } finally {
    engineWall += performance.now() - started;
  }
};
const reviewStarted = performance.now();
const { reviews, notReviewed } = reviewInput(engine, docs, { plan: 'free', mutate: true });
const engineShare = engineWall / (performance.now() - reviewStarted);
lap('review');
phases['policy engine'] = phases['review']! * engineShare;
phases['review'] = phases['review']! * (1 - engineShare);
render('text', reviews, engine.library.policies, notReviewed, engine.exceptionStatuses());
lap('render');
process.stdout.write(`${JSON.stringify(phases)}\n`);
