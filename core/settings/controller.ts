// Settings of `redline controller` (and of `redline render tenant`, which must render what the
// controller applies): the `controller:` section of the config file, REDLINE_CONTROLLER_* env
// variables and flags. This file holds the controller's type, table and cross-field checks
// (the certificate part's are in certs.ts); load.ts does the rest. One table drives defaults,
// parsing, validation, --help and the README.

import { isIP } from 'node:net';
import { CONTROLLER_NAME, REDLINE_NAMESPACE, TENANT_GROUP_PREFIX } from '../vocabulary.js';
import { CERT_SETTINGS, DEFAULT_CERT_SETTINGS, validateCertSettings, type CertSettings } from './certs.js';
import { resolveSettings, type ResolveInput } from './resolve.js';
import { LOG_LEVELS, type CheckContext, type LogLevel, type Parsed, type Setting, type SettingsSpec } from './spec.js';
import { fail, ok, type FieldProblem } from '../result.js';
import { isPlainObject, splitList } from './values.js';

export const OFFBOARDING_MODES = ['delete', 'orphan'] as const;
export type OffboardingMode = (typeof OFFBOARDING_MODES)[number];
export const SUBJECT_KINDS = ['Group', 'User', 'ServiceAccount'] as const;

/** A RoleBinding subject; `{tenant}` and `{namespace}` in name/namespace are replaced. */
export interface SubjectTemplate {
  kind: (typeof SUBJECT_KINDS)[number];
  name: string;
  namespace?: string;
}

export interface ControllerSettings {
  /** The webhook's serving certificate and caBundle (certs.ts). */
  certs: CertSettings;
  kubeconfig: string | null;
  policiesDir: string | null;
  healthPort: number;
  address: string;
  logLevel: LogLevel;
  workers: number;
  resyncMs: number;
  qps: number;
  burst: number;
  retry: { initialMs: number; maxMs: number };
  informerBackoff: { initialMs: number; maxMs: number };
  offboarding: OffboardingMode;
  tenantSubjects: SubjectTemplate[];
  certManager: { enabled: boolean; clusterIssuer: string };
  network: {
    operatorNamespaces: string[];
    monitoringNamespaces: string[];
    dnsNamespace: string;
    dnsPodLabels: Record<string, string>;
    /** The Kubernetes API server's addresses (CIDRs); empty: no egress rule to it. */
    apiServerCidrs: string[];
    apiServerPorts: number[];
  };
  leaderElection: {
    enabled: boolean;
    namespace: string;
    name: string;
    /** null → hostname + pid + random suffix. */
    identity: string | null;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  /** The background audit of tenant namespaces (bootstrap/audit). */
  audit: AuditSettings;
}

export interface AuditSettings {
  enabled: boolean;
  intervalMs: number;
  minWriteIntervalMs: number;
  maxResults: number;
  policyReports: boolean;
}

/** Paths are inside the `controller:` section (messages say `controller.<path>`). */
export const CONTROLLER_SETTINGS: readonly Setting[] = Object.freeze([
  { path: 'kubeconfig', kind: 'path', env: 'REDLINE_CONTROLLER_KUBECONFIG', flag: '--kubeconfig', default: null, doc: 'kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)' },
  { path: 'policiesDir', kind: 'path', env: 'REDLINE_CONTROLLER_POLICIES_DIR', flag: '--policies', default: null, doc: 'policy + plan library (default: the shipped policies/library)' },
  { path: 'healthPort', kind: 'port', env: 'REDLINE_CONTROLLER_HEALTH_PORT', flag: '--health-port', default: 8081, doc: 'plain-HTTP port of /healthz, /readyz, /metrics (0: any free port)' },
  { path: 'address', kind: 'string', env: 'REDLINE_CONTROLLER_ADDRESS', flag: '--address', default: '', doc: 'listen address of the health port (empty: all interfaces)' },
  { path: 'logLevel', kind: 'enum', values: LOG_LEVELS, env: 'REDLINE_CONTROLLER_LOG_LEVEL', flag: '--log-level', default: 'info', doc: `log level: ${LOG_LEVELS.join(', ')}` },
  { path: 'workers', kind: 'int', env: 'REDLINE_CONTROLLER_WORKERS', flag: '--workers', default: 4, min: 1, max: 64, doc: 'namespaces reconciled concurrently' },
  { path: 'resyncMs', kind: 'int', env: 'REDLINE_CONTROLLER_RESYNC_MS', flag: '--resync-ms', default: 300_000, min: 1_000, max: 86_400_000, doc: 'every namespace is reconciled again this often (catches what watches miss)' },
  { path: 'qps', kind: 'number', env: 'REDLINE_CONTROLLER_QPS', flag: '--qps', default: 20, min: 0.1, max: 10_000, doc: 'API calls per second, all calls together (token bucket)' },
  { path: 'burst', kind: 'int', env: 'REDLINE_CONTROLLER_BURST', flag: '--burst', default: 40, min: 1, max: 100_000, doc: 'token bucket size (calls allowed at once after a quiet period)' },
  { path: 'retry.initialMs', kind: 'int', env: 'REDLINE_CONTROLLER_RETRY_INITIAL_MS', default: 200, min: 1, max: 600_000, doc: 'first retry delay of a failed namespace (doubles per failure, jittered)' },
  { path: 'retry.maxMs', kind: 'int', env: 'REDLINE_CONTROLLER_RETRY_MAX_MS', default: 30_000, min: 1, max: 3_600_000, doc: 'largest retry delay of a failed namespace' },
  { path: 'informerBackoff.initialMs', kind: 'int', env: 'REDLINE_CONTROLLER_INFORMER_BACKOFF_INITIAL_MS', default: 500, min: 1, max: 600_000, doc: 'first restart delay of a failed list/watch (doubles, jittered)' },
  { path: 'informerBackoff.maxMs', kind: 'int', env: 'REDLINE_CONTROLLER_INFORMER_BACKOFF_MAX_MS', default: 30_000, min: 1, max: 3_600_000, doc: 'largest restart delay of a failed list/watch' },
  { path: 'offboarding', kind: 'enum', values: OFFBOARDING_MODES, env: 'REDLINE_CONTROLLER_OFFBOARDING', flag: '--offboarding', default: 'delete', doc: 'when the tenant label goes: delete the stamped objects, or orphan them (only Redline\'s labels/annotation removed)' },
  { path: 'tenantSubjects', kind: 'custom', parse: parseSubjects, env: 'REDLINE_CONTROLLER_TENANT_SUBJECTS', default: [{ kind: 'Group', name: `${TENANT_GROUP_PREFIX}{tenant}` }], doc: 'subjects of the redline-tenant RoleBinding; {tenant} and {namespace} are replaced (env: JSON list)' },
  { path: 'certManager.enabled', kind: 'bool', env: 'REDLINE_CONTROLLER_CERT_MANAGER', flag: '--cert-manager', default: true, doc: 'stamp the tenant CA Certificate and the redline-redis-ca Issuer (needs cert-manager)' },
  { path: 'certManager.clusterIssuer', kind: 'name', env: 'REDLINE_CONTROLLER_CLUSTER_ISSUER', flag: '--cluster-issuer', default: 'redline-platform-ca', doc: 'platform ClusterIssuer that signs each tenant CA' },
  { path: 'network.operatorNamespaces', kind: 'namespaces', env: 'REDLINE_CONTROLLER_OPERATOR_NAMESPACES', default: ['kubedb'], doc: 'namespaces of the Redis operators (ingress to Redis ports allowed from them; empty: no such policy)' },
  { path: 'network.monitoringNamespaces', kind: 'namespaces', env: 'REDLINE_CONTROLLER_MONITORING_NAMESPACES', default: ['monitoring'], doc: 'namespaces of the metrics scrapers (ingress to Redis + exporter 9121; empty: no such policy)' },
  { path: 'network.dnsNamespace', kind: 'name', env: 'REDLINE_CONTROLLER_DNS_NAMESPACE', default: 'kube-system', doc: 'namespace of the cluster DNS' },
  { path: 'network.dnsPodLabels', kind: 'labels', env: 'REDLINE_CONTROLLER_DNS_POD_LABELS', default: { 'k8s-app': 'kube-dns' }, doc: 'labels of the cluster DNS pods (env: k=v,k=v)' },
  { path: 'network.apiServerCidrs', kind: 'custom', parse: parseCidrs, env: 'REDLINE_CONTROLLER_API_SERVER_CIDRS', default: [], doc: 'addresses of the Kubernetes API server as seen from pods (kubectl get endpoints kubernetes -n default; add the kubernetes Service IP if your CNI filters before DNAT): egress to them is allowed, and ingress from them to the admission webhook of the Redis Enterprise operator (8443) where a plan allows a REC (empty: no such policies; Redis Enterprise then cannot run in tenant namespaces)' },
  { path: 'network.apiServerPorts', kind: 'custom', parse: parsePorts, env: 'REDLINE_CONTROLLER_API_SERVER_PORTS', default: [443, 6443], doc: 'TCP ports of the API server for that egress rule' },
  { path: 'leaderElection.enabled', kind: 'bool', env: 'REDLINE_CONTROLLER_LEADER_ELECT', flag: '--leader-elect', default: true, doc: 'elect one writing replica through a Lease (off: this process always writes)' },
  { path: 'leaderElection.namespace', kind: 'name', env: 'REDLINE_CONTROLLER_LEASE_NAMESPACE', flag: '--lease-namespace', default: REDLINE_NAMESPACE, doc: 'namespace of the Lease (the controller\'s own)' },
  { path: 'leaderElection.name', kind: 'name', env: 'REDLINE_CONTROLLER_LEASE_NAME', flag: '--lease-name', default: CONTROLLER_NAME, doc: 'name of the Lease' },
  { path: 'leaderElection.identity', kind: 'string', env: 'REDLINE_CONTROLLER_IDENTITY', flag: '--identity', default: null, doc: 'holder identity (default: hostname_pid_random; use the pod name)' },
  { path: 'leaderElection.leaseDurationMs', kind: 'int', env: 'REDLINE_CONTROLLER_LEASE_DURATION_MS', default: 15_000, min: 1_000, max: 600_000, doc: 'a standby takes over after seeing the Lease unchanged this long' },
  { path: 'leaderElection.renewDeadlineMs', kind: 'int', env: 'REDLINE_CONTROLLER_RENEW_DEADLINE_MS', default: 10_000, min: 500, max: 600_000, doc: 'the leader stops writing when it could not renew for this long (< leaseDurationMs)' },
  { path: 'leaderElection.retryPeriodMs', kind: 'int', env: 'REDLINE_CONTROLLER_RETRY_PERIOD_MS', default: 2_000, min: 100, max: 600_000, doc: 'pause between lease attempts/renewals (< renewDeadlineMs)' },
  { path: 'audit.enabled', kind: 'bool', env: 'REDLINE_CONTROLLER_AUDIT', flag: '--audit', default: true, doc: 'the leader re-judges every Redis object of every tenant namespace and writes a Report redline-audit per namespace' },
  { path: 'audit.intervalMs', kind: 'int', env: 'REDLINE_CONTROLLER_AUDIT_INTERVAL_MS', default: 600_000, min: 1_000, max: 86_400_000, doc: 'every tenant namespace is audited again this often (besides at start, on a library or plan change, and when its objects or plan change)' },
  { path: 'audit.minWriteIntervalMs', kind: 'int', env: 'REDLINE_CONTROLLER_AUDIT_MIN_WRITE_INTERVAL_MS', default: 10_000, min: 100, max: 86_400_000, doc: 'at most one report write per namespace this often (changes in between are coalesced); at most audit.intervalMs' },
  { path: 'audit.maxResults', kind: 'int', env: 'REDLINE_CONTROLLER_AUDIT_MAX_RESULTS', default: 100, min: 1, max: 1_000, doc: 'results kept per report, the worst first (the summary still counts all)' },
  { path: 'audit.policyReports', kind: 'bool', env: 'REDLINE_CONTROLLER_AUDIT_POLICY_REPORTS', default: false, doc: 'also write the same as a wgpolicyk8s.io/v1alpha2 PolicyReport (for Policy Reporter and older tools)' },
  ...CERT_SETTINGS,
] satisfies Setting[]);

export const CONTROLLER_SPEC: SettingsSpec = { section: 'controller', table: CONTROLLER_SETTINGS, check: crossChecks, otherSections: 'ignore' };

/** tenantSubjects: a list of {kind, name[, namespace]} (env: JSON). */
function parseSubjects(v: unknown, raw: boolean): Parsed {
  const bad = (expected: string): Parsed => fail(expected);
  let list: unknown = v;
  if (typeof v === 'string' && raw) {
    try {
      list = JSON.parse(v);
    } catch {
      return bad('must be a JSON list of {kind, name[, namespace]}');
    }
  }
  if (!Array.isArray(list) || list.length === 0) return bad('must be a non-empty list of {kind, name[, namespace]}');
  const out: SubjectTemplate[] = [];
  for (const [i, x] of list.entries()) {
    if (!isPlainObject(x)) return bad(`[${i}] must be a mapping`);
    const unknown = Object.keys(x).filter((k) => !['kind', 'name', 'namespace'].includes(k));
    if (unknown.length) return bad(`[${i}] has unknown field ${unknown.join(', ')}`);
    if (typeof x['kind'] !== 'string' || !(SUBJECT_KINDS as readonly string[]).includes(x['kind'])) return bad(`[${i}].kind must be one of ${SUBJECT_KINDS.join(', ')}`);
    if (typeof x['name'] !== 'string' || x['name'].trim() === '') return bad(`[${i}].name must be a non-empty string`);
    const kind = x['kind'] as SubjectTemplate['kind'];
    if (kind === 'ServiceAccount' && (typeof x['namespace'] !== 'string' || x['namespace'] === '')) return bad(`[${i}].namespace is required for a ServiceAccount (may be "{namespace}")`);
    if (kind !== 'ServiceAccount' && x['namespace'] !== undefined) return bad(`[${i}].namespace is only for ServiceAccount subjects`);
    out.push({ kind, name: x['name'], ...(kind === 'ServiceAccount' ? { namespace: x['namespace'] as string } : {}) });
  }
  return ok(out);
}

/** A list (comma-separated text from the environment) of IPv4/IPv6 CIDRs; a bare address is one host (/32, /128). */
function parseCidrs(v: unknown, raw: boolean): Parsed {
  const items: unknown = typeof v === 'string' && raw ? splitList(v) : v;
  if (!Array.isArray(items)) return fail('must be a list of CIDRs (e.g. 10.0.0.10/32)');
  const out: string[] = [];
  for (const [i, x] of items.entries()) {
    const cidr = typeof x === 'string' ? normaliseCidr(x.trim()) : null;
    if (!cidr) return fail(`[${i}] ${JSON.stringify(x)} is not an IPv4 or IPv6 CIDR (e.g. 10.0.0.10/32, fd00::1/128)`);
    out.push(cidr);
  }
  return ok([...new Set(out)]);
}

function normaliseCidr(text: string): string | null {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return null;
  const max = family === 4 ? 32 : 128;
  if (slash < 0) return `${address}/${max}`;
  const prefix = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return null;
  return `${address}/${Number(prefix)}`;
}

/** A non-empty list (comma-separated text from the environment) of TCP ports 1-65535. */
function parsePorts(v: unknown, raw: boolean): Parsed {
  const items: unknown = typeof v === 'string' && raw ? splitList(v) : v;
  const bad: Parsed = fail('must be a non-empty list of ports 1-65535');
  if (!Array.isArray(items) || items.length === 0) return bad;
  const out: number[] = [];
  for (const x of items) {
    const n = typeof x === 'number' ? x : typeof x === 'string' && /^\d+$/.test(x.trim()) ? Number(x) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 65535) return bad;
    out.push(n);
  }
  return ok([...new Set(out)].sort((a, b) => a - b));
}

/** retry < renew < lease; every backoff's initial delay ≤ its maximum. */
function crossChecks(c: CheckContext): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const compare = (a: string, b: string, bad: (x: number, y: number) => boolean, message: (x: number, y: number) => string): void => {
    const [x, y] = [c.get(a), c.get(b)];
    if (typeof x === 'number' && typeof y === 'number' && bad(x, y)) problems.push({ path: `controller.${a}`, message: `${message(x, y)} (${c.origin(a)})` });
  };
  const lt = (a: string, b: string, why: string): void => compare(a, b, (x, y) => !(x < y), (x, y) => `must be less than ${b} (${y}): ${why}; got ${x}`);
  const le = (a: string, b: string): void => compare(a, b, (x, y) => x > y, (x, y) => `must not exceed ${b} (${y}); got ${x}`);
  lt('leaderElection.renewDeadlineMs', 'leaderElection.leaseDurationMs', 'a leader must stop writing before a standby may take over');
  lt('leaderElection.retryPeriodMs', 'leaderElection.renewDeadlineMs', 'the leader must get several renewal attempts per deadline');
  le('retry.initialMs', 'retry.maxMs');
  le('informerBackoff.initialMs', 'informerBackoff.maxMs');
  le('audit.minWriteIntervalMs', 'audit.intervalMs');
  if (c.clean) {
    const certs = Object.fromEntries(Object.keys(DEFAULT_CERT_SETTINGS).map((k) => [k, c.get(`certs.${k}`)])) as unknown as CertSettings;
    for (const p of validateCertSettings(certs, { complete: true })) problems.push({ ...p, path: `controller.certs.${p.path}` });
  }
  return problems;
}

/**
 * Pure: merges defaults → file → env → flags and validates (load.ts's loadSettings does the same
 * from argv and a file). Returns the settings (deep-frozen), or every problem with its path
 * (`controller.<path>`).
 */
export function resolveControllerSettings(input: ResolveInput): { settings: ControllerSettings | null; problems: FieldProblem[] } {
  const { settings, problems } = resolveSettings<ControllerSettings>(CONTROLLER_SPEC, input);
  return { settings: settings as ControllerSettings | null, problems };
}

/** Pure validation of a `controller:` section alone (defaults for what it omits). */
export function validateControllerSettings(section: unknown): { settings: ControllerSettings | null; problems: FieldProblem[] } {
  return resolveControllerSettings({ file: section, fileName: 'config', cwd: '/' });
}

export function defaultControllerSettings(): ControllerSettings {
  return resolveControllerSettings({}).settings!;
}
