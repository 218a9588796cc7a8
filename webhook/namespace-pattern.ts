// The namespace guard's second question, after "may this user change these labels": may this
// namespace belong to this tenant? A plan may require a naming pattern of its tenants' namespaces
// (plan spec.tenancy.namespacePattern). Checked, for everyone (admins and the controller too),
// when a namespace joins a tenant (CREATE with, or UPDATE adding or changing, redline.dev/tenant)
// or its plan label changes. The plan is the Tenant's (spec.plan) where a Tenant exists, else the
// namespace's own redline.dev/plan label (the label-only path).

import type { TenantPlans } from '../kube/tenant-source.js';
import type { JsonObject } from '../policies/engine/types.js';
import { namespaceNameRefusal, tenancyOf } from '../policies/tenancy/namespaces.js';
import { LABEL_PLAN as PLAN_LABEL, LABEL_TENANT as TENANT_LABEL } from '../core/vocabulary.js';
import { labelsOf, nameOf } from './label-guard.js';

export interface PlanSpecs {
  get(name: string): { spec: Readonly<Record<string, unknown>> } | undefined;
}

export type NamespaceNameVerdict = { allowed: true } | { allowed: false; message: string };

export function checkNamespaceName(
  input: { operation: string; name: string; object: JsonObject | null; oldObject: JsonObject | null },
  plans: PlanSpecs,
  tenants: TenantPlans | undefined,
): NamespaceNameVerdict {
  if (input.operation !== 'CREATE' && input.operation !== 'UPDATE') return { allowed: true };
  const labels = labelsOf(input.object);
  const old = labelsOf(input.oldObject);
  const tenant = labels[TENANT_LABEL];
  if (!tenant) return { allowed: true };
  const joins = input.operation === 'CREATE' || old[TENANT_LABEL] !== tenant;
  if (!joins && old[PLAN_LABEL] === labels[PLAN_LABEL]) return { allowed: true };
  const planName = tenants?.planOf(tenant) ?? labels[PLAN_LABEL];
  const plan = planName === undefined ? undefined : plans.get(planName);
  // No plan (yet) or an unknown one: nothing to hold the name to; the controller reports those.
  if (!plan || !planName) return { allowed: true };
  const name = nameOf(input.object) || input.name;
  const refusal = namespaceNameRefusal(name, tenant, planName, tenancyOf(plan.spec));
  if (!refusal) return { allowed: true };
  return { allowed: false, message: `namespace "${name}" cannot be a namespace of tenant ${tenant}: ${refusal}` };
}
