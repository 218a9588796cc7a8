import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultLibraryDir, type JsonObject, type ReviewInput } from '../../policies/engine/index.js';
import { WebhookMetrics } from '../../webhook/metrics.js';
import { PolicyReloader } from '../../webhook/policy-reloader.js';
import { waitFor } from '../helpers/wait.js';

const redis: JsonObject = {
  apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'cache', namespace: 't' },
  spec: { version: '7.2.4', storage: { resources: { requests: { storage: '1Gi' } } },
    podTemplate: { spec: { containers: [{ name: 'redis', resources: { limits: { memory: '200Mi', cpu: '100m' } } }] } } },
};
const input: ReviewInput = {
  object: redis, operation: 'CREATE', plan: 'free', mutate: true,
  namespace: { name: 't', labels: { 'redline.dev/tenant': 't', 'redline.dev/plan': 'free' } },
};

let reloader: PolicyReloader | undefined;
afterEach(() => reloader?.stop());

async function copyLibrary(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'redline-reload-'));
  await cp(defaultLibraryDir(), dir, { recursive: true });
  await rm(join(dir, 'tests'), { recursive: true });
  return dir;
}


describe('policy hot reload', () => {
  it('swaps in a changed library when the files change (fs.watch)', async () => {
    const dir = await copyLibrary();
    reloader = new PolicyReloader({ dir, timeBudgetMs: 1000, intervalMs: 60_000 });
    await reloader.load();
    reloader.start();
    expect(reloader.current().review(input).denied).toBe(false);

    const free = join(dir, 'plans', 'free.yaml');
    await writeFile(free, (await readFile(free, 'utf8')).replace('memory: 256Mi\n    cpu: 250m', 'memory: 128Mi\n    cpu: 250m'));
    await waitFor(() => reloader!.stats.reloads === 1);
    const after = reloader.current().review(input);
    expect(after.denied).toBe(true);
    expect(after.results.find((r) => r.rule === 'memory-per-pod')?.message).toContain("over plan free's 128Mi");
  });

  it('keeps the policies in service when a change is invalid, and reports it', async () => {
    const dir = await copyLibrary();
    const metrics = new WebhookMetrics({ defaultMetrics: false });
    reloader = new PolicyReloader({ dir, timeBudgetMs: 1000, metrics, intervalMs: 60_000 });
    const first = await reloader.load();
    await writeFile(join(dir, 'policies', 'broken.yaml'), 'apiVersion: redline.dev/v1alpha1\nkind: Policy\nmetadata: {name: broken}\nspec:\n  action: Deny\n  rules:\n    - {name: r, expression: "nope.x", message: m}\n');
    await reloader.check();
    expect(reloader.stats.rejected).toBe(1);
    expect(reloader.current()).toBe(first);
    expect(await metrics.registry.getSingleMetricAsString('redline_errors_total')).toMatch(/kind="policy_reload"} 1/);
    // The same broken content is not recompiled on every tick.
    await reloader.check();
    expect(reloader.stats.rejected).toBe(1);
  });
});
