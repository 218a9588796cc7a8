// The engine: recognition, plan lookup, rule evaluation, failure modes, the time budget, actions,
// the `only` filter, operations and roles — with the real library and small custom policies.

import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../policies/engine/engine.js';
import { loadLibrary, type Library } from '../../policies/engine/library.js';
import { custom, input, kubedb, policyDoc } from '../helpers/policies.js';
import type { JsonObject, ReviewOutcome } from '../../policies/engine/types.js';

const redisPdb: JsonObject = {
  apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'sessions', namespace: 'tenant-acme' },
  spec: { maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'redises.kubedb.com', 'app.kubernetes.io/instance': 'sessions' } } },
};
const redisPod: JsonObject = {
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'scratch', namespace: 'tenant-acme', labels: { app: 'redis' } },
  spec: { containers: [{ name: 'redis', image: 'redis:7.2.4' }] },
};

const byRule = (outcome: ReviewOutcome): Record<string, string> =>
  Object.fromEntries(outcome.results.map((r) => [`${r.policy}/${r.rule}`, r.result]));

let shipped: Engine;
beforeAll(async () => {
  shipped = new Engine(await loadLibrary('policies/library'), { timeBudgetMs: 60_000 });
});

const nginxDeployment: JsonObject = {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'tenant-acme' },
  spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.27', securityContext: { privileged: true } }] } } },
};
const busyboxPod: JsonObject = {
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'shell', namespace: 'tenant-acme' },
  spec: { hostPID: true, containers: [{ name: 'sh', image: 'busybox:1.36', command: ['sleep', 'infinity'] }] },
};

describe('objects that are not Redis workloads', () => {
  it.each([
    ['a ConfigMap', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } }],
    ['a PDB of nginx pods', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web' }, spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'nginx' } } } }],
  ] as [string, JsonObject][])('%s: redis false, no results, no patch, allowed', (_name, object) => {
    for (const operation of ['CREATE', 'UPDATE', 'DELETE'] as const) {
      const out = shipped.review(input(object, { operation, mutate: true, oldObject: operation === 'DELETE' ? object : null }));
      expect(out.redis).toBe(false);
      expect(out.reason).not.toBe('');
      expect(out.results).toEqual([]);
      expect(out.patch).toEqual([]);
      expect(out.mutated).toBe(object);
      expect(out.denied).toBe(false);
    }
  });

  it('a Pod that does not run Redis is reviewed by pod-security and isolation, and denied when it breaks them', () => {
    const out = shipped.review(input(busyboxPod, { mutate: true }));
    expect(out.redis).toBe(true);
    expect(new Set(out.results.map((r) => r.policy))).toEqual(new Set(['pod-security', 'isolation']));
    expect(out.results.find((r) => r.rule === 'host-namespaces')).toMatchObject({ result: 'fail', action: 'Deny' });
    expect(out.patch).toEqual([]); // a Pod that is not Redis is never mutated
    expect(out.denied).toBe(true);
  });

  it('a redis_exporter Pod is another pod: reviewed, not counted against the plan', () => {
    const exporter: JsonObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'tenant-acme' }, spec: { containers: [{ name: 'e', image: 'oliver006/redis_exporter:v1.62.0' }] } };
    const out = shipped.review(input(exporter));
    expect(out.results.some((r) => r.policy === 'plan-limits' || r.policy === 'tls')).toBe(false);
    expect(out.results.some((r) => r.policy === 'pod-security')).toBe(true);
  });

  it('a workload template that does not run Redis gets pod-security warnings (as Pod Security Admission gives), not a denial', () => {
    const out = shipped.review(input(nginxDeployment));
    const privileged = out.results.find((r) => r.rule === 'privileged');
    expect(privileged).toMatchObject({ policy: 'pod-security', result: 'warn', action: 'Warn', denies: false });
    expect(privileged!.message).toContain('privileged containers are not allowed');
    expect(out.results.filter((r) => r.policy === 'pod-security').every((r) => r.result !== 'fail')).toBe(true);
    expect(out.denied).toBe(false);
  });

  it('the plan is not looked up for objects that are not Redis', () => {
    const out = shipped.review(input({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }, { plan: 'nope' }));
    expect(out).toMatchObject({ redis: false, results: [], denied: false });
  });
});

describe('plans', () => {
  it('an unknown plan is one error result and a denial, never a crash', () => {
    const out = shipped.review(input(kubedb(), { plan: 'gold', mutate: true }));
    expect(out.redis).toBe(true);
    expect(out.results).toHaveLength(1);
    expect(out.results[0]).toMatchObject({ policy: 'redline', rule: 'plan-exists', result: 'error', action: 'Deny', denies: true });
    expect(out.results[0]!.message).toContain('plan "gold" is not defined (known plans: free, premium, standard)');
    expect(out.patch).toEqual([]);
    expect(out.denied).toBe(true);
  });

  it('an empty plan name is unknown too', () => {
    expect(shipped.review(input(kubedb(), { plan: '' })).results[0]!.message).toContain('plan "" is not defined');
  });

  it('hasPlan and policyNames', () => {
    expect(shipped.hasPlan('premium')).toBe(true);
    expect(shipped.hasPlan('gold')).toBe(false);
    expect(shipped.policyNames.sort()).toEqual([
      'anti-affinity', 'authentication', 'availability', 'certificates', 'enterprise', 'hardening', 'images', 'isolation', 'pdb',
      'persistence', 'plan-limits', 'pod-security', 'tls',
    ]);
  });
});

describe('runtime errors and failure modes', () => {
  const broken = (extra = '', action = 'Deny'): Library => custom(policyDoc('broken', `  action: ${action}
${extra}  rules:
    - name: missing-field
      expression: object.spec.missing.field == 1
      message: never
    - name: fine
      expression: 'true'
      message: never
`));

  it('an error in a Deny policy (failureMode defaults to Deny) is an error result that denies', () => {
    const out = new Engine(broken()).review(input(kubedb()));
    expect(out.results[0]).toMatchObject({ policy: 'broken', rule: 'missing-field', result: 'error', action: 'Deny', denies: true });
    expect(out.results[0]!.message).toMatch(/^missing-field: /);
    expect(out.results[0]!.message).not.toMatch(/\n\s+at\s/);
    expect(out.results[1]).toMatchObject({ rule: 'fine', result: 'pass', denies: false });
    expect(out.denied).toBe(true);
  });

  it('failureMode Allow: the error is reported but does not deny', () => {
    const out = new Engine(broken('  failureMode: Allow\n')).review(input(kubedb()));
    expect(out.results[0]).toMatchObject({ rule: 'missing-field', result: 'error', denies: false });
    expect(out.denied).toBe(false);
  });

  it('Warn and Audit policies default to failureMode Allow; an explicit Deny denies', () => {
    for (const action of ['Warn', 'Audit']) {
      const out = new Engine(broken('', action)).review(input(kubedb()));
      expect(out.results[0]).toMatchObject({ result: 'error', action, denies: false });
      expect(out.denied).toBe(false);
      const strict = new Engine(broken('  failureMode: Deny\n', action)).review(input(kubedb()));
      expect(strict.denied).toBe(true);
    }
  });

  it('a failing variable makes every rule of its policy an error', () => {
    const lib = custom(policyDoc('vars', `  action: Deny
  variables:
    - name: bad
      expression: object.spec.nothing.here
  rules:
    - name: a
      expression: 'true'
      message: m
    - name: b
      expression: 'true'
      message: m
`));
    const out = new Engine(lib).review(input(kubedb()));
    expect(out.results.map((r) => [r.rule, r.result])).toEqual([['a', 'error'], ['b', 'error']]);
    expect(out.results[0]!.message).toMatch(/^variable bad: /);
    expect(out.denied).toBe(true);
  });

  it('each variable sees the ones before it, never one after it, compiled or on cel-js', () => {
    // `b` reads `a`; `c` needs cel-js (a double), so it and every later one run there, reading what came before.
    const ordered = custom(policyDoc('ordered', `  action: Deny
  variables:
    - {name: a, expression: 'object.spec.version'}
    - {name: b, expression: 'vars.a + "-b"'}
    - {name: c, expression: '1.5 + 1.0'}
    - {name: d, expression: 'vars.b + "-d"'}
  rules:
    - name: sees-earlier
      expression: 'vars.d == "7.2.4-b-d" && vars.c == 2.5'
      message: m
`));
    expect(new Engine(ordered).review(input(kubedb({ version: '7.2.4' }))).results.map((r) => [r.rule, r.result])).toEqual([['sees-earlier', 'pass']]);
    const early = custom(policyDoc('early', `  action: Deny
  variables:
    - {name: first, expression: 'vars.second'}
    - {name: second, expression: '"x"'}
  rules:
    - name: r
      expression: 'true'
      message: m
`));
    const out = new Engine(early).review(input(kubedb()));
    expect(out.results[0]).toMatchObject({ rule: 'r', result: 'error' });
    expect(out.results[0]!.message).toMatch(/^variable first: /);
  });

  it('a dyn expression that returns a non-bool, or violations that are not a list, is an error', () => {
    const lib = custom(policyDoc('types', `  action: Deny
  rules:
    - name: not-bool
      expression: object.spec.version
      message: m
    - name: not-list
      violations: object.spec.version
      message: m
`));
    const out = new Engine(lib).review(input(kubedb()));
    expect(out.results.map((r) => [r.rule, r.result, r.message])).toEqual([
      ['not-bool', 'error', 'expression returned string, not bool'],
      ['not-list', 'error', 'violations must return a list'],
    ]);
  });

  it('a failing messageExpression keeps the rule result and explains the message', () => {
    const lib = custom(policyDoc('msg', `  action: Deny
  rules:
    - name: r
      expression: 'false'
      message: base text
      messageExpression: object.spec.nope
`.replace('      message: base text\n', '')));
    const out = new Engine(lib).review(input(kubedb()));
    expect(out.results[0]!.result).toBe('fail');
    expect(out.results[0]!.message).toMatch(/^rule failed \(message expression failed: /);
  });

  it('a failing mutation is an error result named after the mutation', () => {
    const lib = custom(policyDoc('mut', `  action: Deny
  rules:
    - name: r
      expression: 'true'
      message: m
  mutations:
    - name: explode
      target: object
      addExpression: '{"spec": {"x": object.spec.nothing.here}}'
`));
    const out = new Engine(lib).review(input(kubedb(), { mutate: true }));
    expect(out.results[0]).toMatchObject({ policy: 'mut', rule: 'explode', result: 'error', action: 'Deny', denies: true });
    expect(out.results[0]!.message).toMatch(/^mutation explode: /);
    expect(out.patch).toEqual([]);
    expect(out.denied).toBe(true);
  });
});

describe('mutations see the policy variables', () => {
  it('a variable used in a mutation is evaluated for it', () => {
    const lib = custom(policyDoc('mut', `  action: Deny
  variables:
    - {name: marker, expression: '"from-" + object.metadata.name'}
  rules:
    - name: r
      expression: vars.marker == "from-sessions"
      message: m
  mutations:
    - name: label
      target: object
      addExpression: '{"metadata": {"labels": {"marker": vars.marker}}}'
`));
    const out = new Engine(lib).review(input(kubedb(), { mutate: true }));
    expect(out.patch).toEqual([{ op: 'add', path: '/metadata/labels', value: { marker: 'from-sessions' } }]);
    expect(out.results).toEqual([expect.objectContaining({ rule: 'r', result: 'pass' })]);
    expect(out.denied).toBe(false);
  });

  it('a variable that fails makes each mutation of its policy an error, never an exception', () => {
    const lib = custom(policyDoc('mut', `  action: Deny
  variables:
    - {name: broken, expression: object.spec.nothing.here}
  rules:
    - name: r
      expression: 'true'
      message: m
  mutations:
    - name: uses-it
      target: object
      addExpression: '{"spec": {"x": vars.broken}}'
`));
    const out = new Engine(lib).review(input(kubedb(), { mutate: true }));
    expect(out.results[0]).toMatchObject({ policy: 'mut', rule: 'uses-it', result: 'error', denies: true });
    expect(out.results[0]!.message).toMatch(/^mutation uses-it: variable broken: /);
    expect(out.patch).toEqual([]);
    expect(out.denied).toBe(true);
  });
});

describe('warnRoles', () => {
  const warnLib = (extra = ''): Library => custom(policyDoc('templates', `  action: Deny
  match:
    roles: [workload, other-workload]
    warnRoles: [other-workload]
  rules:
    - name: never
      expression: 'false'
      message: not allowed
${extra}`));

  it('a failing Deny rule is a warning for a warn role, and a denial for the others', () => {
    const engine = new Engine(warnLib());
    const template = engine.review(input(nginxDeployment));
    expect(template.results).toEqual([expect.objectContaining({ rule: 'never', result: 'warn', action: 'Warn', message: 'not allowed' })]);
    expect(template.denied).toBe(false);
    const redis = engine.review(input(kubedb()));
    expect(redis.results).toEqual([expect.objectContaining({ rule: 'never', result: 'fail', action: 'Deny' })]);
    expect(redis.denied).toBe(true);
  });

  it('an error for a warn role is reported and does not deny', () => {
    const engine = new Engine(warnLib(`    - name: broken
      expression: object.spec.nothing.here == 1
      message: m
`));
    const out = engine.review(input(nginxDeployment));
    expect(out.results.find((r) => r.rule === 'broken')).toMatchObject({ result: 'error', denies: false });
    expect(out.denied).toBe(false);
    expect(engine.review(input(kubedb())).results.find((r) => r.rule === 'broken')).toMatchObject({ result: 'error', denies: true });
  });

  it('Warn and Audit rules are unchanged by warnRoles', () => {
    const engine = new Engine(warnLib(`    - name: audit
      action: Audit
      expression: 'false'
      message: m
`));
    expect(engine.review(input(nginxDeployment)).results.find((r) => r.rule === 'audit')).toMatchObject({ result: 'fail', action: 'Audit' });
  });
});

describe('time budget', () => {
  const rules = (names: string[]): string => names.map((n) => `    - name: ${n}\n      expression: 'true'\n      message: m\n`).join('');
  const three = custom(policyDoc('slow', `  action: Deny\n  rules:\n${rules(['first', 'second', 'third'])}`));

  it('rules not reached within the budget resolve as errors; the clock is read every fourth rule, and before each policy', () => {
    // The clock advances 10 ms per reading: the deadline is 0 + 15. In `six` it is read before r1
    // (10) and r5 (20, over budget); in `more` before m1, already over.
    const lib = custom(
      policyDoc('six', `  action: Deny\n  rules:\n${rules(['r1', 'r2', 'r3', 'r4', 'r5', 'r6'])}`),
      policyDoc('more', `  action: Deny\n  rules:\n${rules(['m1'])}`),
    );
    let t = -10;
    let readings = 0;
    const engine = new Engine(lib, { timeBudgetMs: 15, now: () => (readings++, (t += 10)) });
    const out = engine.review(input(kubedb()));
    expect(out.results.map((r) => [r.rule, r.result])).toEqual([
      ['r1', 'pass'], ['r2', 'pass'], ['r3', 'pass'], ['r4', 'pass'], ['r5', 'error'], ['r6', 'error'], ['m1', 'error'],
    ]);
    expect(readings).toBe(3); // the deadline, r1, r5: once exhausted, never read again

    // Rules another operation's: the reading goes before the first rule that is evaluated.
    const deleteOnly = custom(policyDoc('mixed', `  action: Deny\n  rules:\n    - name: on-delete\n      operations: [DELETE]\n      expression: 'true'\n      message: m\n${rules(['c1'])}`));
    t = -10;
    readings = 0;
    const second = new Engine(deleteOnly, { timeBudgetMs: 5, now: () => (readings++, (t += 10)) }).review(input(kubedb()));
    expect(second.results.map((r) => [r.rule, r.result])).toEqual([['c1', 'error']]);
    expect(readings).toBe(2);
    expect(out.results[4]!.message).toBe('evaluation stopped: the 15 ms budget of this review was exhausted');
    expect(out.results[4]!.denies).toBe(true);
    expect(out.denied).toBe(true);
  });

  it('a clock that jumps past the budget stops every rule; failureMode Allow lets it through', () => {
    let calls = 0;
    const now = (): number => (calls++ === 0 ? 0 : 1_000);
    const out = new Engine(three, { timeBudgetMs: 250, now }).review(input(kubedb()));
    expect(out.results.every((r) => r.result === 'error')).toBe(true);
    const lenient = custom(policyDoc('slow', `  action: Deny
  failureMode: Allow
  rules:
    - name: only
      expression: 'true'
      message: m
`));
    calls = 0;
    const allowed = new Engine(lenient, { timeBudgetMs: 250, now }).review(input(kubedb()));
    expect(allowed.results).toEqual([expect.objectContaining({ rule: 'only', result: 'error', denies: false })]);
    expect(allowed.denied).toBe(false);
  });

  it('a steady clock never runs out', () => {
    const out = new Engine(three, { timeBudgetMs: 0, now: () => 42 }).review(input(kubedb()));
    expect(out.results.map((r) => r.result)).toEqual(['pass', 'pass', 'pass']);
  });
});

describe('actions', () => {
  const lib = custom(
    policyDoc('deny', '  action: Deny\n  rules:\n    - name: no\n      expression: \'false\'\n      message: denied\n'),
    policyDoc('warn', '  action: Warn\n  rules:\n    - name: no\n      expression: \'false\'\n      message: warned\n    - name: yes\n      expression: \'true\'\n      message: m\n'),
    policyDoc('audit', '  action: Audit\n  rules:\n    - name: no\n      expression: \'false\'\n      message: audited\n'),
    policyDoc('mixed', `  action: Deny
  rules:
    - name: soft
      action: Warn
      violations: '["a", "b"]'
      message: offenders
    - name: logged
      action: Audit
      expression: 'false'
      message: logged
    - name: skipped
      when: 'false'
      skipMessage: not applicable
      expression: 'false'
      message: m
    - name: skipped-expr
      when: 'false'
      skipMessageExpression: '"skipped for " + object.metadata.name'
      expression: 'false'
      message: m
`),
  );
  const engine = new Engine(lib);

  it('Deny fails and denies; Warn warns; Audit fails without denying', () => {
    const only = (name: string): ReviewOutcome => engine.review(input(kubedb(), { only: [name] }));
    expect(only('deny').results).toEqual([{ policy: 'deny', rule: 'no', result: 'fail', action: 'Deny', message: 'denied', denies: false }]);
    expect(only('deny').denied).toBe(true);
    expect(only('warn').results.map((r) => [r.rule, r.result, r.action])).toEqual([['no', 'warn', 'Warn'], ['yes', 'pass', 'Warn']]);
    expect(only('warn').denied).toBe(false);
    expect(only('audit').results).toEqual([{ policy: 'audit', rule: 'no', result: 'fail', action: 'Audit', message: 'audited', denies: false }]);
    expect(only('audit').denied).toBe(false);
  });

  it('rule-level actions override the policy; violations are listed in the message; skips carry their message', () => {
    const out = engine.review(input(kubedb(), { only: ['mixed'] }));
    expect(out.results).toEqual([
      { policy: 'mixed', rule: 'soft', result: 'warn', action: 'Warn', message: 'offenders: a, b', denies: false },
      { policy: 'mixed', rule: 'logged', result: 'fail', action: 'Audit', message: 'logged', denies: false },
      { policy: 'mixed', rule: 'skipped', result: 'skip', action: 'Deny', message: 'not applicable', denies: false },
      { policy: 'mixed', rule: 'skipped-expr', result: 'skip', action: 'Deny', message: 'skipped for sessions', denies: false },
    ]);
    expect(out.denied).toBe(false);
  });
});

describe('selection: only, operations, roles', () => {
  it('only restricts evaluation to the named policies', () => {
    const out = shipped.review(input(kubedb(), { only: ['tls'] }));
    expect(new Set(out.results.map((r) => r.policy))).toEqual(new Set(['tls']));
    expect(shipped.review(input(kubedb(), { only: [] })).results).toEqual([]);
    expect(shipped.review(input(kubedb(), { only: ['no-such-policy'] })).results).toEqual([]);
  });

  it('only also restricts mutations', () => {
    const out = shipped.review(input(kubedb(), { only: ['tls'], mutate: true }));
    expect(out.patch.map((p) => p.path)).toEqual(['/spec/tls']);
  });

  it('without only, every policy for the role runs', () => {
    const out = shipped.review(input(kubedb()));
    expect(new Set(out.results.map((r) => r.policy))).toEqual(new Set([
      'anti-affinity', 'authentication', 'availability', 'enterprise', 'hardening', 'images', 'isolation', 'pdb', 'persistence',
      'plan-limits', 'pod-security', 'tls',
    ]));
  });

  it('policies match their roles: PDB rules never run for Pods, Pod rules never for PDBs', () => {
    const pod = shipped.review(input(redisPod));
    expect(pod.results.some((r) => r.policy === 'pdb')).toBe(false);
    const pdb = shipped.review(input(redisPdb));
    expect(new Set(pdb.results.map((r) => r.policy))).toEqual(new Set(['pdb']));
  });

  it('policies match their operations', () => {
    const lib = custom(policyDoc('create-only', "  action: Deny\n  match:\n    operations: [CREATE]\n  rules:\n    - name: r\n      expression: 'false'\n      message: m\n"));
    const engine = new Engine(lib);
    expect(engine.review(input(kubedb())).denied).toBe(true);
    expect(engine.review(input(kubedb(), { operation: 'UPDATE' })).results).toEqual([]);
  });
});

describe('DELETE', () => {
  it('deleting a Redis PDB warns and is not denied', () => {
    for (const object of [redisPdb, {} as JsonObject]) {
      const out = shipped.review(input(object, { operation: 'DELETE', oldObject: redisPdb }));
      expect(out.redis).toBe(true);
      expect(out.results).toEqual([{
        policy: 'pdb', rule: 'deleting-protection', result: 'warn', action: 'Warn', denies: false,
        message: 'deleting PodDisruptionBudget sessions leaves Redis pods unprotected during node drains',
      }]);
      expect(out.denied).toBe(false);
    }
  });

  it('deleting a Redis workload only meets the DELETE rules, which skip', () => {
    const out = shipped.review(input(kubedb(), { operation: 'DELETE', oldObject: kubedb() }));
    expect(out.results).toEqual([expect.objectContaining({ rule: 'deleting-protection', result: 'skip' })]);
    expect(out.denied).toBe(false);
  });

  it('a DELETE is never mutated', () => {
    const out = shipped.review(input(kubedb(), { operation: 'DELETE', oldObject: kubedb(), mutate: true }));
    expect(out.patch).toEqual([]);
  });
});

describe('mutation and validation together', () => {
  it('with mutate the rules see the mutated object; without, the object as written', () => {
    const plain = shipped.review(input(kubedb()));
    expect(byRule(plain)['tls/tls-enabled']).toBe('fail');
    expect(byRule(plain)['pod-security/run-as-non-root']).toBe('fail');
    expect(plain.patch).toEqual([]);
    expect(plain.denied).toBe(true);

    const mutated = shipped.review(input(kubedb(), { mutate: true }));
    expect(byRule(mutated)['tls/tls-enabled']).toBe('pass');
    expect(byRule(mutated)['pod-security/run-as-non-root']).toBe('pass');
    expect(byRule(mutated)['pod-security/run-as-non-root']).toBe('pass');
    expect(mutated.patch.length).toBeGreaterThan(0);
    expect(mutated.denied).toBe(false);
  });

  it('an object the mutations leave as it is gets the results of a review without mutation (the mutating pass\'s values reused)', () => {
    const settled = shipped.review(input(kubedb(), { mutate: true })).mutated;
    const again = shipped.review(input(settled, { mutate: true, pdbs: [], storageClasses: [] }));
    expect(again.patch).toEqual([]);
    expect(again).toEqual(shipped.review(input(settled, { pdbs: [], storageClasses: [] })));
    expect(byRule(again)['persistence/durable-storage']).toBeDefined();
  });

  it('reused variables stay each policy\'s own, and a failing one still fails its mutations and its rules', () => {
    const policy = (name: string, variable: string) => policyDoc(name, `  action: Deny
  variables:
    - {name: v, expression: '${variable}'}
  rules:
    - name: r
      expression: vars.v == "${name}"
      message: m
  mutations:
    - name: nothing
      target: object
      when: 'false'
      addExpression: '{"spec": {"x": vars.v}}'
`);
    const lib = custom(policy('a', '"a"'), policy('b', '"b"'), policy('c', 'object.spec.nothing.here'));
    const out = new Engine(lib).review(input(kubedb(), { mutate: true }));
    expect(out.patch).toEqual([]);
    expect(out.results.map((r) => `${r.policy}/${r.rule} ${r.result}`)).toEqual(['c/nothing error', 'a/r pass', 'b/r pass', 'c/r error']);
    expect(out.results[0]!.message).toMatch(/^mutation nothing: variable v: /);
    expect(out.results[3]!.message).toBe(out.results[0]!.message.replace(/^mutation nothing: /, ''));
  });

  it('the input object is never modified', () => {
    const object = kubedb();
    const snapshot = structuredClone(object);
    shipped.review(input(object, { mutate: true }));
    expect(object).toEqual(snapshot);
  });

  it('tenant, request and plan are visible to expressions', () => {
    const lib = custom(policyDoc('ctx', `  action: Deny
  rules:
    - name: ctx
      expression: >-
        tenant.namespace == "tenant-acme" && tenant.id == "acme" && tenant.plan == "free"
        && tenant.labels["redline.dev/plan"] == "free" && request.operation == "UPDATE"
        && request.username == "alice" && "devs" in request.groups && plan.name == "free"
        && plan.spec.maxShards == 1 && oldObject.spec.version == "7.0" && workload.kind == "Redis"
      message: context mismatch
`));
    const out = new Engine(lib).review(input(kubedb(), {
      operation: 'UPDATE', oldObject: kubedb({ version: '7.0' }), userInfo: { username: 'alice', groups: ['devs'] },
    }));
    expect(out.results).toEqual([expect.objectContaining({ rule: 'ctx', result: 'pass' })]);
  });
});
