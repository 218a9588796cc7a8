import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderTenant } from '../../bootstrap/render.js';
import { defaultControllerSettings, validateControllerSettings } from '../../core/settings/controller.js';
import { runController } from '../../cli/controller.js';
import { runRender } from '../../cli/render.js';
import { RedlineError } from '../../core/errors.js';
import { defaultLibraryDir, loadLibrary } from '../../policies/engine/index.js';

function capture(): { out: { write(s: string): boolean }; text: () => string } {
  let buf = '';
  return { out: { write: (s: string) => ((buf += s), true) }, text: () => buf };
}

describe('redline render tenant', () => {
  it('prints exactly what the controller applies (same renderTenant), in apply order, Namespace last', async () => {
    const out = capture();
    expect(await runRender(['tenant', '--namespace', 'team-a', '--tenant', 'a', '--plan', 'standard'], { stdout: out.out, env: {} })).toBe(0);
    const docs = YAML.parseAllDocuments(out.text()).map((d) => d.toJS());
    const plan = (await loadLibrary(defaultLibraryDir())).plans.get('standard')!;
    const desired = renderTenant({ namespace: 'team-a', tenant: 'a', plan }, defaultControllerSettings());
    expect(docs).toEqual([...desired.objects, desired.namespaceObject]);
    expect(out.text()).toContain(`# desired-state hash ${desired.hash}`);
  });

  it('uses the controller section of --config (one source of settings)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'redline-render-'));
    try {
      const file = path.join(dir, 'config.yaml');
      writeFileSync(file, 'controller:\n  certManager:\n    enabled: false\n  tenantSubjects: [{kind: User, name: "{tenant}@example.com"}]\n');
      const out = capture();
      expect(await runRender(['tenant', '--config', file, '--namespace', 'n', '--tenant', 't', '--plan', 'free'], { stdout: out.out, env: {} })).toBe(0);
      const docs = YAML.parseAllDocuments(out.text()).map((d) => d.toJS() as { kind: string; subjects?: unknown });
      expect(docs.some((d) => d.kind === 'Certificate')).toBe(false);
      const settings = validateControllerSettings({ certManager: { enabled: false }, tenantSubjects: [{ kind: 'User', name: '{tenant}@example.com' }] }).settings!;
      const plan = (await loadLibrary(defaultLibraryDir())).plans.get('free')!;
      expect(docs.find((d) => d.kind === 'RoleBinding')!.subjects).toEqual(renderTenant({ namespace: 'n', tenant: 't', plan }, settings).objects.at(-1)!['subjects']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad usage is a usage error listing every problem; an unknown plan names the known ones', async () => {
    await expect(runRender([], { env: {} })).rejects.toThrow(expect.objectContaining({ kind: 'usage', code: 'usage' }));
    const e = (await runRender(['tenant', '--namespace', 'Bad_NS', '--bogus'], { env: {} }).catch((x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(RedlineError);
    expect((e as RedlineError).kind).toBe('usage');
    expect(e.message).toMatch(/unknown flag --bogus/);
    expect(e.message).toMatch(/not a valid namespace name/);
    expect(e.message).toMatch(/--tenant is required/);
    expect(e.message).toMatch(/--plan is required/);
    await expect(runRender(['tenant', '--namespace', 'n', '--tenant', 't', '--plan', 'gold'], { env: {} })).rejects.toThrow(/unknown plan "gold"; known: free, premium, standard/);
  });
});

describe('redline controller (CLI surface)', () => {
  it('--help, bad flags (a usage error), bad settings (exit 2, every problem), no cluster (exit 2)', async () => {
    const out = capture();
    expect(await runController(['--help'], { stdout: out.out, env: {} })).toBe(0);
    expect(out.text()).toMatch(/controller.leaderElection.renewDeadlineMs/);
    await expect(runController(['--nope'], { env: {} })).rejects.toThrow(expect.objectContaining({ kind: 'usage', code: 'usage' }));
    const err = capture();
    expect(await runController(['--workers', '0', '--qps', 'x'], { stderr: err.out, env: {} })).toBe(2);
    expect(err.text()).toMatch(/controller.workers: .*\n.*controller.qps/);
    const err2 = capture();
    expect(await runController([], { stderr: err2.out, env: { HOME: '/nonexistent' } })).toBe(2);
    expect(err2.text()).toMatch(/no cluster/);
  });
});
