// `redline test`: policy test cases kept as data (kind PolicyTest) next to the policies.
//
//   apiVersion: redline.dev/v1alpha1
//   kind: PolicyTest
//   metadata: {name: plan-limits}
//   spec:
//     policy: plan-limits
//     cases:
//       - name: standalone on free passes
//         plan: free              # default free
//         planSpec: {...}         # optional: a test-only plan with this spec, named by `plan`
//         settings: {level: baseline}  # optional: merged over the policy's settings for this case
//         operation: CREATE       # default CREATE; DELETE uses oldObject
//         mutate: false           # default false: rules see the object exactly as written
//         storageClasses: [{name: fast, provisioner: ebs.csi.aws.com, default: true}]   # optional
//         pdbs: [{name: redis, selector: {matchLabels: {app: redis}}}]                   # optional
//         tenant: acme            # the namespace's redline.dev/tenant (default: the namespace)
//         exceptions: [acme-no-tls]   # optional: exceptions in effect, by name (the file's, else the library's)
//         now: 2027-01-10         # the wall clock (required with exceptions)
//         object: {...}
//         expect:
//           - {rule: mode-allowed, result: pass}
//           - {rule: memory-per-pod, result: fail, messageContains: "256Mi"}
//         expectPatch:            # optional, with mutate: true — paths (and values) that must be added
//           - {path: /spec/tls/issuerRef, value: {...}}
//     exceptions:                 # optional: test-only PolicyExceptions (metadata + spec, validated as such)
//       - metadata: {name: acme-no-tls}
//         spec: {owner: ..., reason: ..., approved: ..., expires: ..., policies: [...], match: {...}}
//
// A case runs with only the exceptions it names, so the library's exceptions and the real date never
// change a case's outcome.

import { isDeepStrictEqual } from 'node:util';
import { LABEL_PLAN, LABEL_TENANT } from '../../core/vocabulary.js';
import { Engine } from '../engine/engine.js';
import { compileException, type CompiledException } from '../engine/exceptions.js';
import { makePlan } from '../engine/library.js';
import { API_VERSION, describeSchemaError, instanceSegments, parseTimestamp, relevantErrors, validatorFor } from '../engine/schema.js';
import { formatProblem } from '../../core/result.js';
import { pathToString } from '../engine/documents.js';
import type { SourceDocument } from '../engine/documents.js';
import type { Json, JsonObject, Operation, PdbInfo, RuleResult, StorageClassInfo } from '../engine/types.js';

export interface CaseOutcome {
  file: string;
  line: number;
  policy: string;
  name: string;
  failures: string[];
}

interface Expectation { rule: string; result: RuleResult['result']; messageContains?: string; exception?: string }
interface TestCase {
  name: string;
  plan?: string;
  planSpec?: JsonObject;
  operation?: Operation;
  mutate?: boolean;
  settings?: JsonObject;
  object: JsonObject;
  oldObject?: JsonObject;
  storageClasses?: { name: string; provisioner: string; default?: boolean }[];
  pdbs?: { name: string; namespace?: string; selector: PdbInfo['selector'] }[];
  tenant?: string;
  exceptions?: string[];
  now?: string;
  expect: Expectation[];
  expectPatch?: { path: string; value?: Json }[];
}

/** A file's test-only exceptions by name: compiled, or the problems that keep them out. */
type FileExceptions = Map<string, CompiledException | string[]>;

export function runPolicyTests(engine: Engine, docs: readonly SourceDocument[]): CaseOutcome[] {
  const outcomes: CaseOutcome[] = [];
  for (const doc of docs) {
    const spec = doc.value['spec'] as unknown as { policy: string; cases: TestCase[] };
    const declared = fileExceptions(engine, doc);
    spec.cases.forEach((c, i) => {
      const failures: string[] = [];
      if (!engine.policyNames.includes(spec.policy)) failures.push(`policy ${spec.policy} is not in the library`);
      const operation = c.operation ?? 'CREATE';
      const meta = (c.object['metadata'] ?? {}) as JsonObject;
      const namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : 'tenant';
      const plan = c.plan ?? (c.planSpec ? 'test' : 'free');
      const planEngine = c.planSpec ? withPlan(engine, plan, c.planSpec, failures) : engine;
      const settingsEngine = c.settings ? withSettings(planEngine, spec.policy, c.settings) : planEngine;
      const caseEngine = withExceptions(settingsEngine, caseExceptions(engine, declared, c.exceptions ?? [], failures));
      const outcome = caseEngine.review({
        object: c.object,
        oldObject: c.oldObject ?? (operation === 'DELETE' ? c.object : null),
        operation,
        namespace: { name: namespace, labels: { [LABEL_TENANT]: c.tenant ?? namespace, [LABEL_PLAN]: plan } },
        ...(c.now ? { now: new Date(parseTimestamp(c.now)!) } : {}),
        plan,
        mutate: c.mutate ?? false,
        only: [spec.policy],
        ...(c.storageClasses ? { storageClasses: c.storageClasses.map((sc): StorageClassInfo => ({ name: sc.name, provisioner: sc.provisioner, default: sc.default ?? false })) } : {}),
        ...(c.pdbs ? { pdbs: c.pdbs.map((p): PdbInfo => ({ name: p.name, namespace: p.namespace ?? namespace, selector: p.selector })) } : {}),
      });
      if (!outcome.redis) failures.push(`not recognised as a Redis workload: ${outcome.reason}`);
      for (const want of c.expect) {
        const got = outcome.results.find((r) => r.rule === want.rule);
        if (!got) failures.push(`rule ${want.rule}: no result`);
        else if (got.result !== want.result) failures.push(`rule ${want.rule}: expected ${want.result}, got ${got.result}${got.message ? ` (${got.message})` : ''}`);
        else if (want.messageContains && !got.message.includes(want.messageContains)) {
          failures.push(`rule ${want.rule}: message ${JSON.stringify(got.message)} does not contain ${JSON.stringify(want.messageContains)}`);
        } else if (want.exception !== undefined && got.exception?.name !== want.exception) {
          failures.push(`rule ${want.rule}: expected a skip by exception ${want.exception}, got ${got.exception ? `one by ${got.exception.name}` : 'none'}`);
        }
      }
      for (const want of c.expectPatch ?? []) {
        const op = outcome.patch.find((p) => p.path === want.path);
        if (!op) failures.push(`patch: no operation adds ${want.path} (got ${outcome.patch.map((p) => p.path).join(', ') || 'none'})`);
        else if (want.value !== undefined && !isDeepStrictEqual(op.value, want.value)) {
          failures.push(`patch ${want.path}: expected ${JSON.stringify(want.value)}, got ${JSON.stringify(op.value)}`);
        }
      }
      outcomes.push({ file: doc.file, line: doc.locate(['spec', 'cases', i]).line, policy: spec.policy, name: c.name, failures });
    });
  }
  return outcomes;
}

/** The file's test-only exceptions, each checked as a PolicyException document against the library. */
function fileExceptions(engine: Engine, doc: SourceDocument): FileExceptions {
  const out: FileExceptions = new Map();
  const items = ((doc.value['spec'] as JsonObject)['exceptions'] ?? []) as JsonObject[];
  const policyRules = new Map(engine.library.policies.map((p) => [p.name, p.rules.map((r) => r.name)]));
  const validate = validatorFor('PolicyException');
  items.forEach((item, i) => {
    const name = String((item['metadata'] as JsonObject)['name']);
    const base = ['spec', 'exceptions', i];
    const at = (path: readonly (string | number)[]): { line: number; column: number } => doc.locate([...base, ...path]);
    const problems: string[] = [];
    const report = (path: (string | number)[], message: string): void => {
      problems.push(formatProblem({ file: doc.file, ...at(path), path: pathToString([...base, ...path]), message }));
    };
    const value: JsonObject = { apiVersion: API_VERSION, kind: 'PolicyException', ...item };
    if (!validate(value)) {
      for (const err of relevantErrors(validate.errors ?? [])) report(instanceSegments(err), describeSchemaError(err));
      out.set(name, problems);
      return;
    }
    const shifted: SourceDocument = { ...doc, value, ...at([]), locate: (path) => at(path) };
    const compiled = compileException(shifted, policyRules, engine.library.settings, report);
    out.set(name, compiled ?? problems);
  });
  return out;
}

/** The exceptions a case names: the file's, else the library's. */
function caseExceptions(engine: Engine, declared: FileExceptions, names: readonly string[], failures: string[]): CompiledException[] {
  const out: CompiledException[] = [];
  for (const name of names) {
    const found = declared.get(name) ?? engine.library.exceptions.find((e) => e.name === name);
    if (!found) failures.push(`exception ${name} is neither in this file's exceptions nor in the library`);
    else if (Array.isArray(found)) failures.push(...found.map((p) => `exception ${name}: ${p}`));
    else out.push(found);
  }
  return out;
}

/** The same engine with exactly these exceptions in force. */
function withExceptions(engine: Engine, exceptions: CompiledException[]): Engine {
  if (exceptions.length === 0 && engine.library.exceptions.length === 0) return engine;
  return new Engine({ ...engine.library, exceptions });
}

/** The same engine with one more plan; the spec is checked against the Plan schema first. */
function withPlan(engine: Engine, name: string, spec: JsonObject, failures: string[]): Engine {
  const validate = validatorFor('Plan');
  if (!validate({ apiVersion: API_VERSION, kind: 'Plan', metadata: { name }, spec })) {
    for (const err of relevantErrors(validate.errors ?? [])) {
      failures.push(`planSpec: ${pathToString(instanceSegments(err).slice(1))}: ${describeSchemaError(err)}`);
    }
    return engine;
  }
  const plans = new Map(engine.library.plans);
  plans.set(name, makePlan(name, spec));
  return new Engine({ ...engine.library, plans });
}

/** The same engine with the policy's settings overridden, key by key. */
function withSettings(engine: Engine, policy: string, settings: JsonObject): Engine {
  const policies = engine.library.policies.map((p) =>
    p.name === policy ? { ...p, settings: { ...(p.settings as JsonObject), ...settings } } : p);
  return new Engine({ ...engine.library, policies });
}

/** Which rules of which policies have at least one passing and one failing case. */
export function coverage(engine: Engine, docs: readonly SourceDocument[]): string[] {
  const seen = new Map<string, Set<string>>();
  for (const doc of docs) {
    const spec = doc.value['spec'] as unknown as { policy: string; cases: TestCase[] };
    for (const c of spec.cases) {
      for (const e of c.expect) {
        const key = `${spec.policy}/${e.rule}`;
        const set = seen.get(key) ?? new Set<string>();
        set.add(e.result === 'warn' ? 'fail' : e.result);
        seen.set(key, set);
      }
    }
  }
  const missing: string[] = [];
  for (const policy of engine.library.policies) {
    for (const rule of policy.rules) {
      const got = seen.get(`${policy.name}/${rule.name}`) ?? new Set();
      for (const need of ['pass', 'fail']) {
        if (!got.has(need)) missing.push(`${policy.name}/${rule.name} has no ${need === 'fail' ? 'failing' : 'passing'} case`);
      }
    }
  }
  return missing;
}
