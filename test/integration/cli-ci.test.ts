// The review CLI as a CI tool: --help everywhere, never silent (empty input, kinds Redline does not
// know), review does what admission does (namespaces without tenant labels), `redline test` on the
// tests folder, and the files `npm start` names. All through the built CLI (npm run build first).
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv04Module from 'ajv-draft-04';
import type { Options, ValidateFunction } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, runCli } from '../helpers/cli.js';

const Ajv04 = (Ajv04Module as unknown as { default: new (options: Options) => { compile(schema: object): ValidateFunction } }).default;

const NAMESPACES = 'manifests/examples/namespaces.yaml';
const GOOD = 'manifests/examples/good';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redline-cli-ci-'));
  await writeFile(join(dir, 'empty.yaml'), '');
  await writeFile(join(dir, 'comments-only.yaml'), '# nothing here\n---\n# nor here\n');
  await mkdir(join(dir, 'no-yaml'));
  await writeFile(join(dir, 'no-yaml', 'README.md'), '# not a manifest\n');
  await writeFile(join(dir, 'unknown-kinds.yaml'), [
    'apiVersion: kubedb.com/v1', 'kind: Rediss', 'metadata: {name: typo, namespace: tenant-free}', 'spec: {version: "7.2.4"}',
    '---',
    'apiVersion: redis.example.com/v1', 'kind: RedisCluster', 'metadata: {name: other-operator, namespace: tenant-free}',
    '---',
    'apiVersion: kubedb.com/v1alpha1', 'kind: Redis', 'metadata: {name: old-version, namespace: tenant-free}',
    '---',
    // Not Redis: another database of a Redis operator's group, and a plain ConfigMap.
    'apiVersion: kubedb.com/v1', 'kind: Postgres', 'metadata: {name: pg, namespace: tenant-free}',
    '---',
    'apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: redis-config, namespace: tenant-free}', '',
  ].join('\n'));
  await writeFile(join(dir, 'not-tenant.yaml'), [
    'apiVersion: v1', 'kind: Namespace', 'metadata: {name: infra, labels: {team: platform}}',
    '---',
    'apiVersion: kubedb.com/v1', 'kind: Redis', 'metadata: {name: cache, namespace: infra}',
    'spec: {version: "7.2.4", mode: Cluster, cluster: {shards: 3, replicas: 2}}', '',
  ].join('\n'));
});

const UNKNOWN = [
  'kind Rediss in apiVersion kubedb.com/v1 is not a kind Redline knows',
  'kind RedisCluster in apiVersion redis.example.com/v1 is not a kind Redline knows',
  'kind Redis in apiVersion kubedb.com/v1alpha1 is not a kind Redline knows',
];

describe('--help on every subcommand', () => {
  const commands: [string[], RegExp][] = [
    [['review'], /^usage: redline review [^]*--plan NAME[^]*--only[^]*--no-mutate[^]*--policies DIR[^]*--format/],
    [['mutate'], /^usage: redline mutate [^]*--plan NAME[^]*--policies DIR/],
    [['test'], /^usage: redline test \[DIR\][^]*policies\/library\/tests/],
    [['serve'], /^usage: redline serve [^]*--address/],
    [['controller'], /^usage: redline controller /],
    [['render'], /^usage: redline render tenant /],
    [['certs'], /^usage: redline certs <show\|rotate>/],
  ];
  for (const [command, usage] of commands) {
    for (const flag of ['--help', '-h']) {
      it(`${command.join(' ')} ${flag} prints its usage to stdout and exits 0`, async () => {
        const run = await runCli([...command, flag]);
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(usage);
      });
    }
  }

  it('--help wins over the other flags and arguments, and `redline help COMMAND` is the same', async () => {
    const run = await runCli(['review', '--format', 'json', 'does/not/exist.yaml', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^usage: redline review /);
    const help = await runCli(['help', 'mutate']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: redline mutate /);
  });
});

describe('never silent', () => {
  it('an empty input exits 2 with "nothing to review" and the paths', async () => {
    const cases: [string[], string, string][] = [
      [['review', join(dir, 'empty.yaml')], join(dir, 'empty.yaml'), ''],
      [['review', join(dir, 'comments-only.yaml')], join(dir, 'comments-only.yaml'), ''],
      [['review', join(dir, 'no-yaml')], join(dir, 'no-yaml'), ''],
      [['review', join(dir, 'empty.yaml'), join(dir, 'no-yaml')], `${join(dir, 'empty.yaml')} ${join(dir, 'no-yaml')}`, ''],
      [['review', '-'], '- (stdin)', ''],
      [['review', '--format', 'json', '-'], '- (stdin)', '\n'],
    ];
    for (const [args, paths, stdin] of cases) {
      const run = await runCli(args, { stdin });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toContain(`nothing to review: ${paths}`);
      expect(run.stdout, args.join(' ')).toBe('');
    }
    const mutate = await runCli(['mutate', join(dir, 'empty.yaml')]);
    expect(mutate.code).toBe(2);
    expect(mutate.stderr).toContain(`nothing to mutate: ${join(dir, 'empty.yaml')}`);
  });

  it('lists objects of kinds Redline does not know as not reviewed, in text', async () => {
    const run = await runCli(['review', NAMESPACES, `${GOOD}/kubedb-standalone.yaml`, join(dir, 'unknown-kinds.yaml')]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0); // one object was reviewed and allowed: the unknown ones do not change the verdict
    for (const message of UNKNOWN) expect(run.stdout).toContain(`not reviewed: ${message}`);
    expect(run.stdout).toMatch(/unknown-kinds\.yaml:1 Rediss\/typo \(namespace tenant-free\): not reviewed: .*did you mean Redis\?/);
    expect(run.stdout).not.toMatch(/Postgres|ConfigMap/);
    expect(run.stdout).toMatch(/1 Redis object\(s\): \d+ pass, 0 fail, .*; 3 object\(s\) not reviewed/);
  });

  it('lists them in json, next to the results', async () => {
    const run = await runCli(['review', '--format', 'json', NAMESPACES, `${GOOD}/kubedb-standalone.yaml`, join(dir, 'unknown-kinds.yaml')]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { results: { name: string }[]; notReviewed: { file: string; line: number; kind: string; apiVersion: string; name: string; why: string; message: string }[] };
    expect(report.results.length).toBeGreaterThan(0);
    expect(report.notReviewed.map((n) => `${n.apiVersion} ${n.kind}/${n.name}`)).toEqual([
      'kubedb.com/v1 Rediss/typo', 'redis.example.com/v1 RedisCluster/other-operator', 'kubedb.com/v1alpha1 Redis/old-version',
    ]);
    expect(report.notReviewed[0]).toMatchObject({ file: join(dir, 'unknown-kinds.yaml'), line: 1, why: 'unknown-kind' });
    report.notReviewed.forEach((n, i) => expect(n.message).toContain(`not reviewed: ${UNKNOWN[i]}`));
  });

  it('lists them in SARIF as note-level results that still validate against the schema', async () => {
    const run = await runCli(['review', '--format', 'sarif', NAMESPACES, `${GOOD}/kubedb-standalone.yaml`, join(dir, 'unknown-kinds.yaml')]);
    expect(run.code).toBe(0);
    const sarif = JSON.parse(run.stdout) as { runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string; ruleIndex: number; level: string; message: { text: string }; locations: { physicalLocation: { region: { startLine: number } } }[] }[] }[] };
    const schema = JSON.parse(await readFile(join(ROOT, 'node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')) as object;
    const validate = new Ajv04({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false }).compile(schema);
    expect(validate(sarif), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const run0 = sarif.runs[0]!;
    const notes = run0.results.filter((r) => r.ruleId === 'redline/not-reviewed');
    expect(notes.map((n) => n.level)).toEqual(['note', 'note', 'note']);
    notes.forEach((n, i) => expect(n.message.text).toContain(UNKNOWN[i]));
    expect(run0.tool.driver.rules[notes[0]!.ruleIndex]?.id).toBe('redline/not-reviewed');
    expect(notes[0]!.locations[0]!.physicalLocation.region.startLine).toBe(1);
  });

  it('lists them in JUnit as skipped testcases, counted in the totals', async () => {
    const run = await runCli(['review', '--format', 'junit', join(dir, 'unknown-kinds.yaml'), NAMESPACES, `${GOOD}/kubedb-standalone.yaml`]);
    expect(run.code).toBe(0);
    // The skip's text says where: file:line:column.
    const skipped = run.stdout.match(/<testcase [^>]*name="redline\/not-reviewed"[^>]*><skipped message="[^"]*">[^<]*unknown-kinds\.yaml:\d+:1<\/skipped><\/testcase>/g) ?? [];
    expect(skipped).toHaveLength(3);
    UNKNOWN.forEach((m, i) => expect(skipped[i]).toContain(m));
    const [, tests, skippedTotal] = /<testsuites [^>]*tests="(\d+)"[^>]*skipped="(\d+)"/.exec(run.stdout) ?? [];
    expect(Number(tests)).toBe((run.stdout.match(/<testcase /g) ?? []).length);
    expect(Number(skippedTotal)).toBe((run.stdout.match(/<skipped /g) ?? []).length);
    expect((run.stdout.match(/<testsuite /g) ?? []).length).toBe((run.stdout.match(/<\/testsuite>/g) ?? []).length);
  });

  it('exits 2 when nothing at all was reviewed, still listing what was not', async () => {
    for (const format of ['text', 'json', 'sarif', 'junit']) {
      const run = await runCli(['review', '--format', format, join(dir, 'unknown-kinds.yaml')]);
      expect(run.code, format).toBe(2);
      expect(run.stderr, format).toMatch(/nothing reviewed: 3 object\(s\) of kinds Redline does not know/);
      expect(run.stdout, format).toContain(UNKNOWN[0]);
    }
  });
});

describe('review does what admission does', () => {
  it('an object in a Namespace of the input without tenant labels is not reviewed (admission allows it)', async () => {
    const run = await runCli(['review', join(dir, 'not-tenant.yaml')]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/not-tenant\.yaml:\d+ Redis\/cache \(namespace infra\): not reviewed: namespace infra is not a tenant namespace .*redline\.dev\/tenant/);
    expect(run.stdout).not.toMatch(/DENIED|mode Cluster is not in plan/);
    const json = JSON.parse((await runCli(['review', '--format', 'json', join(dir, 'not-tenant.yaml')])).stdout) as { results: unknown[]; notReviewed: { why: string; name: string }[] };
    expect(json.results).toEqual([]);
    expect(json.notReviewed).toMatchObject([{ why: 'not-tenant', name: 'cache' }]);
    // mutate leaves it alone, as the mutating webhook does.
    const mutate = await runCli(['mutate', join(dir, 'not-tenant.yaml')]);
    expect(mutate.code).toBe(0);
    expect(mutate.stdout).not.toContain('securityContext');
  });

  it('the same object is judged when its Namespace is a tenant\'s, or not in the input (--plan)', async () => {
    const text = await readFile(join(dir, 'not-tenant.yaml'), 'utf8');
    const tenant = join(dir, 'tenant.yaml');
    await writeFile(tenant, text.replace('labels: {team: platform}', 'labels: {redline.dev/tenant: acme, redline.dev/plan: free}'));
    const judged = await runCli(['review', tenant]);
    expect(judged.code).toBe(1);
    expect(judged.stdout).toContain('mode Cluster is not in plan free');
    const offboarding = join(dir, 'offboarding.yaml');
    await writeFile(offboarding, text.replace('labels: {team: platform}', 'labels: {redline.dev/managed: "true"}'));
    expect((await runCli(['review', offboarding])).code).toBe(1);
    const withoutNamespace = text.split('---\n')[1]!;
    const byPlan = await runCli(['review', '--plan', 'free', '-'], { stdin: withoutNamespace });
    expect(byPlan.code).toBe(1);
    expect(byPlan.stdout).toContain('mode Cluster is not in plan free');
  });
});

describe('malformed but parseable fields are input errors', () => {
  const redis = (fields: string[]): string => [
    'apiVersion: kubedb.com/v1', 'kind: Redis', 'metadata: {name: cache, namespace: tenant-free}', 'spec:',
    '  version: 7.2.4', '  storage: {resources: {requests: {storage: 1Gi}}}', ...fields, '',
  ].join('\n');

  it('exits 2 with file, line, column and field path, and judges nothing', async () => {
    const file = join(dir, 'malformed.yaml');
    await writeFile(file, redis(['  mode: Standalon', '  replicas: "3"', '  podTemplate:', '    spec:', '      containers:',
      '        - name: redis', '          resources: {limits: {memory: lots}}']));
    for (const format of ['text', 'json', 'sarif', 'junit']) {
      const run = await runCli(['review', '--format', format, NAMESPACES, file]);
      expect(run.code, format).toBe(2);
      expect(run.stdout, format).toBe('');
      expect(run.stderr.trim().split('\n')).toEqual([
        `${file}:7:9: spec.mode: must be one of "Standalone", "Cluster", "Sentinel", not "Standalon" (the Redis kubedb.com/v1 schema)`,
        `${file}:8:13: spec.replicas: must be an integer, not the string "3" (the Redis kubedb.com/v1 schema)`,
        `${file}:13:40: spec.podTemplate.spec.containers[0].resources.limits.memory: must be a Kubernetes quantity such as 512Mi, 2Gi or 500m, not the string "lots" (the Redis kubedb.com/v1 schema)`,
      ]);
    }
    const mutate = await runCli(['mutate', file]);
    expect(mutate.code).toBe(2);
    expect(mutate.stderr).toContain('spec.replicas: must be an integer');
  });

  it('a tenant cannot slip more replicas past the plan as a string (the adapter would read the default of 1)', async () => {
    const asString = join(dir, 'replicas-string.yaml');
    await writeFile(asString, redis(['  replicas: "30"']));
    const run = await runCli(['review', NAMESPACES, asString]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${asString}:7:13: spec.replicas: must be an integer, not the string "30"`);
    const asNumber = join(dir, 'replicas-number.yaml');
    await writeFile(asNumber, redis(['  replicas: 30']));
    const judged = await runCli(['review', NAMESPACES, asNumber]);
    expect(judged.code).toBe(1);
    expect(judged.stdout).toContain('plan-limits/pods-per-shard');
  });
});

describe('redline test', () => {
  it('accepts the library\'s tests folder (the one the README names) as well as the library', async () => {
    for (const args of [['test', 'policies/library/tests'], ['test', 'policies/library/tests/'], ['test', 'policies/library']]) {
      const run = await runCli(args);
      expect(run.stderr, args.join(' ')).toBe('');
      expect(run.stdout, args.join(' ')).toMatch(/[1-9]\d* passed, 0 failed \(\d+ cases, 1[0-9] policies\)/);
      expect(run.code, args.join(' ')).toBe(0);
    }
  });

  it('exits 2 on a directory with nothing to test', async () => {
    const run = await runCli(['test', join(dir, 'no-yaml')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('nothing to test');
  });
});

describe('npm start', () => {
  /** Runs the start script's own command with `extra` flags, on free ports and a scratch certificate directory. */
  async function withStart<T>(extra: string[], use: (addresses: { webhook: string; health: string }) => Promise<T>): Promise<T> {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const script = pkg.scripts['start']!;
    expect(script).toMatch(/^node dist\/cli\/main\.js serve --dev /);
    const args = [...script.split(/\s+/).slice(2), '--port', '0', '--health-port', '0', '--dev-cert-dir', join(dir, 'dev'), ...extra];
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    try {
      const addresses = await new Promise<{ webhook: string; health: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening" lines in 20 s:\n${out}${err}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const found = new Map(out.split('\n').filter((l) => /"msg":"(webhook|health) listening"/.test(l)).map((l) => {
            const line = JSON.parse(l) as { address: string; msg: string };
            return [line.msg.split(' ')[0]!, line.address];
          }));
          if (found.size === 2) {
            clearTimeout(timer);
            resolve({ webhook: found.get('webhook')!, health: found.get('health')! });
          }
        });
        child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
        child.on('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`serve exited ${code}:\n${out}${err}`));
        });
      });
      return await use(addresses);
    } finally {
      child.kill('SIGKILL');
    }
  }

  it('binds localhost unless told otherwise, and answers the AdmissionReview its hint sends', async () => {
    const review = await readFile(join(ROOT, 'manifests/examples/admission-review.json'));
    expect(JSON.parse(review.toString())).toMatchObject({ kind: 'AdmissionReview', request: { namespace: 'tenant-free', object: { kind: 'Redis' } } });
    await withStart([], async ({ webhook, health }) => {
      expect(webhook).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(health).toMatch(/^127\.0\.0\.1:\d+$/);
      const ca = await readFile(join(dir, 'dev', 'ca.crt'));
      const answer = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(`https://localhost:${webhook.split(':')[1]}/validate`, { method: 'POST', ca, headers: { 'Content-Type': 'application/json' } }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => { body += d.toString(); });
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
        req.end(review);
      });
      const response = (JSON.parse(answer) as { response: { allowed: boolean; status: { message: string } } }).response;
      expect(response.allowed).toBe(false);
      expect(response.status.message).toContain('mode Cluster is not in plan free');
    });
    // Told otherwise: npm start -- --address 0.0.0.0 (the last --address wins).
    await withStart(['--address', '0.0.0.0'], async ({ webhook, health }) => {
      expect(webhook).toMatch(/^0\.0\.0\.0:\d+$/);
      expect(health).toMatch(/^0\.0\.0\.0:\d+$/);
    });
  }, 60_000);
});
