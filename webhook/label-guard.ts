// Namespace label guard. Every write of a Namespace — the object itself and its `status` and
// `finalize` subresources, which the API server lets change metadata.labels too — on every
// namespace:
//  - `kubernetes.io/metadata.name`, when present, must equal the namespace's name, for everyone,
//    on every CREATE and every UPDATE that changes a label (see check() for the exception).
//    The API server sets it itself since Kubernetes 1.21; before, it is an ordinary label, and
//    webhooks and NetworkPolicies select namespaces by it (a namespace labelled `…=kube-system`
//    escaped Redline's webhooks, one labelled `…=monitoring` was let in by the tenants'
//    monitoring NetworkPolicy).
//  - only Redline admins may add, change or remove `redline.dev/*` labels, on any namespace, so
//    labels set before onboarding cannot raise a plan later;
//  - only Redline admins may change `pod-security.kubernetes.io/*` labels of a namespace Redline
//    owns (old or new object labelled `redline.dev/tenant` or `redline.dev/managed`);
//  - kube-system and redline-system never become tenants: the webhooks exclude them by name, so
//    a tenant there would be judged by nothing.
// CREATE and UPDATE are guarded. DELETE is not: deleting a namespace is RBAC's business, and the
// namespace controller's own final DELETE must never be blocked by a webhook.

import {
  CONTROLLER_SERVICE_ACCOUNT,
  LABEL_MANAGED,
  LABEL_METADATA_NAME,
  LABEL_TENANT,
  POD_SECURITY_LABEL_PREFIX,
  REDLINE_LABEL_PREFIX,
  SERVICE_ACCOUNT_PREFIX,
  SYSTEM_NAMESPACES,
} from '../core/vocabulary.js';
import type { JsonObject, JsonPatchOp, UserInfo } from '../policies/engine/types.js';

export const GUARDED_LABEL_PREFIXES: readonly string[] = Object.freeze([REDLINE_LABEL_PREFIX, POD_SECURITY_LABEL_PREFIX]);

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
  | { allowed: true; reason: 'not-namespace-write' | 'no-guarded-change' | 'admin'; changes: LabelChange[] }
  | { allowed: false; reason: 'label-guard' | 'metadata-name' | 'system-namespace'; changes: LabelChange[]; message: string };

/** Normalise a service account reference to its username `system:serviceaccount:<ns>:<name>`. */
export function serviceAccountUsername(ref: string): string {
  if (ref.startsWith(SERVICE_ACCOUNT_PREFIX)) return ref;
  const m = /^([^/:]+)[/:]([^/:]+)$/.exec(ref);
  return m ? `${SERVICE_ACCOUNT_PREFIX}${m[1]}:${m[2]}` : ref;
}

function metadataOf(obj: JsonObject | null | undefined): JsonObject | undefined {
  const md = obj?.metadata;
  return typeof md === 'object' && md !== null && !Array.isArray(md) ? md : undefined;
}

export function labelsOf(obj: JsonObject | null | undefined): Record<string, string> {
  const labels = metadataOf(obj)?.labels;
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** metadata.name of an object, '' when absent or not a string. */
export function nameOf(obj: JsonObject | null | undefined): string {
  const name = metadataOf(obj)?.name;
  return typeof name === 'string' ? name : '';
}

/** Whether a namespace carries either of Redline's ownership labels (whatever their values). */
function isRedlineOwned(labels: Readonly<Record<string, string>>): boolean {
  return Object.hasOwn(labels, LABEL_TENANT) || Object.hasOwn(labels, LABEL_MANAGED);
}

/** Changed keys (added, changed, removed) among those `select` accepts, sorted by key. */
export function labelChanges(
  oldLabels: Record<string, string>,
  newLabels: Record<string, string>,
  select: (key: string) => boolean = () => true,
): LabelChange[] {
  const changes: LabelChange[] = [];
  for (const [k, v] of Object.entries(newLabels)) {
    if (!select(k)) continue;
    if (!Object.hasOwn(oldLabels, k)) changes.push({ key: k, change: 'added' });
    else if (oldLabels[k] !== v) changes.push({ key: k, change: 'changed' });
  }
  for (const k of Object.keys(oldLabels)) {
    if (select(k) && !Object.hasOwn(newLabels, k)) changes.push({ key: k, change: 'removed' });
  }
  return changes.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Changes of `redline.dev/*` and `pod-security.kubernetes.io/*` labels. */
export function guardedLabelChanges(oldLabels: Record<string, string>, newLabels: Record<string, string>): LabelChange[] {
  return labelChanges(oldLabels, newLabels, (k) => GUARDED_LABEL_PREFIXES.some((p) => k.startsWith(p)));
}

/** JSONPatch that sets one label (creating metadata.labels when absent); empty when already so. */
export function addLabelPatch(object: JsonObject, key: string, value: string): JsonPatchOp[] {
  const md = object.metadata;
  if (typeof md !== 'object' || md === null || Array.isArray(md)) {
    return [{ op: 'add', path: '/metadata', value: { labels: { [key]: value } } }];
  }
  const labels = md.labels;
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    return [{ op: 'add', path: '/metadata/labels', value: { [key]: value } }];
  }
  if (labels[key] === value) return [];
  return [{ op: 'add', path: `/metadata/labels/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, value }];
}

/**
 * The mutating webhook's patch for a Namespace CREATE: `kubernetes.io/metadata.name` when absent
 * (before Kubernetes 1.21; later the API server has set it already and the patch is empty). A wrong
 * value is left for the validating webhook to refuse. Empty too when the name is not known yet
 * (generateName: the API server picks it after mutation).
 */
export function metadataNamePatch(object: JsonObject | null): JsonPatchOp[] {
  const name = nameOf(object);
  if (!object || !name) return [];
  const labels = metadataOf(object)?.labels;
  if (typeof labels === 'object' && labels !== null && !Array.isArray(labels) && Object.hasOwn(labels, LABEL_METADATA_NAME)) return [];
  return addLabelPatch(object, LABEL_METADATA_NAME, name);
}

export class LabelGuard {
  private readonly users: ReadonlySet<string>;
  private readonly groups: ReadonlySet<string>;
  private readonly serviceAccounts: ReadonlySet<string>;
  private readonly controller: string;
  /** "users a; groups b; service accounts ns/c", for messages. */
  readonly whoMay: string;

  constructor(admins: Admins, controllerServiceAccount: string = CONTROLLER_SERVICE_ACCOUNT) {
    this.users = new Set(admins.users);
    this.groups = new Set(admins.groups);
    const sas = admins.serviceAccounts.map(serviceAccountUsername);
    this.controller = controllerServiceAccount ? serviceAccountUsername(controllerServiceAccount) : '';
    if (this.controller) sas.push(this.controller);
    this.serviceAccounts = new Set(sas);
    const parts: string[] = [];
    if (this.users.size) parts.push(`users ${[...this.users].join(', ')}`);
    if (this.groups.size) parts.push(`groups ${[...this.groups].join(', ')}`);
    if (this.serviceAccounts.size) {
      parts.push(`service accounts ${[...this.serviceAccounts].map((s) => s.slice(SERVICE_ACCOUNT_PREFIX.length).replace(':', '/')).join(', ')}`);
    }
    this.whoMay = parts.length ? parts.join('; ') : 'nobody (no admins configured)';
  }

  isAdmin(user: UserInfo | undefined): boolean {
    if (!user) return false;
    if (this.users.has(user.username) || this.serviceAccounts.has(user.username)) return true;
    for (const g of user.groups) if (this.groups.has(g)) return true;
    return false;
  }

  /** Whether the request comes from Redline's own controller (its service account, exactly). */
  isController(user: UserInfo | undefined): boolean {
    return this.controller !== '' && user?.username === this.controller;
  }

  check(input: {
    operation: string;
    /** request.name; the object's metadata.name wins when present (CREATE with generateName). */
    name: string;
    /** request.subResource: '' for the Namespace itself, 'status' or 'finalize'. */
    subResource?: string;
    object: JsonObject | null;
    oldObject: JsonObject | null;
    userInfo: UserInfo | undefined;
  }): GuardVerdict {
    if (input.operation !== 'CREATE' && input.operation !== 'UPDATE') {
      return { allowed: true, reason: 'not-namespace-write', changes: [] };
    }
    const oldLabels = labelsOf(input.oldObject);
    const newLabels = labelsOf(input.object);
    const name = nameOf(input.object) || nameOf(input.oldObject) || input.name;
    const via = input.subResource ? ` (through namespaces/${input.subResource})` : '';
    const ns = name ? ` "${name}"` : '';

    // Everyone, admins too. An UPDATE that changes no label may keep a wrong value it already had
    // (set before Redline, or while it was down), so such a namespace can still be annotated,
    // finalized and deleted; any label change — onboarding included — must correct it.
    const claimed = newLabels[LABEL_METADATA_NAME];
    if (claimed !== undefined && claimed !== name) {
      if (input.operation === 'CREATE' || labelChanges(oldLabels, newLabels).length > 0) {
        return {
          allowed: false,
          reason: 'metadata-name',
          changes: labelChanges(oldLabels, newLabels, (k) => k === LABEL_METADATA_NAME),
          message:
            `label ${LABEL_METADATA_NAME} of namespace${ns} is "${claimed}"${via}, but it must be the namespace's own name: ` +
            `set it to "${name}" or leave it out (Redline adds it; the API server sets it itself since Kubernetes 1.21)`,
        };
      }
    }

    if (SYSTEM_NAMESPACES.includes(name) && isRedlineOwned(newLabels) && !isRedlineOwned(oldLabels)) {
      return {
        allowed: false,
        reason: 'system-namespace',
        changes: labelChanges(oldLabels, newLabels, (k) => k === LABEL_TENANT || k === LABEL_MANAGED),
        message:
          `namespace "${name}" cannot become a tenant namespace (${LABEL_TENANT} or ${LABEL_MANAGED}): Redline's ` +
          `webhooks never judge ${SYSTEM_NAMESPACES.join(' or ')}, so nothing would enforce the plan there; use another namespace`,
      };
    }

    const enforced = isRedlineOwned(oldLabels) || isRedlineOwned(newLabels);
    const changes = labelChanges(oldLabels, newLabels, (k) =>
      k.startsWith(REDLINE_LABEL_PREFIX) || (enforced && k.startsWith(POD_SECURITY_LABEL_PREFIX)));
    if (changes.length === 0) return { allowed: true, reason: 'no-guarded-change', changes };
    if (this.isAdmin(input.userInfo)) return { allowed: true, reason: 'admin', changes };
    const what = changes.map((c) => `${c.key} (${c.change})`).join(', ');
    const who = input.userInfo?.username ? `"${input.userInfo.username}"` : 'an anonymous user';
    return {
      allowed: false,
      reason: 'label-guard',
      changes,
      message:
        `labels ${what} of ${enforced ? 'tenant ' : ''}namespace${ns}${via} may only be changed by Redline admins ` +
        `(${this.whoMay}); ${who} is not one of them`,
    };
  }
}
