// The CEL compiler (policies/engine/cel-compile.ts) against cel-js, its reference: wherever a
// compiled expression returns a value, cel-js must return the same value for the same variables.
// Checked four ways: hand-picked edge cases, random expressions from a small CEL grammar (property
// test), every evaluation made while running the shipped PolicyTest cases, and random damage to
// real workload views (property test).

import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Scope, SharedValues, compile, setCrossCheck, type Compiled, type EvalResult } from '../../policies/engine/cel.js';
import { Engine } from '../../policies/engine/engine.js';
import { loadLibrary, type Library } from '../../policies/engine/library.js';
import { Quantity } from '../../policies/engine/quantity.js';
import { runPolicyTests } from '../../policies/review/testing.js';
import { recognise } from '../../policies/workloads/index.js';
import type { JsonObject } from '../../policies/engine/types.js';

type Vars = Partial<Record<'object' | 'oldObject' | 'workload' | 'plan' | 'tenant' | 'request' | 'settings' | 'vars' | 'target' | 'pod', unknown>>;

function scopeOf(vars: Vars): Scope {
  const shared = new SharedValues({
    object: () => vars.object ?? null,
    oldObject: () => vars.oldObject ?? null,
    workload: () => vars.workload ?? null,
    plan: () => vars.plan ?? null,
    tenant: () => vars.tenant ?? null,
    request: () => vars.request ?? null,
  });
  return new Scope(shared).with({ settings: vars.settings ?? null, vars: vars.vars ?? null, target: vars.target ?? null, pod: vars.pod ?? null });
}

function compiled(source: string): Compiled {
  const r = compile(source, 'any');
  if (!r.ok) throw new Error(`${source}: ${r.problem.message}`);
  return r.value;
}

function attempt(fn: () => unknown): EvalResult {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, problem: error };
  }
}

/** A value in one comparable form: CEL ints (BigInt) and JSON integers alike become { int }. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))) return { int: String(BigInt(v)) };
  if (v instanceof Quantity) return { quantity: v.text };
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** The agreement the compiler promises: a compiled value implies the same cel-js value. */
function agreement(source: string, fast: EvalResult, slow: EvalResult): string | null {
  if (!fast.ok) return null; // cel-js decides; nothing compiled to compare
  if (!slow.ok) return `${source}: compiled returned ${JSON.stringify(plain(fast.value))}, cel-js failed: ${(slow.problem as Error).message}`;
  const a = JSON.stringify(plain(fast.value));
  const b = JSON.stringify(plain(slow.value));
  return a === b ? null : `${source}: compiled ${a} ≠ cel-js ${b}`;
}

function both(source: string, vars: Vars): { fast: EvalResult; slow: EvalResult; value: EvalResult } {
  const expr = compiled(source);
  expect(expr.native, `${source} should compile`).toBe(true);
  const scope = scopeOf(vars);
  const fast = attempt(() => expr.evaluateNative(scope));
  const slow = attempt(() => expr.interpret(scopeOf(vars)));
  const value = attempt(() => expr.evaluate(scopeOf(vars)));
  expect(agreement(source, fast, slow)).toBeNull();
  return { fast, slow, value };
}

afterEach(() => setCrossCheck(null));

describe('compiled CEL agrees with cel-js', () => {
  const workload = {
    mode: 'Replicated', shards: 1, podsPerShard: 3, name: 'cache', version: '7.2.4',
    containers: [{ name: 'redis', securityContext: { privileged: false, capabilities: { add: ['CHOWN'] } } }, { name: 'exporter', securityContext: null }],
    podTemplates: [{ path: 'spec.template', affinity: null, volumes: [{ name: 'data', emptyDir: {} }] }],
    storage: { known: true, ephemeral: false, size: '10Gi', storageClass: '' },
    memoryLimit: '1Gi', ratio: 0.5,
  };
  const plan = { name: 'standard', modes: ['Standalone', 'Replicated'], maxShards: 1, perPod: { memory: '4Gi' }, versions: ['7.2', '7.4'] };

  const cases: [string, Vars, unknown][] = [
    ['workload.mode in plan.modes', { workload, plan }, true],
    ['workload.shards <= plan.maxShards && workload.podsPerShard > 2', { workload, plan }, true],
    ['string(workload.shards) + " shard(s) of " + plan.name', { workload, plan }, '1 shard(s) of standard'],
    ['plan.versions.exists(v, workload.version == v || workload.version.startsWith(v + "."))', { workload, plan }, true],
    ['workload.containers.filter(c, c.securityContext.?privileged.orValue(false) == true).map(c, c.name)', { workload }, []],
    ['workload.containers.map(c, c.securityContext.?capabilities.?add.orValue([]))', { workload }, [['CHOWN'], []]],
    ['workload.podTemplates.filter(p, !p.affinity.?podAntiAffinity.hasValue()).map(p, p.path)', { workload }, ['spec.template']],
    ['workload.podTemplates.all(p, p.volumes.exists(v, v.exists(k, k == "emptyDir")))', { workload }, true],
    ['isQuantity(workload.memoryLimit) && quantity(workload.memoryLimit).compareTo(quantity(plan.perPod.memory)) <= 0', { workload, plan }, true],
    ['has(plan.versions) && size(plan.versions) > 1 && !has(plan.storageClasses)', { plan }, true],
    ['plan.modes.join(", ") + "|" + plan.modes.join()', { plan }, 'Standalone, Replicated|StandaloneReplicated'],
    ['{"a": workload.shards + 1, "__proto__": 1, "b": [workload.mode]}', { workload }, { a: 2, b: ['Replicated'] }],
    ['workload.containers[1].name + plan["name"]', { workload, plan }, 'exporterstandard'],
    ['size("héllo😀") == 6 && "x😀".size() == 2', {}, true],
    ['workload.containers.exists_one(c, c.name == "redis") ? "one" : "not one"', { workload }, 'one'],
    ['workload.podTemplates.map(p, p.volumes.size() > 0, p.path)', { workload }, ['spec.template']],
    ['[1, 2] + [3] == [1, 2, 3] && {"a": [1]} == {"a": [1]} && {"a": 1} != {"a": 1, "b": 2}', {}, true],
    // Literal comparisons take a shortcut past equals(); both operand orders, every literal kind.
    ['workload.shards == 1 && 3 == workload.podsPerShard && workload.mode != "Cluster" && "Replicated" == workload.mode', { workload }, true],
    ['workload.storage.known == true && true != workload.storage.ephemeral && workload.containers[1].securityContext == null', { workload }, true],
    ['workload.mode in ["Standalone", "Replicated"] && !(workload.name in ["x"]) && !(workload.mode in [])', { workload }, true],
    // Comprehensions are hoisted functions: inner ones must see the outer iteration variables.
    ['workload.containers.all(c, workload.podTemplates.exists(p, p.volumes.exists(v, v.name != c.name + p.path)))', { workload }, true],
    ['workload.containers.map(c, workload.containers.filter(d, d.name != c.name).map(d, c.name + ">" + d.name))', { workload }, [['redis>exporter'], ['exporter>redis']]],
    // filter(…).map(…) runs as one loop: each part sees its own iteration variable, and maps' keys.
    ['workload.containers.filter(c, c.name != "redis").map(d, d.name + workload.mode)', { workload }, ['exporterReplicated']],
    ['{"a": 1, "b": 2}.filter(k, k != "a").map(v, v + "!") + [1, 2, 3].filter(n, n > 1).map(n, string(n + 1))', {}, ["b!", "3", "4"]],
    // Integer arithmetic, int() of plain digits and substring() of ASCII text compile.
    ['workload.podsPerShard - 1 == 2 && workload.shards * 100 - workload.podsPerShard * 3 == 91 && workload.shards * 0 - 0 == 0', { workload }, true],
    ['int("007") + int(workload.shards) == 8 && int("67%".substring(0, 2)) * 3 > 100 * (3 - 1)', { workload }, true],
    ['workload.version.substring(0, 3) + "|" + "abc".substring(3, 3) + "|" + workload.mode.substring(1, 4)', { workload }, '7.2||epl'],
    // Strings and keys that look like code stay data.
    [String.raw`{"x\"); throw 1; //": workload.mode}["x\"); throw 1; //"] + "\"); globalThis.pwned = 1; (\"\u2028"`, { workload }, 'Replicated"); globalThis.pwned = 1; ("\u2028'],
  ];
  it.each(cases)('%s', (source, vars, expected) => {
    const { fast, value } = both(source, vars);
    expect(fast.ok, `compiled path gave up: ${fast.ok ? '' : (fast.problem as Error).message}`).toBe(true);
    expect(plain(value.ok ? value.value : value.problem)).toEqual(plain(expected));
    expect((globalThis as Record<string, unknown>)['pwned']).toBeUndefined();
  });

  // Where the compiled form must give up (and cel-js then decides: a value or CEL's own error).
  const handedOver: [string, Vars][] = [
    ['workload.missing == 1', { workload }], // no such key
    ['workload.ratio < 1', { workload }], // a double
    ['workload.ratio == 0.5', { workload }], // double literal: not compiled at all
    ['workload.shards == "1"', { workload }], // mixed types
    ['workload.missing == 1 || true', { workload }], // error absorbed by ||
    ['plan.modes.exists(m, m.size() > 100 || workload.missing)', { workload, plan }],
    ['workload.shards + 9007199254740991 > 0', { workload }], // beyond safe integers
    ['workload.shards - 9007199254740993 < 0 || -9007199254740991 - workload.shards < 0', { workload }],
    ['9007199254740991 * (workload.podsPerShard - 1) > 0', { workload }],
    ['workload.shards * workload.ratio > 0 || workload.ratio - 1 > 0', { workload }], // doubles
    ['workload.mode - 1 == 0 || workload.mode * 2 == 0', { workload }], // no overload
    ['int("+7") == 7 || int(" 7") == 7 || int("-0") == 0 || int("1e3") == 1000', {}], // int() beyond plain digits
    ['int("9223372036854775807") > 0 || int("9223372036854775808") > 0', {}], // beyond safe integers, beyond int64
    ['int(workload.ratio) == 0 || int(workload.storage) == 0', { workload }],
    ['"héllo".substring(1, 3) == "él"', {}], // not ASCII: code points
    ['workload.mode.substring(3, 1) == "" || workload.mode.substring(0, 99) == ""', { workload }], // out of range
    ['workload.containers[5].name', { workload }], // index out of range
    ['"Replicated" in workload', { workload }], // map key membership (works) …
    ['1 in workload', { workload }], // … a non-string key does not
    ['workload.mode.?x.orValue("none")', { workload }], // .? on a string: absent
    ['size(workload.shards)', { workload }], // no overload
    ['workload.mode == 1', { workload }], // literal of another kind
    ['null == workload.shards', { workload }],
    ['workload.shards in ["1"]', { workload }], // literal list of another kind
    ['workload.toString == 1', { workload }], // keys Object.prototype has are not fields …
    ['has(workload.constructor) || has(plan.hasOwnProperty)', { workload, plan }],
    ['workload.constructor', { workload: { constructor: 'own' } }], // … unless the object has them
    ['workload.__proto__', { workload: JSON.parse('{"__proto__": 1}') }],
    ['"__proto__" in workload || workload.?__proto__.hasValue() || has(workload.__proto__)', { workload: JSON.parse('{"__proto__": 1}') }],
  ];
  it.each(handedOver)('hands %s over to cel-js consistently', (source, vars) => {
    const r = compile(source, 'any');
    expect(r.ok).toBe(true);
    if (!r.ok || !r.value.native) return;
    const fast = attempt(() => r.value.evaluateNative(scopeOf(vars)));
    const slow = attempt(() => r.value.interpret(scopeOf(vars)));
    expect(agreement(source, fast, slow)).toBeNull();
    // evaluate() answers exactly what cel-js answers.
    const value = attempt(() => r.value.evaluate(scopeOf(vars)));
    expect(value.ok).toBe(slow.ok);
    if (value.ok && slow.ok) expect(plain(value.value)).toEqual(plain(slow.value));
    else expect(String((value as { problem: Error }).problem.message)).toBe(String((slow as { problem: Error }).problem.message));
  });

  it('compares any value with null natively, as cel-js does (a map is simply not null), never handing it over', () => {
    for (const value of [{ a: 1 }, [], 'x', 3, true, null]) {
      for (const source of ['workload != null', 'null == workload']) {
        const { fast, slow } = both(source, { workload: value as never });
        expect(fast.ok, `${source} with ${JSON.stringify(value)} answers natively`).toBe(true);
        expect(slow.ok).toBe(true);
      }
    }
  });

  it('builds a list of literals once, frozen, so no caller can change what the next evaluation sees', () => {
    const expr = compiled('["RuntimeDefault", "Localhost"]');
    expect(expr.native).toBe(true);
    const first = expr.evaluateNative(scopeOf({})) as string[];
    expect(first).toEqual(['RuntimeDefault', 'Localhost']);
    expect(Object.isFrozen(first)).toBe(true);
    expect(expr.evaluateNative(scopeOf({}))).toBe(first);
    expect(() => first.push('Unconfined')).toThrow(TypeError);
    // Lists that read variables are built per evaluation.
    const perCall = compiled('[workload.mode, "x"]');
    const a = perCall.evaluateNative(scopeOf({ workload: { mode: 'A' } }));
    expect(a).toEqual(['A', 'x']);
    expect(perCall.evaluateNative(scopeOf({ workload: { mode: 'B' } }))).toEqual(['B', 'x']);
    // Concatenation copies: the shared constant stays as it was.
    expect(compiled('["a"] + ["b"]').evaluate(scopeOf({}))).toEqual(['a', 'b']);
  });

  it('does not compile what it cannot vouch for (doubles, optional results, unknown functions)', () => {
    for (const source of ['workload.ratio == 0.5', 'workload.?mode', 'workload.mode.matches("^R")', 'workload.shards / 1 == 1', 'workload.shards % 2 == 1', 'uint(workload.shards) == 1u']) {
      const r = compile(source, 'any');
      expect(r.ok && r.value.native, source).toBe(false);
    }
  });
});

describe('random expressions (property)', () => {
  // A small CEL grammar over the variables policies use, including the constructs the generator
  // treats specially (literal comparisons, `in` a literal list, `.?` chains, filter(…).map(…),
  // nested comprehensions). Whatever cel-js accepts must agree wherever the compiled form answers.
  const strings = ['"Replicated"', '"redis"', '""', '"a\\"b"', '"7.2"'];
  const scalar = fc.oneof(
    fc.constantFrom('workload.mode', 'workload.name', 'workload.version', 'workload.shards', 'workload.podsPerShard', 'plan.maxShards', 'plan.name', 'workload.storage.known', 'workload.missing'),
    fc.constantFrom(...strings, '0', '1', '3', '-2', '9007199254740991', 'true', 'false', 'null'),
  );
  const list = fc.constantFrom('workload.containers', 'workload.podTemplates', 'plan.modes', 'plan.versions', '["Replicated", "Standalone"]', '[1, 2, 3]', '[]', 'workload.storage');
  const item = fc.constantFrom('x', 'x.name', 'x.path', 'x.securityContext.?privileged.orValue(false)', 'x.?securityContext.?capabilities.?add.orValue([])', 'size(x)', 'x.size()');
  const { expr } = fc.letrec((tie) => ({
    expr: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      scalar,
      fc.tuple(tie('expr'), fc.constantFrom('==', '!=', '<', '<=', '>', '>=', '&&', '||', '+', '-', '*'), tie('expr')).map(([a, op, b]) => `(${a} ${op} ${b})`),
      tie('expr').map((a) => `int(${a})`),
      fc.tuple(tie('expr'), tie('expr'), tie('expr')).map(([s, a, b]) => `(${s}).substring(${a}, ${b})`),
      fc.tuple(tie('expr'), list).map(([a, l]) => `(${a} in ${l})`),
      tie('expr').map((a) => `!(${a})`),
      fc.tuple(tie('expr'), tie('expr'), tie('expr')).map(([c, a, b]) => `(${c} ? ${a} : ${b})`),
      fc.tuple(list, fc.constantFrom('exists', 'all', 'exists_one', 'filter', 'map'), item, tie('expr'))
        .map(([l, m, i, e]) => (m === 'map' ? `${l}.map(x, ${i})` : `${l}.${m}(x, ${i} == ${e} || ${i} == x)`)),
      fc.tuple(list, fc.constantFrom('x == x', '!(x == x)', 'x == "Replicated"', 'x.name == "redis"', 'x > 1'), item)
        .map(([l, p, m]) => `${l}.filter(x, ${p}).map(y, [y, ${m.replace(/\bx\b/g, 'y')}])`),
      fc.tuple(list, list, item).map(([a, b, i]) => `${a}.exists(x, ${b}.all(z, z == ${i} || x == z))`),
      list.map((l) => `size(${l})`),
    ),
  }));
  const workload = {
    mode: 'Replicated', name: 'cache', version: '7.2.4', shards: 1, podsPerShard: 3, storage: { known: true, size: '1Gi' },
    containers: [{ name: 'redis', securityContext: { privileged: false, capabilities: { add: ['CHOWN'] } } }, { name: 'a"b', securityContext: {} }],
    podTemplates: [{ path: 'spec.template', securityContext: null }],
  };
  const plan = { name: 'standard', maxShards: 3, modes: ['Replicated', 'Standalone'], versions: ['7.2', '7.4'] };

  it('agree with cel-js wherever the compiled form answers', () => {
    let compared = 0;
    fc.assert(
      fc.property(expr, (source) => {
        const r = compile(source, 'any');
        if (!r.ok || !r.value.native) return;
        const fast = attempt(() => r.value.evaluateNative(scopeOf({ workload, plan })));
        const slow = attempt(() => r.value.interpret(scopeOf({ workload, plan })));
        if (fast.ok) compared++;
        const problem = agreement(source, fast, slow);
        if (problem) throw new Error(problem);
      }),
      { numRuns: 3000 },
    );
    // The grammar mostly produces expressions cel-js accepts and the compiled form answers.
    expect(compared).toBeGreaterThan(500);
  });
});

describe('the shipped library', () => {
  let library: Library;
  beforeAll(async () => {
    library = await loadLibrary('policies/library');
  });

  it('compiles every expression of every shipped policy', () => {
    const notCompiled = library.policies.flatMap((p) =>
      [
        ...p.variables.map((v) => v.expr),
        ...p.rules.flatMap((r) => [r.when, r.expression, r.violations, r.messageExpression, r.skipMessageExpression]),
        ...p.mutations.flatMap((m) => [m.when, m.addExpression]),
      ]
        .filter((e): e is Compiled => e !== null && !e.native)
        .map((e) => `${p.name}: ${e.source}`));
    expect(notCompiled).toEqual([]);
  });

  it('every evaluation made by the shipped PolicyTest cases agrees with cel-js', () => {
    const problems: string[] = [];
    let compiledValues = 0;
    setCrossCheck((source, fast, slow) => {
      if (fast.ok) compiledValues++;
      const problem = agreement(source, fast, slow);
      if (problem) problems.push(problem);
    });
    const outcomes = runPolicyTests(new Engine(library, { timeBudgetMs: 60_000 }), library.tests);
    setCrossCheck(null);
    expect(problems).toEqual([]);
    expect(outcomes.filter((o) => o.failures.length > 0)).toEqual([]);
    // The compiled path really ran (not a suite of hand-overs).
    expect(compiledValues).toBeGreaterThan(1000);
  });

  it('property: random damage to real workload views never makes the two disagree', () => {
    const objects = library.tests.flatMap((d) => (d.value['spec'] as { cases: { object: JsonObject }[] }).cases.map((c) => c.object));
    const views = objects.map((o) => recognise(o)).flatMap((r) => (r.redis ? [r.result.view as unknown] : []));
    expect(views.length).toBeGreaterThan(50);
    const expressions = library.policies.flatMap((p) =>
      p.rules.flatMap((r) => [r.when, r.expression, r.violations, r.messageExpression]).filter((e): e is Compiled => e !== null));
    const plans = [...library.plans.values()].map((p) => p.json);
    const junk = fc.oneof(fc.constant(null), fc.string({ maxLength: 6 }), fc.integer({ min: -3, max: 1e6 }), fc.double({ noNaN: true }), fc.boolean(), fc.constant([]), fc.constant({}), fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }));
    let compiledValues = 0;
    fc.assert(
      fc.property(fc.nat(views.length - 1), fc.nat(plans.length - 1), fc.array(fc.tuple(fc.nat(), junk), { maxLength: 4 }), (vi, pi, damage) => {
        const view = structuredClone(views[vi]) as Record<string, unknown>;
        for (const [at, value] of damage) damageAt(view, at, value);
        for (const expr of expressions) {
          const vars = { workload: view, plan: plans[pi], settings: { level: 'restricted' } };
          const fast = attempt(() => expr.evaluateNative(scopeOf(vars)));
          const slow = attempt(() => expr.interpret(scopeOf(vars)));
          if (fast.ok) compiledValues++;
          const problem = agreement(expr.source, fast, slow);
          if (problem) throw new Error(problem);
        }
      }),
      { numRuns: 300 },
    );
    expect(compiledValues).toBeGreaterThan(5000);
  });
});

/** Replace the `at`-th (mod count) nested field or item of `root` with `value`. */
function damageAt(root: Record<string, unknown>, at: number, value: unknown): void {
  const slots: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (o: unknown): void => {
    if (Array.isArray(o)) o.forEach((x, i) => (slots.push([o, i]), walk(x)));
    else if (o !== null && typeof o === 'object') for (const k of Object.keys(o)) (slots.push([o as Record<string, unknown>, k]), walk((o as Record<string, unknown>)[k]));
  };
  walk(root);
  if (slots.length === 0) return;
  const [parent, key] = slots[at % slots.length]!;
  (parent as Record<string | number, unknown>)[key] = value;
}
