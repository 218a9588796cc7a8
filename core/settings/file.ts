// The config file: one YAML mapping with a section per process (`serve:`, `controller:`); each
// process reads its own and ignores the others'. Named by --config FILE or REDLINE_CONFIG.

import { parseDocument } from 'yaml';
import { describe, isPlainObject } from './values.js';
import { SECTIONS, type SettingsSpec } from './spec.js';
import type { FieldProblem } from '../result.js';

export const CONFIG_ENV = 'REDLINE_CONFIG';

/** Reads the config file's sections; every problem has the path `config`. */
export function readConfigFile(file: string, resolved: string, read: (f: string) => string, problems: FieldProblem[]): Record<string, unknown> {
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

/** Unknown sections, and other processes' sections that are not mappings (unless the spec ignores them). */
export function checkOtherSections(spec: SettingsSpec, sections: Record<string, unknown>, file: string | undefined): FieldProblem[] {
  if (spec.otherSections === 'ignore') return [];
  const problems: FieldProblem[] = [];
  for (const [name, content] of Object.entries(sections)) {
    if (!(SECTIONS as readonly string[]).includes(name)) {
      problems.push({ path: name, message: `unknown section (from file ${file}); known: ${SECTIONS.join(', ')}` });
    } else if (name !== spec.section && content !== null && content !== undefined && !isPlainObject(content)) {
      problems.push({ path: name, message: `must be a mapping, got ${describe(content)} (from file ${file})` });
    }
  }
  return problems;
}
