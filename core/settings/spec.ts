// What a process declares to the settings engine: a table of settings (one row per setting: path,
// kind, env variable, flag, default, doc) under its own section of the config file, and its
// cross-field checks. The rest of core/settings/ does the work (see load.ts for the order).

import type { FieldProblem, Result } from '../result.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The sections of the config file, one per process. */
export const SECTIONS = ['serve', 'controller'] as const;
export type Section = (typeof SECTIONS)[number];

export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** A parsed value, or what the value should have been ("must be …"). */
export type Parsed = Result<unknown, string>;

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

/**
 * Bad settings, one per line. A setting's problem has its full dotted path (e.g.
 * controller.leaderElection.renewDeadlineMs), or `config` for the file.
 */
export function formatProblems(problems: readonly FieldProblem[]): string {
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
  check?: (ctx: CheckContext) => FieldProblem[];
  /** The file's other top-level keys: unknown or malformed sections are reported (default), or ignored. */
  otherSections?: 'check' | 'ignore';
}
