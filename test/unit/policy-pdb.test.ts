// The pdb policy where a PodDisruptionBudget's pod count is known (workload.pods > 0): minAvailable
// is then judged against it. No adapter reports a count for a PodDisruptionBudget object yet (the
// PolicyTest cases cover the unknown count), so this drives the policy's own expressions with
// hand-made views, through cel-js (the reference the compiled form must agree with).

import { beforeAll, describe, expect, it } from 'vitest';
import { Scope, SharedValues } from '../../policies/engine/cel.js';
import { loadLibrary, type CompiledPolicy } from '../../policies/engine/library.js';

let pdb: CompiledPolicy;
beforeAll(async () => {
  const library = await loadLibrary('policies/library');
  pdb = library.policies.find((p) => p.name === 'pdb')!;
});

/** The results of the PDB rules for a PodDisruptionBudget of `pods` pods. */
function judge(pods: number, budget: { minAvailable?: string; maxUnavailable?: string }): Record<string, boolean | 'skip'> {
  const workload = {
    role: 'pdb', name: 'cache', pods, controlled: false,
    disruptionBudget: { selectsRedis: true, selector: {}, minAvailable: budget.minAvailable ?? '', maxUnavailable: budget.maxUnavailable ?? '' },
  };
  const base = new Scope(new SharedValues({ workload: () => workload, object: () => ({}), oldObject: () => null, plan: () => ({}), tenant: () => ({}), request: () => ({}) }))
    .with({ settings: pdb.settings });
  const vars: Record<string, unknown> = {};
  for (const v of pdb.variables) vars[v.name] = v.expr.interpret(base.with({ celVars: vars }));
  const scope = base.with({ celVars: vars });
  const out: Record<string, boolean | 'skip'> = {};
  for (const rule of pdb.rules.filter((r) => r.name === 'does-not-block-drains' || r.name === 'one-disruption-at-a-time')) {
    out[rule.name] = rule.when && rule.when.interpret(scope) !== true ? 'skip' : rule.expression!.interpret(scope) as boolean;
  }
  return out;
}

describe('pdb: minAvailable against a known pod count', () => {
  it.each([
    // pods, budget, does-not-block-drains, one-disruption-at-a-time
    [3, { minAvailable: '3' }, false, 'skip'],
    [3, { minAvailable: '4' }, false, 'skip'],
    [3, { minAvailable: '67%' }, false, 'skip'], // rounds up to 3 of 3
    [3, { minAvailable: '66%' }, true, false], // 2 of 3: one at a time would be 2, but 66% is not a count
    [3, { minAvailable: '2' }, true, true], // exactly one disruption
    [3, { minAvailable: '1' }, true, false], // two at once
    [1, { minAvailable: '1' }, false, 'skip'],
    [1, { minAvailable: '1%' }, false, 'skip'],
    [1, { minAvailable: '0' }, true, true],
    [1, { minAvailable: '0%' }, true, false],
    [3, { maxUnavailable: '1' }, true, true],
    [3, { maxUnavailable: '0' }, false, 'skip'],
  ] as const)('%i pods, %o', (pods, budget, drains, oneAtATime) => {
    expect(judge(pods, budget)).toEqual({ 'does-not-block-drains': drains, 'one-disruption-at-a-time': oneAtATime });
  });

  it('an unknown count keeps the count-free judgement: any minAvailable but 100% is not exactly one', () => {
    expect(judge(0, { minAvailable: '3' })).toEqual({ 'does-not-block-drains': true, 'one-disruption-at-a-time': false });
    expect(judge(0, { minAvailable: '100%' })).toEqual({ 'does-not-block-drains': false, 'one-disruption-at-a-time': 'skip' });
  });
});
