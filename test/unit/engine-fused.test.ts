// A policy's fused form (one generated function for its variables, one for its rules: see
// FusedPolicy in cel.ts) must give exactly the results its expressions give one by one: every
// rule's result and message, their order, cel-js deciding what compiled code declines, the time
// budget's readings. Each case runs the same library with and without the fused form, compact and
// inline (hot), and states the results it expects, so a divergence in either path fails.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HOT_EVALUATIONS, setCrossCheck, setHotEvaluations } from '../../policies/engine/cel.js';
import { Engine, type EngineOptions } from '../../policies/engine/engine.js';
import { loadLibrary, type Library } from '../../policies/engine/library.js';
import { custom, customLibrary, input, kubedb, policyDoc } from '../helpers/policies.js';
import type { JsonObject, ReviewInput, ReviewOutcome } from '../../policies/engine/types.js';

/** The same library with every policy's expressions evaluated one by one. */
function unfused(library: Library): Library {
  return { ...library, policies: library.policies.map((p) => ({ ...p, fused: null })) };
}

/**
 * Two instances of a library: one whose code stays compact (fewer reviews than HOT_EVALUATIONS),
 * one whose code is inline from its first evaluation on (see Expression in cel.ts).
 */
interface Instances { compact: Library; inline: Library }
function instances(make: () => Library): Instances {
  return { compact: make(), inline: make() };
}

/** The review by each instance, fused and unfused: all four outcomes must be equal. */
function reviewBoth(libraries: Instances, review: ReviewInput, options: () => EngineOptions = () => ({})): ReviewOutcome {
  const outcomes: ReviewOutcome[] = [];
  for (const [library, hot] of [[libraries.compact, HOT_EVALUATIONS], [libraries.inline, 1]] as const) {
    expect(library.policies.every((p) => p.fused !== null)).toBe(true);
    setHotEvaluations(hot);
    outcomes.push(new Engine(library, options()).review(review), new Engine(unfused(library), options()).review(review));
  }
  setHotEvaluations(HOT_EVALUATIONS);
  for (const other of outcomes.slice(1)) expect(other).toEqual(outcomes[0]);
  return outcomes[0]!;
}

afterEach(() => {
  setHotEvaluations(HOT_EVALUATIONS);
  setCrossCheck(null);
});

const rows = (out: ReviewOutcome): [string, string, string][] => out.results.map((r) => [r.rule, r.result, r.message]);

describe('a fused policy gives the results of its expressions one by one', () => {
  const mixed = instances(() => custom(policyDoc('mixed', `  action: Deny
  variables:
    - {name: version, expression: 'object.spec.version'}
    - {name: half, expression: '1.5 + 1.0'}
    - {name: tagged, expression: 'vars.version + "-" + string(vars.half)'}
  rules:
    - name: passes
      expression: 'vars.version == "7.2.4"'
      message: m
    - name: throws-in-the-middle
      expression: object.spec.missing.field == 1
      message: never
    - name: cel-js-absorbs-the-error
      expression: object.spec.missing.field == 1 || true
      message: never
    - name: skipped
      when: object.spec.storageType == "Durable"
      skipMessageExpression: '"not durable: " + object.spec.storageType'
      expression: 'false'
      message: never
    - name: when-not-a-bool
      when: object.spec.version
      expression: 'false'
      message: never
    - name: when-declined-then-true
      when: object.spec.missing.field == 1 || object.spec.version == "7.2.4"
      expression: 'false'
      messageExpression: '"version " + object.spec.version + " fails"'
    - name: when-true-expression-declined
      when: 'true'
      expression: object.spec.missing.field == 1 || false
      message: m
    - name: offenders
      violations: '[object.spec.version, "spec.storageType: " + object.spec.storageType].filter(s, s != "")'
      message: listed
    - name: not-compiled
      expression: '1.5 > 1.0'
      message: m
    - name: reads-every-variable
      expression: 'vars.tagged == "7.2.4-2.5"'
      message: m
    - name: on-delete
      operations: [DELETE]
      expression: 'false'
      message: deleted
    - name: failing-message-expression
      expression: 'false'
      messageExpression: object.spec.nope
`)));

  it('pass, error, cel-js deciding, skip with its message, messages, violations, a rule not compiled, in order', () => {
    const out = reviewBoth(mixed, input(kubedb()));
    expect(rows(out).map(([rule, result]) => [rule, result])).toEqual([
      ['passes', 'pass'],
      ['throws-in-the-middle', 'error'],
      ['cel-js-absorbs-the-error', 'pass'],
      ['skipped', 'skip'],
      ['when-not-a-bool', 'skip'],
      ['when-declined-then-true', 'fail'],
      ['when-true-expression-declined', 'error'],
      ['offenders', 'fail'],
      ['not-compiled', 'pass'],
      ['reads-every-variable', 'pass'],
      ['failing-message-expression', 'fail'],
    ]);
    const byName = Object.fromEntries(out.results.map((r) => [r.rule, r]));
    expect(byName['throws-in-the-middle']!.message).toMatch(/^throws-in-the-middle: /);
    expect(byName['skipped']!.message).toBe('not durable: Ephemeral');
    expect(byName['when-not-a-bool']!.message).toBe('precondition not met');
    expect(byName['when-declined-then-true']!.message).toBe('version 7.2.4 fails');
    expect(byName['offenders']!.message).toBe('listed: 7.2.4, spec.storageType: Ephemeral');
    expect(byName['offenders']!.paths).toEqual(['spec.storageType']);
    expect(byName['failing-message-expression']!.message).toMatch(/^rule failed \(message expression failed: /);
    expect(out.denied).toBe(true);
  });

  it('an operation selects the same rules: DELETE meets only its own', () => {
    const out = reviewBoth(mixed, input(kubedb(), { operation: 'DELETE', oldObject: kubedb() }));
    expect(rows(out)).toEqual([['on-delete', 'fail', 'deleted']]);
  });

  it('a variable that cel-js cannot evaluate makes every rule an error, with its message', () => {
    const lib = instances(() => custom(policyDoc('vars', `  action: Deny
  variables:
    - {name: fine, expression: 'object.spec.version'}
    - {name: bad, expression: 'object.spec.nothing.here'}
  rules:
    - name: a
      expression: 'true'
      message: m
    - name: b
      expression: 'vars.fine == "7.2.4"'
      message: m
`)));
    const out = reviewBoth(lib, input(kubedb()));
    expect(out.results.map((r) => [r.rule, r.result])).toEqual([['a', 'error'], ['b', 'error']]);
    expect(out.results[1]!.message).toMatch(/^variable bad: /);
  });

  it('warnRoles turn the fused results into warnings as the others', () => {
    const lib = instances(() => custom(policyDoc('warned', `  action: Deny
  match:
    roles: [workload, pod]
    warnRoles: [workload]
  rules:
    - name: fails
      expression: 'false'
      message: m
    - name: errs
      expression: object.spec.missing.field == 1
      message: m
`)));
    const out = reviewBoth(lib, input(kubedb()));
    expect(out.results.map((r) => [r.rule, r.result, r.action, r.denies])).toEqual([['fails', 'warn', 'Warn', false], ['errs', 'error', 'Deny', false]]);
    expect(out.denied).toBe(false);
  });
});

describe('the time budget', () => {
  const rules = (names: string[]): string => names.map((n) => `    - name: ${n}\n      expression: 'object.spec.version == "7.2.4"'\n      message: m\n`).join('');

  it('runs out in the middle of a policy at the same rule, after the same clock readings', () => {
    // 10 ms per reading, deadline 0 + 25: read before r1 (10), r5 (20) and r9 (30: over budget).
    const lib = instances(() => custom(
      policyDoc('long', `  action: Deny\n  rules:\n    - name: on-delete\n      operations: [DELETE]\n      expression: 'true'\n      message: m\n${rules(['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10'])}`),
      policyDoc('next', `  action: Deny\n  rules:\n${rules(['n1'])}`),
    ));
    const readings: number[] = [];
    const clock = (): EngineOptions => {
      let t = -10;
      return { timeBudgetMs: 25, now: () => (readings.push(t + 10), (t += 10)) };
    };
    const out = reviewBoth(lib, input(kubedb()), clock);
    expect(out.results.map((r) => [r.rule, r.result])).toEqual([
      ['r1', 'pass'], ['r2', 'pass'], ['r3', 'pass'], ['r4', 'pass'], ['r5', 'pass'], ['r6', 'pass'], ['r7', 'pass'], ['r8', 'pass'],
      ['r9', 'error'], ['r10', 'error'], ['n1', 'error'],
    ]);
    expect(out.results[8]!.message).toBe('evaluation stopped: the 25 ms budget of this review was exhausted');
    // Four engines, each reading the clock for the deadline, before r1, r5 and r9.
    expect(readings).toEqual([0, 10, 20, 30, 0, 10, 20, 30, 0, 10, 20, 30, 0, 10, 20, 30]);
  });
  it('evaluates a rule only after the clock reading before it, and none after the budget ran out', () => {
    // Each rule reads its own mark, a getter that notes how many times the clock was read by then.
    const lib = instances(() => custom(policyDoc('marked', `  action: Deny\n  rules:\n${Array.from({ length: 10 }, (_, i) =>
      `    - name: r${i + 1}\n      expression: 'object.spec.marks.m${i + 1} == "x"'\n      message: m\n`).join('')}`)));
    for (const [library, hot] of [[lib.compact, HOT_EVALUATIONS], [lib.inline, 1]] as const) {
      setHotEvaluations(hot);
      for (const policies of [library, unfused(library)]) {
        let readings = 0;
        let t = -10;
        const readAt = new Map<string, number>();
        const marks: JsonObject = {};
        for (let i = 1; i <= 10; i++) {
          Object.defineProperty(marks, `m${i}`, { enumerable: true, get: () => (readAt.set(`r${i}`, readings), 'x') });
        }
        const engine = new Engine(policies, { timeBudgetMs: 25, now: () => (readings++, (t += 10)) });
        const out = engine.review(input(kubedb({ marks })));
        expect(out.results.map((r) => r.result)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'error', 'error']);
        // Readings: the deadline, then before r1, r5 and r9 (over budget).
        expect(Object.fromEntries(readAt)).toMatchObject({ r1: 2, r2: 2, r3: 2, r4: 2, r5: 3, r6: 3, r7: 3, r8: 3 });
        expect(readAt.get('r9') ?? 0).toBeLessThan(4);
        expect(readAt.get('r10') ?? 0).toBeLessThan(4);
      }
    }
  });
});

describe('when the fused form is not used', () => {
  it('a copy of a policy with other rules evaluates its own rules one by one', () => {
    const lib = custom(policyDoc('two', `  action: Deny
  rules:
    - name: first
      expression: 'false'
      message: one
    - name: second
      expression: 'true'
      message: two
`));
    const [policy] = lib.policies;
    const copy: Library = { ...lib, policies: [{ ...policy!, rules: policy!.rules.slice(1) }] };
    expect(new Engine(copy).review(input(kubedb())).results.map((r) => [r.rule, r.result])).toEqual([['second', 'pass']]);
  });

  it('a cross-check still sees every expression on its own, compiled and on cel-js', () => {
    const lib = custom(policyDoc('checked', `  action: Deny
  variables:
    - {name: v, expression: 'object.spec.version'}
  rules:
    - name: r
      when: 'vars.v != ""'
      expression: 'object.spec.storageType == "Ephemeral"'
      message: m
`));
    const seen: string[] = [];
    setCrossCheck((source, compiled, interpreted) => {
      seen.push(source);
      expect(compiled).toEqual(interpreted);
    });
    expect(new Engine(lib).review(input(kubedb())).results.map((r) => r.result)).toEqual(['pass']);
    expect(seen).toEqual(['vars.v != ""', 'object.spec.storageType == "Ephemeral"']);
  });

  it('a library compiled lazily (an edited library in a one-shot review) is fused on first use, with the same results', () => {
    const text = policyDoc('lazy', `  action: Deny
  variables:
    - {name: v, expression: 'object.spec.version'}
  rules:
    - name: r
      when: 'vars.v != ""'
      expression: 'object.spec.storageType == "Durable"'
      message: not durable
`);
    const lazy = customLibrary([text], true);
    expect(lazy.policies[0]!.fused).not.toBeNull();
    const out = new Engine(lazy).review(input(kubedb()));
    expect(out.results.map((r) => [r.rule, r.result, r.message])).toEqual([['r', 'fail', 'not durable']]);
    expect(out).toEqual(new Engine(unfused(customLibrary([text], true))).review(input(kubedb())));
  });

  it('a prepared library (one-shot processes) runs the stored code of each expression: nothing is fused', async () => {
    const lazy = await loadLibrary('policies/library', { tests: false, lazy: true });
    const loaded = await loadLibrary('policies/library', { tests: false });
    expect(lazy.policies.every((p) => p.fused === null)).toBe(true);
    expect(loaded.policies.every((p) => p.fused !== null)).toBe(true);
  });
});

describe('the shipped library', () => {
  let library: Instances;
  const objects: JsonObject[] = [];
  beforeAll(async () => {
    library = { compact: await loadLibrary('policies/library', { tests: false }), inline: await loadLibrary('policies/library', { tests: false }) };
    for (const dir of ['good', 'bad']) {
      for (const file of readdirSync(join('manifests/examples', dir)).sort()) {
        for (const doc of parseAllDocuments(readFileSync(join('manifests/examples', dir, file), 'utf8'))) {
          const object = doc.toJS() as JsonObject | null;
          if (object && typeof object === 'object') objects.push(object);
        }
      }
    }
  });

  it('every example, on every plan and operation, mutated or not: the same outcome fused and unfused', () => {
    let reviewed = 0;
    for (const object of objects) {
      const namespace = (object['metadata'] as JsonObject | undefined)?.['namespace'];
      for (const plan of ['free', 'standard', 'premium']) {
        for (const operation of ['CREATE', 'UPDATE', 'DELETE'] as const) {
          const review: ReviewInput = {
            object, operation, plan, mutate: operation === 'CREATE',
            oldObject: operation === 'CREATE' ? null : object,
            namespace: { name: typeof namespace === 'string' ? namespace : 'tenant-acme', labels: { 'redline.dev/tenant': 'acme', 'redline.dev/plan': plan } },
            userInfo: { username: 'u', groups: ['g'] },
          };
          const out = reviewBoth(library, review, () => ({ timeBudgetMs: 600_000 }));
          if (out.redis) reviewed++;
        }
      }
    }
    expect(reviewed).toBeGreaterThan(200);
  });
});
