// Where a finding points: the offending field's line and column in the reviewed file. A failing
// `violations` rule names its offenders by path (the engine keeps the leading paths); otherwise
// the rule's declared `fields` say where the judged value lives, the first the object has. With
// neither (or a path the source does not have at all), the finding sits on the object's first line.

import type { SourceDocument } from '../engine/documents.js';
import type { CompiledRule } from '../engine/library.js';
import type { Json, RuleResult } from '../engine/types.js';

export interface Location {
  line: number;
  column: number;
  /** The field path pointed at; '' for the object itself. */
  path: string;
}

type Segment = string | number | '*';

/** "spec.template.spec.containers[0]" → ['spec', 'template', 'spec', 'containers', 0]; [*] → '*'. */
export function parsePath(path: string): Segment[] {
  const out: Segment[] = [];
  for (const part of path.match(/[^.[\]]+|\[(\d+|\*)\]/g) ?? []) {
    if (part.startsWith('[')) out.push(part === '[*]' ? '*' : Number(part.slice(1, -1)));
    else out.push(part);
  }
  return out;
}

function format(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out ? `.${s}` : s;
  return out;
}

/**
 * The first concrete path (in document order) a pattern matches in `value`, or null. Only the first
 * is ever shown; listing every match of a `[*]` field first was most of review's locating time.
 */
function firstMatch(value: Json | undefined, pattern: readonly Segment[], at: (string | number)[] = []): (string | number)[] | null {
  if (at.length === pattern.length) return at;
  if (value === null || typeof value !== 'object') return null;
  const head = pattern[at.length]!;
  if (head === '*') {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = firstMatch(value[i], pattern, [...at, i]);
        if (found) return found;
      }
      return null;
    }
    for (const k of Object.keys(value)) {
      const found = firstMatch(value[k], pattern, [...at, k]);
      if (found) return found;
    }
    return null;
  }
  const next = Array.isArray(value) ? (typeof head === 'number' ? value[head] : undefined) : value[String(head)];
  return next === undefined ? null : firstMatch(next, pattern, [...at, head]);
}

/** The longest prefix of `segments` the source document has. */
function existingPrefix(value: Json, segments: readonly (string | number)[]): (string | number)[] {
  const out: (string | number)[] = [];
  let cur: Json | undefined = value;
  for (const s of segments) {
    if (cur === null || typeof cur !== 'object') break;
    const next: Json | undefined = Array.isArray(cur) ? (typeof s === 'number' ? cur[s] : undefined) : cur[String(s)];
    if (next === undefined) break;
    out.push(s);
    cur = next;
  }
  return out;
}

/** The location of one result of an object read from `doc`; `rule` is the result's rule (absent for Redline's own). */
export function locate(doc: SourceDocument, result: RuleResult, rule: CompiledRule | undefined): Location {
  // An offender's path, as far as the source has it (a field mutation adds is shown at its parent).
  for (const path of result.paths ?? []) {
    const segments = existingPrefix(doc.value, parsePath(path).filter((s): s is string | number => s !== '*'));
    if (segments.length > 0) return { ...doc.locate(segments), path: format(segments) };
  }
  for (const field of rule?.fields ?? []) {
    const first = firstMatch(doc.value, parsePath(field));
    if (first) return { ...doc.locate(first), path: format(first) };
  }
  return { line: doc.line, column: doc.column, path: '' };
}
