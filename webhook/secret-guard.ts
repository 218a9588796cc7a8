// Secrets in namespaces Redline enforces. Reads only `type`, `metadata.labels` and which values are
// empty: never what a value holds, and nothing here is logged or bound to a logger.
//  - A `kubernetes.io/service-account-token` Secret is written only by admins and the control
//    plane: before Kubernetes 1.24 the token controller fills such a Secret with the token of
//    whichever ServiceAccount its annotation names, so a tenant could mint a stronger account's token.
//  - `redline.dev/tenant-secret: "true"` marks a Secret a tenant user created (the controller lets
//    the tenant read exactly those, besides the ones its Redis objects use). The mutating webhook
//    adds it on CREATE by a user; nobody else may create a Secret carrying it (a writer the tenant can
//    steer, such as cert-manager's secretTemplate, would otherwise mark any Secret readable), and
//    only admins may set or remove it afterwards.
//  - `redline-tenant-ca` is where cert-manager writes the namespace's CA; a tenant who created it
//    first (during onboarding) would hand cert-manager a key pair of its own choosing.
//  - A tenant user's Secret has no empty value: an empty password is "no password" to
//    OT-Container-Kit (its entrypoint sets no requirepass), Spotahome (no requirepass in redis.conf)
//    and Redis Enterprise (databaseSecretName: "an empty string … disables authentication"), and a
//    Redis object naming such a Secret looks protected.

import { LABEL_TENANT_SECRET, SECRET_TYPE_SERVICE_ACCOUNT_TOKEN, SERVICE_ACCOUNT_PREFIX, TENANT_CA_SECRET } from '../core/vocabulary.js';
import type { JsonObject, JsonPatchOp, UserInfo } from '../policies/engine/types.js';
import { addLabelPatch, labelChanges, labelsOf } from './label-guard.js';

/** The token controller: as its own service account, or as the controller manager itself. */
const CONTROL_PLANE_SERVICE_ACCOUNTS = `${SERVICE_ACCOUNT_PREFIX}kube-system:`;
const CONTROLLER_MANAGER = 'system:kube-controller-manager';

export interface SecretRequest {
  operation: string;
  name: string;
  namespace: string;
  object: JsonObject | null;
  oldObject: JsonObject | null;
  userInfo: UserInfo | undefined;
}

export interface AdminCheck {
  isAdmin(user: UserInfo | undefined): boolean;
  readonly whoMay: string;
}

export type SecretVerdict =
  | { allowed: true; reason: 'secret-allowed' | 'secret-admin' }
  | { allowed: false; reason: 'service-account-token' | 'tenant-secret-label' | 'tenant-ca-secret' | 'empty-secret-value'; message: string };

function typeOf(obj: JsonObject | null): string {
  const t = obj?.type;
  return typeof t === 'string' ? t : '';
}

function isControlPlane(user: UserInfo | undefined): boolean {
  const name = user?.username ?? '';
  return name.startsWith(CONTROL_PLANE_SERVICE_ACCOUNTS) || name === CONTROLLER_MANAGER;
}

/** A person (or a client certificate) — not a service account, not a `system:` identity. */
function isTenantUser(user: UserInfo | undefined): boolean {
  const name = user?.username ?? '';
  return name !== '' && !name.startsWith('system:');
}

/**
 * Who acts for the tenant here: a tenant user, or a service account of this namespace (a Tenant's
 * subjects may be service accounts, and the tenant's pods run as the namespace's accounts).
 */
function actsForTenant(user: UserInfo | undefined, namespace: string): boolean {
  return isTenantUser(user) || (user?.username ?? '').startsWith(`${SERVICE_ACCOUNT_PREFIX}${namespace}:`);
}

function who(user: UserInfo | undefined): string {
  return user?.username ? `"${user.username}"` : 'an anonymous user';
}

export function checkSecret(req: SecretRequest, admins: AdminCheck): SecretVerdict {
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return { allowed: true, reason: 'secret-allowed' };
  if (admins.isAdmin(req.userInfo)) return { allowed: true, reason: 'secret-admin' };
  const secret = `Secret "${req.name}" in namespace "${req.namespace}"`;
  if (typeOf(req.object) === SECRET_TYPE_SERVICE_ACCOUNT_TOKEN || typeOf(req.oldObject) === SECRET_TYPE_SERVICE_ACCOUNT_TOKEN) {
    if (!isControlPlane(req.userInfo)) {
      return {
        allowed: false,
        reason: 'service-account-token',
        message:
          `${secret}: Secrets of type ${SECRET_TYPE_SERVICE_ACCOUNT_TOKEN} may only be written by Redline admins (${admins.whoMay}) ` +
          `and the control plane; ${who(req.userInfo)} is neither. For a token, use the TokenRequest API ` +
          '(kubectl create token) for an account you may use',
      };
    }
    return { allowed: true, reason: 'secret-allowed' };
  }
  if (req.operation === 'CREATE' && actsForTenant(req.userInfo, req.namespace) && req.name === TENANT_CA_SECRET) {
    return {
      allowed: false,
      reason: 'tenant-ca-secret',
      message:
        `${secret}: ${TENANT_CA_SECRET} is where cert-manager writes the namespace's CA (its key signs the tenant's ` +
        'certificates); only Redline admins and cert-manager create it. Choose another name for your Secret',
    };
  }
  const empty = actsForTenant(req.userInfo, req.namespace) ? emptyKeys(req.object) : [];
  if (empty.length > 0) {
    return {
      allowed: false,
      reason: 'empty-secret-value',
      message:
        `${secret}: ${empty.length === 1 ? `key ${JSON.stringify(empty[0])} is` : `keys ${empty.map((k) => JSON.stringify(k)).join(', ')} are`} empty; ` +
        'an empty password turns a Redis server\'s authentication off (OT-Container-Kit, Spotahome and Redis Enterprise read it as none). ' +
        'Give each key a value, or leave it out',
    };
  }
  if (req.operation === 'CREATE' && !isTenantUser(req.userInfo) && labelsOf(req.object)[LABEL_TENANT_SECRET] !== undefined) {
    return {
      allowed: false,
      reason: 'tenant-secret-label',
      message:
        `${secret}: label ${LABEL_TENANT_SECRET} marks a Secret a tenant user created, and is set by Redline; ` +
        `${who(req.userInfo)} is not a tenant user. Remove the label (e.g. from a Certificate's secretTemplate)`,
    };
  }
  if (req.operation === 'UPDATE') {
    const changed = labelChanges(labelsOf(req.oldObject), labelsOf(req.object), (k) => k === LABEL_TENANT_SECRET);
    if (changed.length > 0) {
      return {
        allowed: false,
        reason: 'tenant-secret-label',
        message:
          `${secret}: label ${LABEL_TENANT_SECRET} (${changed[0]!.change}) may only be changed by Redline admins ` +
          `(${admins.whoMay}); ${who(req.userInfo)} is not one of them. Keep the label as it is`,
      };
    }
  }
  return { allowed: true, reason: 'secret-allowed' };
}

/** The keys of `data` and `stringData` whose value is empty (sorted, each once). */
function emptyKeys(secret: JsonObject | null): string[] {
  const out = new Set<string>();
  for (const field of ['data', 'stringData']) {
    const values = secret?.[field];
    if (!values || typeof values !== 'object' || Array.isArray(values)) continue;
    for (const [k, v] of Object.entries(values)) if (v === '' || v === null) out.add(k);
  }
  return [...out].sort();
}

/**
 * The mutating webhook's patch for a Secret CREATE: the tenant-secret label when a tenant user
 * (not a service account, not a system identity, not an admin) creates it. Empty otherwise.
 */
export function tenantSecretPatch(req: SecretRequest, admins: AdminCheck): JsonPatchOp[] {
  if (req.operation !== 'CREATE' || !req.object) return [];
  if (!isTenantUser(req.userInfo) || admins.isAdmin(req.userInfo)) return [];
  if (typeOf(req.object) === SECRET_TYPE_SERVICE_ACCOUNT_TOKEN) return [];
  return addLabelPatch(req.object, LABEL_TENANT_SECRET, 'true');
}
