// Reads the controller's settings from argv (+ --config FILE or REDLINE_CONFIG) and the
// environment. Shared by `redline controller` and `redline render tenant` so both see the same
// settings. Usage problems (unknown flag, missing value) and setting problems are kept apart:
// the first are bad usage, the second a bad configuration; both are reported all at once.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { controllerSettingByFlag, resolveControllerSettings, type ControllerSettings, type SettingProblem } from './settings.js';

export interface ControllerArgs {
  settings: ControllerSettings | null;
  problems: SettingProblem[];
  usage: string[];
  help: boolean;
  /** Values of the extra flags the caller declared (e.g. render's --namespace). */
  extras: Map<string, string>;
  /** Positional arguments. */
  positional: string[];
  configFile: string | null;
}

export interface LoadControllerArgsInput {
  argv: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Flags (with a value) that the caller handles itself. */
  extraFlags?: readonly string[];
  readFile?: (file: string) => string;
}

export function loadControllerArgs(input: LoadControllerArgsInput): ControllerArgs {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const read = input.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
  const usage: string[] = [];
  const problems: SettingProblem[] = [];
  const flags = new Map<string, { value: string; flag: string }>();
  const extras = new Map<string, string>();
  const positional: string[] = [];
  let help = false;
  let configFlag: string | undefined;
  const extra = new Set(input.extraFlags ?? []);

  for (let i = 0; i < input.argv.length; i++) {
    const arg = input.argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    let inline: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    const takeValue = (): string | undefined => {
      if (inline !== undefined) return inline;
      const next = input.argv[i + 1];
      if (next === undefined || next.startsWith('--')) return undefined;
      i++;
      return next;
    };
    if (name === '--config' || extra.has(name)) {
      const v = takeValue();
      if (v === undefined || v === '') usage.push(`flag ${name} needs a value`);
      else if (name === '--config') configFlag = v;
      else extras.set(name, v);
      continue;
    }
    let s = controllerSettingByFlag(name);
    let negated = false;
    if (!s && name.startsWith('--no-')) {
      const pos = controllerSettingByFlag(`--${name.slice(5)}`);
      if (pos?.kind === 'bool') {
        s = pos;
        negated = true;
      }
    }
    if (!s) {
      usage.push(`unknown flag ${name}`);
      continue;
    }
    if (s.kind === 'bool') {
      flags.set(s.path, { value: negated ? 'false' : (inline ?? 'true'), flag: name });
      continue;
    }
    inline = takeValue();
    if (inline === undefined) usage.push(`flag ${name} needs a value`);
    else flags.set(s.path, { value: inline, flag: name });
  }

  const configFile = configFlag ?? (env['REDLINE_CONFIG'] ? env['REDLINE_CONFIG'] : undefined);
  let section: unknown;
  let configPath: string | null = null;
  if (configFile !== undefined) {
    configPath = path.resolve(cwd, configFile);
    let text: string | undefined;
    try {
      text = read(configPath);
    } catch (e) {
      problems.push({ path: 'config', message: `cannot read ${configFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
    }
    if (text !== undefined) {
      const doc = parseDocument(text);
      if (doc.errors.length) {
        for (const err of doc.errors) {
          const pos = err.linePos?.[0];
          problems.push({ path: 'config', message: `${configFile}${pos ? `:${pos.line}:${pos.col}` : ''}: ${(err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}` });
        }
      } else {
        const root: unknown = doc.toJS();
        if (root !== null && root !== undefined) {
          if (typeof root !== 'object' || Array.isArray(root)) problems.push({ path: 'config', message: `${configFile} must be a mapping with a "controller:" section` });
          else section = (root as Record<string, unknown>)['controller'];
        }
      }
    }
  }
  const resolved = resolveControllerSettings({
    file: section,
    fileName: configFile,
    fileDir: configPath ? path.dirname(configPath) : cwd,
    env,
    flags,
    cwd,
  });
  problems.push(...resolved.problems);
  return { settings: problems.length ? null : resolved.settings, problems, usage, help, extras, positional, configFile: configPath };
}
