// Layering, pure: defaults → the process's section of the file → environment → flags, each value
// parsed by its kind (values.ts), the process's cross-field checks on the parsed values, the result
// deep-frozen. Every bad field is reported with its path and where the value came from (flag, env,
// file, default), all problems at once.
//
// Paths in the YAML file are relative to the file's directory; paths from the environment or flags
// are relative to the working directory.
//
// Kubernetes note: a Service named `redline` in the pod's namespace makes the kubelet inject
// `REDLINE_PORT=tcp://…` (service links). Run the pod with `enableServiceLinks: false`; the error
// message says so when it sees such a value.

import { convert, describe, hint, isPlainObject, type Source } from './values.js';
import type { DeepReadonly, Setting, SettingsSpec } from './spec.js';
import type { FieldProblem } from '../result.js';

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
  problems: FieldProblem[];
}

/**
 * Merges defaults → file section → env → flags, parses and checks. Returns the settings (an object
 * nested like the paths of the table), or every problem with its path. `earlier` counts problems
 * found before (bad flags, an unreadable file): cross-field checks that need a clean slate skip.
 */
export function resolveSettings<T>(spec: SettingsSpec, input: ResolveInput, earlier = 0): Resolved<T> {
  const { section, table } = spec;
  const cwd = input.cwd ?? process.cwd();
  const problems: FieldProblem[] = [];
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
    else problems.push({ path: `${section}.${s.path}`, message: `${r.problem}, got ${describe(src.value)} (${src.origin}${hint(s, src)})` });
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

export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
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
  at: { section: string; origin: string; base: string; sources: Map<string, Source>; problems: FieldProblem[] },
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
