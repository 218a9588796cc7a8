// `redline review`, `redline mutate` and `redline test`: the engine offline, for CI and laptops.

import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { DocumentError, Engine, defaultLibraryDir, formatProblem, loadLibrary } from '../policies/engine/index.js';
import { FORMATS, render, type Format } from '../policies/review/format.js';
import { readManifests, readStdin } from '../policies/review/inputs.js';
import { reviewDocuments } from '../policies/review/review.js';
import { coverage, runPolicyTests } from '../policies/review/testing.js';
import { UsageError } from './usage-error.js';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  stdin: () => Promise<string>;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  stdin: readStdin,
};

async function engineFrom(dir: string | undefined): Promise<Engine> {
  return new Engine(await loadLibrary(dir ?? defaultLibraryDir()));
}

/** Exit codes: 0 no Deny failures, 1 at least one, 2 bad usage or unreadable/invalid input. */
export async function runReview(argv: string[], io: Io = processIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      plan: { type: 'string', default: 'free' },
      only: { type: 'string' },
      'no-mutate': { type: 'boolean', default: false },
      policies: { type: 'string' },
      format: { type: 'string', default: 'text' },
    },
  });
  if (positionals.length === 0) throw new UsageError('review needs at least one PATH (a file, a directory, or - for stdin)');
  const format = values.format as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not ${values.format}`);
  const engine = await engineFrom(values.policies);
  if (!engine.hasPlan(values.plan)) {
    throw new UsageError(`--plan ${values.plan} is not defined; known plans: ${[...engine.library.plans.keys()].join(', ')}`);
  }
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of only ?? []) {
    if (!engine.policyNames.includes(name)) throw new UsageError(`--only ${name}: no such policy; known: ${engine.policyNames.join(', ')}`);
  }
  const { docs, problems } = await readManifests(positionals, io.stdin);
  if (problems.length > 0) {
    io.err(`${problems.map(formatProblem).join('\n')}\n`);
    return 2;
  }
  const reviews = reviewDocuments(engine, docs, { plan: values.plan, mutate: !values['no-mutate'], ...(only ? { only } : {}) });
  io.out(render(format, reviews, engine.library.policies));
  return reviews.some((r) => r.denied) ? 1 : 0;
}

/** Prints the objects as admission would store them (Redis objects mutated, others unchanged). */
export async function runMutate(argv: string[], io: Io = processIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { plan: { type: 'string', default: 'free' }, policies: { type: 'string' } },
  });
  if (positionals.length === 0) throw new UsageError('mutate needs at least one PATH (a file, a directory, or - for stdin)');
  const engine = await engineFrom(values.policies);
  if (!engine.hasPlan(values.plan)) throw new UsageError(`--plan ${values.plan} is not defined`);
  const { docs, problems } = await readManifests(positionals, io.stdin);
  if (problems.length > 0) {
    io.err(`${problems.map(formatProblem).join('\n')}\n`);
    return 2;
  }
  const reviewed = new Map(reviewDocuments(engine, docs, { plan: values.plan, mutate: true }).map((r) => [r.doc, r.mutated]));
  io.out(docs.map((d) => stringify(reviewed.get(d) ?? d.value, { lineWidth: 0 })).join('---\n'));
  return 0;
}

/** Runs the PolicyTest cases next to the policies; exit 1 on a failing case or a rule without cases. */
export async function runTest(argv: string[], io: Io = processIo): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
  if (positionals.length > 1) throw new UsageError('test takes at most one DIR');
  const engine = await engineFrom(positionals[0]);
  const outcomes = runPolicyTests(engine, engine.library.tests);
  let failed = 0;
  for (const o of outcomes) {
    if (o.failures.length === 0) continue;
    failed++;
    io.out(`FAIL ${o.file}:${o.line} ${o.policy}: ${o.name}\n${o.failures.map((f) => `  ${f}\n`).join('')}`);
  }
  const missing = coverage(engine, engine.library.tests);
  for (const m of missing) io.out(`MISSING ${m}\n`);
  io.out(`${outcomes.length - failed} passed, ${failed} failed (${outcomes.length} cases, ${engine.policyNames.length} policies)\n`);
  return failed > 0 || missing.length > 0 ? 1 : 0;
}

export function describeError(e: unknown): { message: string; code: number } {
  if (e instanceof UsageError) return { message: e.message, code: 2 };
  if (e instanceof DocumentError) return { message: e.message, code: 2 };
  if (e instanceof Error && 'code' in e && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) return { message: e.message, code: 2 };
  return { message: e instanceof Error ? e.message : String(e), code: 2 };
}
