import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile, mkdir, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv04Module from 'ajv-draft-04';
import type { Options, ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../helpers/cli.js';

// ajv-draft-04 is CommonJS: under NodeNext its default import is the module object.
const Ajv04 = (Ajv04Module as unknown as { default: new (options: Options) => { compile(schema: object): ValidateFunction } }).default;

const NAMESPACES = 'manifests/examples/namespaces.yaml';
const GOOD = 'manifests/examples/good';
const BAD = 'manifests/examples/bad';

interface JsonReport {
  results: { file: string; line: number; column: number; path: string; kind: string; apiVersion: string; namespace: string; name: string; policy: string; rule: string; result: string; message: string; patched: boolean }[];
  summary: Record<'pass' | 'fail' | 'warn' | 'skip' | 'error', number>;
}

describe('redline review', () => {
  it('allows the good examples (exit 0) and denies every bad one (exit 1)', async () => {
    const good = await runCli(['review', NAMESPACES, GOOD]);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/15 Redis object\(s\): \d+ pass, 0 fail/);

    const bad = await runCli(['review', '--format', 'json', NAMESPACES, BAD]);
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout) as JsonReport;
    const denied = new Set(report.results.filter((r) => r.result === 'fail').map((r) => `${r.kind}/${r.name}`));
    expect([...denied].sort()).toEqual([
      'Certificate/stolen', 'Deployment/cache-open', 'Pod/debug', 'PodDisruptionBudget/redis-frozen', 'Redis/escape', 'Redis/root-cache',
      'Redis/too-big', 'Redis/unsafe', 'RedisEnterpriseActiveActiveDatabase/carts', 'RedisEnterpriseCluster/rec',
      'RedisEnterpriseDatabase/analytics', 'RedisEnterpriseRemoteCluster/rerc-west', 'RedisFailover/cache', 'RedisReplication/plain',
      'RedisSentinel/lonely', 'ReplicationController/legacy', 'StatefulSet/one-zone', 'StatefulSet/redis-insecure',
    ]);
  });

  it('prints the documented json shape with a summary that counts the results', async () => {
    const run = await runCli(['review', '--format', 'json', NAMESPACES, `${BAD}/kubedb-over-plan.yaml`]);
    const report = JSON.parse(run.stdout) as JsonReport;
    for (const r of report.results) {
      expect(Object.keys(r).sort()).toEqual(['apiVersion', 'column', 'file', 'kind', 'line', 'message', 'name', 'namespace', 'patched', 'path', 'policy', 'result', 'rule']);
      expect(['pass', 'fail', 'warn', 'skip', 'error']).toContain(r.result);
    }
    for (const kind of ['pass', 'fail', 'warn', 'skip', 'error'] as const) {
      expect(report.summary[kind]).toBe(report.results.filter((r) => r.result === kind).length);
    }
    const memory = report.results.find((r) => r.rule === 'memory-per-pod');
    expect(memory).toMatchObject({ result: 'fail', namespace: 'tenant-free', patched: true, file: `${BAD}/kubedb-over-plan.yaml` });
    expect(memory?.message).toContain('set resources.limits.memory to at most 256Mi');
    // Each finding points at the offending field: `memory: 1Gi` is on line 23, its value at column 23.
    expect(memory).toMatchObject({ line: 23, column: 23, path: 'spec.podTemplate.spec.containers[0].resources.limits.memory' });
    const found = (rule: string): unknown => report.results.find((r) => r.rule === rule);
    expect(found('mode-allowed')).toMatchObject({ line: 9, column: 9, path: 'spec.mode' });
    expect(found('shards')).toMatchObject({ line: 11, column: 13, path: 'spec.cluster.shards' });
    expect(found('storage-per-pod')).toMatchObject({ line: 16, column: 18, path: 'spec.storage.resources.requests.storage' });
    // A pass is about the object: its first line.
    expect(report.results.find((r) => r.result === 'pass')).toMatchObject({ line: 2, column: 1, path: '' });
  });

  it('emits SARIF 2.1.0 that validates against the official schema, with file, line and column', async () => {
    const run = await runCli(['review', '--format', 'sarif', NAMESPACES, BAD]);
    expect(run.code).toBe(1);
    const sarif = JSON.parse(run.stdout) as { runs: { results: { ruleId: string; level: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number; startColumn: number } } }[] }[] }[] };
    const schema = JSON.parse(await readFile(join(ROOT, 'node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')) as object;
    const ajv = new Ajv04({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false });
    const validate = ajv.compile(schema);
    expect(validate(sarif), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const results = sarif.runs[0]!.results;
    expect(results.length).toBeGreaterThan(10);
    // GitHub code scanning rejects rules without a full description and help.
    const rules = (sarif as unknown as { runs: { tool: { driver: { rules: { id: string; fullDescription: { text: string }; help: { text: string; markdown: string } }[] } } }[] }).runs[0]!.tool.driver.rules;
    expect(rules.length).toBeGreaterThan(70);
    for (const rule of rules) {
      expect(rule.fullDescription.text.length, rule.id).toBeGreaterThan(10);
      expect(rule.help.text.length, rule.id).toBeGreaterThan(20);
      expect(rule.help.markdown.length, rule.id).toBeGreaterThan(20);
    }
    const memory = rules.find((r) => r.id === 'plan-limits/memory-per-pod')!;
    expect(memory.fullDescription.text).toBe('The workload fits the tenant\'s plan (mode, shards, pods, memory, CPU, storage).');
    expect(memory.help.text).toContain('Policy plan-limits (policies/library/policies/plan-limits.yaml), action Deny');
    expect(memory.help.markdown).toContain('```cel\nsize(practices.resources.refused');
    const pdb = results.find((r) => r.ruleId === 'pdb/does-not-block-drains');
    expect(pdb?.level).toBe('error');
    // The finding points at the offending field: `maxUnavailable: 0` on line 8, the value at column 19.
    expect(pdb?.locations[0]?.physicalLocation).toEqual({
      artifactLocation: { uri: `${BAD}/pdb-blocks-drains.yaml` },
      region: { startLine: 8, startColumn: 19 },
    });
    // An offender named by path (a namespace reference) is located at that field.
    const ref = results.find((r) => r.ruleId === 'isolation/namespace-refs' && r.locations[0]!.physicalLocation.artifactLocation.uri.endsWith('enterprise-active-active.yaml'));
    expect(ref?.locations[0]?.physicalLocation.region).toEqual({ startLine: 10, startColumn: 17 });
  });

  it('emits JUnit XML with one testcase per rule result and failure counts', async () => {
    const run = await runCli(['review', '--format', 'junit', NAMESPACES, `${BAD}/pdb-blocks-drains.yaml`]);
    expect(run.code).toBe(1);
    expect(run.stdout.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')).toBe(true);
    expect(run.stdout).toContain('failures="1"');
    expect((run.stdout.match(/<testcase /g) ?? []).length).toBe(4);
    expect(run.stdout).toMatch(/<failure type="Deny" message="PodDisruptionBudget redis-frozen allows no disruption[^"]*">manifests\/examples\/bad\/pdb-blocks-drains\.yaml:8:19 spec\.maxUnavailable<\/failure>/);
    expect((run.stdout.match(/<testsuite /g) ?? []).length).toBe((run.stdout.match(/<\/testsuite>/g) ?? []).length);
  });

  it('reads stdin with -, and takes the plan from --plan when no Namespace is in the input', async () => {
    const object = await readFile(join(ROOT, GOOD, 'kubedb-sentinel.yaml'), 'utf8');
    const free = await runCli(['review', '--plan', 'free', '-'], { stdin: object });
    expect(free.code).toBe(1);
    expect(free.stdout).toContain('mode Replicated is not in plan free');
    const standard = await runCli(['review', '--plan', 'standard', '-'], { stdin: object });
    expect(standard.code).toBe(0);
  });

  it('--no-mutate validates objects exactly as written; --only restricts the policies', async () => {
    const args = [NAMESPACES, `${GOOD}/kubedb-standalone.yaml`];
    expect((await runCli(['review', ...args])).code).toBe(0);
    const raw = await runCli(['review', '--no-mutate', '--format', 'json', ...args]);
    expect(raw.code).toBe(1);
    const failing = (JSON.parse(raw.stdout) as JsonReport).results.filter((r) => r.result === 'fail').map((r) => `${r.policy}/${r.rule}`);
    expect(failing).toContain('tls/tls-enabled');
    expect(failing).toContain('pod-security/run-as-non-root');
    const onlyPlan = await runCli(['review', '--no-mutate', '--only', 'plan-limits', '--format', 'json', ...args]);
    expect(onlyPlan.code).toBe(0);
    expect(new Set((JSON.parse(onlyPlan.stdout) as JsonReport).results.map((r) => r.policy))).toEqual(new Set(['plan-limits']));
  });

  it('exits 2 with a clear message on bad usage or unreadable/invalid input', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'redline-cli-'));
    await writeFile(join(dir, 'broken.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n');
    const cases: [string[], RegExp][] = [
      [['review'], /needs at least one PATH/],
      [['review', 'does/not/exist.yaml'], /does\/not\/exist\.yaml:1:1: cannot read: ENOENT/],
      [['review', join(dir, 'broken.yaml')], /broken\.yaml:\d+:\d+: invalid YAML/],
      [['review', '--plan', 'gold', GOOD], /--plan gold is not defined; known plans: free, premium, standard/],
      [['review', '--format', 'xml', GOOD], /--format must be one of text, json, sarif, junit/],
      [['review', '--only', 'nope', GOOD], /--only nope: no such policy/],
      [['review', '--bogus', GOOD], /Unknown option '--bogus'/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /); // never a stack trace
    }
  });

  it('exits 2 naming file, line and field when a policy document is broken', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'redline-policies-'));
    await cp(join(ROOT, 'policies/library/plans'), join(dir, 'plans'), { recursive: true });
    await mkdir(join(dir, 'policies'));
    await writeFile(join(dir, 'policies', 'typo.yaml'), [
      'apiVersion: redline.dev/v1alpha1', 'kind: Policy', 'metadata:', '  name: typo', 'spec:', '  action: Deny',
      '  rules:', '    - name: r', '      expression: wrkload.pods > 1', '      message: m',
      '    - name: s', '      expresion: "true"', '      message: m', '',
    ].join('\n'));
    const run = await runCli(['review', '--policies', dir, GOOD]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/typo\.yaml:9:19: spec\.rules\[0\]\.expression: CEL: Unknown variable: wrkload/);
    expect(run.stderr).toMatch(/typo\.yaml:12:7: spec\.rules\[1\]\.expresion: unknown field/);
    expect(run.stderr).toMatch(/typo\.yaml:11:7: spec\.rules\[1\]: needs expression or violations/);
  });
});

describe('JUnit output against the strict xunit schema', () => {
  it('validates with xmllint against test/fixtures/junit-strict.xsd, for every example and for not-reviewed objects', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'redline-junit-'));
    await writeFile(join(dir, 'unknown.yaml'), 'apiVersion: kubedb.com/v1\nkind: Rediss\nmetadata: {name: "t&<>\'\\"x", namespace: tenant-free}\n');
    for (const [args, code] of [[[NAMESPACES, GOOD, BAD], 1], [[NAMESPACES, GOOD, join(dir, 'unknown.yaml')], 0]] as const) {
      const run = await runCli(['review', '--format', 'junit', ...args]);
      expect(run.code).toBe(code);
      const report = join(dir, `report-${code}.xml`);
      await writeFile(report, run.stdout);
      const lint = await xmllint(['--noout', '--schema', join(ROOT, 'test/fixtures/junit-strict.xsd'), report]);
      expect(lint.stderr.trim(), lint.stderr.slice(0, 2000)).toBe(`${report} validates`);
      expect(lint.code).toBe(0);
    }
  });

  it('the schema check is real: a report without the required counts or with a foreign attribute fails it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'redline-junit-'));
    const cases = [
      '<testsuites name="x" tests="1" failures="0" errors="0" skipped="0" time="0"><testsuite name="s" tests="1" failures="0" errors="0" time="0"><testcase name="c" classname="k" time="0"/></testsuite></testsuites>',
      '<testsuites name="x" tests="1" failures="0" errors="0" skipped="0" time="0"><testsuite name="s" tests="1" failures="0" errors="0" skipped="0" time="0"><testcase name="c" classname="k" time="0" file="a.yaml"/></testsuite></testsuites>',
      '<testsuites name="x" tests="one" failures="0" errors="0" skipped="0" time="0"/>',
    ];
    for (const [i, xml] of cases.entries()) {
      const file = join(dir, `bad-${i}.xml`);
      await writeFile(file, xml);
      const lint = await xmllint(['--noout', '--schema', join(ROOT, 'test/fixtures/junit-strict.xsd'), file]);
      expect(lint.code, xml).not.toBe(0);
      expect(lint.stderr).toMatch(/fails to validate/);
    }
  });
});

function xmllint(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('xmllint', args);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', (e) => reject(new Error(`xmllint is needed (Debian libxml2-utils; test/e2e/controlplane/provision.sh installs it): ${e.message}`)));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('redline mutate', () => {
  it('prints Redis objects as admission would store them and leaves other objects alone', async () => {
    const run = await runCli(['mutate', NAMESPACES, `${GOOD}/kubedb-standalone.yaml`]);
    expect(run.code).toBe(0);
    const docs = run.stdout.split(/^---$/m);
    expect(docs).toHaveLength(4);
    expect(docs[0]).toContain('name: tenant-free');
    expect(docs[3]).toContain('name: redline-redis-ca');
    expect(docs[3]).toContain('runAsNonRoot: true');
  });
});

describe('redline test', () => {
  it('passes on the shipped library, and fails on a case that does not hold', async () => {
    const shipped = await runCli(['test']);
    expect(shipped.stdout).toMatch(/\d+ passed, 0 failed/);
    expect(shipped.code).toBe(0);

    const dir = await mkdtemp(join(tmpdir(), 'redline-test-'));
    await cp(join(ROOT, 'policies/library'), dir, { recursive: true });
    const file = join(dir, 'tests', 'tls-wrong.yaml');
    await writeFile(file, [
      'apiVersion: redline.dev/v1alpha1', 'kind: PolicyTest', 'metadata: {name: tls-wrong}', 'spec:', '  policy: tls', '  cases:',
      '    - name: claims plain text passes', '      object: {apiVersion: apps/v1, kind: StatefulSet, metadata: {name: r}, spec: {template: {spec: {containers: [{name: redis, image: "redis:7"}]}}}}',
      '      expect: [{rule: tls-enabled, result: pass}]', '',
    ].join('\n'));
    const failing = await runCli(['test', dir]);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/FAIL .*tls-wrong\.yaml:7 tls: claims plain text passes\n {2}rule tls-enabled: expected pass, got fail/);
  });
});
