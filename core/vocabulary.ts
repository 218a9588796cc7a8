// The names Redline shares with the cluster and between its own parts: labels, annotations, the
// names of the objects it stamps or guards, its service accounts and its certificate Secret. Every
// module takes them from here; a name defined anywhere else is a second definition that can drift.
// (The shipped policies in policies/library/ spell the same labels in YAML and CEL.)

/** The tenant id of a namespace; set by platform admins only. */
export const LABEL_TENANT = 'redline.dev/tenant';
/** The plan of a tenant namespace; set by platform admins only. */
export const LABEL_PLAN = 'redline.dev/plan';
/** "true" while Redline owns the namespace (set by the controller, removed last on offboarding). */
export const LABEL_MANAGED = 'redline.dev/managed';
/** Marks a Secret that a tenant user created (the mutating webhook adds it). */
export const LABEL_TENANT_SECRET = 'redline.dev/tenant-secret';
/** The controller's "bootstrap finished" signal on a tenant namespace (a hash of what it stamped). */
export const ANNOTATION_BOOTSTRAP = 'redline.dev/bootstrap';
/** Set by `redline certs rotate`: "serving" or "ca". The leader rotates, then removes it. */
export const ANNOTATION_ROTATE = 'redline.dev/rotate';
/** When the rotation was requested (ISO 8601); makes each request a distinct change. */
export const ANNOTATION_ROTATE_REQUESTED_AT = 'redline.dev/rotate-requested-at';
/** Every label under this prefix is Redline's: only admins may change it on a namespace. */
export const REDLINE_LABEL_PREFIX = 'redline.dev/';

/** The Kubernetes convention for "who writes this object". */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
/** The value of LABEL_MANAGED_BY on everything Redline writes. */
export const MANAGED_BY_REDLINE = 'redline';
/** Set by the API server from 1.21 (an ordinary label before): the namespace's own name. */
export const LABEL_METADATA_NAME = 'kubernetes.io/metadata.name';
export const POD_SECURITY_LABEL_PREFIX = 'pod-security.kubernetes.io/';
/** A Secret of this type is filled with a service account's token (by the token controller before 1.24). */
export const SECRET_TYPE_SERVICE_ACCOUNT_TOKEN = 'kubernetes.io/service-account-token';

/** Redline's own namespace. */
export const REDLINE_NAMESPACE = 'redline-system';
/** The namespaces every Redline webhook excludes by name (manifests/base/webhooks.yaml). */
export const SYSTEM_NAMESPACES: readonly string[] = Object.freeze(['kube-system', REDLINE_NAMESPACE]);
/** The username prefix of every service account. */
export const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';
/** The controller's name: its ServiceAccount, its Lease and the component of its Events. */
export const CONTROLLER_NAME = 'redline-controller';
/** The controller's service account username, always allowed to stamp labels. */
export const CONTROLLER_SERVICE_ACCOUNT = `${SERVICE_ACCOUNT_PREFIX}${REDLINE_NAMESPACE}:${CONTROLLER_NAME}`;

/** The group whose members are tenant `<id>`'s users: `redline:tenant:<id>`. */
export const TENANT_GROUP_PREFIX = 'redline:tenant:';
/** The ClusterRole bound to a tenant's users in each of its namespaces (and that RoleBinding's name). */
export const TENANT_CLUSTER_ROLE = 'redline-tenant';
/** Role + RoleBinding granting get/watch on exactly the tenant's Secrets (by resourceNames). */
export const TENANT_SECRETS = 'redline-tenant-secrets';
/** The namespace's cert-manager Issuer that signs the tenant's certificates. */
export const TENANT_ISSUER = 'redline-redis-ca';
/** The Secret (and Certificate) holding the namespace's CA; tenants never read it. */
export const TENANT_CA_SECRET = 'redline-tenant-ca';

/** Where the webhook's serving certificate and its CA live, and the Service they are for. */
export const CERT_SECRET_DEFAULTS: Readonly<{ namespace: string; secretName: string; serviceName: string }> = Object.freeze({
  namespace: REDLINE_NAMESPACE,
  secretName: 'redline-webhook-tls',
  serviceName: 'redline-webhook',
});

/** Whether Redline enforces a namespace with these labels: a tenant's, or one being offboarded. */
export function isEnforcedNamespace(labels: Readonly<Record<string, string>>): boolean {
  return Object.hasOwn(labels, LABEL_TENANT) || labels[LABEL_MANAGED] === 'true';
}
