// `redline review` sums a pull request's objects per tenant: the object that would take a tenant
// past its plan's tenantTotals (across all of its namespaces in the input) is denied with the
// arithmetic, in every format; the tenant comes from the Namespaces of the input, else --tenant.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { ROOT, runCli } from '../helpers/cli.js';

/** The shipped standard-plan StatefulSet example (3 pods × 2Gi, 1 CPU, 10Gi) as `name` in `ns`. */
async function statefulSet(ns: string, name: string): Promise<Record<string, any>> {
  const text = await readFile(join(ROOT, 'manifests', 'examples', 'good', 'statefulset-bitnami.yaml'), 'utf8');
  const o = parseAllDocuments(text)[0]!.toJS() as Record<string, any>;
  o.metadata.namespace = ns;
  o.metadata.name = name;
  return o;
}

const namespace = (name: string, tenant: string, plan = 'standard'): Record<string, unknown> =>
  ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'redline.dev/tenant': tenant, 'redline.dev/plan': plan } } });

async function input(docs: Record<string, unknown>[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'redline-totals-'));
  const file = join(dir, 'pr.yaml');
  await writeFile(file, docs.map((d) => stringify(d)).join('---\n'));
  return file;
}

interface JsonReport { results: { kind: string; name: string; namespace: string; policy: string; rule: string; result: string; message: string }[] }

// Each case runs the CLI two to four times (a process each): give it room on a loaded machine.
const CLI_RUNS = 120_000;

describe('redline review: tenant totals', () => {
  it('six 6Gi StatefulSets over two namespaces of one tenant: the sixth takes it past 32Gi and is denied', async () => {
    const sets = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => statefulSet(i % 2 ? 'acme-prod' : 'acme-dev', `redis-${i}`)));
    const file = await input([namespace('acme-dev', 'acme'), namespace('acme-prod', 'acme'), ...sets]);
    const run = await runCli(['review', '--format', 'json', file]);
    expect(run.code).toBe(1);
    const totals = (JSON.parse(run.stdout) as JsonReport).results.filter((r) => r.policy === 'tenant-totals');
    expect(totals).toEqual([{
      kind: 'StatefulSet', name: 'redis-5', namespace: 'acme-prod', policy: 'tenant-totals', rule: 'memory', result: 'fail',
      message: "tenant acme: memory 30Gi in the objects before this one + 6Gi here > 32Gi in plan standard (spec.tenantTotals, across all of the tenant's namespaces)",
    }].map((r) => expect.objectContaining(r)));
    // Text and SARIF say the same.
    const text = await runCli(['review', file]);
    expect(text.stdout).toContain('FAIL tenant-totals/memory: tenant acme: memory 30Gi in the objects before this one + 6Gi here > 32Gi in plan standard');
    const sarif = JSON.parse((await runCli(['review', '--format', 'sarif', file])).stdout);
    const result = sarif.runs[0].results.find((r: { ruleId: string }) => r.ruleId === 'tenant-totals/memory');
    expect(result.level).toBe('error');
    expect(sarif.runs[0].tool.driver.rules[result.ruleIndex].id).toBe('tenant-totals/memory');
  }, CLI_RUNS);

  it('two tenants are summed apart; a namespace beyond the plan\'s namespaces is refused', async () => {
    const file = await input([
      namespace('acme-dev', 'acme'), namespace('globex-dev', 'globex'),
      await statefulSet('acme-dev', 'a'), await statefulSet('globex-dev', 'b'),
      namespace('acme-1', 'acme'), namespace('acme-2', 'acme'), namespace('acme-3', 'acme'),
      await statefulSet('acme-1', 'c'), await statefulSet('acme-2', 'd'), await statefulSet('acme-3', 'e'),
    ]);
    const run = await runCli(['review', '--format', 'json', file]);
    const totals = (JSON.parse(run.stdout) as JsonReport).results.filter((r) => r.policy === 'tenant-totals');
    expect(totals.map((r) => [r.namespace, r.name, r.rule])).toEqual([['acme-3', 'e', 'namespaces']]);
    expect(totals[0]!.message).toContain('tenant acme: namespaces 3 in the objects before this one + 1 here > 3 in plan standard');
  }, CLI_RUNS);

  it('objects without their Namespace: one tenant with --tenant, else each namespace is a tenant of its own', async () => {
    const sets = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => statefulSet(i % 2 ? 'x-prod' : 'x-dev', `redis-${i}`)));
    const file = await input(sets);
    const together = await runCli(['review', '--plan', 'standard', '--tenant', 'acme', '--only', 'tenant-totals', file]);
    expect(together.code).toBe(1);
    expect(together.stdout).toContain('tenant acme: memory 30Gi in the objects before this one + 6Gi here > 32Gi in plan standard');
    const apart = await runCli(['review', '--plan', 'standard', '--only', 'tenant-totals', file]);
    expect(apart.code).toBe(0);
    const bad = await runCli(['review', '--plan', 'standard', '--tenant', 'Not_A_Label', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--tenant Not_A_Label: a tenant id is a DNS label');
  }, CLI_RUNS);
});
