// Loading the policy library: every problem in every document is reported at once, as
// file:line:column plus the field path, and never as a stack trace.

import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedlineError } from '../../core/errors.js';
import { formatProblem, type DocumentProblem } from '../../core/result.js';
import type { DocumentError } from '../../policies/engine/documents.js';
import { HOT_EVALUATIONS, Scope, SharedValues, setHotEvaluations, type Compiled } from '../../policies/engine/cel.js';
import { compileLibrary, listYamlFiles, listYamlFilesSync, loadLibrary, onlyPolicyTests, readLibrarySources } from '../../policies/engine/library.js';
import { parseDocuments } from '../../policies/engine/documents.js';
import { prepare, preparedFor, type PreparedLibrary, type PreparedSources } from '../../policies/engine/prepared.js';

const HEADER = 'apiVersion: redline.dev/v1alpha1';

const plan = (name = 'tiny', perPodMemory = '256Mi'): string => `${HEADER}
kind: Plan
metadata:
  name: ${name}
spec:
  modes: [Standalone]
  maxShards: 1
  maxPodsPerShard: 1
  perPod: {memory: ${perPodMemory}, cpu: 250m, storage: 1Gi}
  maxTotalMemory: 256Mi
  defaults: {memory: 128Mi, cpu: 100m}
  quota: {hard: {pods: "2"}}
`;

/** A policy whose rules section is `rules` (already indented by 4). Line 8 is the first rule line. */
const policy = (rules: string, name = 'custom', extra = ''): string => `${HEADER}
kind: Policy
metadata:
  name: ${name}
spec:
  action: Deny
  rules:
${rules}${extra}`;

const okRule = `    - name: ok
      expression: 'true'
      message: m
`;

function problemsOf(sources: { file: string; text: string }[]): DocumentProblem[] {
  try {
    compileLibrary('lib', sources);
  } catch (e) {
    expect(e).toBeInstanceOf(RedlineError);
    expect((e as DocumentError).code).toBe('document-invalid');
    const err = e as DocumentError;
    // Never a stack trace in what users read.
    expect(err.message).not.toMatch(/\n\s+at\s/);
    for (const p of err.problems) expect(p.message).not.toMatch(/\n\s+at\s|\.ts:\d+/);
    return [...err.problems];
  }
  throw new Error('expected the library to be rejected');
}

const one = (file: string, text: string): DocumentProblem[] => problemsOf([{ file, text }]);

describe('schema problems carry file, line, column and field path', () => {
  it('unknown field', () => {
    const problems = one('p.yaml', policy(okRule, 'custom', '  actoin: Deny\n'));
    expect(problems).toEqual([{ file: 'p.yaml', line: 11, column: 3, path: 'spec.actoin', message: 'unknown field' }]);
  });

  it('unknown field in a rule', () => {
    const problems = one('p.yaml', policy(`    - name: r
      expression: 'true'
      mesage: m
      message: m
`));
    expect(problems).toEqual([{ file: 'p.yaml', line: 10, column: 7, path: 'spec.rules[0].mesage', message: 'unknown field' }]);
  });

  it('wrong enum value', () => {
    const problems = one('p.yaml', policy(`    - name: r
      expression: 'true'
      action: Block
      message: m
`));
    expect(problems).toEqual([{ file: 'p.yaml', line: 10, column: 15, path: 'spec.rules[0].action', message: 'must be one of "Deny", "Warn", "Audit"' }]);
  });

  it('missing required field is located at its parent', () => {
    const problems = one('p.yaml', `${HEADER}\nkind: Policy\nmetadata:\n  name: custom\nspec:\n  action: Deny\n`);
    expect(problems).toEqual([{ file: 'p.yaml', line: 6, column: 3, path: 'spec.rules', message: 'required field is missing' }]);
  });

  it('a rule with neither expression nor violations', () => {
    const problems = one('p.yaml', policy('    - name: r\n      message: m\n'));
    expect(problems).toEqual([{ file: 'p.yaml', line: 8, column: 7, path: 'spec.rules[0]', message: 'needs expression or violations' }]);
  });

  it('bad quantity in a plan', () => {
    const problems = one('plans/tiny.yaml', plan('tiny', '256MB'));
    expect(problems).toEqual([{ file: 'plans/tiny.yaml', line: 9, column: 20, path: 'spec.perPod.memory', message: 'must be a Kubernetes quantity such as 256Mi or 500m' }]);
  });

  it('wrong apiVersion, or an unknown kind', () => {
    expect(one('p.yaml', 'apiVersion: redline.dev/v1\nkind: Policy\nmetadata: {name: x}\nspec: {}\n')).toEqual([{
      file: 'p.yaml', line: 1, column: 1, path: '',
      message: 'expected apiVersion redline.dev/v1alpha1 and kind Plan, Policy, PolicyException, LibrarySettings or PolicyTest, got redline.dev/v1 Policy',
    }]);
    expect(one('p.yaml', `${HEADER}\nkind: Rule\n`)[0]!.message).toContain('got redline.dev/v1alpha1 Rule');
  });

  it('an invalid resource name', () => {
    const problems = one('p.yaml', policy(okRule, 'Not_A_Name'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 4, column: 9, path: 'metadata.name' });
  });

  it('duplicate Policy names across files point at the first definition', () => {
    const problems = problemsOf([
      { file: 'a.yaml', text: policy(okRule, 'same') },
      { file: 'b.yaml', text: `# second copy\n${policy(okRule, 'same')}` },
    ]);
    expect(problems).toEqual([{ file: 'b.yaml', line: 5, column: 9, path: 'metadata.name', message: 'duplicate Policy same (first defined in a.yaml:1)' }]);
  });

  it('duplicate Plan names in one file (two documents)', () => {
    const problems = one('plans.yaml', `${plan('tiny')}---\n${plan('tiny')}`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'plans.yaml', line: 17, path: 'metadata.name', message: 'duplicate Plan tiny (first defined in plans.yaml:1)' });
  });

  it('duplicate rule names in one policy', () => {
    const problems = one('p.yaml', policy(okRule + okRule));
    expect(problems).toEqual([{ file: 'p.yaml', line: 11, column: 13, path: 'spec.rules[1].name', message: 'duplicate rule name ok' }]);
  });

  it('invalid YAML', () => {
    const problems = one('p.yaml', `${HEADER}\nkind: Policy\nmetadata: {name: x\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'p.yaml', line: 4, column: 1, path: '' });
    expect(problems[0]!.message).toMatch(/^invalid YAML: /);
  });

  it('duplicate keys are invalid YAML', () => {
    const problems = one('p.yaml', `${HEADER}\nkind: Policy\nkind: Plan\n`);
    expect(problems).toEqual([{ file: 'p.yaml', line: 3, column: 1, path: '', message: 'invalid YAML: Map keys must be unique' }]);
  });

  it('a document that is not a mapping', () => {
    expect(one('p.yaml', '- a\n- b\n')).toEqual([{ file: 'p.yaml', line: 1, column: 1, path: '', message: 'a document must be a mapping (an object with apiVersion and kind)' }]);
    expect(one('p.yaml', `${plan()}---\njust a string\n`)).toEqual([{ file: 'p.yaml', line: 14, column: 1, path: '', message: 'a document must be a mapping (an object with apiVersion and kind)' }]);
  });

  it('empty documents and comments are skipped', () => {
    const lib = compileLibrary('lib', [{ file: 'p.yaml', text: `# nothing\n---\n---\n${plan()}---\n` }]);
    expect([...lib.plans.keys()]).toEqual(['tiny']);
  });

  it('formatProblem renders file:line:column: path: message', () => {
    expect(formatProblem({ file: 'a.yaml', line: 3, column: 7, path: 'spec.x', message: 'unknown field' })).toBe('a.yaml:3:7: spec.x: unknown field');
    expect(formatProblem({ file: 'a.yaml', line: 1, column: 1, path: '', message: 'bad' })).toBe('a.yaml:1:1: bad');
  });
});

describe('CEL problems carry the location of the expression', () => {
  const rule = (field: string, value: string, extra = ''): string => `    - name: r
      ${field}: ${value}
${extra || '      message: m\n'}`;

  it('unknown variable', () => {
    expect(one('p.yaml', policy(rule('expression', 'foo.bar == 1')))).toEqual([
      { file: 'p.yaml', line: 9, column: 19, path: 'spec.rules[0].expression', message: 'CEL: Unknown variable: foo' },
    ]);
  });

  it('syntax error at its offset', () => {
    expect(one('p.yaml', policy(rule('expression', 'object.spec ==')))).toEqual([
      { file: 'p.yaml', line: 9, column: 33, path: 'spec.rules[0].expression', message: 'CEL: Unexpected token: EOF' },
    ]);
  });

  it('wrong result type of expression, violations, messageExpression, when, addExpression', () => {
    expect(one('p.yaml', policy(rule('expression', `'"x" + "y"'`)))[0]).toMatchObject({
      line: 9, path: 'spec.rules[0].expression', message: 'CEL: expression must return bool, but returns string',
    });
    expect(one('p.yaml', policy(rule('violations', 'object.spec.x == 1')))[0]).toMatchObject({
      path: 'spec.rules[0].violations', message: 'CEL: expression must return list, but returns bool',
    });
    expect(one('p.yaml', policy(rule('expression', `'true'`, '      messageExpression: "1 + 2"\n')))[0]).toMatchObject({
      line: 10, path: 'spec.rules[0].messageExpression', message: 'CEL: expression must return string, but returns int',
    });
    expect(one('p.yaml', policy(rule('expression', `'true'`, `      when: '"yes"'\n      message: m\n`)))[0]).toMatchObject({
      line: 10, path: 'spec.rules[0].when', message: 'CEL: expression must return bool, but returns string',
    });
    expect(one('p.yaml', policy(okRule, 'custom', `  mutations:\n    - name: m\n      target: object\n      addExpression: '[1]'\n`))).toEqual([
      { file: 'p.yaml', line: 14, column: 23, path: 'spec.mutations[0].addExpression', message: 'CEL: expression must return map, but returns list<int>' },
    ]);
  });

  it('unsafe regular expression (nested repetition) is rejected at load', () => {
    const problems = one('p.yaml', policy(rule('expression', 'object.metadata.name.matches("(a+)+$")')));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 9, column: 48, path: 'spec.rules[0].expression' });
    expect(problems[0]!.message).toContain('pattern "(a+)+$" can backtrack catastrophically');
  });

  it.each(['(x*)*', '(a|aa)+', '(\\\\w+)\\\\1'])('unsafe pattern %s', (pattern) => {
    const problems = one('p.yaml', policy(rule('expression', `'object.metadata.name.matches("${pattern}")'`)));
    expect(problems[0]!.message).toContain('can backtrack catastrophically');
  });

  it('an invalid pattern is rejected at load', () => {
    const problems = one('p.yaml', policy(rule('expression', `'object.metadata.name.matches("[a-")'`)));
    expect(problems[0]!.message).toContain('invalid pattern "[a-"');
  });

  it('a non-literal pattern is rejected', () => {
    const problems = one('p.yaml', policy(rule('expression', 'object.metadata.name.matches(object.spec.pattern)')));
    expect(problems).toEqual([{
      file: 'p.yaml', line: 9, column: 48, path: 'spec.rules[0].expression',
      message: 'CEL: matches() takes a string literal pattern, so it can be checked when the policy loads',
    }]);
  });

  it('a safe literal pattern loads', () => {
    expect(() => compileLibrary('lib', [{ file: 'p.yaml', text: policy(rule('expression', `'object.metadata.name.matches("^[a-z0-9-]+$")'`)) }])).not.toThrow();
  });

  it('a broken variable expression', () => {
    const problems = one('p.yaml', policy(okRule, 'custom', '  variables:\n    - name: v\n      expression: nope\n'));
    expect(problems).toEqual([{ file: 'p.yaml', line: 13, column: 19, path: 'spec.variables[0].expression', message: 'CEL: Unknown variable: nope' }]);
  });

  it('every expression of a policy is checked, not only the first broken one', () => {
    const problems = one('p.yaml', policy(`    - name: a
      expression: nope == 1
      message: m
    - name: b
      when: alsoNope
      violations: '[]'
      message: m
`));
    expect(problems.map((p) => p.path)).toEqual(['spec.rules[0].expression', 'spec.rules[1].when']);
  });
});

describe('BUG: CEL problem locations inside multi-line and quoted YAML scalars (expected to fail until fixed)', () => {
  // library.ts expressionProblem() maps an offset in the expression to the file by treating the
  // scalar's value as starting at the key's value position. That only holds for single-line plain
  // scalars. The shipped policies write expressions as folded block scalars (`>-`), where the
  // folded text has no newlines, so every error points at the `>-` indicator line instead.
  it('BUG library.ts: folded block scalar (>-) — the line and column of the offending token', () => {
    const problems = one('p.yaml', policy(`    - name: r
      expression: >-
        object.spec.x == 1
        && nope == 2
      message: m
`));
    // `nope` is on line 11, column 12.
    expect(problems[0]).toMatchObject({ line: 11, column: 12, message: 'CEL: Unknown variable: nope' });
  });

  it('BUG library.ts: literal block scalar (|) — the column includes the block indentation', () => {
    const problems = one('p.yaml', policy(`    - name: r
      expression: |
        object.spec.x == 1
          && nope == 2
      message: m
`));
    // `nope` is on line 11, column 14 (reported: column 6, the indentation is dropped).
    expect(problems[0]).toMatchObject({ line: 11, column: 14 });
  });

  it('BUG library.ts: double-quoted scalar — the column skips the opening quote', () => {
    const problems = one('p.yaml', policy(`    - name: r
      expression: "object.spec.x == nope"
      message: m
`));
    // `nope` starts at column 37 (reported: 36, the position of the quote is used as offset 0).
    expect(problems[0]).toMatchObject({ line: 9, column: 37 });
  });
});

describe('all problems are reported at once', () => {
  it('two broken files are both listed, in order, and nothing is loaded', () => {
    let error: DocumentError | undefined;
    try {
      compileLibrary('lib', [
        { file: 'plans/tiny.yaml', text: plan('tiny', '1 gig') },
        { file: 'policies/ok.yaml', text: policy(okRule, 'fine') },
        { file: 'policies/bad.yaml', text: policy('    - name: r\n      expression: nope\n      message: m\n', 'bad', '  actoin: Deny\n') },
      ]);
    } catch (e) {
      error = e as DocumentError;
    }
    expect(error).toBeInstanceOf(RedlineError);
    expect(error!.code).toBe('document-invalid');
    expect(error!.problems.map((p) => `${p.file}:${p.path}`)).toEqual([
      'plans/tiny.yaml:spec.perPod.memory',
      'policies/bad.yaml:spec.actoin',
      'policies/bad.yaml:spec.rules[0].expression',
    ]);
    expect(error!.message.split('\n')).toEqual(error!.problems.map(formatProblem));
  });

  it('schema and CEL problems of different documents together', () => {
    const problems = problemsOf([
      { file: 'a.yaml', text: policy('    - name: r\n      expression: nope\n      message: m\n', 'a') },
      { file: 'b.yaml', text: policy(okRule, 'b', '  action: Block\n').replace('  action: Deny\n', '') },
      { file: 'c.yaml', text: '- not a mapping\n' },
      { file: 'd.yaml', text: 'key: [unclosed\n' },
    ]);
    expect(problems.map((p) => p.file)).toEqual(['a.yaml', 'b.yaml', 'c.yaml', 'd.yaml']);
    expect(problems[0]!.message).toBe('CEL: Unknown variable: nope');
    expect(problems[1]!.path).toBe('spec.action');
  });
});

describe('a valid library', () => {
  it('compiles plans, policies (with defaults) and tests', () => {
    const lib = compileLibrary('lib', [
      { file: 'plan.yaml', text: plan() },
      { file: 'policy.yaml', text: policy(okRule, 'custom') },
      { file: 'test.yaml', text: `${HEADER}\nkind: PolicyTest\nmetadata: {name: custom}\nspec:\n  policy: custom\n  cases:\n    - name: c\n      object: {apiVersion: v1, kind: Pod}\n      expect: [{rule: ok, result: pass}]\n` },
    ]);
    expect([...lib.plans.keys()]).toEqual(['tiny']);
    expect(lib.policies.map((p) => p.name)).toEqual(['custom']);
    const p = lib.policies[0]!;
    expect(p.failureMode).toBe('Deny');
    expect([...p.roles].sort()).toEqual(['pod', 'workload']);
    expect([...p.operations].sort()).toEqual(['CREATE', 'UPDATE']);
    expect(p.rules.map((r) => [r.name, r.action])).toEqual([['ok', 'Deny']]);
    expect(lib.tests).toHaveLength(1);
  });

  it('Warn and Audit policies default to failureMode Allow; rules with DELETE add the operation', () => {
    const lib = compileLibrary('lib', [{ file: 'p.yaml', text: policy(`    - name: d
      operations: [DELETE]
      expression: 'true'
      message: m
`).replace('action: Deny', 'action: Warn') }]);
    expect(lib.policies[0]!.failureMode).toBe('Allow');
    expect([...lib.policies[0]!.operations].sort()).toEqual(['CREATE', 'DELETE', 'UPDATE']);
  });

  it('the shipped library compiles', async () => {
    const lib = await loadLibrary('policies/library');
    expect([...lib.plans.keys()].sort()).toEqual(['free', 'premium', 'standard']);
    expect(lib.policies.map((p) => p.name).sort()).toEqual([
      'anti-affinity', 'authentication', 'availability', 'certificates', 'enterprise', 'hardening', 'images', 'isolation', 'pdb',
      'persistence', 'plan-limits', 'pod-security', 'tls',
    ]);
    expect(lib.tests.length).toBeGreaterThanOrEqual(7);
  });

  it('every shipped plan counts every supported Redis kind and Certificates in its quota', async () => {
    const lib = await loadLibrary('policies/library');
    const kinds = [
      'redises.kubedb.com', 'redissentinels.kubedb.com', 'redis.redis.redis.opstreelabs.in',
      'redisclusters.redis.redis.opstreelabs.in', 'redisreplications.redis.redis.opstreelabs.in',
      'redissentinels.redis.redis.opstreelabs.in', 'certificates.cert-manager.io',
    ];
    for (const plan of lib.plans.values()) {
      const hard = (plan.spec['quota'] as { hard: Record<string, string> }).hard;
      for (const k of kinds) expect(Number(hard[`count/${k}`]), `${plan.name} count/${k}`).toBeGreaterThan(0);
      expect(plan.spec['podMax'], plan.name).toBeDefined();
      expect(plan.spec['containerMin'], plan.name).toBeDefined();
      expect(plan.spec['serviceTypes'], plan.name).toEqual(['ClusterIP']);
    }
  });
});

describe('roles', () => {
  const withMatch = (match: string): string => policy(okRule).replace('  action: Deny\n', `  action: Deny\n  match:\n${match}`);

  it('other-pod, other-workload and certificate are roles; warnRoles is compiled', () => {
    const lib = compileLibrary('lib', [{ file: 'p.yaml', text: withMatch('    roles: [other-pod, other-workload, certificate]\n    warnRoles: [other-workload]\n') }]);
    const p = lib.policies[0]!;
    expect([...p.roles].sort()).toEqual(['certificate', 'other-pod', 'other-workload']);
    expect([...p.warnRoles]).toEqual(['other-workload']);
  });

  it('warnRoles defaults to none', () => {
    const lib = compileLibrary('lib', [{ file: 'p.yaml', text: policy(okRule) }]);
    expect([...lib.policies[0]!.warnRoles]).toEqual([]);
  });

  it('a warn role that is not one of the roles is a problem at its position', () => {
    const problems = one('p.yaml', withMatch('    roles: [workload, pod]\n    warnRoles: [pod, other-workload]\n'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: 'spec.match.warnRoles[1]', line: 9 });
    expect(problems[0]!.message).toContain('other-workload is not one of the policy\'s roles (workload, pod)');
  });

  it('an unknown role is a schema problem', () => {
    const problems = one('p.yaml', withMatch('    roles: [workload, sidecar]\n'));
    expect(problems[0]!.path).toBe('spec.match.roles[1]');
    expect(problems[0]!.message).toContain('"other-workload"');
  });
});

describe('plan fields for tenant isolation', () => {
  const planWith = (extra: string): string => plan().replace('  quota:', `${extra}  quota:`);

  it('availability.sentinelZones: 0 or an odd number of zones from 3; anything else is a load error naming the field', () => {
    for (const ok of [0, 3, 5]) {
      const lib = compileLibrary('lib', [{ file: 'p.yaml', text: `${plan()}  availability: {sentinelZones: ${ok}}\n` }]);
      expect(lib.plans.get('tiny')!.json['availability'], String(ok)).toMatchObject({ sentinelZones: ok });
    }
    for (const bad of [1, 2, 4, -1]) {
      expect(() => compileLibrary('lib', [{ file: 'p.yaml', text: `${plan()}  availability: {sentinelZones: ${bad}}\n` }]), String(bad)).toThrow(/availability\.sentinelZones/);
    }
  });

  it('podMax, containerMin, scheduling, serviceTypes and certificates load', () => {
    const lib = compileLibrary('lib', [{ file: 'plan.yaml', text: planWith([
      '  podMax: {memory: 384Mi, cpu: 500m}',
      '  containerMin: {memory: 4Mi, cpu: 5m}',
      '  scheduling:',
      '    priorityClasses: [tenant-high]',
      '    tolerations: [{key: dedicated, operator: Equal, value: redis, effect: NoSchedule}]',
      '  serviceTypes: [ClusterIP, LoadBalancer]',
      '  certificates: {allowedDomains: [redis.example.com]}',
      '',
    ].join('\n')) }]);
    const json = lib.plans.get('tiny')!.json;
    expect(json['podMax']).toEqual({ memory: '384Mi', cpu: '500m' });
    expect(json['containerMin']).toEqual({ memory: '4Mi', cpu: '5m' });
    expect(json['scheduling']).toEqual({ priorityClasses: ['tenant-high'], tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'redis', effect: 'NoSchedule' }], serviceAccounts: [], runtimeClasses: [], schedulers: [] });
    expect(json['serviceTypes']).toEqual(['ClusterIP', 'LoadBalancer']);
    expect(json['certificates']).toEqual({ allowedDomains: ['redis.example.com'] });
  });

  it('absent fields take their defaults in what expressions see; the spec stays as written', () => {
    const lib = compileLibrary('lib', [{ file: 'plan.yaml', text: plan() }]);
    const p = lib.plans.get('tiny')!;
    expect(p.json['podMax']).toEqual({ memory: '256Mi', cpu: '250m' });
    expect(p.json['containerMin']).toEqual({ memory: '1Mi', cpu: '1m' });
    expect(p.json['scheduling']).toEqual({ priorityClasses: [], tolerations: [], serviceAccounts: [], runtimeClasses: [], schedulers: [] });
    expect(p.json['extendedResources']).toEqual([]);
    expect(p.json['serviceTypes']).toEqual(['ClusterIP']);
    expect(p.json['certificates']).toEqual({ allowedDomains: [] });
    expect((p.json['spec'] as Record<string, unknown>)['serviceTypes']).toEqual(['ClusterIP']);
    expect(p.spec['serviceTypes']).toBeUndefined();
  });

  it('a system-* priority class, an unknown Service type, a bad toleration or domain are problems', () => {
    const problems = one('plan.yaml', planWith([
      '  scheduling:',
      '    priorityClasses: [system-node-critical]',
      '    tolerations: [{operator: Anything}]',
      '  serviceTypes: [Headless]',
      '  certificates: {allowedDomains: ["*.example.com"]}',
      '',
    ].join('\n')));
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    expect(byPath['spec.scheduling.priorityClasses[0]']).toContain('system-* priority classes belong to the cluster');
    expect(byPath['spec.scheduling.tolerations[0].operator']).toContain('"Exists"');
    expect(byPath['spec.serviceTypes[0]']).toContain('"ClusterIP"');
    expect(byPath['spec.certificates.allowedDomains[0]']).toBeDefined();
  });
});

describe('loadLibrary from a directory', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'redline-lib-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads nested .yaml/.yml/.json files and skips hidden entries (ConfigMap ..data links)', async () => {
    await mkdir(join(dir, 'plans'));
    await mkdir(join(dir, 'policies', 'extra'), { recursive: true });
    await mkdir(join(dir, '..2024_01_01'));
    await writeFile(join(dir, 'plans', 'tiny.yml'), plan('tiny'));
    await writeFile(join(dir, 'policies', 'extra', 'custom.yaml'), policy(okRule, 'custom'));
    await writeFile(join(dir, 'policies', 'json.json'), JSON.stringify({
      apiVersion: 'redline.dev/v1alpha1', kind: 'Policy', metadata: { name: 'from-json' },
      spec: { action: 'Audit', rules: [{ name: 'r', expression: 'true', message: 'm' }] },
    }));
    await writeFile(join(dir, 'README.md'), '# not a policy');
    await writeFile(join(dir, '..2024_01_01', 'broken.yaml'), 'key: [unclosed');
    await writeFile(join(dir, '.hidden.yaml'), 'key: [unclosed');
    const loaded = await loadLibrary(dir);
    expect([...loaded.plans.keys()]).toEqual(['tiny']);
    expect(loaded.policies.map((p) => p.name).sort()).toEqual(['custom', 'from-json']);
  });

  it('follows symlinked directories', async () => {
    const real = await mkdtemp(join(tmpdir(), 'redline-real-'));
    try {
      await writeFile(join(real, 'tiny.yaml'), plan('tiny'));
      await symlink(real, join(dir, 'plans'));
      const lib = await loadLibrary(dir);
      expect([...lib.plans.keys()]).toEqual(['tiny']);
    } finally {
      await rm(real, { recursive: true, force: true });
    }
  });

  it('lists the same files in the same order whether it blocks (review) or not (the server reloader)', async () => {
    const real = await mkdtemp(join(tmpdir(), 'redline-real-'));
    try {
      await mkdir(join(dir, 'b', 'nested'), { recursive: true });
      await mkdir(join(dir, '..data'));
      await writeFile(join(real, 'linked.yaml'), plan('linked'));
      await symlink(real, join(dir, 'a-link'));
      for (const f of ['b/nested/z.yml', 'b/a.JSON', 'c.yaml', '..data/hidden.yaml', '.hidden.yaml', 'notes.txt']) await writeFile(join(dir, f), '{}');
      const expected = ['a-link/linked.yaml', 'b/a.JSON', 'b/nested/z.yml', 'c.yaml'].map((f) => join(dir, f));
      expect(listYamlFilesSync(dir)).toEqual(expected);
      expect(await listYamlFiles(dir)).toEqual(expected);
    } finally {
      await rm(real, { recursive: true, force: true });
    }
  });

  it('reports broken files by path relative to the working directory, all at once', async () => {
    await writeFile(join(dir, 'a.yaml'), plan('tiny', '256MB'));
    await writeFile(join(dir, 'b.yaml'), policy('    - name: r\n      expression: nope\n      message: m\n'));
    const err = await loadLibrary(dir).then(() => null, (e: unknown) => e as DocumentError);
    expect(err).toBeInstanceOf(RedlineError);
    expect(err!.code).toBe('document-invalid');
    // The temp dir is outside the working directory, so paths are shown in full.
    const rel = (f: string): string => join(dir, f);
    expect(err!.problems.map((p) => [p.file, p.line, p.path])).toEqual([
      [rel('a.yaml'), 9, 'spec.perPod.memory'],
      [rel('b.yaml'), 9, 'spec.rules[0].expression'],
    ]);
    expect(err!.message).toContain(`${rel('a.yaml')}:9:20: spec.perPod.memory: must be a Kubernetes quantity`);
    expect(err!.message).not.toMatch(/\n\s+at\s/);
  });

  it('a missing directory is a problem, not a crash', async () => {
    const err = await loadLibrary(join(dir, 'nope')).then(() => null, (e: unknown) => e as DocumentError);
    expect(err).toBeInstanceOf(RedlineError);
    expect(err!.code).toBe('document-invalid');
    expect(err!.problems).toEqual([{ file: join(dir, 'nope'), line: 1, column: 1, path: '', message: 'cannot read policy directory: ENOENT' }]);
  });
});

describe('loading for review: no tests, and the library prepared at build time', () => {
  it('tells PolicyTest-only files apart without parsing them, and leaves anything else to the parser', () => {
    expect(onlyPolicyTests(`# cases\n${HEADER}\nkind: PolicyTest\nspec:\n  cases:\n    - object: {kind: Pod}\n      x:\n        kind: Redis\n---\nkind: "PolicyTest"\n`)).toBe(true);
    expect(onlyPolicyTests(`${HEADER}\nkind: PolicyTest\n---\n${HEADER}\nkind: Policy\n`)).toBe(false);
    expect(onlyPolicyTests(`${HEADER}\nkind: Policy\n`)).toBe(false);
    expect(onlyPolicyTests('{"apiVersion": "redline.dev/v1alpha1", "kind": "PolicyTest"}\nkind: PolicyTest\n')).toBe(false); // a flow document
    expect(onlyPolicyTests('# nothing\n')).toBe(false);
  });

  it('skips PolicyTest files with tests: false and still loads the policies next to them', async () => {
    const withTests = await loadLibrary('policies/library');
    const without = await loadLibrary('policies/library', { tests: false });
    expect(withTests.tests.length).toBeGreaterThan(0);
    expect(without.tests).toEqual([]);
    expect(without.policies.map((p) => p.name)).toEqual(withTests.policies.map((p) => p.name));
    expect([...without.plans.keys()]).toEqual([...withTests.plans.keys()]);
  });

  it('uses prepared documents only for the exact files they were made from', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'redline-prepared-'));
    await mkdir(join(dir, 'plans'));
    await mkdir(join(dir, 'policies'));
    await writeFile(join(dir, 'plans', 'tiny.yaml'), plan());
    await writeFile(join(dir, 'policies', 'custom.yaml'), policy(okRule));
    const sources = await readLibrarySources(dir);
    const artifact = join(dir, 'prepared.json');
    const parsed = new Map(sources.map((s) => [s.name, parseDocuments(s.file, s.text).docs]));
    await writeFile(artifact, JSON.stringify(prepare(sources, parsed)));

    const prepared = preparedFor(sources, artifact);
    expect([...prepared!.documents.keys()].sort()).toEqual(['plans/tiny.yaml', 'policies/custom.yaml']);
    const lib = compileLibrary(dir, sources, prepared);
    expect(lib.policies.map((p) => p.name)).toEqual(['custom']);
    expect(lib.plans.get('tiny')?.spec).toEqual(compileLibrary(dir, sources).plans.get('tiny')?.spec);
    // Positions inside a prepared document come from its file, parsed when asked.
    expect(prepared!.documents.get('policies/custom.yaml')![0]!.locate(['spec', 'rules', 0, 'name'])).toEqual({ line: 8, column: 13 });

    // One changed character, a file more or a file less: nothing prepared is used.
    const edited = sources.map((s) => (s.name === 'plans/tiny.yaml' ? { ...s, text: s.text.replace('256Mi', '512Mi') } : s));
    expect(preparedFor(edited, artifact)).toBeNull();
    expect(preparedFor(sources.slice(1), artifact)).toBeNull();
    expect(preparedFor([...sources, { name: 'policies/x.yaml', file: 'x.yaml', text: '' }], artifact)).toBeNull();
    expect(preparedFor(sources, join(dir, 'missing.json'))).toBeNull();
    await rm(dir, { recursive: true, force: true });
  });

  it('a one-shot load (lazy) parses the expressions of prepared documents on first use, not at load', () => {
    const text = policy(`    - name: sized
      expression: 'object.spec.replicas <= 3'
      message: m
`);
    const sources = [{ name: 'policies/custom.yaml', file: 'custom.yaml', text }];
    const preparedWith = (expression: string): PreparedSources => {
      const [doc] = parseDocuments('custom.yaml', text).docs;
      const value = structuredClone(doc!.value);
      ((value['spec'] as { rules: { expression: string }[] }).rules[0]!).expression = expression;
      return { documents: new Map([['policies/custom.yaml', [{ ...doc!, value }]]]), code: new Map() };
    };
    const scope = (replicas: number): Scope => new Scope(new SharedValues({
      object: () => ({ spec: { replicas } }), oldObject: () => null, workload: () => null, plan: () => null, tenant: () => null, request: () => null,
    }));
    const deferred = compileLibrary('.', sources, preparedWith('object.spec.replicas <= 3'), true).policies[0]!.rules[0]!.expression!;
    const eager = compileLibrary('.', sources, preparedWith('object.spec.replicas <= 3'), false).policies[0]!.rules[0]!.expression!;
    for (const n of [1, 3, 4]) expect(deferred.evaluate(scope(n))).toBe(eager.evaluate(scope(n)));
    expect(deferred.source).toBe('object.spec.replicas <= 3');
    expect(deferred.native).toBe(true);

    // What the build checked is not checked again at load: an expression that does not compile
    // (only a build with another CEL environment could prepare one) fails where it is first used.
    const broken = compileLibrary('.', sources, preparedWith('object.spec.replicas <='), true).policies[0]!.rules[0]!.expression!;
    expect(() => broken.evaluate(scope(1))).toThrow(expect.objectContaining({ code: 'internal', message: expect.stringMatching(/^prepared expression "object.spec.replicas <=" does not compile: /) }));
    // Loaded for serve (not lazy), every expression is compiled at load, prepared or not.
    expect(() => compileLibrary('.', sources, preparedWith('object.spec.replicas <='), false)).toThrow(/CEL: /);
  });

  it('a one-shot load runs the compact form the build stored, and parses with cel-js only when it must', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'redline-prepared-'));
    await mkdir(join(dir, 'policies'));
    await writeFile(join(dir, 'policies', 'custom.yaml'), policy(`    - name: sized
      expression: 'object.spec.replicas <= 3'
      message: m
`));
    const sources = await readLibrarySources(dir);
    const parsed = new Map(sources.map((s) => [s.name, parseDocuments(s.file, s.text).docs]));
    const artifact = prepare(sources, parsed);
    expect(Object.keys(artifact.code!)).toEqual(['object.spec.replicas <= 3']);
    const scope = (spec: Record<string, number>): Scope => new Scope(new SharedValues({
      object: () => ({ spec }), oldObject: () => null, workload: () => null, plan: () => null, tenant: () => null, request: () => null,
    }));
    const load = async (code: PreparedLibrary['code']): Promise<Compiled> => {
      await writeFile(join(dir, 'prepared.json'), JSON.stringify({ ...artifact, code }));
      return compileLibrary(dir, sources, preparedFor(sources, join(dir, 'prepared.json')), true).policies[0]!.rules[0]!.expression!;
    };
    const eager = compileLibrary(dir, sources).policies[0]!.rules[0]!.expression!;

    const stored = await load(artifact.code);
    for (const n of [1, 3, 4]) expect(stored.evaluate(scope({ replicas: n }))).toBe(eager.evaluate(scope({ replicas: n })));
    expect(stored.native).toBe(true);
    // Where the compact form declines (a missing key), cel-js decides, with its own error.
    const thrown = (fn: () => unknown): Error => {
      try {
        fn();
      } catch (e) {
        return e as Error;
      }
      throw new Error('did not throw');
    };
    expect(thrown(() => stored.evaluate(scope({}))).message).toBe(thrown(() => eager.evaluate(scope({}))).message);
    expect(stored.evaluate(scope({ replicas: 2 }))).toBe(true);

    // The stored code is what runs until the expression is hot; then the inline form, generated
    // from cel-js's parse, takes over (a stored function that says where it came from shows which).
    const marked = { 'object.spec.replicas <= 3': { source: 'return function compiled(s) { return "stored"; };', constants: [] } };
    setHotEvaluations(3);
    try {
      const tagged = await load(marked);
      expect([1, 2, 3, 4].map(() => tagged.evaluate(scope({ replicas: 9 })))).toEqual(['stored', 'stored', false, false]);
      expect((await load(marked)).evaluateNative(scope({ replicas: 1 }))).toBe('stored');
    } finally {
      setHotEvaluations(HOT_EVALUATIONS);
    }
    // An expression the build could not compile (null) is parsed and interpreted as before.
    expect((await load({ 'object.spec.replicas <= 3': null })).evaluate(scope({ replicas: 4 }))).toBe(false);
    await rm(dir, { recursive: true, force: true });
  });

  it('an edited library is validated as always, even where a prepared one would have been used', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'redline-prepared-'));
    await mkdir(join(dir, 'plans'));
    await writeFile(join(dir, 'plans', 'tiny.yaml'), plan('tiny', 'lots'));
    await expect(loadLibrary(dir, { tests: false })).rejects.toThrow(/perPod\.memory: must be a Kubernetes quantity/);
    await rm(dir, { recursive: true, force: true });
  });
});
