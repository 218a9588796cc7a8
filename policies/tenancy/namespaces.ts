// A plan's settings for tenants with several namespaces (plan spec.tenancy), read the same way by
// the controller (which stamps and reports) and the webhook's namespace guard (which refuses):
//  - allowTrafficBetweenNamespaces: a stamped NetworkPolicy admits the tenant's other namespaces;
//  - namespacePattern: a regular expression the whole namespace name must match, `{tenant}` standing
//    for the tenant id. Checked when the library loads: it must compile and must not backtrack
//    catastrophically (the webhook runs it on every namespace joining a tenant).

import { catastrophicRegexReason } from '../engine/cel.js';
import type { JsonObject } from '../engine/types.js';

export const TENANT_PLACEHOLDER = '{tenant}';

export interface TenancySettings {
  allowTrafficBetweenNamespaces: boolean;
  /** The pattern as written in the plan; '' when the plan requires none. */
  namespacePattern: string;
}

export function tenancyOf(planSpec: Readonly<Record<string, unknown>>): TenancySettings {
  const t = (planSpec['tenancy'] ?? {}) as JsonObject;
  return {
    allowTrafficBetweenNamespaces: t['allowTrafficBetweenNamespaces'] === true,
    namespacePattern: typeof t['namespacePattern'] === 'string' ? t['namespacePattern'] : '',
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The anchored expression for one tenant. Throws SyntaxError for a pattern that is no regular expression. */
export function namespaceRegExp(pattern: string, tenant: string): RegExp {
  return new RegExp(`^(?:${pattern.replaceAll(TENANT_PLACEHOLDER, escapeRegExp(tenant))})$`);
}

/** Why a plan's namespacePattern cannot be used ('' when it can): checked when the library loads. */
export function namespacePatternProblem(pattern: string): string {
  if (!pattern.includes(TENANT_PLACEHOLDER)) return `must contain ${TENANT_PLACEHOLDER} (a tenant's namespaces are named after it)`;
  const unsafe = catastrophicRegexReason(pattern);
  if (unsafe) return unsafe;
  try {
    namespaceRegExp(pattern, 'tenant');
    return '';
  } catch (e) {
    return `is not a regular expression: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/**
 * Whether namespace `name` may belong to `tenant` under a plan with these settings: '' when it may,
 * else the reason, for a denial or a status message.
 */
export function namespaceNameRefusal(name: string, tenant: string, plan: string, settings: TenancySettings): string {
  if (!settings.namespacePattern) return '';
  let re: RegExp;
  try {
    re = namespaceRegExp(settings.namespacePattern, tenant);
  } catch (e) {
    return `plan ${plan}'s namespacePattern cannot be used: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (re.test(name)) return '';
  return `namespace "${name}" does not match plan ${plan}'s namespace pattern ${JSON.stringify(settings.namespacePattern)} for tenant ${tenant} (${re.source})`;
}
