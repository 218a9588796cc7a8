// `redline review`, `redline mutate` and `redline test`: the engine offline, for CI and laptops.

import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { RedlineError } from '../core/errors.js';
import { formatProblem } from '../core/result.js';
import { Engine, defaultLibraryDir, loadLibrary, type LoadOptions } from '../policies/engine/index.js';
import { FORMATS, render, type Format } from '../policies/review/format.js';
import { readManifests, readStdin } from '../policies/review/inputs.js';
import { reviewDocuments, reviewInput } from '../policies/review/review.js';
import { TENANT_TOTALS_POLICY } from '../policies/review/tenant-totals.js';
import { schemaProblems } from '../policies/review/schemas.js';

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

async function engineFrom(dir: string | undefined, options: LoadOptions = {}, budgetMs?: number): Promise<Engine> {
  return new Engine(await loadLibrary(dir ?? defaultLibraryDir(), options), budgetMs === undefined ? {} : { timeBudgetMs: budgetMs });
}

/**
 * review and mutate never run the policy tests, so they do not read them; they are one-shot
 * processes, so expressions are generated on first use.
 */
const FOR_REVIEW: LoadOptions = { tests: false, lazy: true };

/**
 * Admission bounds one review to 250 ms (a request must answer in time). Offline, a busy CI runner
 * or a cold process must not turn rules into errors: review allows each object this long.
 */
export const REVIEW_BUDGET_MS = 10_000;

export const REVIEW_HELP = `usage: redline review [--plan NAME] [--tenant NAME] [--only POLICY[,POLICY]] [--no-mutate] [--policies DIR]
                      [--format text|json|sarif|junit] PATH...

Reviews manifests as admission would: each Redis object is mutated, then validated against the
policies. PATH is a YAML/JSON file, a directory (searched for *.yaml, *.yml, *.json) or - for stdin.
An object's plan comes from its Namespace in the input (redline.dev/plan); objects in a Namespace of
the input without redline.dev/tenant (or redline.dev/managed) are not tenant objects and are listed as
not reviewed, as admission allows them. Objects whose Namespace is not in the input use --plan.
Objects that look like Redis but are of a kind Redline does not know are listed as not reviewed.
The objects are summed per tenant (its Namespace's redline.dev/tenant, else --tenant) as admission
would store them in order: the object that takes a tenant past its plan's tenantTotals is denied by
tenant-totals with the arithmetic.
The library's PolicyExceptions apply as in admission, by today's date: a waived rule is a skip naming
the exception and its owner; an expired exception is ignored and warned about.

flags:
  --plan NAME          plan for objects whose Namespace is not in the input (default free)
  --tenant NAME        tenant of objects whose Namespace is not in the input (default: each such
                       namespace is a tenant of its own)
  --only P1,P2         evaluate only these policies (tenant-totals names the totals check)
  --no-mutate          validate objects exactly as written (admission mutates first)
  --policies DIR       policy + plan library (default: the shipped policies/library)
  --format FORMAT      text (default), json, sarif (code scanning) or junit (CI test reports)
  -h, --help           show this help

exit codes: 0 nothing denied; 1 at least one object denied; 2 bad usage, unreadable or invalid
input, nothing to review (no documents), or nothing reviewed while some objects were not
`;

export const MUTATE_HELP = `usage: redline mutate [--plan NAME] [--policies DIR] PATH...

Prints the objects of PATH (files, directories or - for stdin) as admission would store them: Redis
objects mutated by the policies, every other object unchanged, as multi-document YAML.

flags:
  --plan NAME          plan for objects whose Namespace is not in the input (default free)
  --policies DIR       policy + plan library (default: the shipped policies/library)
  -h, --help           show this help

exit codes: 0 printed; 2 bad usage, unreadable or invalid input, or nothing to mutate
`;

export const TEST_HELP = `usage: redline test [DIR]

Runs the policy test cases (kind PolicyTest) of a policy library against its policies and plans.
DIR is the library (default: the shipped policies/library) or its tests directory (e.g.
policies/library/tests: a directory whose parent holds policies/ and plans/).
Fails when a case fails, or when a rule has no passing or no failing case.

flags:
  -h, --help           show this help

exit codes: 0 every case passes; 1 a case fails or a rule lacks cases; 2 bad usage or a broken library
`;

const HELP_OPTION = { help: { type: 'boolean', short: 'h', default: false } } as const;

function describePaths(paths: readonly string[]): string {
  return paths.map((p) => (p === '-' ? '- (stdin)' : p)).join(' ');
}

/** Exit codes: 0 no Deny failures, 1 at least one, 2 bad usage, unreadable/invalid input or nothing to review. */
export async function runReview(argv: string[], io: Io = processIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      plan: { type: 'string', default: 'free' },
      tenant: { type: 'string' },
      only: { type: 'string' },
      'no-mutate': { type: 'boolean', default: false },
      policies: { type: 'string' },
      format: { type: 'string', default: 'text' },
      ...HELP_OPTION,
    },
  });
  if (values.help) {
    io.out(REVIEW_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new RedlineError('usage', 'review needs at least one PATH (a file, a directory, or - for stdin)');
  const format = values.format as Format;
  if (!FORMATS.includes(format)) throw new RedlineError('usage', `--format must be one of ${FORMATS.join(', ')}, not ${values.format}`);
  const engine = await engineFrom(values.policies, FOR_REVIEW, REVIEW_BUDGET_MS);
  if (!engine.hasPlan(values.plan)) {
    throw new RedlineError('usage', `--plan ${values.plan} is not defined; known plans: ${[...engine.library.plans.keys()].join(', ')}`);
  }
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of only ?? []) {
    if (!engine.policyNames.includes(name) && name !== TENANT_TOTALS_POLICY) throw new RedlineError('usage', `--only ${name}: no such policy; known: ${engine.policyNames.join(', ')}`);
  }
  const { docs, problems } = await readManifests(positionals, io.stdin);
  problems.push(...docs.flatMap(schemaProblems));
  if (problems.length > 0) {
    io.err(`${problems.map(formatProblem).join('\n')}\n`);
    return 2;
  }
  if (docs.length === 0) {
    io.err(`redline: nothing to review: ${describePaths(positionals)} (no YAML or JSON documents)\n`);
    return 2;
  }
  if (values.tenant !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(values.tenant)) {
    throw new RedlineError('usage', `--tenant ${values.tenant}: a tenant id is a DNS label (lower-case letters, digits and -)`);
  }
  const { reviews, notReviewed } = reviewInput(engine, docs, {
    plan: values.plan, mutate: !values['no-mutate'], ...(only ? { only } : {}), ...(values.tenant !== undefined ? { tenant: values.tenant } : {}),
  });
  io.out(render(format, reviews, engine.library.policies, notReviewed, engine.exceptionStatuses()));
  // Objects of unknown kinds do not change the verdict, unless nothing at all was reviewed.
  const unknown = notReviewed.filter((n) => n.why === 'unknown-kind');
  if (reviews.length === 0 && unknown.length > 0) {
    io.err(`redline: nothing reviewed: ${unknown.length} object(s) of kinds Redline does not know, and no Redis object it knows\n`);
    return 2;
  }
  return reviews.some((r) => r.denied) ? 1 : 0;
}

/** Prints the objects as admission would store them (Redis objects mutated, others unchanged). */
export async function runMutate(argv: string[], io: Io = processIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { plan: { type: 'string', default: 'free' }, policies: { type: 'string' }, ...HELP_OPTION },
  });
  if (values.help) {
    io.out(MUTATE_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new RedlineError('usage', 'mutate needs at least one PATH (a file, a directory, or - for stdin)');
  const engine = await engineFrom(values.policies, FOR_REVIEW, REVIEW_BUDGET_MS);
  if (!engine.hasPlan(values.plan)) throw new RedlineError('usage', `--plan ${values.plan} is not defined`);
  const { docs, problems } = await readManifests(positionals, io.stdin);
  problems.push(...docs.flatMap(schemaProblems));
  if (problems.length > 0) {
    io.err(`${problems.map(formatProblem).join('\n')}\n`);
    return 2;
  }
  if (docs.length === 0) {
    io.err(`redline: nothing to mutate: ${describePaths(positionals)} (no YAML or JSON documents)\n`);
    return 2;
  }
  const reviewed = new Map(reviewDocuments(engine, docs, { plan: values.plan, mutate: true }).map((r) => [r.doc, r.mutated]));
  io.out(docs.map((d) => stringify(reviewed.get(d) ?? d.value, { lineWidth: 0 })).join('---\n'));
  return 0;
}

/** Runs the PolicyTest cases next to the policies; exit 1 on a failing case or a rule without cases. */
export async function runTest(argv: string[], io: Io = processIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...HELP_OPTION } });
  if (values.help) {
    io.out(TEST_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new RedlineError('usage', 'test takes at most one DIR');
  const dir = positionals[0] === undefined ? undefined : libraryDirOf(positionals[0]);
  const engine = await engineFrom(dir);
  if (engine.policyNames.length === 0 && engine.library.tests.length === 0) {
    throw new RedlineError('usage', `nothing to test: ${positionals[0] ?? defaultLibraryDir()} has no policies and no PolicyTest documents`);
  }
  // Only `redline test` runs the cases: review and mutate do not load their runner.
  const { coverage, runPolicyTests } = await import('../policies/review/testing.js');
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

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The library a `test` DIR names: the DIR itself, or, for a library's tests directory (such as
 * policies/library/tests: no policies/ or plans/ inside, both beside it), its parent.
 */
export function libraryDirOf(dir: string): string {
  const isLibrary = (d: string): boolean => isDir(join(d, 'policies')) && isDir(join(d, 'plans'));
  if (isLibrary(dir) || existsSync(join(dir, 'policies')) || existsSync(join(dir, 'plans'))) return dir;
  const parent = dirname(dir.replace(/[\\/]+$/, '') || dir);
  return isLibrary(parent) ? parent : dir;
}

