// The settings engine of every long-running process (`redline serve`, `redline controller`, and
// `redline render tenant`, which must see the controller's settings). A process declares a table
// of settings under its own section of the config file (`serve:`, `controller:`); the engine
// does the rest, in this order: defaults → YAML file (--config / REDLINE_CONFIG) → environment →
// flags. Every bad field is reported with its path and where the value came from (flag, env, file,
// default), all problems at once; the caller's cross-field checks run on the parsed values; the
// result is deep-frozen. The same table drives `--help` and the README's settings lists.
//
// Paths in the YAML file are relative to the file's directory; paths from the environment or flags
// are relative to the working directory. One file may hold every process's section: each process
// reads its own and ignores the others'.
//
// Kubernetes note: a Service named `redline` in the pod's namespace makes the kubelet inject
// `REDLINE_PORT=tcp://…` (service links). Run the pod with `enableServiceLinks: false`; the error
// message says so when it sees such a value.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { isDnsLabel, isLabelKey, isLabelValue } from '../core/names.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The sections of the config file, one per process. */
export const SECTIONS = ['serve', 'controller'] as const;
export type Section = (typeof SECTIONS)[number];

export const CONFIG_ENV = 'REDLINE_CONFIG';
export const CONFIG_FLAG = '--config';

export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** A parsed value, or what the value should have been ("must be …"). */
export type Parsed = { ok: true; value: unknown } | { ok: false; expected: string };

export type SettingKind =
  | 'port' // integer 0-65535
  | 'int' // integer min-max
  | 'number' // number min-max
  | 'bytes' // byte count min-max; text may carry a unit: 6Mi, 8MiB, 5M
  | 'bool' // true/false (text: true/false, yes/no, on/off, 1/0; empty: the default)
  | 'string'
  | 'name' // DNS label (optional: may be empty)
  | 'path' // file or directory, made absolute
  | 'list' // list of non-empty strings (text: comma-separated; a repeated flag adds up)
  | 'namespaces' // list of namespace names, deduplicated (text: comma-separated)
  | 'enum' // one of `values`, case-insensitive
  | 'labels' // non-empty mapping of Kubernetes labels (text: k=v,k=v)
  | 'custom'; // parsed by the setting's own `parse`

export interface Setting {
  /** Dotted path inside the process's section; also the path in the resolved settings object. */
  path: string;
  kind: SettingKind;
  env?: string;
  flag?: string;
  default: unknown;
  min?: number;
  max?: number;
  /** enum: the allowed values (lower case). */
  values?: readonly string[];
  /** name: may be empty. */
  optional?: boolean;
  /** custom: parses a non-null value; `raw` is true for text from the environment or a flag. */
  parse?: (value: unknown, raw: boolean) => Parsed;
  doc: string;
}

export interface SettingProblem {
  /** Full dotted path (e.g. controller.leaderElection.renewDeadlineMs), or `config` for the file. */
  path: string;
  message: string;
}

export function formatProblems(problems: readonly SettingProblem[]): string {
  return problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n');
}

/** What a process's cross-field checks see. */
export interface CheckContext {
  /** The parsed value of a setting (by its path in the table); undefined if it did not parse. */
  get<V = unknown>(path: string): V | undefined;
  /** Where the value came from, e.g. `from flag --port`, for messages. */
  origin(path: string): string;
  /** Nothing went wrong so far (flags, file, every setting parsed). */
  clean: boolean;
}

export interface SettingsSpec {
  section: Section;
  table: readonly Setting[];
  /** Cross-field checks; problems carry full paths (`serve.tls`, `controller.retry.initialMs`). */
  check?: (ctx: CheckContext) => SettingProblem[];
  /** The file's other top-level keys: unknown or malformed sections are reported (default), or ignored. */
  otherSections?: 'check' | 'ignore';
}

export interface ResolveInput {
  /** The process's section of the config file (already parsed), or undefined. */
  file?: unknown;
  /** Name of the file (for messages) and the directory relative paths resolve against. */
  fileName?: string;
  fileDir?: string;
  env?: Record<string, string | undefined>;
  /** Flag values by setting path (as given on the command line; repeated list flags as a list). */
  flags?: ReadonlyMap<string, { value: string | readonly string[]; flag: string }>;
  cwd?: string;
}

export interface Resolved<T> {
  /** Deep-frozen; null when there are problems. */
  settings: DeepReadonly<T> | null;
  problems: SettingProblem[];
}

interface Source {
  value: unknown;
  /** Raw text (env/flag): numbers, booleans and lists are parsed from it. */
  raw: boolean;
  /** Directory relative paths resolve against. */
  base: string;
  origin: string;
}

/**
 * Pure: merges defaults → file section → env → flags, parses and checks. Returns the settings
 * (an object nested like the paths of the table), or every problem with its path.
 */
export function resolveSettings<T>(spec: SettingsSpec, input: ResolveInput): Resolved<T> {
  return resolve<T>(spec, input, 0);
}

function resolve<T>(spec: SettingsSpec, input: ResolveInput, earlier: number): Resolved<T> {
  const { section, table } = spec;
  const cwd = input.cwd ?? process.cwd();
  const problems: SettingProblem[] = [];
  const sources = new Map<string, Source>();
  for (const s of table) sources.set(s.path, { value: s.default, raw: false, base: cwd, origin: 'default' });

  if (input.file !== undefined && input.file !== null) {
    const origin = `from file ${input.fileName ?? 'config'}`;
    walkFile(table, input.file, '', { section, origin, base: input.fileDir ?? cwd, sources, problems });
  }
  for (const s of table) {
    const v = s.env ? input.env?.[s.env] : undefined;
    if (v !== undefined) sources.set(s.path, { value: v, raw: true, base: cwd, origin: `from env ${s.env}` });
  }
  for (const [p, f] of input.flags ?? []) sources.set(p, { value: f.value, raw: true, base: cwd, origin: `from flag ${f.flag}` });

  const values = new Map<string, unknown>();
  for (const s of table) {
    const src = sources.get(s.path)!;
    const r = convert(s, src);
    if (r.ok) values.set(s.path, r.value);
    else problems.push({ path: `${section}.${s.path}`, message: `${r.expected}, got ${describe(src.value)} (${src.origin}${hint(s, src)})` });
  }
  if (spec.check) {
    problems.push(
      ...spec.check({
        get: <V>(p: string) => values.get(p) as V | undefined,
        origin: (p) => sources.get(p)?.origin ?? 'default',
        clean: earlier === 0 && problems.length === 0,
      }),
    );
  }
  if (problems.length) return { settings: null, problems };
  return { settings: deepFreeze(nest(values)) as DeepReadonly<T>, problems: [] };
}

/** The table's defaults as a settings object (as written: paths not resolved; for --help). */
export function defaultSettings<T>(table: readonly Setting[]): T {
  return nest(new Map(table.map((s) => [s.path, s.default]))) as T;
}

/** `{ 'tls.certFile': x }` → `{ tls: { certFile: x } }`. */
function nest(values: ReadonlyMap<string, unknown>): unknown {
  const out: Record<string, unknown> = {};
  for (const [p, v] of values) {
    const keys = p.split('.');
    let node = out;
    for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
    node[keys.at(-1)!] = v;
  }
  return out;
}

function walkFile(
  table: readonly Setting[],
  node: unknown,
  prefix: string,
  at: { section: string; origin: string; base: string; sources: Map<string, Source>; problems: SettingProblem[] },
): void {
  const full = (p: string): string => (p ? `${at.section}.${p}` : at.section);
  if (!isPlainObject(node)) {
    at.problems.push({ path: full(prefix), message: `must be a mapping, got ${describe(node)} (${at.origin})` });
    return;
  }
  for (const [k, v] of Object.entries(node)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (table.some((s) => s.path === p)) at.sources.set(p, { value: v, raw: false, base: at.base, origin: at.origin });
    else if (table.some((s) => s.path.startsWith(`${p}.`))) {
      if (v !== null && v !== undefined) walkFile(table, v, p, at);
    } else {
      const under = prefix ? `${prefix}.` : '';
      const siblings = new Set(table.filter((s) => s.path.startsWith(under)).map((s) => s.path.slice(under.length).split('.')[0]!));
      const close = [...siblings].filter((n) => similar(n, k));
      at.problems.push({ path: full(p), message: `unknown field (${at.origin})${close.length ? `; did you mean ${close.join(' or ')}?` : ''}` });
    }
  }
}

/** Same ignoring case, at most two edits apart, or the same first four letters. */
function similar(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y || x.startsWith(y.slice(0, 4))) return true;
  if (Math.abs(x.length - y.length) > 2) return false;
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) => [i, ...new Array<number>(y.length).fill(0)]);
  for (let j = 1; j <= y.length; j++) d[0]![j] = j;
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
  }
  return d[x.length]![y.length]! <= 2;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as messages show it. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 59)}…` : v);
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

function hint(s: Setting, src: Source): string {
  if (s.kind === 'port' && typeof src.value === 'string' && /^(tcp|udp|sctp):\/\//.test(src.value) && src.origin.startsWith('from env')) {
    return '; this looks like a Kubernetes service-link variable: set enableServiceLinks: false on the pod';
  }
  return '';
}


const KIB = 1024;
const BYTE_UNITS: Record<string, number> = { '': 1, k: 1000, ki: KIB, kib: KIB, m: 1000 ** 2, mi: KIB ** 2, mib: KIB ** 2, g: 1000 ** 3, gi: KIB ** 3, gib: KIB ** 3 };

/** 3145728 → "3 MiB" (or "3Mi" when short). */
function bytesText(n: number, short = false): string {
  for (const [unit, size] of [['Gi', KIB ** 3], ['Mi', KIB ** 2], ['Ki', KIB]] as const) {
    if (n >= size && n % size === 0) return short ? `${n / size}${unit}` : `${n / size} ${unit}B`;
  }
  return short ? String(n) : `${n} bytes`;
}

/** Comma-separated text (from the environment or a flag) as trimmed, non-empty items. */
export function splitList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

function convert(s: Setting, src: Source): Parsed {
  const v = src.value;
  const ok = (value: unknown): Parsed => ({ ok: true, value });
  const bad = (expected: string): Parsed => ({ ok: false, expected });
  if (v === null || v === undefined) return s.default === null ? ok(null) : bad('must be set');
  switch (s.kind) {
    case 'port':
    case 'int':
    case 'number': {
      const lo = s.kind === 'port' ? 0 : (s.min ?? 0);
      const hi = s.kind === 'port' ? 65535 : (s.max ?? Number.MAX_SAFE_INTEGER);
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
      const intOk = s.kind === 'number' || Number.isInteger(n);
      if (!Number.isFinite(n) || !intOk || n < lo || n > hi) return bad(`must be ${s.kind === 'number' ? 'a number' : 'an integer'} ${lo}-${hi}`);
      return ok(n);
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
        const above = lo > 0 ? ` above ${lo - 1} (${bytesText(lo - 1)})` : '';
        const example = typeof s.default === 'number' ? ` (e.g. ${bytesText(s.default, true)})` : '';
        return bad(`must be a byte count${above} and at most ${hi}${example}`);
      }
      return ok(n);
    }
    case 'bool': {
      if (typeof v === 'boolean') return ok(v);
      if (typeof v === 'string') {
        const t = v.trim().toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(t)) return ok(true);
        if (['false', '0', 'no', 'off'].includes(t)) return ok(false);
        if (t === '') return ok(s.default);
      }
      return bad('must be true or false');
    }
    case 'string':
      if (typeof v !== 'string') return bad('must be a string');
      return ok(v.trim() === '' && s.default === null ? null : v.trim());
    case 'name':
      if (typeof v !== 'string' || !(isDnsLabel(v) || (s.optional && v === ''))) return bad('must be a DNS label (lower-case letters, digits, "-", at most 63)');
      return ok(v);
    case 'path':
      if (typeof v !== 'string' || v.trim() === '') return bad('must be a file or directory path');
      return ok(path.resolve(src.base, v.trim()));
    case 'enum':
      if (typeof v !== 'string' || !s.values!.includes(v.trim().toLowerCase())) return bad(`must be one of ${s.values!.join(', ')}`);
      return ok(v.trim().toLowerCase());
    case 'list':
    case 'namespaces': {
      // Comma-separated text from the environment or a flag; a real list in the file.
      const items: unknown = typeof v === 'string' && src.raw ? splitList(v) : v;
      if (s.kind === 'list') {
        if (!Array.isArray(items) || items.some((x) => typeof x !== 'string' || x.trim() === '')) return bad('must be a list of non-empty strings');
        return ok(items.map((x: string) => x.trim()));
      }
      if (!Array.isArray(items) || items.some((x) => typeof x !== 'string' || !isDnsLabel(x))) return bad('must be a list of namespace names');
      return ok([...new Set(items as string[])]);
    }
    case 'labels': {
      let m: unknown = v;
      if (typeof v === 'string' && src.raw) {
        const out: Record<string, string> = {};
        for (const pair of splitList(v)) {
          const eq = pair.indexOf('=');
          if (eq <= 0) return bad('must be k=v pairs separated by commas');
          out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
        }
        m = out;
      }
      if (!isPlainObject(m) || Object.keys(m).length === 0) return bad('must be a non-empty mapping of label keys to values');
      for (const [k, lv] of Object.entries(m)) {
        if (!isLabelKey(k) || typeof lv !== 'string' || !isLabelValue(lv)) return bad(`label ${k}=${describe(lv)} is not a valid label`);
      }
      return ok({ ...m });
    }
    case 'custom':
      return s.parse!(v, src.raw);
  }
}

export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

// ---- argv + config file ----

export interface UsageProblem {
  flag: string;
  issue: 'unknown' | 'needs-value';
}

export interface LoadInput {
  argv: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Flags (with a value) that the caller handles itself, e.g. render's --namespace. */
  extraFlags?: readonly string[];
  readFile?: (file: string) => string;
}

export interface Loaded<T> extends Resolved<T> {
  /** Bad flags, in argv order: bad usage, kept apart from bad settings. */
  usage: UsageProblem[];
  help: boolean;
  /** Values of the caller's extra flags. */
  extras: Map<string, string>;
  positional: string[];
  /** The config file read (absolute), if any. */
  configFile: string | null;
  /** The file's top-level sections, other processes' included ({} without a file). */
  sections: Record<string, unknown>;
}

interface ParsedArgv {
  help: boolean;
  config?: string;
  flags: Map<string, { value: string | string[]; flag: string }>;
  extras: Map<string, string>;
  positional: string[];
  usage: UsageProblem[];
}

/** argv: `--flag VALUE`, `--flag=VALUE`, bool `--flag` / `--no-flag`, repeated list flags add up. */
function parseArgv(table: readonly Setting[], argv: readonly string[], extraFlags: readonly string[]): ParsedArgv {
  const byFlag = new Map(table.filter((s) => s.flag).map((s) => [s.flag!, s]));
  const extra = new Set(extraFlags);
  const out: ParsedArgv = { help: false, flags: new Map(), extras: new Map(), positional: [], usage: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      out.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const inline: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    const takeValue = (): string | undefined => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) return undefined;
      i++;
      return next;
    };
    if (name === CONFIG_FLAG || extra.has(name)) {
      const v = takeValue();
      if (v === undefined || v === '') out.usage.push({ flag: name, issue: 'needs-value' });
      else if (name === CONFIG_FLAG) out.config = v;
      else out.extras.set(name, v);
      continue;
    }
    let s = byFlag.get(name);
    let negated = false;
    if (!s && name.startsWith('--no-')) {
      const pos = byFlag.get(`--${name.slice(5)}`);
      if (pos?.kind === 'bool') {
        s = pos;
        negated = true;
      }
    }
    if (!s) {
      out.usage.push({ flag: name, issue: 'unknown' });
      continue;
    }
    if (s.kind === 'bool') {
      out.flags.set(s.path, { value: negated ? 'false' : (inline ?? 'true'), flag: name });
      continue;
    }
    const v = takeValue();
    if (v === undefined) out.usage.push({ flag: name, issue: 'needs-value' });
    else if (s.kind === 'list') {
      const prev = out.flags.get(s.path)?.value;
      out.flags.set(s.path, { value: [...(Array.isArray(prev) ? prev : []), ...splitList(v)], flag: name });
    } else out.flags.set(s.path, { value: v, flag: name });
  }
  return out;
}

/** Reads the config file; every problem has the path `config`. */
function readConfigFile(file: string, resolved: string, read: (f: string) => string, problems: SettingProblem[]): Record<string, unknown> {
  let text: string;
  try {
    text = read(resolved);
  } catch (e) {
    problems.push({ path: 'config', message: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
    return {};
  }
  const doc = parseDocument(text);
  if (doc.errors.length) {
    for (const err of doc.errors) {
      const pos = err.linePos?.[0];
      const message = (err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      problems.push({ path: 'config', message: `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${message}` });
    }
    return {};
  }
  const root: unknown = doc.toJS();
  if (root === null || root === undefined) return {};
  if (!isPlainObject(root)) {
    problems.push({ path: 'config', message: `${file} must be a mapping with sections ${SECTIONS.join(', ')}` });
    return {};
  }
  return root;
}

/**
 * argv (+ --config FILE or REDLINE_CONFIG) and the environment → settings of one process. Usage
 * problems (unknown flag, missing value) and setting problems are kept apart; both complete.
 */
export function loadSettings<T>(spec: SettingsSpec, input: LoadInput): Loaded<T> {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const read = input.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
  const args = parseArgv(spec.table, input.argv, input.extraFlags ?? []);
  const problems: SettingProblem[] = [];

  const configFile = args.config ?? (env[CONFIG_ENV] ? env[CONFIG_ENV] : undefined);
  const configPath = configFile === undefined ? null : path.resolve(cwd, configFile);
  const sections = configFile === undefined ? {} : readConfigFile(configFile, configPath!, read, problems);
  if (spec.otherSections !== 'ignore') {
    for (const [name, content] of Object.entries(sections)) {
      if (!(SECTIONS as readonly string[]).includes(name)) {
        problems.push({ path: name, message: `unknown section (from file ${configFile}); known: ${SECTIONS.join(', ')}` });
      } else if (name !== spec.section && content !== null && content !== undefined && !isPlainObject(content)) {
        problems.push({ path: name, message: `must be a mapping, got ${describe(content)} (from file ${configFile})` });
      }
    }
  }
  const resolved = resolve<T>(
    spec,
    { file: sections[spec.section], fileName: configFile, fileDir: configPath ? path.dirname(configPath) : cwd, env, flags: args.flags, cwd },
    args.usage.length + args.positional.length + problems.length,
  );
  problems.push(...resolved.problems);
  return {
    settings: problems.length ? null : resolved.settings,
    problems,
    usage: args.usage,
    help: args.help,
    extras: args.extras,
    positional: args.positional,
    configFile: configPath,
    sections,
  };
}

/** `--help` lines: each setting's flag, path, env variable, default and doc. */
export function describeSettings(spec: Pick<SettingsSpec, 'section' | 'table'>): string[] {
  const lines: string[] = [];
  for (const s of spec.table) {
    const flag = s.flag ? (s.kind === 'bool' ? s.flag : `${s.flag} ${s.kind === 'list' ? 'A,B' : 'VALUE'}`) : '(file/env only)';
    lines.push(`  ${flag}`);
    lines.push(`      ${spec.section}.${s.path}${s.env ? `, env ${s.env}` : ''}; default ${JSON.stringify(s.default)}`);
    lines.push(`      ${s.doc}`);
  }
  return lines;
}
