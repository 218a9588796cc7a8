// The one way a process gets its settings (`redline serve`, `redline controller`, and `redline
// render tenant`, which must see the controller's settings): argv (+ --config FILE or
// REDLINE_CONFIG) and the environment → the settings of the process's table (serve.ts,
// controller.ts), in this order: defaults → YAML file → environment → flags. Usage problems
// (unknown flag, missing value) and setting problems are kept apart, both complete; the caller
// reports them. The same table drives `--help` (describeSettings) and the README's settings lists.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgv, CONFIG_FLAG, type UsageProblem } from './argv.js';
import { CONFIG_ENV, checkOtherSections, readConfigFile } from './file.js';
import { deepFreeze, resolveSettings, type Resolved } from './resolve.js';
import type { SettingsSpec } from './spec.js';
import type { FieldProblem } from '../result.js';

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
  /** The file's top-level sections, other processes' included ({} without a file), deep-frozen. */
  sections: Record<string, unknown>;
}

export function loadSettings<T>(spec: SettingsSpec, input: LoadInput): Loaded<T> {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const read = input.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
  const args = parseArgv(spec.table, input.argv, input.extraFlags ?? []);
  const problems: FieldProblem[] = [];

  const configFile = args.config ?? (env[CONFIG_ENV] ? env[CONFIG_ENV] : undefined);
  const configPath = configFile === undefined ? null : path.resolve(cwd, configFile);
  const sections = configFile === undefined ? {} : readConfigFile(configFile, configPath!, read, problems);
  problems.push(...checkOtherSections(spec, sections, configFile));
  const resolved = resolveSettings<T>(
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
    sections: deepFreeze(sections),
  };
}

/** `--help` lines: `--config`, then each setting's flag, path, env variable, default and doc. */
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

export { CONFIG_ENV, CONFIG_FLAG };
