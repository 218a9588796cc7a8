// PolicyExceptions: validated like plans and policies (file:line:column and field path), and applied
// by the engine itself — the one path admission, review and audit share — as skips naming the
// exception and its owner, by the engine's wall clock; a tenant cannot widen one.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../core/result.js';
import type { DocumentError } from '../../policies/engine/documents.js';
import { RedlineError } from '../../core/errors.js';
import { Engine } from '../../policies/engine/engine.js';
import { compileLibrary, type Library } from '../../policies/engine/library.js';
import type { JsonObject, ReviewInput } from '../../policies/engine/types.js';
import { exceptionWarnings, render } from '../../policies/review/format.js';
import type { ObjectReview } from '../../policies/review/review.js';
import type { SourceDocument } from '../../policies/engine/documents.js';
import { shapeOutcome } from '../../webhook/admission.js';

const FREE_PLAN = readFileSync('policies/library/plans/free.yaml', 'utf8');
const HEADER = 'apiVersion: redline.dev/v1alpha1';

/** A Deny policy `guard` (rules strict: fails, broken: errors), a Warn policy `advice` (nag: warns). */
const POLICIES = `${HEADER}
kind: Policy
metadata: {name: guard}
spec:
  action: Deny
  rules:
    - {name: strict, expression: 'object.metadata.name == "nothing"', message: strict says no}
    - {name: other, expression: 'object.metadata.name == "nothing"', message: other says no}
    - {name: broken, expression: 'object.spec.missing.field == 1', message: unreachable}
    - {name: fine, expression: 'true', message: never}
---
${HEADER}
kind: Policy
metadata: {name: advice}
spec:
  action: Warn
  rules:
    - {name: nag, expression: 'false', message: consider otherwise}
`;

/** A PolicyException document; `extra` lines go under spec (indented by 2). */
function exceptionDoc(name: string, opts: { approved?: string; expires?: string; policies?: string; match?: string; extra?: string } = {}): string {
  return `${HEADER}
kind: PolicyException
metadata: {name: ${name}}
spec:
  owner: dba@acme.example
  reason: legacy clients
  approved: ${opts.approved ?? '2027-01-01'}
  expires: ${opts.expires ?? '2027-02-01'}
  policies: ${opts.policies ?? '[{policy: guard, rules: [strict, broken]}, {policy: advice}]'}
  match: ${opts.match ?? '{tenant: acme, names: [sessions]}'}
${opts.extra ?? ''}`;
}

function library(...docs: string[]): Library {
  return compileLibrary('lib', [
    { file: 'plans/free.yaml', text: FREE_PLAN },
    { file: 'policies/p.yaml', text: POLICIES },
    ...docs.map((text, i) => ({ file: `exceptions/e${i}.yaml`, text })),
  ]);
}

function problems(...docs: string[]): string[] {
  try {
    library(...docs);
  } catch (e) {
    expect(e).toBeInstanceOf(RedlineError);
    expect((e as DocumentError).code).toBe('document-invalid');
    return (e as DocumentError).problems.map(formatProblem);
  }
  throw new Error('expected the library to be rejected');
}

const redis = (name = 'sessions', kind = 'Redis'): JsonObject => ({
  apiVersion: 'kubedb.com/v1', kind, metadata: { name, namespace: 'tenant-acme' },
  spec: { version: '7.2.4', storageType: 'Ephemeral' },
});

function input(object: JsonObject, at: string, labels: Record<string, string> = { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'free' }, ns = 'tenant-acme'): ReviewInput {
  return { object, operation: 'CREATE', plan: 'free', mutate: false, namespace: { name: ns, labels }, now: new Date(at) };
}

const byRule = (results: { policy: string; rule: string; result: string }[]): Record<string, string> =>
  Object.fromEntries(results.map((r) => [`${r.policy}.${r.rule}`, r.result]));

describe('PolicyException documents are validated like plans and policies', () => {
  it('requires owner, reason, approved, expires, the policies and a match naming a tenant and names', () => {
    const got = problems(`${HEADER}\nkind: PolicyException\nmetadata: {name: bare}\nspec:\n  policies: [{policy: guard}]\n  match: {kinds: [Redis]}\n`);
    for (const field of ['owner', 'reason', 'approved', 'expires']) {
      expect(got).toContain(`exceptions/e0.yaml:5:3: spec.${field}: required field is missing`);
    }
    // Without a tenant and names it would match everything: refused.
    expect(got).toContain('exceptions/e0.yaml:6:10: spec.match.tenant: required field is missing');
    expect(got).toContain('exceptions/e0.yaml:6:10: spec.match.names: required field is missing');
  });

  it('refuses globs in names, naming why', () => {
    const got = problems(exceptionDoc('glob', { match: '{tenant: acme, names: ["cache-*"]}' }));
    expect(got).toEqual(['exceptions/e0.yaml:10:33: spec.match.names[0]: exact names only: globs are not allowed (a tenant names its own objects, so a pattern would waive the rule for any object it names to fit)']);
  });

  it('refuses an empty owner or reason, and dates that do not exist', () => {
    const got = problems(exceptionDoc('blank', { approved: '2027-02-30', expires: '"next month"', extra: '' }).replace('owner: dba@acme.example', 'owner: "  "'));
    expect(got).toContain('exceptions/e0.yaml:5:10: spec.owner: must not be blank');
    expect(got).toContain('exceptions/e0.yaml:7:13: spec.approved: must be a date such as 2027-01-15 (00:00 UTC) or an RFC 3339 time such as 2027-01-15T12:00:00Z');
    expect(got.some((p) => p.startsWith('exceptions/e0.yaml:8:12: spec.expires: must be a date'))).toBe(true);
  });

  it('checks the policies and rules it names against the library', () => {
    const got = problems(exceptionDoc('typo', { policies: '[{policy: gaurd}, {policy: guard, rules: [strict, strikt]}]' }));
    expect(got).toEqual([
      'exceptions/e0.yaml:9:23: spec.policies[0].policy: no policy gaurd in the library (policies: guard, advice)',
      'exceptions/e0.yaml:9:63: spec.policies[1].rules[1]: policy guard has no rule strikt (its rules: strict, other, broken, fine)',
    ]);
  });

  it('keeps expires after approved and at most maxDays (default 90) later', () => {
    expect(problems(exceptionDoc('backwards', { approved: '2027-02-01', expires: '2027-01-01' })))
      .toEqual(['exceptions/e0.yaml:8:12: spec.expires: must be after approved (2027-02-01)']);
    expect(problems(exceptionDoc('long', { approved: '2027-01-01', expires: '2027-04-02' })))
      .toEqual(['exceptions/e0.yaml:8:12: spec.expires: 91 days after approved (2027-01-01); the library allows at most 90 (LibrarySettings spec.exceptions.maxDays)']);
    expect(() => library(exceptionDoc('ninety', { approved: '2027-01-01', expires: '2027-04-01' }))).not.toThrow();
  });

  it('takes the maximum from the library\'s one LibrarySettings document', () => {
    const settings = (days: number, warn = 7): string => `${HEADER}\nkind: LibrarySettings\nmetadata: {name: library}\nspec:\n  exceptions: {maxDays: ${days}, expiryWarningDays: ${warn}}\n`;
    expect(problems(settings(30), exceptionDoc('month', { approved: '2027-01-01', expires: '2027-02-01' })))
      .toEqual(['exceptions/e1.yaml:8:12: spec.expires: 31 days after approved (2027-01-01); the library allows at most 30 (LibrarySettings spec.exceptions.maxDays)']);
    expect(library(settings(31)).settings).toEqual({ maxExceptionDays: 31, expiryWarningDays: 7 });
    expect(problems(settings(30), settings(40).replace('name: library', 'name: other'))).toEqual(['exceptions/e1.yaml:1:1: a library has one LibrarySettings document (the first is in exceptions/e0.yaml:1)']);
    expect(problems(settings(10, 20))).toEqual(['exceptions/e0.yaml:5:48: spec.exceptions.expiryWarningDays: must be at most maxDays (10)']);
  });

  it('refuses two exceptions of one name', () => {
    const got = problems(exceptionDoc('twin'), exceptionDoc('twin'));
    expect(got).toEqual(['exceptions/e1.yaml:3:18: metadata.name: duplicate PolicyException twin (first defined in exceptions/e0.yaml:1)']);
  });
});

describe('the engine applies exceptions on every review', () => {
  const lib = library(exceptionDoc('acme-sessions', { extra: '  ticket: OPS-7\n' }));

  it('turns the failures, warnings and errors it covers into skips naming it and its owner; the object is no longer denied', () => {
    const before = new Engine(library()).review(input(redis(), '2027-01-10'));
    expect(before.denied).toBe(true);
    expect(byRule(before.results)).toMatchObject({ 'guard.strict': 'fail', 'guard.other': 'fail', 'guard.broken': 'error', 'advice.nag': 'warn' });

    const out = new Engine(lib).review(input(redis(), '2027-01-10'));
    expect(byRule(out.results)).toEqual({ 'guard.strict': 'skip', 'guard.other': 'fail', 'guard.broken': 'skip', 'guard.fine': 'pass', 'advice.nag': 'skip' });
    const strict = out.results.find((r) => r.rule === 'strict')!;
    expect(strict).toMatchObject({ excepted: 'fail', denies: false, exception: { name: 'acme-sessions', owner: 'dba@acme.example', expires: '2027-02-01', ticket: 'OPS-7', reason: 'legacy clients' } });
    expect(strict.message).toBe('excepted by acme-sessions (owner dba@acme.example, until 2027-02-01, ticket OPS-7): strict says no');
    expect(out.results.find((r) => r.rule === 'broken')).toMatchObject({ excepted: 'error', denies: false });
    // guard.other is not excepted: still denied.
    expect(out.denied).toBe(true);
    expect(out.exceptions).toEqual([{
      exception: strict.exception, state: 'active', rules: ['guard.strict', 'guard.broken', 'advice.nag'],
      message: 'exception acme-sessions, owner dba@acme.example, until 2027-02-01: waives guard.strict, guard.broken, advice.nag',
    }]);
  });

  it('admits once every denying rule is excepted', () => {
    const all = library(exceptionDoc('all-guard', { policies: '[{policy: guard}]' }));
    const out = new Engine(all).review(input(redis(), '2027-01-10'));
    expect(out.denied).toBe(false);
    expect(byRule(out.results)).toMatchObject({ 'guard.strict': 'skip', 'guard.other': 'skip', 'guard.fine': 'pass', 'advice.nag': 'warn' });
  });

  it('warns within the last 14 days, ignores it from expires on (and says so), and before approved', () => {
    const engine = new Engine(lib);
    const soon = engine.review(input(redis(), '2027-01-25T00:00:00Z'));
    expect(soon.results.find((r) => r.rule === 'strict')?.result).toBe('skip');
    expect(soon.exceptions?.[0]).toMatchObject({ state: 'expiring', message: 'exception acme-sessions, owner dba@acme.example, expires in 7 days (2027-02-01): waives guard.strict, guard.broken, advice.nag' });

    const expired = engine.review(input(redis(), '2027-02-01T00:00:00Z'));
    expect(byRule(expired.results)).toMatchObject({ 'guard.strict': 'fail', 'guard.broken': 'error', 'advice.nag': 'warn' });
    expect(expired.results.some((r) => r.exception)).toBe(false);
    expect(expired.denied).toBe(true);
    expect(expired.exceptions).toEqual([expect.objectContaining({
      state: 'expired', message: 'exception acme-sessions, owner dba@acme.example, expired 2027-02-01: guard.strict, guard.broken, advice.nag apply again',
    })]);

    const early = engine.review(input(redis(), '2026-12-31T23:59:59Z'));
    expect(early.results.find((r) => r.rule === 'strict')?.result).toBe('fail');
    expect(early.exceptions?.[0]?.state).toBe('pending');
  });

  it('uses the engine clock when the input names no time', () => {
    const { now: _, ...timeless } = input(redis(), '2027-01-10');
    expect(new Engine(lib, { clock: () => new Date('2027-01-10') }).review(timeless).denied).toBe(true);
    expect(new Engine(lib, { clock: () => new Date('2027-01-10') }).review(timeless).results.find((r) => r.rule === 'strict')?.result).toBe('skip');
    expect(new Engine(lib, { clock: () => new Date('2027-03-01') }).review(timeless).results.find((r) => r.rule === 'strict')?.result).toBe('fail');
    expect(new Engine(lib, { clock: () => new Date('2027-01-20') }).exceptionStatuses()).toEqual([
      { name: 'acme-sessions', owner: 'dba@acme.example', expires: '2027-02-01', approvedMs: Date.parse('2027-01-01'), expiresMs: Date.parse('2027-02-01'), state: 'expiring', daysLeft: 12 },
    ]);
  });

  it('never matches another tenant, a namespace without a tenant label, another name or kind, or a generated name', () => {
    const engine = new Engine(library(exceptionDoc('scoped', { match: '{tenant: acme, namespaces: [tenant-acme], kinds: [Redis], names: [sessions]}' })));
    const strict = (i: ReviewInput): string | undefined => engine.review(i).results.find((r) => r.rule === 'strict')?.result;
    expect(strict(input(redis(), '2027-01-10'))).toBe('skip');
    // Tenant B's namespace, even one named like A's, or A's tenant value in another label.
    expect(strict(input(redis(), '2027-01-10', { 'redline.dev/tenant': 'globex', 'redline.dev/plan': 'free' }))).toBe('fail');
    expect(strict(input(redis(), '2027-01-10', { 'redline.dev/tenant': 'acme ', 'example.com/tenant': 'acme', 'redline.dev/plan': 'free' }))).toBe('fail');
    // Being offboarded (managed, tenant label gone): nothing of the tenant's waivers.
    expect(strict(input(redis(), '2027-01-10', { 'redline.dev/managed': 'true', 'redline.dev/plan': 'free' }))).toBe('fail');
    // The tenant's other namespace, a name the tenant picked to look alike, another kind.
    expect(strict(input(redis(), '2027-01-10', undefined, 'acme-staging'))).toBe('fail');
    expect(strict(input(redis('sessions-2'), '2027-01-10'))).toBe('fail');
    expect(strict(input(redis('sessions', 'RedisSentinel'), '2027-01-10'))).toBe('fail');
    const generated = redis();
    (generated['metadata'] as JsonObject) = { generateName: 'sessions', namespace: 'tenant-acme' };
    const unnamed = engine.review(input(generated, '2027-01-10'));
    expect(unnamed.results.some((r) => r.exception)).toBe(false);
    expect(unnamed.denied).toBe(true);
    // No namespace at all.
    expect(engine.review({ ...input(redis(), '2027-01-10'), namespace: null }).results.find((r) => r.rule === 'strict')?.result).toBe('fail');
  });

  it('leaves mutation alone: the mutating call has no rule results to waive', () => {
    const out = new Engine(lib).review({ ...input(redis(), '2027-01-10'), mutate: true, validate: false });
    expect(out.results).toEqual([]);
    expect(out.exceptions).toBeUndefined();
  });
});

describe('what admission and the review formats show', () => {
  const lib = library(exceptionDoc('all-guard', { policies: '[{policy: guard}]', extra: '  ticket: OPS-9\n' }));

  it('admission allows with a warning naming the exception and its owner, and says when it is expiring or expired', () => {
    const engine = new Engine(lib);
    const active = shapeOutcome('validate', 'u1', engine.review(input(redis(), '2027-01-10')));
    expect(active.response.allowed).toBe(true);
    expect(active.response.warnings).toContain('exception all-guard, owner dba@acme.example, until 2027-02-01: waives guard.strict, guard.other, guard.broken');
    expect(active.notable).toEqual(expect.arrayContaining(['guard.strict=excepted:all-guard', 'advice.nag=warn']));

    const soon = shapeOutcome('validate', 'u2', engine.review(input(redis(), '2027-01-31T12:00:00Z')));
    expect(soon.response.allowed).toBe(true);
    // Past 120 characters a warning is cut at the end: the exception, its owner and the date stay.
    expect(soon.response.warnings).toContain('exception all-guard, owner dba@acme.example, expires in 1 day (2027-02-01): waives guard.strict, guard.other, guard.bro…');

    const after = shapeOutcome('validate', 'u3', engine.review(input(redis(), '2027-02-02')));
    expect(after.response.allowed).toBe(false);
    expect(after.response.status?.message).toContain('guard.strict: strict says no');
    expect(after.response.warnings).toContain('exception all-guard, owner dba@acme.example, expired 2027-02-01: guard.strict, guard.other, guard.broken apply again');
    for (const w of [...(active.response.warnings ?? []), ...(after.response.warnings ?? [])]) expect(w.length).toBeLessThanOrEqual(120);
  });

  const doc = { file: 'redis.yaml', line: 3, column: 1 } as SourceDocument;
  function reviewAt(at: string): ObjectReview {
    const out = new Engine(lib).review(input(redis(), at));
    return { doc, kind: 'Redis', apiVersion: 'kubedb.com/v1', namespace: 'tenant-acme', name: 'sessions', plan: 'free', results: out.results, where: out.results.map(() => ({ line: 3, column: 1, path: '' })), patched: false, mutated: out.mutated, denied: out.denied, ...(out.exceptions ? { exceptions: out.exceptions } : {}) };
  }

  it('text lists each waived rule as a skip with the exception and owner, and warns about expired exceptions', () => {
    const text = render('text', [reviewAt('2027-01-10')], lib.policies);
    expect(text).toContain('  skip guard/strict: excepted by all-guard (owner dba@acme.example, until 2027-02-01, ticket OPS-9): strict says no');
    expect(text).toMatch(/0 fail, 1 warn, 3 skip \(3 by exceptions\), 0 error/);
    const expired = render('text', [reviewAt('2027-02-02')], lib.policies, [], new Engine(lib, { clock: () => new Date('2027-02-02') }).exceptionStatuses());
    expect(expired.split('\n')[0]).toBe('warning: exception all-guard (owner dba@acme.example) expired 2027-02-01: ignored');
    expect(expired).toContain('  WARN exception all-guard, owner dba@acme.example, expired 2027-02-01: guard.strict, guard.other, guard.broken apply again');
    expect(expired).toContain('  FAIL guard/strict: strict says no');
  });

  it('json carries the exception on each waived result and the library\'s exception states', () => {
    const json = JSON.parse(render('json', [reviewAt('2027-01-25')], lib.policies, [], exceptionStatusesAt('2027-01-25'))) as {
      results: { rule: string; result: string; exception?: { name: string; owner: string }; excepted?: string }[];
      exceptions: { name: string; state: string; daysLeft: number }[];
      exceptionNotices: { exception: string; owner: string; state: string }[];
    };
    expect(json.results.find((r) => r.rule === 'strict')).toMatchObject({ result: 'skip', excepted: 'fail', exception: { name: 'all-guard', owner: 'dba@acme.example' } });
    expect(json.results.find((r) => r.rule === 'fine')).not.toHaveProperty('exception');
    expect(json.exceptions).toEqual([{ name: 'all-guard', owner: 'dba@acme.example', expires: '2027-02-01', state: 'expiring', daysLeft: 7 }]);
    expect(json.exceptionNotices).toEqual([expect.objectContaining({ exception: 'all-guard', owner: 'dba@acme.example', state: 'expiring', name: 'sessions' })]);
  });

  it('sarif reports a waived rule at its level with an accepted external suppression; junit as skipped', () => {
    const sarif = JSON.parse(render('sarif', [reviewAt('2027-01-10')], lib.policies)) as { runs: { results: { ruleId: string; level: string; suppressions?: unknown[] }[] }[] };
    const strict = sarif.runs[0]!.results.find((r) => r.ruleId === 'guard/strict');
    expect(strict).toMatchObject({
      level: 'error',
      suppressions: [{ kind: 'external', status: 'accepted', justification: 'legacy clients (exception all-guard, owner dba@acme.example, expires 2027-02-01, ticket OPS-9)', properties: { exception: 'all-guard', owner: 'dba@acme.example', expires: '2027-02-01', ticket: 'OPS-9' } }],
    });
    expect(sarif.runs[0]!.results.find((r) => r.ruleId === 'advice/nag')).not.toHaveProperty('suppressions');
    const junit = render('junit', [reviewAt('2027-01-10')], lib.policies);
    expect(junit).toContain('name="guard/strict" time="0"><skipped message="excepted by all-guard (owner dba@acme.example, until 2027-02-01, ticket OPS-9): strict says no"/>');
    const late = render('junit', [reviewAt('2027-01-30')], lib.policies);
    expect(late).toContain('<system-out>warning: exception all-guard, owner dba@acme.example, expires in 2 days (2027-02-01): waives guard.strict, guard.other, guard.broken</system-out>');
  });

  function exceptionStatusesAt(at: string) {
    return new Engine(lib, { clock: () => new Date(at) }).exceptionStatuses();
  }

  it('warns about the library\'s expired, expiring and pending exceptions by name and owner', () => {
    expect(exceptionWarnings(exceptionStatusesAt('2027-01-10'))).toEqual([]);
    expect(exceptionWarnings(exceptionStatusesAt('2027-01-31'))).toEqual(['exception all-guard (owner dba@acme.example) expires in 1 day, 2027-02-01']);
    expect(exceptionWarnings(exceptionStatusesAt('2026-12-01'))).toEqual(['exception all-guard (owner dba@acme.example) is not in effect yet']);
    expect(exceptionWarnings(exceptionStatusesAt('2027-03-01'))).toEqual(['exception all-guard (owner dba@acme.example) expired 2027-02-01: ignored']);
  });
});

describe('the example exception (manifests/examples/exceptions)', () => {
  it('loads with the shipped library and waives only TLS of bad/ot-replication-no-tls.yaml in its window', async () => {
    const { loadLibrary } = await import('../../policies/engine/library.js');
    const { parseDocuments } = await import('../../policies/engine/documents.js');
    const { reviewInput } = await import('../../policies/review/review.js');
    const shipped = await loadLibrary('policies/library');
    const example = 'manifests/examples/exceptions/globex-plain-no-tls.yaml';
    const lib = compileLibrary('with-example', [
      ...[...readdirAll('policies/library')].map((file) => ({ file, text: readFileSync(file, 'utf8') })),
      { file: example, text: readFileSync(example, 'utf8') },
    ]);
    expect(lib.policies.length).toBe(shipped.policies.length);
    expect(lib.exceptions.map((e) => e.name)).toEqual(['globex-plain-no-tls']);
    const docs = ['manifests/examples/namespaces.yaml', 'manifests/examples/bad/ot-replication-no-tls.yaml']
      .flatMap((file) => parseDocuments(file, readFileSync(file, 'utf8')).docs);
    const at = (when: string) => reviewInput(new Engine(lib, { clock: () => new Date(when) }), docs, { plan: 'free', mutate: true }).reviews[0]!;
    const inWindow = at('2027-01-15');
    expect(inWindow.results.find((r) => r.rule === 'tls-enabled')).toMatchObject({ result: 'skip', exception: { name: 'globex-plain-no-tls', owner: 'platform-oncall@example.com' } });
    // Its other failures still deny it.
    const failing = inWindow.results.filter((r) => r.result === 'fail').map((r) => `${r.policy}/${r.rule}`);
    expect(failing).toContain('authentication/auth-enabled');
    expect(failing).not.toContain('tls/tls-enabled');
    expect(inWindow.denied).toBe(true);
    expect(at('2027-02-28').results.find((r) => r.rule === 'tls-enabled')?.result).toBe('fail');
  });
});

function readdirAll(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => `${e.parentPath}/${e.name}`)
    .filter((f) => !f.includes('/tests/'));
}

describe('PolicyTest cases with exceptions', () => {
  const testDoc = (cases: string, exceptions = ''): string => `${HEADER}
kind: PolicyTest
metadata: {name: guard-exceptions}
spec:
  policy: guard
${exceptions}  cases:
${cases}`;
  const caseWith = (extra: string, result = 'skip'): string => `    - name: c
      object: {apiVersion: kubedb.com/v1, kind: Redis, metadata: {name: sessions, namespace: tenant-acme}, spec: {version: 7.2.4}}
      tenant: acme
${extra}      expect:
        - {rule: strict, result: ${result}}
`;

  it('a case that names exceptions needs a clock', () => {
    expect(problems(testDoc(caseWith('      exceptions: [x]\n')))).toEqual(['exceptions/e0.yaml:10:19: spec.cases[0].exceptions: needs now as well']);
  });

  it('a test-only exception is validated as a PolicyException; a case naming a broken or unknown one fails saying why', async () => {
    const { runPolicyTests } = await import('../../policies/review/testing.js');
    const declared = `  exceptions:
    - metadata: {name: wide}
      spec: {owner: o, reason: r, approved: 2027-01-01, expires: 2027-06-01, policies: [{policy: guard}], match: {tenant: acme, names: ["*"]}}
    - metadata: {name: fine}
      spec: {owner: o, reason: r, approved: 2027-01-01, expires: 2027-02-01, policies: [{policy: guard, rules: [strict]}], match: {tenant: acme, names: [sessions]}}
`;
    const lib = library(testDoc(
      caseWith('      exceptions: [wide]\n      now: 2027-01-10\n')
      + caseWith('      exceptions: [nowhere]\n      now: 2027-01-10\n')
      + caseWith('      exceptions: [fine]\n      now: 2027-01-10\n')
      + caseWith('      exceptions: [fine]\n      now: 2027-03-01\n', 'fail')
      + caseWith('', 'fail'),
      declared,
    ));
    const outcomes = runPolicyTests(new Engine(lib), lib.tests);
    expect(outcomes.map((o) => o.failures)).toEqual([
      [
        // Checked as a document: the schema first (a glob), as a library load would report it.
        'exception wide: exceptions/e0.yaml:8:137: spec.exceptions[0].spec.match.names[0]: exact names only: globs are not allowed (a tenant names its own objects, so a pattern would waive the rule for any object it names to fit)',
        'rule strict: expected skip, got fail (strict says no)',
      ],
      ['exception nowhere is neither in this file\'s exceptions nor in the library', 'rule strict: expected skip, got fail (strict says no)'],
      [],
      [],
      [],
    ]);
  });
});
