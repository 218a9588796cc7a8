// `redline review` and the ledger: the objects of the input are summed per tenant as admission
// would store them one after the other (in document order, an object refused by a policy or by the
// totals adds nothing), so a pull request that together takes a tenant past its plan's
// spec.tenantTotals fails in CI. The object that would go past gets a denying result of the
// pseudo-policy `tenant-totals` (rule: the dimension) with the arithmetic.

import type { Plan } from '../engine/library.js';
import type { RuleResult } from '../engine/types.js';
import type { WorkloadView } from '../workloads/view.js';
import { entitlementOf } from '../tenancy/ledger.js';
import { countsItself, namespaceKey } from '../tenancy/tally.js';
import { add, count, DIMENSIONS, formatAmount, objectUsage, planDefaults, usageOf, zero, type Amounts } from '../tenancy/usage.js';
import type { ObjectReview } from './review.js';

export const TENANT_TOTALS_POLICY = 'tenant-totals';

export interface TenantOf {
  /** The tenant an object's namespace belongs to, and the plan that namespace is on. */
  (namespace: string): { tenant: string; plan: string };
}

/**
 * Adds a tenant-totals denial to each review that would take its tenant past the plan; returns the
 * tenants' sums. `viewOf`: the view of a review's mutated object when the engine built it (else the
 * object is recognised here).
 */
export function judgeTenantTotals(
  reviews: ObjectReview[], tenantOf: TenantOf, plans: ReadonlyMap<string, Plan>, viewOf?: (r: ObjectReview) => WorkloadView | undefined,
): Map<string, Amounts> {
  const used = new Map<string, Amounts>();
  const namespacesSeen = new Map<string, Set<string>>();
  const uids = new Set<string>();
  for (const r of reviews) {
    const uid = (r.mutated['metadata'] as { uid?: unknown } | undefined)?.uid;
    if (typeof uid === 'string' && uid) uids.add(uid);
  }
  for (const r of reviews) {
    if (r.denied) continue;
    const { tenant, plan: planName } = tenantOf(r.namespace);
    const plan = plans.get(planName);
    const defaults = plan ? planDefaults(plan.spec) : undefined;
    const view = viewOf?.(r);
    const usage = view ? usageOf(view, r.mutated, defaults) : objectUsage(r.mutated, defaults);
    if (!countsItself(usage, uids)) continue;
    const sum = used.get(tenant) ?? zero();
    const seen = namespacesSeen.get(tenant) ?? new Set<string>();
    const requested = { ...usage.amounts };
    if (!seen.has(namespaceKey(r.namespace))) requested.namespaces = count(1);
    const entitled = plan ? entitlementOf(plan.spec) : {};
    const over = DIMENSIONS.find((d) => requested[d] > 0n && entitled[d] !== undefined && sum[d] + requested[d] > entitled[d]!);
    if (over) {
      r.results.push(overResult(tenant, planName, over, sum[over], requested[over], entitled[over]!));
      // About the object as a whole: it points at the object's first line.
      r.where.push({ line: r.doc.line, column: r.doc.column, path: '' });
      r.denied = true;
      continue;
    }
    add(sum, requested);
    seen.add(namespaceKey(r.namespace));
    used.set(tenant, sum);
    namespacesSeen.set(tenant, seen);
  }
  return used;
}

function overResult(tenant: string, plan: string, d: string, before: bigint, here: bigint, limit: bigint): RuleResult {
  return {
    policy: TENANT_TOTALS_POLICY,
    rule: d,
    result: 'fail',
    action: 'Deny',
    denies: true,
    message: `tenant ${tenant}: ${d} ${formatAmount(before)} in the objects before this one + ${formatAmount(here)} here > ${formatAmount(limit)} in plan ${plan} (spec.tenantTotals, across all of the tenant's namespaces)`,
  };
}
