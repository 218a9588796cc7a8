// Tenant label guard: on a tenant Namespace (old or new object labelled `redline.dev/tenant`), only
// Redline admins may add, change or remove `redline.dev/*` and `pod-security.kubernetes.io/*`
// labels — so a tenant cannot upgrade its own plan or relax its pod security by editing a label.
// CREATE and UPDATE are guarded. DELETE is not: deleting a namespace is RBAC's business, and the
// namespace controller's own final DELETE must never be blocked by a webhook.

import type { JsonObject, UserInfo } from '../policies/engine/types.js';

export const TENANT_LABEL = 'redline.dev/tenant';
export const PLAN_LABEL = 'redline.dev/plan';
export const GUARDED_LABEL_PREFIXES: readonly string[] = Object.freeze(['redline.dev/', 'pod-security.kubernetes.io/']);
export const DEFAULT_CONTROLLER_SERVICE_ACCOUNT = 'system:serviceaccount:redline-system:redline-controller';

export interface Admins {
  users: readonly string[];
  groups: readonly string[];
  /** `system:serviceaccount:<ns>:<name>` or `<ns>/<name>` or `<ns>:<name>`. */
  serviceAccounts: readonly string[];
}

export interface LabelChange {
  key: string;
  change: 'added' | 'changed' | 'removed';
}

export type GuardVerdict =
  | { allowed: true; reason: 'not-namespace-write' | 'not-tenant' | 'no-guarded-change' | 'admin'; changes: LabelChange[] }
  | { allowed: false; reason: 'label-guard'; changes: LabelChange[]; message: string };

/** Normalise a service account reference to its username `system:serviceaccount:<ns>:<name>`. */
export function serviceAccountUsername(ref: string): string {
  if (ref.startsWith('system:serviceaccount:')) return ref;
  const m = /^([^/:]+)[/:]([^/:]+)$/.exec(ref);
  return m ? `system:serviceaccount:${m[1]}:${m[2]}` : ref;
}

export function labelsOf(obj: JsonObject | null | undefined): Record<string, string> {
  const md = obj?.metadata;
  if (typeof md !== 'object' || md === null || Array.isArray(md)) return {};
  const labels = (md as JsonObject).labels;
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

function guarded(key: string): boolean {
  for (const p of GUARDED_LABEL_PREFIXES) if (key.startsWith(p)) return true;
  return false;
}

export function guardedLabelChanges(oldLabels: Record<string, string>, newLabels: Record<string, string>): LabelChange[] {
  const changes: LabelChange[] = [];
  for (const [k, v] of Object.entries(newLabels)) {
    if (!guarded(k)) continue;
    if (!Object.hasOwn(oldLabels, k)) changes.push({ key: k, change: 'added' });
    else if (oldLabels[k] !== v) changes.push({ key: k, change: 'changed' });
  }
  for (const k of Object.keys(oldLabels)) {
    if (guarded(k) && !Object.hasOwn(newLabels, k)) changes.push({ key: k, change: 'removed' });
  }
  return changes.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export class LabelGuard {
  private readonly users: ReadonlySet<string>;
  private readonly groups: ReadonlySet<string>;
  private readonly serviceAccounts: ReadonlySet<string>;
  private readonly whoMay: string;

  constructor(admins: Admins, controllerServiceAccount: string = DEFAULT_CONTROLLER_SERVICE_ACCOUNT) {
    this.users = new Set(admins.users);
    this.groups = new Set(admins.groups);
    const sas = admins.serviceAccounts.map(serviceAccountUsername);
    if (controllerServiceAccount) sas.push(serviceAccountUsername(controllerServiceAccount));
    this.serviceAccounts = new Set(sas);
    const parts: string[] = [];
    if (this.users.size) parts.push(`users ${[...this.users].join(', ')}`);
    if (this.groups.size) parts.push(`groups ${[...this.groups].join(', ')}`);
    if (this.serviceAccounts.size) {
      parts.push(`service accounts ${[...this.serviceAccounts].map((s) => s.slice('system:serviceaccount:'.length).replace(':', '/')).join(', ')}`);
    }
    this.whoMay = parts.length ? parts.join('; ') : 'nobody (no admins configured)';
  }

  isAdmin(user: UserInfo | undefined): boolean {
    if (!user) return false;
    if (this.users.has(user.username) || this.serviceAccounts.has(user.username)) return true;
    for (const g of user.groups) if (this.groups.has(g)) return true;
    return false;
  }

  check(input: {
    operation: string;
    name: string;
    object: JsonObject | null;
    oldObject: JsonObject | null;
    userInfo: UserInfo | undefined;
  }): GuardVerdict {
    if (input.operation !== 'CREATE' && input.operation !== 'UPDATE') {
      return { allowed: true, reason: 'not-namespace-write', changes: [] };
    }
    const oldLabels = labelsOf(input.oldObject);
    const newLabels = labelsOf(input.object);
    if (!Object.hasOwn(oldLabels, TENANT_LABEL) && !Object.hasOwn(newLabels, TENANT_LABEL)) {
      return { allowed: true, reason: 'not-tenant', changes: [] };
    }
    const changes = guardedLabelChanges(oldLabels, newLabels);
    if (changes.length === 0) return { allowed: true, reason: 'no-guarded-change', changes };
    if (this.isAdmin(input.userInfo)) return { allowed: true, reason: 'admin', changes };
    const what = changes.map((c) => `${c.key} (${c.change})`).join(', ');
    const who = input.userInfo?.username ? `"${input.userInfo.username}"` : 'an anonymous user';
    const ns = input.name ? ` "${input.name}"` : '';
    return {
      allowed: false,
      reason: 'label-guard',
      changes,
      message:
        `labels ${what} of tenant namespace${ns} may only be changed by Redline admins ` +
        `(${this.whoMay}); ${who} is not one of them`,
    };
  }
}
