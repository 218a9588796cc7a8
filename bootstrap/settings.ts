// Settings of `redline controller` (and of `redline render tenant`, which must render what the
// controller applies): the `controller:` section of the config file, REDLINE_CONTROLLER_* env
// variables and flags. Order: defaults → file → env → flags. One table drives defaults, parsing,
// validation, --help and the README. Validation is pure and reports every bad field with its path.

import path from 'node:path';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
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
}

type Kind = 'port' | 'int' | 'number' | 'bool' | 'string' | 'name' | 'path' | 'list' | 'enum' | 'subjects' | 'labels';

export interface ControllerSetting {
  /** Dotted path under `controller.`. */
  path: string;
  kind: Kind;
  env?: string;
  flag?: string;
  default: unknown;
  min?: number;
  max?: number;
  values?: readonly string[];
  /** Only for `name`: may be empty. */
  optional?: boolean;
  doc: string;
}

export const CONTROLLER_SETTINGS: readonly ControllerSetting[] = Object.freeze([
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
  { path: 'tenantSubjects', kind: 'subjects', env: 'REDLINE_CONTROLLER_TENANT_SUBJECTS', default: [{ kind: 'Group', name: 'redline:tenant:{tenant}' }], doc: 'subjects of the redline-tenant RoleBinding; {tenant} and {namespace} are replaced (env: JSON list)' },
  { path: 'certManager.enabled', kind: 'bool', env: 'REDLINE_CONTROLLER_CERT_MANAGER', flag: '--cert-manager', default: true, doc: 'stamp the tenant CA Certificate and the redline-redis-ca Issuer (needs cert-manager)' },
  { path: 'certManager.clusterIssuer', kind: 'name', env: 'REDLINE_CONTROLLER_CLUSTER_ISSUER', flag: '--cluster-issuer', default: 'redline-platform-ca', doc: 'platform ClusterIssuer that signs each tenant CA' },
  { path: 'network.operatorNamespaces', kind: 'list', env: 'REDLINE_CONTROLLER_OPERATOR_NAMESPACES', default: ['kubedb'], doc: 'namespaces of the Redis operators (ingress to Redis ports allowed from them; empty: no such policy)' },
  { path: 'network.monitoringNamespaces', kind: 'list', env: 'REDLINE_CONTROLLER_MONITORING_NAMESPACES', default: ['monitoring'], doc: 'namespaces of the metrics scrapers (ingress to Redis + exporter 9121; empty: no such policy)' },
  { path: 'network.dnsNamespace', kind: 'name', env: 'REDLINE_CONTROLLER_DNS_NAMESPACE', default: 'kube-system', doc: 'namespace of the cluster DNS' },
  { path: 'network.dnsPodLabels', kind: 'labels', env: 'REDLINE_CONTROLLER_DNS_POD_LABELS', default: { 'k8s-app': 'kube-dns' }, doc: 'labels of the cluster DNS pods (env: k=v,k=v)' },
  { path: 'leaderElection.enabled', kind: 'bool', env: 'REDLINE_CONTROLLER_LEADER_ELECT', flag: '--leader-elect', default: true, doc: 'elect one writing replica through a Lease (off: this process always writes)' },
  { path: 'leaderElection.namespace', kind: 'name', env: 'REDLINE_CONTROLLER_LEASE_NAMESPACE', flag: '--lease-namespace', default: 'redline-system', doc: 'namespace of the Lease (the controller\'s own)' },
  { path: 'leaderElection.name', kind: 'name', env: 'REDLINE_CONTROLLER_LEASE_NAME', flag: '--lease-name', default: 'redline-controller', doc: 'name of the Lease' },
  { path: 'leaderElection.identity', kind: 'string', env: 'REDLINE_CONTROLLER_IDENTITY', flag: '--identity', default: null, doc: 'holder identity (default: hostname_pid_random; use the pod name)' },
  { path: 'leaderElection.leaseDurationMs', kind: 'int', env: 'REDLINE_CONTROLLER_LEASE_DURATION_MS', default: 15_000, min: 1_000, max: 600_000, doc: 'a standby takes over after seeing the Lease unchanged this long' },
  { path: 'leaderElection.renewDeadlineMs', kind: 'int', env: 'REDLINE_CONTROLLER_RENEW_DEADLINE_MS', default: 10_000, min: 500, max: 600_000, doc: 'the leader stops writing when it could not renew for this long (< leaseDurationMs)' },
  { path: 'leaderElection.retryPeriodMs', kind: 'int', env: 'REDLINE_CONTROLLER_RETRY_PERIOD_MS', default: 2_000, min: 100, max: 600_000, doc: 'pause between lease attempts/renewals (< renewDeadlineMs)' },
] satisfies ControllerSetting[]);

const BY_PATH = new Map(CONTROLLER_SETTINGS.map((s) => [s.path, s]));
const BY_FLAG = new Map(CONTROLLER_SETTINGS.filter((s) => s.flag).map((s) => [s.flag!, s]));

export interface SettingProblem {
  /** Full dotted path, e.g. controller.leaderElection.renewDeadlineMs. */
  path: string;
  message: string;
}

export function formatProblems(problems: readonly SettingProblem[]): string {
  return problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n');
}

export class ControllerSettingsError extends Error {
  override readonly name = 'ControllerSettingsError';
  constructor(readonly problems: readonly SettingProblem[]) {
    super(`invalid controller configuration:\n${formatProblems(problems)}`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 59)}…` : v);
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(|[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;

interface Source {
  value: unknown;
  /** Raw text (env/flag): numbers, booleans and lists are parsed from it. */
  raw: boolean;
  /** Directory relative paths resolve against. */
  base: string;
  origin: string;
}

type Converted = { ok: true; value: unknown } | { ok: false; message: string };

function convert(s: ControllerSetting, src: Source): Converted {
  const v = src.value;
  const bad = (what: string): Converted => ({ ok: false, message: `${what}, got ${describe(v)} (${src.origin})` });
  if (v === null || v === undefined) return s.default === null ? { ok: true, value: null } : bad('must be set');
  switch (s.kind) {
    case 'port':
    case 'int':
    case 'number': {
      const lo = s.kind === 'port' ? 0 : (s.min ?? 0);
      const hi = s.kind === 'port' ? 65535 : (s.max ?? Number.MAX_SAFE_INTEGER);
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
      const intOk = s.kind === 'number' || Number.isInteger(n);
      if (!Number.isFinite(n) || !intOk || n < lo || n > hi) return bad(`must be ${s.kind === 'number' ? 'a number' : 'an integer'} ${lo}-${hi}`);
      return { ok: true, value: n };
    }
    case 'bool': {
      if (typeof v === 'boolean') return { ok: true, value: v };
      if (typeof v === 'string') {
        const t = v.trim().toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(t)) return { ok: true, value: true };
        if (['false', '0', 'no', 'off'].includes(t)) return { ok: true, value: false };
      }
      return bad('must be true or false');
    }
    case 'string':
      return typeof v === 'string' ? { ok: true, value: v.trim() === '' && s.default === null ? null : v.trim() } : bad('must be a string');
    case 'name':
      if (typeof v !== 'string' || !(DNS_LABEL.test(v) || (s.optional && v === '')) || v.length > 63) return bad('must be a DNS label (lower-case letters, digits, "-", at most 63)');
      return { ok: true, value: v };
    case 'path':
      if (typeof v !== 'string' || v.trim() === '') return bad('must be a file or directory path');
      return { ok: true, value: path.resolve(src.base, v.trim()) };
    case 'enum':
      if (typeof v !== 'string' || !s.values!.includes(v.trim().toLowerCase())) return bad(`must be one of ${s.values!.join(', ')}`);
      return { ok: true, value: v.trim().toLowerCase() };
    case 'list': {
      const items = typeof v === 'string' && src.raw ? v.split(',').map((x) => x.trim()).filter(Boolean) : v;
      if (!Array.isArray(items) || items.some((x) => typeof x !== 'string' || !DNS_LABEL.test(x))) return bad('must be a list of namespace names');
      return { ok: true, value: [...new Set(items as string[])] };
    }
    case 'labels': {
      let m: unknown = v;
      if (typeof v === 'string' && src.raw) {
        const out: Record<string, string> = {};
        for (const pair of v.split(',').map((x) => x.trim()).filter(Boolean)) {
          const eq = pair.indexOf('=');
          if (eq <= 0) return bad('must be k=v pairs separated by commas');
          out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
        }
        m = out;
      }
      if (!isPlainObject(m) || Object.keys(m).length === 0) return bad('must be a non-empty mapping of label keys to values');
      for (const [k, lv] of Object.entries(m)) {
        if (!LABEL_KEY.test(k) || typeof lv !== 'string' || !LABEL_VALUE.test(lv) || lv.length > 63) return bad(`label ${k}=${describe(lv)} is not a valid label`);
      }
      return { ok: true, value: { ...m } };
    }
    case 'subjects': {
      let list: unknown = v;
      if (typeof v === 'string' && src.raw) {
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
      return { ok: true, value: out };
    }
  }
}

export interface ResolveInput {
  /** The `controller:` section of the config file (already parsed), or undefined. */
  file?: unknown;
  /** Name of the file (for messages) and the directory relative paths resolve against. */
  fileName?: string;
  fileDir?: string;
  env?: Record<string, string | undefined>;
  /** Flag values by setting path (as given on the command line). */
  flags?: ReadonlyMap<string, { value: string; flag: string }>;
  cwd?: string;
}

/**
 * Pure: merges defaults → file → env → flags and validates. Returns the settings, or every
 * problem with its path (`controller.<path>`).
 */
export function resolveControllerSettings(input: ResolveInput): { settings: ControllerSettings | null; problems: SettingProblem[] } {
  const cwd = input.cwd ?? process.cwd();
  const problems: SettingProblem[] = [];
  const sources = new Map<string, Source>();
  for (const s of CONTROLLER_SETTINGS) sources.set(s.path, { value: s.default, raw: false, base: cwd, origin: 'default' });

  if (input.file !== undefined && input.file !== null) {
    const origin = `from file ${input.fileName ?? 'config'}`;
    const base = input.fileDir ?? cwd;
    const walk = (node: unknown, prefix: string): void => {
      if (!isPlainObject(node)) {
        problems.push({ path: prefix ? `controller.${prefix}` : 'controller', message: `must be a mapping, got ${describe(node)} (${origin})` });
        return;
      }
      for (const [k, v] of Object.entries(node)) {
        const p = prefix ? `${prefix}.${k}` : k;
        if (BY_PATH.has(p)) sources.set(p, { value: v, raw: false, base, origin });
        else if (CONTROLLER_SETTINGS.some((s) => s.path.startsWith(`${p}.`))) walk(v, p);
        else {
          const siblings = [...new Set(CONTROLLER_SETTINGS.filter((s) => s.path.startsWith(prefix ? `${prefix}.` : '')).map((s) => s.path.slice(prefix ? prefix.length + 1 : 0).split('.')[0]!))];
          const close = siblings.filter((n) => n.toLowerCase() === k.toLowerCase() || n.toLowerCase().startsWith(k.toLowerCase().slice(0, 4)));
          problems.push({ path: `controller.${p}`, message: `unknown field (${origin})${close.length ? `; did you mean ${close.join(' or ')}?` : ''}` });
        }
      }
    };
    walk(input.file, '');
  }
  for (const s of CONTROLLER_SETTINGS) {
    const v = s.env ? input.env?.[s.env] : undefined;
    if (v !== undefined) sources.set(s.path, { value: v, raw: true, base: cwd, origin: `from env ${s.env}` });
  }
  for (const [p, f] of input.flags ?? []) sources.set(p, { value: f.value, raw: true, base: cwd, origin: `from flag ${f.flag}` });

  const values = new Map<string, unknown>();
  for (const s of CONTROLLER_SETTINGS) {
    const r = convert(s, sources.get(s.path)!);
    if (r.ok) values.set(s.path, r.value);
    else problems.push({ path: `controller.${s.path}`, message: r.message });
  }
  const origin = (p: string): string => sources.get(p)?.origin ?? 'default';
  const num = (p: string): number | undefined => (typeof values.get(p) === 'number' ? (values.get(p) as number) : undefined);
  const lt = (a: string, b: string, why: string): void => {
    const x = num(a);
    const y = num(b);
    if (x !== undefined && y !== undefined && !(x < y)) problems.push({ path: `controller.${a}`, message: `must be less than ${b} (${y}): ${why}; got ${x} (${origin(a)})` });
  };
  lt('leaderElection.renewDeadlineMs', 'leaderElection.leaseDurationMs', 'a leader must stop writing before a standby may take over');
  lt('leaderElection.retryPeriodMs', 'leaderElection.renewDeadlineMs', 'the leader must get several renewal attempts per deadline');
  const le = (a: string, b: string): void => {
    const x = num(a);
    const y = num(b);
    if (x !== undefined && y !== undefined && x > y) problems.push({ path: `controller.${a}`, message: `must not exceed ${b} (${y}); got ${x} (${origin(a)})` });
  };
  le('retry.initialMs', 'retry.maxMs');
  le('informerBackoff.initialMs', 'informerBackoff.maxMs');

  if (problems.length) return { settings: null, problems };
  const g = <T>(p: string): T => values.get(p) as T;
  const settings: ControllerSettings = {
    kubeconfig: g('kubeconfig'),
    policiesDir: g('policiesDir'),
    healthPort: g('healthPort'),
    address: g('address'),
    logLevel: g('logLevel'),
    workers: g('workers'),
    resyncMs: g('resyncMs'),
    qps: g('qps'),
    burst: g('burst'),
    retry: { initialMs: g('retry.initialMs'), maxMs: g('retry.maxMs') },
    informerBackoff: { initialMs: g('informerBackoff.initialMs'), maxMs: g('informerBackoff.maxMs') },
    offboarding: g('offboarding'),
    tenantSubjects: g('tenantSubjects'),
    certManager: { enabled: g('certManager.enabled'), clusterIssuer: g('certManager.clusterIssuer') },
    network: {
      operatorNamespaces: g('network.operatorNamespaces'),
      monitoringNamespaces: g('network.monitoringNamespaces'),
      dnsNamespace: g('network.dnsNamespace'),
      dnsPodLabels: g('network.dnsPodLabels'),
    },
    leaderElection: {
      enabled: g('leaderElection.enabled'),
      namespace: g('leaderElection.namespace'),
      name: g('leaderElection.name'),
      identity: g('leaderElection.identity'),
      leaseDurationMs: g('leaderElection.leaseDurationMs'),
      renewDeadlineMs: g('leaderElection.renewDeadlineMs'),
      retryPeriodMs: g('leaderElection.retryPeriodMs'),
    },
  };
  return { settings: deepFreeze(settings), problems: [] };
}

/** Pure validation of a `controller:` section alone (defaults for what it omits). */
export function validateControllerSettings(section: unknown): { settings: ControllerSettings | null; problems: SettingProblem[] } {
  return resolveControllerSettings({ file: section, fileName: 'config', cwd: '/' });
}

export function defaultControllerSettings(): ControllerSettings {
  return resolveControllerSettings({}).settings!;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

/** Flags of the controller settings (for CLI parsing); bool flags take no value (--no-x negates). */
export function controllerSettingByFlag(flag: string): ControllerSetting | undefined {
  return BY_FLAG.get(flag);
}

/** Lines for --help and the README. */
export function describeControllerSettings(): string[] {
  const lines: string[] = [];
  for (const s of CONTROLLER_SETTINGS) {
    const flag = s.flag ? `${s.flag}${s.kind === 'bool' ? '' : ' VALUE'}` : '(file/env only)';
    lines.push(`  ${flag}`);
    lines.push(`      controller.${s.path}${s.env ? `, env ${s.env}` : ''}; default ${JSON.stringify(s.default)}`);
    lines.push(`      ${s.doc}`);
  }
  return lines;
}
