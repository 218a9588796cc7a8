// Settings of `redline serve`: the `serve:` section of the config file, REDLINE_* env variables and
// flags. This file holds serve's type, table and cross-field checks; load.ts does the rest. One
// table (SERVE_SETTINGS) drives parsing, validation, `--help` and the README's settings list.

import { CONTROLLER_SERVICE_ACCOUNT, SERVICE_ACCOUNT_PREFIX } from '../vocabulary.js';
import type { CheckContext, LogLevel, Parsed, Setting, SettingsSpec } from './spec.js';
import { fail, ok, type FieldProblem } from '../result.js';
import { LOG_LEVELS } from './spec.js';

export const MIB = 1024 * 1024;
/** The API server sends at most ~3 MiB; the limit must sit above it. */
export const API_SERVER_MAX_BODY = 3 * MIB;

export interface ServeSettings {
  port: number;
  healthPort: number;
  /** Listen address; '' = all interfaces. */
  address: string;
  dev: boolean;
  devCertDir: string;
  tls: {
    certFile: string | null;
    keyFile: string | null;
    caFile: string | null;
    /** A mounted kubernetes.io/tls Secret: tls.crt + tls.key (+ ca.crt). */
    secretDir: string | null;
  };
  /** null → the shipped library. */
  policiesDir: string | null;
  namespacesFile: string | null;
  kubeconfig: string | null;
  bodyLimitBytes: number;
  requestTimeBudgetMs: number;
  requestTimeoutMs: number;
  shutdownGraceMs: number;
  admins: { users: string[]; groups: string[]; serviceAccounts: string[] };
  controllerServiceAccount: string;
  logLevel: LogLevel;
  certReloadIntervalMs: number;
  policyReloadIntervalMs: number;
  namespaceResyncMs: number;
  /** The tenant ledger: where its records live and how long a reservation waits for its object. */
  ledger: { enabled: boolean; namespace: string; reservationTtlMs: number };
}


function parseServiceAccount(v: unknown): Parsed {
  if (typeof v !== 'string') return fail('must be a service account');
  const t = v.trim();
  if (t === '' || /^system:serviceaccount:[a-z0-9-]+:[a-z0-9.-]+$/.test(t)) return ok(t);
  const m = /^([a-z0-9-]+)[/:]([a-z0-9.-]+)$/.exec(t);
  if (m) return ok(`${SERVICE_ACCOUNT_PREFIX}${m[1]}:${m[2]}`);
  return fail('must be namespace/name or system:serviceaccount:<namespace>:<name>');
}

/** Paths are inside the `serve:` section (messages say `serve.<path>`). */
export const SERVE_SETTINGS: readonly Setting[] = Object.freeze([
  { path: 'port', kind: 'port', env: 'REDLINE_PORT', flag: '--port', default: 8443, doc: 'HTTPS port of the admission endpoints (0: any free port)' },
  { path: 'healthPort', kind: 'port', env: 'REDLINE_HEALTH_PORT', flag: '--health-port', default: 8080, doc: 'plain-HTTP port of /healthz, /readyz, /metrics' },
  { path: 'address', kind: 'string', env: 'REDLINE_ADDRESS', flag: '--address', default: '', doc: 'listen address of both ports (empty: all interfaces)' },
  { path: 'dev', kind: 'bool', env: 'REDLINE_DEV', flag: '--dev', default: false, doc: 'development mode: generate a local CA + serving certificate in serve.devCertDir' },
  { path: 'devCertDir', kind: 'path', env: 'REDLINE_DEV_CERT_DIR', flag: '--dev-cert-dir', default: '.redline/dev', doc: 'where --dev keeps its CA and certificate' },
  { path: 'tls.certFile', kind: 'path', env: 'REDLINE_TLS_CERT_FILE', flag: '--tls-cert-file', default: null, doc: 'serving certificate (PEM, leaf first); hot-reloaded' },
  { path: 'tls.keyFile', kind: 'path', env: 'REDLINE_TLS_KEY_FILE', flag: '--tls-key-file', default: null, doc: 'serving private key (PEM); hot-reloaded' },
  { path: 'tls.caFile', kind: 'path', env: 'REDLINE_TLS_CA_FILE', flag: '--tls-ca-file', default: null, doc: 'CA of the serving certificate (informational: logged for clients)' },
  { path: 'tls.secretDir', kind: 'path', env: 'REDLINE_TLS_SECRET_DIR', flag: '--tls-secret-dir', default: null, doc: 'mounted TLS Secret directory (tls.crt, tls.key, ca.crt); instead of certFile/keyFile' },
  { path: 'policiesDir', kind: 'path', env: 'REDLINE_POLICIES_DIR', flag: '--policies', default: null, doc: 'policy + plan library directory (default: the shipped policies/library)' },
  { path: 'namespacesFile', kind: 'path', env: 'REDLINE_NAMESPACES_FILE', flag: '--namespaces', default: null, doc: 'multi-document YAML of Namespaces to use instead of a cluster (StorageClasses and PodDisruptionBudgets in it are used too)' },
  { path: 'kubeconfig', kind: 'path', env: 'REDLINE_KUBECONFIG', flag: '--kubeconfig', default: null, doc: 'kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)' },
  { path: 'bodyLimitBytes', kind: 'bytes', env: 'REDLINE_BODY_LIMIT_BYTES', flag: '--body-limit-bytes', default: 6 * MIB, min: API_SERVER_MAX_BODY + 1, max: 64 * MIB, doc: 'largest accepted request body; must be > 3 MiB (accepts 6Mi, 8MiB)' },
  { path: 'requestTimeBudgetMs', kind: 'int', env: 'REDLINE_REQUEST_TIME_BUDGET_MS', flag: '--request-time-budget-ms', default: 250, min: 1, max: 30_000, doc: 'time budget of policy evaluation per request' },
  { path: 'requestTimeoutMs', kind: 'int', env: 'REDLINE_REQUEST_TIMEOUT_MS', flag: '--request-timeout-ms', default: 10_000, min: 100, max: 120_000, doc: 'a request (headers + body) must arrive within this, else 408 and the socket is closed' },
  { path: 'shutdownGraceMs', kind: 'int', env: 'REDLINE_SHUTDOWN_GRACE_MS', flag: '--shutdown-grace-ms', default: 25_000, min: 0, max: 600_000, doc: 'on SIGTERM/SIGINT, wait this long for in-flight requests, then exit 1' },
  { path: 'admins.users', kind: 'list', env: 'REDLINE_ADMIN_USERS', flag: '--admin-user', default: [], doc: 'users who may change redline.dev/* labels of namespaces and pod-security labels of tenant namespaces, and write service-account-token Secrets there (comma-separated or repeated)' },
  { path: 'admins.groups', kind: 'list', env: 'REDLINE_ADMIN_GROUPS', flag: '--admin-group', default: ['system:masters'], doc: 'groups with the same right' },
  { path: 'admins.serviceAccounts', kind: 'list', env: 'REDLINE_ADMIN_SERVICE_ACCOUNTS', flag: '--admin-service-account', default: [], doc: 'service accounts with the same right (namespace/name or system:serviceaccount:ns:name)' },
  { path: 'controllerServiceAccount', kind: 'custom', parse: parseServiceAccount, env: 'REDLINE_CONTROLLER_SERVICE_ACCOUNT', flag: '--controller-service-account', default: CONTROLLER_SERVICE_ACCOUNT, doc: "the Redline controller's service account, always allowed to stamp labels" },
  { path: 'logLevel', kind: 'enum', values: LOG_LEVELS, env: 'REDLINE_LOG_LEVEL', flag: '--log-level', default: 'info', doc: `log level: ${LOG_LEVELS.join(', ')}` },
  { path: 'certReloadIntervalMs', kind: 'int', env: 'REDLINE_CERT_RELOAD_INTERVAL_MS', default: 10_000, min: 100, max: 3_600_000, doc: 'periodic check of the certificate files (besides fs.watch)' },
  { path: 'policyReloadIntervalMs', kind: 'int', env: 'REDLINE_POLICY_RELOAD_INTERVAL_MS', default: 10_000, min: 100, max: 3_600_000, doc: 'periodic check of the policy directory (besides fs.watch)' },
  { path: 'namespaceResyncMs', kind: 'int', env: 'REDLINE_NAMESPACE_RESYNC_MS', default: 600_000, min: 0, max: 86_400_000, doc: 'full relist period of the Namespace, StorageClass and PodDisruptionBudget informers (0: never)' },
  { path: 'ledger.enabled', kind: 'bool', env: 'REDLINE_LEDGER', flag: '--ledger', default: true, doc: "enforce plans' tenantTotals across a tenant's namespaces (with a cluster only; reservations in ledger.namespace)" },
  { path: 'ledger.namespace', kind: 'string', env: 'REDLINE_LEDGER_NAMESPACE', flag: '--ledger-namespace', default: 'redline-ledger', doc: 'namespace of the ledger records (ConfigMaps redline-ledger-<tenant>); serve may write ConfigMaps there and nowhere else' },
  { path: 'ledger.reservationTtlMs', kind: 'int', env: 'REDLINE_LEDGER_RESERVATION_TTL_MS', flag: '--ledger-reservation-ttl-ms', default: 60_000, min: 1_000, max: 600_000, doc: "how long a reservation counts while its object is not seen in the cluster (a request denied later in the chain, or timed out)" },
] satisfies Setting[]);

export const SERVE_SPEC: SettingsSpec = { section: 'serve', table: SERVE_SETTINGS, check: crossChecks };

function crossChecks(c: CheckContext): FieldProblem[] {
  if (!c.clean) return [];
  const problems: FieldProblem[] = [];
  const at = (p: string, message: string): void => void problems.push({ path: `serve.${p}`, message });
  const [certFile, keyFile, secretDir] = ['tls.certFile', 'tls.keyFile', 'tls.secretDir'].map((p) => c.get<string | null>(p) ?? null);
  const [port, healthPort] = [c.get<number>('port'), c.get<number>('healthPort')];
  const dev = c.get<boolean>('dev');
  if ((certFile === null) !== (keyFile === null)) {
    const [set, missing] = certFile !== null ? ['tls.certFile', 'tls.keyFile'] : ['tls.keyFile', 'tls.certFile'];
    at(missing, `required together with serve.${set} (${c.origin(set)})`);
  }
  if (secretDir !== null && (certFile !== null || keyFile !== null)) {
    at('tls.secretDir', `set either secretDir or certFile+keyFile, not both (${c.origin('tls.secretDir')})`);
  }
  const hasTls = secretDir !== null || (certFile !== null && keyFile !== null);
  if (dev && hasTls) at('dev', `generates its own certificate; remove serve.tls settings or dev (${c.origin('dev')})`);
  if (!dev && certFile === null && keyFile === null && secretDir === null) {
    at('tls', 'a serving certificate is required: set certFile + keyFile, or secretDir, or use --dev');
  }
  if (port !== 0 && port === healthPort) at('healthPort', `must differ from serve.port (${port}) (${c.origin('healthPort')})`);
  return problems;
}
