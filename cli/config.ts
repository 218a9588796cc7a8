// Configuration, read once: defaults → YAML file (--config / REDLINE_CONFIG) → environment
// (REDLINE_*) → flags. Every bad field is reported with its path and where the value came from,
// all problems at once; the result is deep-frozen. One table (SETTINGS) drives parsing, validation,
// `--help` and the README's settings list.
//
// Paths in the YAML file are relative to the file's directory; paths from the environment or flags
// are relative to the working directory.
//
// Kubernetes note: a Service named `redline` in the pod's namespace makes the kubelet inject
// `REDLINE_PORT=tcp://…` (service links). Run the pod with `enableServiceLinks: false`; the error
// message says so when it sees such a value.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const MIB = 1024 * 1024;
/** The API server sends at most ~3 MiB; the limit must sit above it. */
export const API_SERVER_MAX_BODY = 3 * MIB;

export interface ServeConfig {
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
}

export interface RedlineConfig {
  serve: ServeConfig;
  /** Reserved for `redline controller` (its own issue): accepted as-is from the file, frozen. */
  controller: Record<string, unknown>;
  /** Which file was read, if any. */
  configFile: string | null;
}

export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

export type FrozenConfig = DeepReadonly<RedlineConfig>;

type Kind = 'port' | 'int' | 'bytes' | 'bool' | 'string' | 'path' | 'list' | 'logLevel' | 'serviceAccount';

export interface Setting {
  /** Dotted path in the config file and in messages. */
  path: string;
  kind: Kind;
  env?: string;
  flag?: string;
  default: unknown;
  min?: number;
  max?: number;
  doc: string;
}

export const DEFAULT_CONTROLLER_SA = 'system:serviceaccount:redline-system:redline-controller';

export const SETTINGS: readonly Setting[] = Object.freeze([
  { path: 'serve.port', kind: 'port', env: 'REDLINE_PORT', flag: '--port', default: 8443, doc: 'HTTPS port of the admission endpoints (0: any free port)' },
  { path: 'serve.healthPort', kind: 'port', env: 'REDLINE_HEALTH_PORT', flag: '--health-port', default: 8080, doc: 'plain-HTTP port of /healthz, /readyz, /metrics' },
  { path: 'serve.address', kind: 'string', env: 'REDLINE_ADDRESS', flag: '--address', default: '', doc: 'listen address of both ports (empty: all interfaces)' },
  { path: 'serve.dev', kind: 'bool', env: 'REDLINE_DEV', flag: '--dev', default: false, doc: 'development mode: generate a local CA + serving certificate in serve.devCertDir' },
  { path: 'serve.devCertDir', kind: 'path', env: 'REDLINE_DEV_CERT_DIR', flag: '--dev-cert-dir', default: '.redline/dev', doc: 'where --dev keeps its CA and certificate' },
  { path: 'serve.tls.certFile', kind: 'path', env: 'REDLINE_TLS_CERT_FILE', flag: '--tls-cert-file', default: null, doc: 'serving certificate (PEM, leaf first); hot-reloaded' },
  { path: 'serve.tls.keyFile', kind: 'path', env: 'REDLINE_TLS_KEY_FILE', flag: '--tls-key-file', default: null, doc: 'serving private key (PEM); hot-reloaded' },
  { path: 'serve.tls.caFile', kind: 'path', env: 'REDLINE_TLS_CA_FILE', flag: '--tls-ca-file', default: null, doc: 'CA of the serving certificate (informational: logged for clients)' },
  { path: 'serve.tls.secretDir', kind: 'path', env: 'REDLINE_TLS_SECRET_DIR', flag: '--tls-secret-dir', default: null, doc: 'mounted TLS Secret directory (tls.crt, tls.key, ca.crt); instead of certFile/keyFile' },
  { path: 'serve.policiesDir', kind: 'path', env: 'REDLINE_POLICIES_DIR', flag: '--policies', default: null, doc: 'policy + plan library directory (default: the shipped policies/library)' },
  { path: 'serve.namespacesFile', kind: 'path', env: 'REDLINE_NAMESPACES_FILE', flag: '--namespaces', default: null, doc: 'multi-document YAML of Namespaces to use instead of a cluster' },
  { path: 'serve.kubeconfig', kind: 'path', env: 'REDLINE_KUBECONFIG', flag: '--kubeconfig', default: null, doc: 'kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)' },
  { path: 'serve.bodyLimitBytes', kind: 'bytes', env: 'REDLINE_BODY_LIMIT_BYTES', flag: '--body-limit-bytes', default: 6 * MIB, min: API_SERVER_MAX_BODY + 1, max: 64 * MIB, doc: 'largest accepted request body; must be > 3 MiB (accepts 6Mi, 8MiB)' },
  { path: 'serve.requestTimeBudgetMs', kind: 'int', env: 'REDLINE_REQUEST_TIME_BUDGET_MS', flag: '--request-time-budget-ms', default: 250, min: 1, max: 30_000, doc: 'time budget of policy evaluation per request' },
  { path: 'serve.requestTimeoutMs', kind: 'int', env: 'REDLINE_REQUEST_TIMEOUT_MS', flag: '--request-timeout-ms', default: 10_000, min: 100, max: 120_000, doc: 'a request (headers + body) must arrive within this, else 408 and the socket is closed' },
  { path: 'serve.shutdownGraceMs', kind: 'int', env: 'REDLINE_SHUTDOWN_GRACE_MS', flag: '--shutdown-grace-ms', default: 25_000, min: 0, max: 600_000, doc: 'on SIGTERM/SIGINT, wait this long for in-flight requests, then exit 1' },
  { path: 'serve.admins.users', kind: 'list', env: 'REDLINE_ADMIN_USERS', flag: '--admin-user', default: [], doc: 'users who may change redline.dev/* and pod-security labels of tenant namespaces (comma-separated or repeated)' },
  { path: 'serve.admins.groups', kind: 'list', env: 'REDLINE_ADMIN_GROUPS', flag: '--admin-group', default: ['system:masters'], doc: 'groups with the same right' },
  { path: 'serve.admins.serviceAccounts', kind: 'list', env: 'REDLINE_ADMIN_SERVICE_ACCOUNTS', flag: '--admin-service-account', default: [], doc: 'service accounts with the same right (namespace/name or system:serviceaccount:ns:name)' },
  { path: 'serve.controllerServiceAccount', kind: 'serviceAccount', env: 'REDLINE_CONTROLLER_SERVICE_ACCOUNT', flag: '--controller-service-account', default: DEFAULT_CONTROLLER_SA, doc: "the Redline controller's service account, always allowed to stamp labels" },
  { path: 'serve.logLevel', kind: 'logLevel', env: 'REDLINE_LOG_LEVEL', flag: '--log-level', default: 'info', doc: `log level: ${LOG_LEVELS.join(', ')}` },
  { path: 'serve.certReloadIntervalMs', kind: 'int', env: 'REDLINE_CERT_RELOAD_INTERVAL_MS', default: 10_000, min: 100, max: 3_600_000, doc: 'periodic check of the certificate files (besides fs.watch)' },
  { path: 'serve.policyReloadIntervalMs', kind: 'int', env: 'REDLINE_POLICY_RELOAD_INTERVAL_MS', default: 10_000, min: 100, max: 3_600_000, doc: 'periodic check of the policy directory (besides fs.watch)' },
  { path: 'serve.namespaceResyncMs', kind: 'int', env: 'REDLINE_NAMESPACE_RESYNC_MS', default: 600_000, min: 0, max: 86_400_000, doc: 'full relist period of the namespace informer (0: never)' },
] satisfies Setting[]);

const BY_PATH = new Map(SETTINGS.map((s) => [s.path, s]));
const BY_FLAG = new Map(SETTINGS.filter((s) => s.flag).map((s) => [s.flag!, s]));
/** Sections whose content another issue owns: accepted as-is. */
const OPAQUE_SECTIONS = new Set(['controller']);

export const CONFIG_ENV = 'REDLINE_CONFIG';
export const CONFIG_FLAG = '--config';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

interface Layered {
  value: unknown;
  origin: string;
  /** Directory relative paths resolve against. */
  base: string;
  /** Raw text for env/flag values (the value is converted from it). */
  raw?: boolean;
}

export interface LoadConfigInput {
  argv: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  readFile?: (file: string) => string;
}

export interface LoadedConfig {
  config: FrozenConfig;
  /** --help was given: print usage(). */
  help: boolean;
}

/** Load, validate, freeze. Throws ConfigError listing every problem. */
export function loadConfig(input: LoadConfigInput): LoadedConfig {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const read = input.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
  const problems: string[] = [];
  const values = new Map<string, Layered>();
  for (const s of SETTINGS) values.set(s.path, { value: s.default, origin: 'default', base: cwd });
  let controller: Record<string, unknown> = {};

  // Flags are parsed first (to find --config), applied last.
  const flags = parseFlags(input.argv, problems);
  if (flags.help) {
    const serve = build(new Map(SETTINGS.map((s) => [s.path, s.default])));
    return { config: deepFreeze({ serve, controller: {}, configFile: null }) as FrozenConfig, help: true };
  }

  const configFile = flags.config ?? (env[CONFIG_ENV] ? env[CONFIG_ENV] : undefined);
  let configPath: string | null = null;
  if (configFile !== undefined) {
    configPath = path.resolve(cwd, configFile);
    const origin = `from file ${configFile}`;
    let text: string | undefined;
    try {
      text = read(configPath);
    } catch (e) {
      problems.push(`config: cannot read ${configFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (text !== undefined) {
      const doc = parseDocument(text);
      if (doc.errors.length) {
        for (const err of doc.errors) {
          const pos = err.linePos?.[0];
          const message = (err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
          problems.push(`config: ${configFile}${pos ? `:${pos.line}:${pos.col}` : ''}: ${message}`);
        }
      } else {
        const root: unknown = doc.toJS();
        if (root !== null && root !== undefined) {
          if (!isPlainObject(root)) {
            problems.push(`config: ${configFile} must be a mapping with sections serve, controller`);
          } else {
            const base = path.dirname(configPath);
            for (const [section, content] of Object.entries(root)) {
              if (OPAQUE_SECTIONS.has(section)) {
                if (content === null || content === undefined) continue;
                if (!isPlainObject(content)) problems.push(`${section}: must be a mapping (${origin})`);
                else controller = content;
                continue;
              }
              if (section !== 'serve') {
                problems.push(`${section}: unknown section (${origin}); known: serve, controller`);
                continue;
              }
              walkFile(content, 'serve', origin, base, values, problems);
            }
          }
        }
      }
    }
  }

  for (const s of SETTINGS) {
    if (!s.env) continue;
    const v = env[s.env];
    if (v === undefined) continue;
    values.set(s.path, { value: v, origin: `from env ${s.env}`, base: cwd, raw: true });
  }
  for (const [p, v] of flags.values) {
    values.set(p, { value: v.value, origin: `from flag ${v.flag}`, base: cwd, raw: true });
  }

  const out = new Map<string, unknown>();
  for (const s of SETTINGS) {
    const l = values.get(s.path)!;
    const r = convert(s, l);
    if (typeof r === 'object' && r !== null && 'problem' in r) problems.push(`${s.path}: ${r.problem} (${l.origin}${hint(s, l)})`);
    else out.set(s.path, r);
  }

  const serve = build(out);
  if (problems.length === 0) crossChecks(serve, values, problems);
  if (problems.length) throw new ConfigError(problems);

  const config: RedlineConfig = { serve, controller, configFile: configPath };
  return { config: deepFreeze(config) as FrozenConfig, help: flags.help };
}

function hint(s: Setting, l: Layered): string {
  if (s.kind === 'port' && typeof l.value === 'string' && /^(tcp|udp|sctp):\/\//.test(l.value) && l.origin.startsWith('from env')) {
    return '; this looks like a Kubernetes service-link variable: set enableServiceLinks: false on the pod';
  }
  return '';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walkFile(node: unknown, prefix: string, origin: string, base: string, values: Map<string, Layered>, problems: string[]): void {
  if (node === null || node === undefined) return;
  if (!isPlainObject(node)) {
    problems.push(`${prefix}: must be a mapping (${origin})`);
    return;
  }
  for (const [k, v] of Object.entries(node)) {
    const p = `${prefix}.${k}`;
    if (BY_PATH.has(p)) {
      values.set(p, { value: v, origin, base });
      continue;
    }
    const isGroup = SETTINGS.some((s) => s.path.startsWith(`${p}.`));
    if (isGroup) {
      walkFile(v, p, origin, base, values, problems);
      continue;
    }
    const siblings = SETTINGS.filter((s) => s.path.startsWith(`${prefix}.`)).map((s) => s.path.slice(prefix.length + 1).split('.')[0]);
    const close = [...new Set(siblings)].filter((n) => n !== undefined && similar(n, k));
    problems.push(`${p}: unknown field (${origin})${close.length ? `; did you mean ${close.join(' or ')}?` : ''}`);
  }
}

function similar(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return true;
  if (Math.abs(x.length - y.length) > 2) return false;
  // Levenshtein ≤ 2
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) => [i, ...new Array<number>(y.length).fill(0)]);
  for (let j = 1; j <= y.length; j++) d[0]![j] = j;
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
  }
  return d[x.length]![y.length]! <= 2;
}

interface ParsedFlags {
  config?: string;
  help: boolean;
  values: Map<string, { value: string | string[] | boolean; flag: string }>;
}

function parseFlags(argv: readonly string[], problems: string[]): ParsedFlags {
  const out: ParsedFlags = { help: false, values: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      problems.push(`argument ${JSON.stringify(arg)}: unexpected; serve takes only --flags`);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    let inline: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (name === CONFIG_FLAG) {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') problems.push(`flag ${CONFIG_FLAG}: needs a file name`);
      else out.config = v;
      continue;
    }
    let s = BY_FLAG.get(name);
    let negated = false;
    if (!s && name.startsWith('--no-')) {
      const pos = BY_FLAG.get(`--${name.slice(5)}`);
      if (pos?.kind === 'bool') {
        s = pos;
        negated = true;
      }
    }
    if (!s) {
      problems.push(`flag ${name}: unknown (see --help)`);
      continue;
    }
    if (s.kind === 'bool') {
      out.values.set(s.path, { value: negated ? 'false' : (inline ?? 'true'), flag: name });
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        problems.push(`flag ${name}: needs a value`);
        continue;
      }
      inline = next;
      i++;
    }
    if (s.kind === 'list') {
      const prev = out.values.get(s.path);
      const items = splitList(inline);
      out.values.set(s.path, { value: prev && Array.isArray(prev.value) ? [...prev.value, ...items] : items, flag: name });
    } else {
      out.values.set(s.path, { value: inline, flag: name });
    }
  }
  return out;
}

function splitList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 59)}…` : v);
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

const BYTE_UNITS: Record<string, number> = { '': 1, k: 1000, ki: 1024, kib: 1024, m: 1000 ** 2, mi: MIB, mib: MIB, g: 1000 ** 3, gi: 1024 ** 3, gib: 1024 ** 3 };

function convert(s: Setting, l: Layered): unknown {
  const v = l.value;
  if (v === null || v === undefined) {
    if (s.default === null) return null;
    return { problem: `must not be empty, got ${describe(v)}` };
  }
  switch (s.kind) {
    case 'port':
    case 'int': {
      const lo = s.kind === 'port' ? 0 : (s.min ?? 0);
      const hi = s.kind === 'port' ? 65535 : (s.max ?? Number.MAX_SAFE_INTEGER);
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
      if (!Number.isInteger(n) || n < lo || n > hi) return { problem: `must be an integer ${lo}-${hi}, got ${describe(v)}` };
      return n;
    }
    case 'bytes': {
      let n = NaN;
      if (typeof v === 'number') n = v;
      else if (typeof v === 'string') {
        const m = /^\s*(\d+)\s*([kKmMgG]i?[bB]?)?\s*$/.exec(v);
        const unit = BYTE_UNITS[(m?.[2] ?? '').toLowerCase()];
        if (m && unit !== undefined) n = Number(m[1]) * unit;
      }
      const lo = s.min ?? 0;
      const hi = s.max ?? Number.MAX_SAFE_INTEGER;
      if (!Number.isInteger(n) || n < lo || n > hi) {
        return { problem: `must be a byte count above ${lo - 1} (3 MiB) and at most ${hi} (e.g. 6Mi), got ${describe(v)}` };
      }
      return n;
    }
    case 'bool': {
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string') {
        const t = v.trim().toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(t)) return true;
        if (['false', '0', 'no', 'off', ''].includes(t)) return false;
      }
      return { problem: `must be true or false, got ${describe(v)}` };
    }
    case 'string': {
      if (typeof v !== 'string') return { problem: `must be a string, got ${describe(v)}` };
      return v.trim();
    }
    case 'path': {
      if (typeof v !== 'string' || v.trim() === '') return { problem: `must be a file or directory path, got ${describe(v)}` };
      return path.resolve(l.base, v.trim());
    }
    case 'list': {
      // Comma-separated text from the environment or a flag; a real list in the file.
      const items = typeof v === 'string' && l.raw ? splitList(v) : v;
      if (!Array.isArray(items) || items.some((x) => typeof x !== 'string' || x.trim() === '')) {
        return { problem: `must be a list of non-empty strings, got ${describe(v)}` };
      }
      return items.map((x: string) => x.trim());
    }
    case 'logLevel': {
      if (typeof v !== 'string' || !(LOG_LEVELS as readonly string[]).includes(v.trim().toLowerCase())) {
        return { problem: `must be one of ${LOG_LEVELS.join(', ')}, got ${describe(v)}` };
      }
      return v.trim().toLowerCase();
    }
    case 'serviceAccount': {
      if (typeof v !== 'string') return { problem: `must be a service account, got ${describe(v)}` };
      const t = v.trim();
      if (t === '') return '';
      if (/^system:serviceaccount:[a-z0-9-]+:[a-z0-9.-]+$/.test(t)) return t;
      const m = /^([a-z0-9-]+)[/:]([a-z0-9.-]+)$/.exec(t);
      if (m) return `system:serviceaccount:${m[1]}:${m[2]}`;
      return { problem: `must be namespace/name or system:serviceaccount:<namespace>:<name>, got ${describe(v)}` };
    }
  }
}

function build(out: Map<string, unknown>): ServeConfig {
  const g = <T>(p: string): T => out.get(p) as T;
  return {
    port: g('serve.port'),
    healthPort: g('serve.healthPort'),
    address: g('serve.address'),
    dev: g('serve.dev'),
    devCertDir: g('serve.devCertDir'),
    tls: {
      certFile: g('serve.tls.certFile'),
      keyFile: g('serve.tls.keyFile'),
      caFile: g('serve.tls.caFile'),
      secretDir: g('serve.tls.secretDir'),
    },
    policiesDir: g('serve.policiesDir'),
    namespacesFile: g('serve.namespacesFile'),
    kubeconfig: g('serve.kubeconfig'),
    bodyLimitBytes: g('serve.bodyLimitBytes'),
    requestTimeBudgetMs: g('serve.requestTimeBudgetMs'),
    requestTimeoutMs: g('serve.requestTimeoutMs'),
    shutdownGraceMs: g('serve.shutdownGraceMs'),
    admins: {
      users: g('serve.admins.users'),
      groups: g('serve.admins.groups'),
      serviceAccounts: g('serve.admins.serviceAccounts'),
    },
    controllerServiceAccount: g('serve.controllerServiceAccount'),
    logLevel: g('serve.logLevel'),
    certReloadIntervalMs: g('serve.certReloadIntervalMs'),
    policyReloadIntervalMs: g('serve.policyReloadIntervalMs'),
    namespaceResyncMs: g('serve.namespaceResyncMs'),
  };
}

function crossChecks(c: ServeConfig, values: Map<string, Layered>, problems: string[]): void {
  const origin = (p: string): string => values.get(p)?.origin ?? 'default';
  const { certFile, keyFile, secretDir } = c.tls;
  if ((certFile === null) !== (keyFile === null)) {
    const [set, missing] = certFile !== null ? ['serve.tls.certFile', 'serve.tls.keyFile'] : ['serve.tls.keyFile', 'serve.tls.certFile'];
    problems.push(`${missing}: required together with ${set} (${origin(set)})`);
  }
  if (secretDir !== null && (certFile !== null || keyFile !== null)) {
    problems.push(`serve.tls.secretDir: set either secretDir or certFile+keyFile, not both (${origin('serve.tls.secretDir')})`);
  }
  const hasTls = secretDir !== null || (certFile !== null && keyFile !== null);
  if (c.dev && hasTls) {
    problems.push(`serve.dev: generates its own certificate; remove serve.tls settings or dev (${origin('serve.dev')})`);
  }
  if (!c.dev && certFile === null && keyFile === null && secretDir === null) {
    problems.push('serve.tls: a serving certificate is required: set certFile + keyFile, or secretDir, or use --dev');
  }
  if (c.port !== 0 && c.port === c.healthPort) {
    problems.push(`serve.healthPort: must differ from serve.port (${c.port}) (${origin('serve.healthPort')})`);
  }
}

export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

/** `--help` text: the flags with their env variables and defaults. */
export function usage(): string {
  const lines = [
    'usage: redline serve [--config FILE] [--dev] [--port 8443] [--health-port 8080] [--policies DIR]',
    '                     [--namespaces FILE] [--kubeconfig FILE] [more flags below]',
    '',
    'Settings (precedence: flag > environment > config file > default):',
    `  ${CONFIG_FLAG} FILE  (env ${CONFIG_ENV})  YAML file with a "serve:" section`,
  ];
  for (const s of SETTINGS) {
    const flag = s.flag ? (s.kind === 'bool' ? s.flag : `${s.flag} ${s.kind === 'list' ? 'A,B' : 'VALUE'}`) : '(file/env only)';
    lines.push(`  ${flag}`);
    lines.push(`      ${s.path}${s.env ? `, env ${s.env}` : ''}; default ${JSON.stringify(s.default)}`);
    lines.push(`      ${s.doc}`);
  }
  return lines.join('\n');
}
