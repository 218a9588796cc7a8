// `redline review` and `redline test` with PolicyExceptions, through the built CLI: a library with
// one exception in effect and one expired (dates relative to today, the CLI's clock), SARIF that
// still validates against the official schema, and an exception smuggled into the reviewed
// manifests, which changes nothing (exceptions live in the library only).

import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv04Module from 'ajv-draft-04';
import type { Options, ValidateFunction } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../helpers/cli.js';

const Ajv04 = (Ajv04Module as unknown as { default: new (options: Options) => { compile(schema: object): ValidateFunction } }).default;

const NAMESPACES = 'manifests/examples/namespaces.yaml';
const NO_TLS = 'manifests/examples/bad/ot-replication-no-tls.yaml';
const DAY = 86_400_000;
const today = new Date(new Date().toISOString().slice(0, 10)).getTime();
const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function exception(name: string, approved: number, expires: number, rules = '[tls-enabled]', match = '{tenant: globex, names: [plain]}'): string {
  return `apiVersion: redline.dev/v1alpha1
kind: PolicyException
metadata: {name: ${name}}
spec:
  owner: oncall@example.com
  reason: driver upgrade pending
  approved: ${day(approved)}
  expires: ${day(expires)}
  policies: [{policy: tls, rules: ${rules}}]
  match: ${match}
`;
}

let lib: string;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redline-cli-exceptions-'));
  lib = join(dir, 'library');
  await cp(join(ROOT, 'policies', 'library'), lib, { recursive: true });
  await rm(join(lib, 'tests'), { recursive: true });
  await mkdir(join(lib, 'exceptions'));
  await writeFile(join(lib, 'exceptions', 'valid.yaml'), exception('plain-no-tls', today - 10 * DAY, today + 40 * DAY));
  await writeFile(join(lib, 'exceptions', 'old.yaml'), exception('old-waiver', today - 60 * DAY, today - 5 * DAY, '[tls-enabled]', '{tenant: globex, names: [other]}'));
});

describe('redline review with exceptions', () => {
  it('text: the waived rule is a skip naming the exception and owner; the expired exception is warned about', async () => {
    const run = await runCli(['review', '--policies', lib, NAMESPACES, NO_TLS]);
    expect(run.code).toBe(1); // its authentication and pdb failures still deny it
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe(`warning: exception old-waiver (owner oncall@example.com) expired ${day(today - 5 * DAY)}: ignored`);
    expect(run.stdout).toContain(`  skip tls/tls-enabled: excepted by plain-no-tls (owner oncall@example.com, until ${day(today + 40 * DAY)}): TLS is off`);
    expect(run.stdout).not.toContain('FAIL tls/tls-enabled');
    expect(run.stdout).toMatch(/\(1 by exceptions\)/);
  });

  it('sarif: an accepted suppression on the waived result; still valid SARIF 2.1.0', async () => {
    const run = await runCli(['review', '--format', 'sarif', '--policies', lib, NAMESPACES, NO_TLS]);
    const sarif = JSON.parse(run.stdout) as { runs: { invocations?: { toolExecutionNotifications: { message: { text: string } }[] }[]; results: { ruleId: string; level: string; suppressions?: { status: string; properties: { owner: string } }[] }[] }[] };
    const schema = JSON.parse(await readFile(join(ROOT, 'node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')) as object;
    const validate = new Ajv04({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false }).compile(schema);
    expect(validate(sarif), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const tls = sarif.runs[0]!.results.find((r) => r.ruleId === 'tls/tls-enabled');
    expect(tls).toMatchObject({ level: 'error', suppressions: [{ kind: 'external', status: 'accepted', properties: { exception: 'plain-no-tls', owner: 'oncall@example.com' } }] });
    expect(sarif.runs[0]!.results.find((r) => r.ruleId === 'pdb/operator-pdb-enabled')).not.toHaveProperty('suppressions');
    expect(sarif.runs[0]!.invocations?.[0]?.toolExecutionNotifications.map((n) => n.message.text)).toEqual([
      `exception old-waiver (owner oncall@example.com) expired ${day(today - 5 * DAY)}: ignored`,
    ]);
  });

  it('an exception inside the reviewed manifests changes nothing: they come from the library only', async () => {
    const smuggled = join(dir, 'smuggled.yaml');
    await writeFile(smuggled, exception('self-service', today - DAY, today + 10 * DAY, '[tls-enabled]', '{tenant: globex, names: [plain]}'));
    const run = await runCli(['review', '--format', 'json', NAMESPACES, NO_TLS, smuggled]);
    const report = JSON.parse(run.stdout) as { results: { rule: string; result: string; exception?: unknown }[]; exceptions: unknown[] };
    expect(report.results.find((r) => r.rule === 'tls-enabled')).toMatchObject({ result: 'fail' });
    expect(report.results.some((r) => r.exception)).toBe(false);
    expect(report.exceptions).toEqual([]);
  });

  it('a library whose exception runs longer than maxDays does not load (exit 2, file:line:column)', async () => {
    const long = join(dir, 'long-library');
    await cp(lib, long, { recursive: true });
    await writeFile(join(long, 'exceptions', 'valid.yaml'), exception('plain-no-tls', today, today + 91 * DAY));
    const run = await runCli(['review', '--policies', long, NAMESPACES, NO_TLS]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/exceptions\/valid\.yaml:8:12: spec\.expires: 91 days after approved \(\d{4}-\d{2}-\d{2}\); the library allows at most 90/);
  });
});

describe('redline test with exceptions', () => {
  it('runs the shipped exception cases, and fails a case whose expectation the exception contradicts', async () => {
    const ok = await runCli(['test']);
    expect(ok.code).toBe(0);
    const broken = join(dir, 'broken-tests');
    await cp(join(ROOT, 'policies', 'library'), broken, { recursive: true });
    const file = join(broken, 'tests', 'exceptions.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('now: 2027-02-01\n', 'now: 2027-01-31\n'));
    const run = await runCli(['test', broken]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAIL .*exceptions\.yaml:\d+ tls: from its expiry on it is ignored and the rule fails again\n {2}rule tls-enabled: expected fail, got skip \(excepted by acme-orders-no-tls/);
  });
});
