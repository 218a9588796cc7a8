// The view an engine outcome hands back (ReviewOutcome.view) is the view of the object as mutated,
// the one the rules judged, and review's tenant totals count from it instead of recognising every
// object once more: a mutation that changes what the view reads (the plan's default limits written
// from the requests, the restricted securityContext) must show in the view and in the totals.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { parseDocuments } from '../../policies/engine/documents.js';
import { Engine } from '../../policies/engine/engine.js';
import { loadLibrary, type Library } from '../../policies/engine/library.js';
import type { JsonObject, ReviewInput } from '../../policies/engine/types.js';
import { reviewInput } from '../../policies/review/review.js';
import { viewOf } from '../helpers/workloads.js';

/** The shipped free-plan KubeDB example as `name`, its Redis container with requests and no limits. */
function redis(name: string, memory = '200Mi'): JsonObject {
  const o = parseAllDocuments(readFileSync('manifests/examples/good/kubedb-standalone.yaml', 'utf8'))[0]!.toJS() as any;
  o.metadata.name = name;
  o.spec.podTemplate.spec.containers[0].resources = { requests: { memory, cpu: '100m' } };
  return o as JsonObject;
}


let library: Library;
beforeAll(async () => {
  library = await loadLibrary('policies/library');
});

const input = (object: JsonObject, extra: Partial<ReviewInput> = {}): ReviewInput => ({
  object, operation: 'CREATE', plan: 'free', mutate: true,
  namespace: { name: 'tenant-free', labels: { 'redline.dev/tenant': 'free', 'redline.dev/plan': 'free' } },
  ...extra,
});

describe('ReviewOutcome.view', () => {
  it('is the mutated object\'s view when a mutation changed what the view reads, not the original\'s', () => {
    const object = redis('cache');
    const outcome = new Engine(library).review(input(object));
    expect(outcome.patch.length).toBeGreaterThan(0);
    const before = viewOf(object);
    expect(before.memoryLimit).toBe('');
    expect(before.podTemplates[0]!.securityContext).toEqual({});
    // default-resources wrote the limits from the requests; pod-security the pod's securityContext.
    expect(outcome.view?.memoryLimit).toBe('200Mi');
    expect(outcome.view?.podTemplates[0]!.securityContext).not.toEqual({});
    expect(outcome.view).toEqual(viewOf(outcome.mutated));
    expect(JSON.stringify(outcome.view)).toBe(JSON.stringify(viewOf(outcome.mutated)));
  });

  it('is the object\'s own view when nothing is mutated', () => {
    const object = redis('cache');
    const outcome = new Engine(library).review(input(object, { mutate: false }));
    expect(outcome.mutated).toBe(object);
    expect(outcome.view).toEqual(viewOf(object));
  });

  it('is absent when no rule judged the mutated object: the mutating webhook\'s pass, a DELETE of the old object', () => {
    const engine = new Engine(library);
    expect(engine.review(input(redis('cache'), { validate: false })).view).toBeUndefined();
    const old = redis('cache', '100Mi');
    const deleted = engine.review(input(redis('cache'), { operation: 'DELETE', oldObject: old, mutate: false }));
    expect(deleted.redis).toBe(true);
    expect(deleted.view).toBeUndefined();
  });
});

describe('review: tenant totals count the mutated objects', () => {
  it('two Redis objects whose limits admission writes from their requests go past the free plan\'s memory', () => {
    // As written, each would count the plan's default 128Mi (256Mi together, within the plan): the
    // totals must count the 200Mi limits admission writes, so the second one is over on memory.
    const text = [redis('a'), redis('b')].map((o) => stringify(o)).join('---\n');
    const { docs } = parseDocuments('pr.yaml', text);
    const { reviews } = reviewInput(new Engine(library), docs, { plan: 'free', mutate: true });
    expect(reviews.map((r) => r.patched)).toEqual([true, true]);
    const totals = reviews.flatMap((r) => r.results.filter((x) => x.policy === 'tenant-totals').map((x) => [r.name, x.rule, x.message]));
    expect(totals).toEqual([[
      'b', 'memory',
      "tenant tenant-free: memory 200Mi in the objects before this one + 200Mi here > 256Mi in plan free (spec.tenantTotals, across all of the tenant's namespaces)",
    ]]);
    expect(reviews[0]!.denied).toBe(false);
  });
});
