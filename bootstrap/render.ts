// The desired state of one tenant namespace: a pure function of (namespace, tenant, plan,
// settings). The controller applies exactly this, and `redline render tenant` prints exactly this
// (one source). Names are deterministic; every object carries app.kubernetes.io/managed-by=redline.
//
// Apply order (= the order of `objects`): the fences first (quota, limits, network policies), then
// the TLS issuer, then the tenant's access (the Secrets Role and its RoleBinding, then the
// RoleBinding to the tenant ClusterRole) — the tenant gets access only to a namespace that is
// already fenced — and last the Namespace labels with the `redline.dev/bootstrap` annotation, the
// "bootstrap finished" signal. Offboarding goes the other way round: access first.
//
// The one input that is not the plan or the settings: `secretNames`, the Secrets the tenant may
// read (bootstrap/secrets.ts computes them from the cluster). They are left out of the hash, so a
// tenant creating a Secret does not count as a change of the namespace's bootstrap.

import { createHash } from 'node:crypto';
import { RedlineError } from '../core/errors.js';
import type { KubeObject } from '../kube/api-client.js';
import { tenancyOf } from '../policies/tenancy/namespaces.js';
import type { ControllerSettings, SubjectTemplate } from '../core/settings/controller.js';
import {
  LABEL_MANAGED,
  LABEL_MANAGED_BY,
  LABEL_METADATA_NAME,
  LABEL_PLAN,
  LABEL_TENANT,
  MANAGED_BY_REDLINE,
  TENANT_CA_SECRET,
  TENANT_CLUSTER_ROLE,
  TENANT_ISSUER,
  TENANT_SECRETS,
} from '../core/vocabulary.js';

/** The access objects, in the order offboarding deletes them (before anything else). */
export const ACCESS_OBJECTS: readonly { kind: 'RoleBinding' | 'Role'; name: string }[] = Object.freeze([
  { kind: 'RoleBinding', name: TENANT_CLUSTER_ROLE },
  { kind: 'RoleBinding', name: TENANT_SECRETS },
  { kind: 'Role', name: TENANT_SECRETS },
]);
/** Default LimitRange Container `min`: a limit or request of 0 ("no limit" to the kubelet) is refused. */
export const DEFAULT_CONTAINER_MIN: Readonly<{ memory: string; cpu: string }> = Object.freeze({ memory: '1Mi', cpu: '1m' });

export const POD_SECURITY_LABELS: Readonly<Record<string, string>> = Object.freeze({
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/warn-version': 'latest',
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/audit-version': 'latest',
});

export const REDIS_PORT = 6379;
export const SENTINEL_PORT = 26379;
export const CLUSTER_BUS_PORT = 16379;
export const EXPORTER_PORT = 9121;
/** Redis Enterprise's metrics endpoint (the web proxy's Prometheus exporter). */
export const ENTERPRISE_METRICS_PORT = 8070;
/** The admission webhook container of the Redis Enterprise operator pod (the API server calls it). */
export const ENTERPRISE_ADMISSION_PORT = 8443;
/** Every pod the Redis Enterprise operator bundle and its REC make carries this label. */
export const ENTERPRISE_POD_LABELS: Readonly<Record<string, string>> = Object.freeze({ app: 'redis-enterprise' });
export const ENTERPRISE_OPERATOR_POD_LABELS: Readonly<Record<string, string>> = Object.freeze({ name: 'redis-enterprise-operator' });
/** The quota line that says whether a plan lets a namespace have a Redis Enterprise cluster. */
export const ENTERPRISE_CLUSTER_QUOTA = 'count/redisenterpriseclusters.app.redislabs.com';
export const ALLOW_ENTERPRISE = 'redline-allow-redis-enterprise';
export const ALLOW_ENTERPRISE_ADMISSION = 'redline-allow-redis-enterprise-admission';
export const ALLOW_ENTERPRISE_CLIENTS = 'redline-allow-redis-enterprise-clients';
/** Where the plan allows it (tenancy.allowTrafficBetweenNamespaces): Redis traffic with the tenant's other namespaces. */
export const ALLOW_TENANT_NAMESPACES = 'redline-allow-tenant-namespaces';

export interface OwnedKind {
  kind: 'RoleBinding' | 'Role' | 'NetworkPolicy' | 'ResourceQuota' | 'LimitRange' | 'Certificate' | 'Issuer';
  apiVersion: string;
  plural: string;
  /** Every name Redline may stamp for this kind (offboarding deletes only these). */
  names: readonly string[];
  certManager?: boolean;
}

export const OWNED_KINDS: readonly OwnedKind[] = Object.freeze([
  { kind: 'ResourceQuota', apiVersion: 'v1', plural: 'resourcequotas', names: ['redline-quota'] },
  { kind: 'LimitRange', apiVersion: 'v1', plural: 'limitranges', names: ['redline-limits'] },
  {
    kind: 'NetworkPolicy',
    apiVersion: 'networking.k8s.io/v1',
    plural: 'networkpolicies',
    names: ['redline-default-deny', 'redline-allow-dns', 'redline-allow-same-namespace', 'redline-allow-operator', 'redline-allow-monitoring', 'redline-allow-apiserver', ALLOW_ENTERPRISE, ALLOW_ENTERPRISE_ADMISSION, ALLOW_ENTERPRISE_CLIENTS, ALLOW_TENANT_NAMESPACES],
  },
  { kind: 'Certificate', apiVersion: 'cert-manager.io/v1', plural: 'certificates', names: [TENANT_CA_SECRET], certManager: true },
  { kind: 'Issuer', apiVersion: 'cert-manager.io/v1', plural: 'issuers', names: [TENANT_ISSUER], certManager: true },
  { kind: 'Role', apiVersion: 'rbac.authorization.k8s.io/v1', plural: 'roles', names: [TENANT_SECRETS] },
  { kind: 'RoleBinding', apiVersion: 'rbac.authorization.k8s.io/v1', plural: 'rolebindings', names: [TENANT_CLUSTER_ROLE, TENANT_SECRETS] },
] satisfies OwnedKind[]);

export const OWNED_BY_KIND: ReadonlyMap<string, OwnedKind> = new Map(OWNED_KINDS.map((k) => [k.kind, k]));

export type RenderSettings = Pick<ControllerSettings, 'tenantSubjects' | 'certManager' | 'network'>;

export interface PlanLike {
  name: string;
  spec: Record<string, unknown>;
}

export interface TenantInput {
  namespace: string;
  tenant: string;
  plan: PlanLike;
  /** Secrets the tenant may get/watch (default none); not part of the hash. */
  secretNames?: readonly string[];
  /** The tenant's RBAC subjects (its Tenant's spec.subjects); default: the settings' tenantSubjects. */
  subjects?: readonly SubjectTemplate[];
  /** The namespace's redline.dev/plan label is the controller's to set (its Tenant names the plan). */
  stampPlanLabel?: boolean;
}

export interface DesiredState {
  namespace: string;
  tenant: string;
  plan: string;
  /** Stamped objects in apply order. */
  objects: KubeObject[];
  /** The Namespace apply body: Redline's labels only (the annotation is added when applied). */
  namespaceObject: KubeObject;
  /** sha256 (hex) of the canonical JSON of objects + namespaceObject, the Secrets Role's names left out. */
  hash: string;
}

/** JSON with object keys sorted at every level (stable across key order). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function str(v: unknown, what: string): string {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number') return String(v);
  throw new RedlineError('render-failed', `plan is missing ${what}`);
}

function expand(template: string, input: TenantInput): string {
  return template.replaceAll('{tenant}', input.tenant).replaceAll('{namespace}', input.namespace);
}

export function renderSubjects(templates: readonly SubjectTemplate[], input: TenantInput): Record<string, string>[] {
  return templates.map((t): Record<string, string> =>
    t.kind === 'ServiceAccount'
      ? { kind: 'ServiceAccount', name: expand(t.name, input), namespace: expand(t.namespace ?? '{namespace}', input) }
      : { kind: t.kind, apiGroup: 'rbac.authorization.k8s.io', name: expand(t.name, input) },
  );
}

const tcp = (...ports: number[]): { protocol: string; port: number }[] => ports.map((port) => ({ protocol: 'TCP', port }));

function namespacesIn(names: readonly string[]): Record<string, unknown> {
  return { namespaceSelector: { matchExpressions: [{ key: LABEL_METADATA_NAME, operator: 'In', values: [...names].sort() }] } };
}

/** Renders the desired state; throws a 'render-failed' RedlineError when the plan lacks a field it needs. */
export function renderTenant(input: TenantInput, settings: RenderSettings): DesiredState {
  const { namespace, tenant, plan } = input;
  const spec = plan.spec;
  const perPod = (spec['perPod'] ?? {}) as Record<string, unknown>;
  const defaults = (spec['defaults'] ?? {}) as Record<string, unknown>;
  const hardIn = ((spec['quota'] as Record<string, unknown> | undefined)?.['hard'] ?? {}) as Record<string, unknown>;
  const hard: Record<string, string> = {};
  for (const k of Object.keys(hardIn).sort()) hard[k] = str(hardIn[k], `quota.hard.${k}`);
  hard['services.loadbalancers'] = '0';
  hard['services.nodeports'] = '0';
  const mem = str(perPod['memory'], 'perPod.memory');
  const cpu = str(perPod['cpu'], 'perPod.cpu');
  const storage = str(perPod['storage'], 'perPod.storage');
  // The LimitRange's defaults reach every container without resources — exporters, sidecars, init
  // containers — so they are the plan's defaults for "other" containers; the Redis containers get
  // theirs from admission (default-resources), where the kind has the field.
  const other = (defaults['other'] ?? {}) as Record<string, unknown>;
  const defMem = other['memory'] === undefined ? str(defaults['memory'], 'defaults.memory') : str(other['memory'], 'defaults.other.memory');
  const defCpu = other['cpu'] === undefined ? str(defaults['cpu'], 'defaults.cpu') : str(other['cpu'], 'defaults.other.cpu');
  const podMaxIn = (spec['podMax'] ?? {}) as Record<string, unknown>;
  const podMem = podMaxIn['memory'] === undefined ? mem : str(podMaxIn['memory'], 'podMax.memory');
  const podCpu = podMaxIn['cpu'] === undefined ? cpu : str(podMaxIn['cpu'], 'podMax.cpu');
  const minIn = (spec['containerMin'] ?? {}) as Record<string, unknown>;
  const minMem = minIn['memory'] === undefined ? DEFAULT_CONTAINER_MIN.memory : str(minIn['memory'], 'containerMin.memory');
  const minCpu = minIn['cpu'] === undefined ? DEFAULT_CONTAINER_MIN.cpu : str(minIn['cpu'], 'containerMin.cpu');

  const labels = { [LABEL_MANAGED_BY]: MANAGED_BY_REDLINE, [LABEL_TENANT]: tenant, [LABEL_PLAN]: plan.name };
  const meta = (name: string): KubeObject['metadata'] => ({ name, namespace, labels: { ...labels } });
  const netpol = (name: string, body: Record<string, unknown>): KubeObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(name),
    spec: { podSelector: {}, ...body },
  });

  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'ResourceQuota', metadata: meta('redline-quota'), spec: { hard } },
    {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: meta('redline-limits'),
      spec: {
        limits: [
          {
            type: 'Container',
            default: { cpu: defCpu, memory: defMem },
            defaultRequest: { cpu: defCpu, memory: defMem },
            max: { cpu, memory: mem },
            // The API server refuses a container whose limit or request is below min, 0 included.
            min: { cpu: minCpu, memory: minMem },
          },
          // Every container together (Redis, exporter, sidecars): the per-container max alone
          // would let a pod run N containers at the maximum each.
          { type: 'Pod', max: { cpu: podCpu, memory: podMem } },
          { type: 'PersistentVolumeClaim', max: { storage } },
        ],
      },
    },
    netpol('redline-default-deny', { policyTypes: ['Ingress', 'Egress'] }),
    netpol('redline-allow-dns', {
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { [LABEL_METADATA_NAME]: settings.network.dnsNamespace } },
              podSelector: { matchLabels: { ...settings.network.dnsPodLabels } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    }),
    netpol('redline-allow-same-namespace', {
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: {} }], ports: tcp(REDIS_PORT, SENTINEL_PORT, CLUSTER_BUS_PORT) }],
      egress: [{ to: [{ podSelector: {} }], ports: tcp(REDIS_PORT, SENTINEL_PORT, CLUSTER_BUS_PORT) }],
    }),
  ];
  if (settings.network.operatorNamespaces.length > 0) {
    objects.push(
      netpol('redline-allow-operator', {
        policyTypes: ['Ingress'],
        ingress: [{ from: [namespacesIn(settings.network.operatorNamespaces)], ports: tcp(REDIS_PORT, SENTINEL_PORT, CLUSTER_BUS_PORT) }],
      }),
    );
  }
  if (settings.network.monitoringNamespaces.length > 0) {
    objects.push(
      netpol('redline-allow-monitoring', {
        policyTypes: ['Ingress'],
        ingress: [{ from: [namespacesIn(settings.network.monitoringNamespaces)], ports: tcp(REDIS_PORT, SENTINEL_PORT, EXPORTER_PORT) }],
      }),
    );
  }
  if (settings.network.apiServerCidrs.length > 0) {
    // For operator containers in the Redis pods that talk to the Kubernetes API; the API server is
    // not a pod, so only its addresses can select it.
    objects.push(
      netpol('redline-allow-apiserver', {
        policyTypes: ['Egress'],
        egress: [{ to: settings.network.apiServerCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: tcp(...settings.network.apiServerPorts) }],
      }),
    );
  }
  if (enterpriseAllowed(hard)) objects.push(...enterprisePolicies(settings, netpol));
  if (tenancyOf(spec).allowTrafficBetweenNamespaces) {
    // Both directions: the default deny covers egress too. Only admins set redline.dev/* labels on
    // a namespace (the webhook's guard), so this selector admits the tenant's namespaces only.
    const tenantNamespaces = { namespaceSelector: { matchLabels: { [LABEL_TENANT]: tenant } } };
    const ports = tcp(REDIS_PORT, SENTINEL_PORT, CLUSTER_BUS_PORT);
    objects.push(
      netpol(ALLOW_TENANT_NAMESPACES, {
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [tenantNamespaces], ports }],
        egress: [{ to: [structuredClone(tenantNamespaces)], ports: structuredClone(ports) }],
      }),
    );
  }
  if (settings.certManager.enabled) {
    objects.push(
      {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Certificate',
        metadata: meta(TENANT_CA_SECRET),
        spec: {
          isCA: true,
          commonName: `${tenant}.${TENANT_CA_SECRET}`,
          secretName: TENANT_CA_SECRET,
          duration: '8760h',
          renewBefore: '720h',
          // Never: a renewed CA keeps its key, so leaf certificates it issued stay valid.
          privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Never' },
          usages: ['cert sign', 'crl sign'],
          issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: settings.certManager.clusterIssuer },
        },
      },
      { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: meta(TENANT_ISSUER), spec: { ca: { secretName: TENANT_CA_SECRET } } },
    );
  }
  const subjects = renderSubjects(input.subjects ?? settings.tenantSubjects, input);
  objects.push(
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(TENANT_SECRETS), rules: secretRules(input.secretNames ?? []) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(TENANT_SECRETS),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: TENANT_SECRETS },
      subjects,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(TENANT_CLUSTER_ROLE),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: TENANT_CLUSTER_ROLE },
      subjects: structuredClone(subjects),
    },
  );

  const namespaceObject: KubeObject = {
    apiVersion: 'v1',
    kind: 'Namespace',
    // kubernetes.io/metadata.name: set by the API server from 1.21; before, an ordinary label that a
    // namespace could carry with another namespace's name (and so escape the webhooks' selectors).
    metadata: { name: namespace, labels: { ...POD_SECURITY_LABELS, [LABEL_MANAGED]: 'true', [LABEL_METADATA_NAME]: namespace, ...(input.stampPlanLabel ? { [LABEL_PLAN]: plan.name } : {}) } },
  };
  return { namespace, tenant, plan: plan.name, objects, namespaceObject, hash: desiredHash(objects, namespaceObject) };
}

/** A plan lets a namespace have a Redis Enterprise cluster unless its quota counts them to 0. */
export function enterpriseAllowed(hard: Readonly<Record<string, string>>): boolean {
  const n = hard[ENTERPRISE_CLUSTER_QUOTA];
  return n === undefined || !/^0+$/.test(n.trim());
}

/**
 * Redis Enterprise runs its operator inside the tenant namespace, and its node pods talk to each
 * other on dozens of ports and ranges (internode 3333-3349, 1968, 8001-8006, 8070/8071, 8080,
 * 8443/8444, 9080-9082, 9443, 10000-19999 databases, 20000-29999 shards, 36379/36380, mDNS):
 * NetworkPolicy port ranges (endPort) need Kubernetes 1.22+, and the database ports are chosen at
 * run time. So, inside the namespace only:
 *  - the Redis Enterprise pods (operator, nodes, services rigger: label app=redis-enterprise) take
 *    any port from any pod of the namespace, and every pod of the namespace may reach them (clients,
 *    the operator → REC REST API 9443, node ↔ node);
 *  - the monitoring namespaces may scrape their metrics (8070);
 *  - the API server (settings network.apiServerCidrs) may call the operator's admission webhook (8443).
 * The operator and the nodes reach the API server through redline-allow-apiserver (they need it:
 * without network.apiServerCidrs Redis Enterprise cannot run in a tenant namespace). Nothing here
 * crosses the namespace except those two fixed peers.
 */
function enterprisePolicies(settings: RenderSettings, netpol: (name: string, body: Record<string, unknown>) => KubeObject): KubeObject[] {
  const enterprisePods = { matchLabels: { ...ENTERPRISE_POD_LABELS } };
  const ingress: Record<string, unknown>[] = [{ from: [{ podSelector: {} }] }];
  if (settings.network.monitoringNamespaces.length > 0) {
    ingress.push({ from: [namespacesIn(settings.network.monitoringNamespaces)], ports: tcp(ENTERPRISE_METRICS_PORT) });
  }
  const allow = netpol(ALLOW_ENTERPRISE, { policyTypes: ['Ingress'], ingress });
  (allow['spec'] as Record<string, unknown>)['podSelector'] = enterprisePods;
  const out = [allow];
  if (settings.network.apiServerCidrs.length > 0) {
    // A separate rule set for the operator pod only: the webhook port of no other pod opens to the API server.
    const admission = netpol(ALLOW_ENTERPRISE_ADMISSION, {
      policyTypes: ['Ingress'],
      ingress: [{ from: settings.network.apiServerCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: tcp(ENTERPRISE_ADMISSION_PORT) }],
    });
    (admission['spec'] as Record<string, unknown>)['podSelector'] = { matchLabels: { ...ENTERPRISE_OPERATOR_POD_LABELS } };
    out.push(admission);
  }
  out.push(netpol(ALLOW_ENTERPRISE_CLIENTS, { policyTypes: ['Egress'], egress: [{ to: [{ podSelector: enterprisePods }] }] }));
  return out;
}

/**
 * The rules of the Secrets Role: get/watch on exactly `names` (sorted, unique). No names → no
 * rules: a rule with an empty resourceNames list would grant every Secret of the namespace.
 */
export function secretRules(names: readonly string[]): Record<string, unknown>[] {
  const unique = [...new Set(names.filter((n) => n !== ''))].sort();
  if (unique.length === 0) return [];
  return [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch'], resourceNames: unique }];
}

/** The resourceNames a Secrets Role (rendered or live) grants; undefined when its rules are not of the shape secretRules() renders. */
export function grantedSecretNames(role: KubeObject): string[] | undefined {
  const rules = (role['rules'] ?? []) as unknown;
  if (!Array.isArray(rules)) return undefined;
  if (rules.length === 0) return [];
  if (rules.length !== 1) return undefined;
  const names = (rules[0] as Record<string, unknown>)['resourceNames'];
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string')) return undefined;
  const reshaped = secretRules(names as string[]);
  return canonicalJson(reshaped) === canonicalJson(rules) ? (names as string[]) : undefined;
}

function desiredHash(objects: readonly KubeObject[], namespaceObject: KubeObject): string {
  const hashed = objects.map((o) => (o.kind === 'Role' && o.metadata.name === TENANT_SECRETS ? { ...o, rules: '<the tenant Secrets>' } : o));
  return createHash('sha256').update(canonicalJson({ objects: hashed, namespace: namespaceObject })).digest('hex');
}

export interface BootstrapAnnotation {
  plan: string;
  hash: string;
  time: string;
}

export function bootstrapAnnotation(desired: DesiredState, now: Date): string {
  return JSON.stringify({ plan: desired.plan, hash: desired.hash, time: now.toISOString() } satisfies BootstrapAnnotation);
}

export function parseBootstrapAnnotation(v: string | undefined): BootstrapAnnotation | undefined {
  if (!v) return undefined;
  try {
    const o = JSON.parse(v) as Partial<BootstrapAnnotation>;
    if (typeof o.plan === 'string' && typeof o.hash === 'string') return { plan: o.plan, hash: o.hash, time: String(o.time ?? '') };
  } catch {
    /* foreign or broken value */
  }
  return undefined;
}

/** The objects of `namespace` that Redline stamped: managed-by label AND one of the deterministic names. */
export function selectStamped<T extends KubeObject>(namespace: string, candidates: Iterable<T>): T[] {
  const out: T[] = [];
  for (const o of candidates) {
    if (o.metadata.namespace !== namespace) continue;
    if (o.metadata.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY_REDLINE) continue;
    const k = OWNED_BY_KIND.get(o.kind);
    if (!k || !k.names.includes(o.metadata.name)) continue;
    if (o.apiVersion !== k.apiVersion) continue;
    out.push(o);
  }
  return out;
}
