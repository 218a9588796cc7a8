// The command line of a process: `--flag VALUE`, `--flag=VALUE`, bool `--flag` / `--no-flag`,
// repeated list flags add up, `--config FILE`, `--help`. Bad flags are usage problems, kept apart
// from bad settings.

import type { Problem } from '../result.js';
import { splitList } from './values.js';
import type { Setting } from './spec.js';

export const CONFIG_FLAG = '--config';

/** A bad flag; the message is `unknown flag --x` / `flag --x needs a value`. */
export type UsageProblem = Problem & { flag: string; issue: 'unknown' | 'needs-value' };

function usageProblem(flag: string, issue: UsageProblem['issue']): UsageProblem {
  return { flag, issue, message: issue === 'unknown' ? `unknown flag ${flag}` : `flag ${flag} needs a value` };
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
      if (v === undefined || v === '') out.usage.push(usageProblem(name, 'needs-value'));
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
      out.usage.push(usageProblem(name, 'unknown'));
      continue;
    }
    if (s.kind === 'bool') {
      out.flags.set(s.path, { value: negated ? 'false' : (inline ?? 'true'), flag: name });
      continue;
    }
    const v = takeValue();
    if (v === undefined) out.usage.push(usageProblem(name, 'needs-value'));
    else if (s.kind === 'list') {
      const prev = out.flags.get(s.path)?.value;
      out.flags.set(s.path, { value: [...(Array.isArray(prev) ? prev : []), ...splitList(v)], flag: name });
    } else out.flags.set(s.path, { value: v, flag: name });
  }
  return out;
}
