// The command line of a process: `--flag VALUE`, `--flag=VALUE`, bool `--flag` / `--no-flag`,
// repeated list flags add up, `--config FILE`, `--help`. Bad flags are usage problems, kept apart
// from bad settings.

import { splitList } from './values.js';
import type { Setting } from './spec.js';

export const CONFIG_FLAG = '--config';

export interface UsageProblem {
  flag: string;
  issue: 'unknown' | 'needs-value';
}

/** `unknown flag --x` / `flag --x needs a value`. */
export function usageMessage(u: UsageProblem): string {
  return u.issue === 'unknown' ? `unknown flag ${u.flag}` : `flag ${u.flag} needs a value`;
}

export interface ParsedArgv {
  help: boolean;
  config?: string;
  flags: Map<string, { value: string | string[]; flag: string }>;
  extras: Map<string, string>;
  positional: string[];
  usage: UsageProblem[];
}

export function parseArgv(table: readonly Setting[], argv: readonly string[], extraFlags: readonly string[]): ParsedArgv {
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
