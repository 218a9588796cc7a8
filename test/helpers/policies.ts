// Small policy libraries for engine tests: the shipped free plan plus policy documents written in
// the test, a KubeDB Redis to review, and a review input for it.

import { readFileSync } from 'node:fs';
import { compileLibrary, type Library } from '../../policies/engine/library.js';
import type { JsonObject, ReviewInput } from '../../policies/engine/types.js';

const FREE_PLAN = readFileSync('policies/library/plans/free.yaml', 'utf8');

/** A library of the shipped free plan plus the given policy documents. */
export function custom(...policies: string[]): Library {
  return customLibrary(policies);
}

/** custom(), its expressions generated on first use when `lazy` (as a one-shot review compiles an edited library). */
export function customLibrary(policies: string[], lazy = false): Library {
  return compileLibrary('custom', [
    { file: 'plans/free.yaml', text: FREE_PLAN },
    ...policies.map((text, i) => ({ file: `policies/p${i}.yaml`, text })),
  ], null, lazy);
}

/** A Policy document; `body` is the YAML under spec (indented by 2). */
export function policyDoc(name: string, body: string): string {
  return `apiVersion: redline.dev/v1alpha1\nkind: Policy\nmetadata:\n  name: ${name}\nspec:\n${body}`;
}

export const kubedb = (spec: JsonObject = {}): JsonObject => ({
  apiVersion: 'kubedb.com/v1', kind: 'Redis', metadata: { name: 'sessions', namespace: 'tenant-acme' },
  spec: { version: '7.2.4', storageType: 'Ephemeral', ...spec },
});

/** A review of `object` in tenant acme's namespace on the free plan, without mutation unless `extra` says. */
export function input(object: JsonObject, extra: Partial<ReviewInput> = {}): ReviewInput {
  return {
    object, operation: 'CREATE', plan: 'free', mutate: false,
    namespace: { name: 'tenant-acme', labels: { 'redline.dev/tenant': 'acme', 'redline.dev/plan': 'free' } },
    ...extra,
  };
}
