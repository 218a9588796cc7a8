// The shipped library, read ahead of time. `npm run build` (scripts/prepare-library.mjs) parses and
// validates policies/library once and writes its documents as JSON, keyed by a hash of every file
// it read; loadLibrary uses them instead of parsing the YAML and running the Plan/Policy schemas
// again when the library on disk hashes the same, and a one-shot process (review, mutate) runs
// their CEL expressions from the JS the build generated for them (preparedExpressions). An edited library
// (another hash) is read from its files and checked as always, so the JSON can only ever stand
// for the exact text it was made from.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ok } from '../../core/result.js';
import { compactCode, preparedExpression, type CompileResult, type Expectation } from './cel.js';
import type { CompiledCode } from './cel-compile.js';
import { parseDocuments, type SourceDocument } from './documents.js';
import type { JsonObject } from './types.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = HERE.includes(join('dist', 'policies')) ? join(HERE, '..', '..', '..') : join(HERE, '..', '..');
/** Written by `npm run build`; absent when running from the sources without a build. */
export const PREPARED_LIBRARY = join(ROOT, 'dist', 'policies', 'library.prepared.json');

/** A library's files as loadLibrary reads them: `name` relative to the library, `file` as shown in messages. */
export interface LibrarySource { name: string; file: string; text: string }

interface PreparedDocument { index: number; line: number; column: number; value: JsonObject }
export interface PreparedLibrary {
  hash: string;
  files: Record<string, PreparedDocument[]>;
  /** The compact form of each CEL expression of its policies, by source (null: interpreted by cel-js). */
  code?: Record<string, CompiledCode | null>;
}

/** Where a Policy keeps CEL: the lists under spec and the fields of each item that hold an expression, with what they must return. */
const EXPRESSION_FIELDS: Record<string, Record<string, Expectation>> = {
  variables: { expression: 'any' },
  rules: { when: 'bool', expression: 'bool', violations: 'list', messageExpression: 'string', skipMessageExpression: 'string' },
  mutations: { when: 'bool', addExpression: 'map' },
};

/** A prepared library as loadLibrary uses it: each source's documents, and its expressions' stored code. */
export interface PreparedSources {
  /** Source name → its documents, parsed and validated by the build. */
  documents: ReadonlyMap<string, SourceDocument[]>;
  /** Expression source → its compact form (null: interpreted by cel-js); an expression not in it is parsed on first use. */
  code: ReadonlyMap<string, CompiledCode | null>;
}

/** One hash over every file's name and text, in order. */
export function libraryHash(sources: readonly LibrarySource[]): string {
  const hash = createHash('sha256');
  for (const s of sources) hash.update(`${s.name}\u0000${s.text.length}\u0000${s.text}\u0000`);
  return hash.digest('hex');
}

/** What was prepared for exactly these sources, or null when nothing matches them. */
export function preparedFor(sources: readonly LibrarySource[], path = PREPARED_LIBRARY): PreparedSources | null {
  let prepared: PreparedLibrary;
  try {
    prepared = JSON.parse(readFileSync(path, 'utf8')) as PreparedLibrary;
  } catch {
    return null;
  }
  if (prepared.hash !== libraryHash(sources)) return null;
  const documents = new Map<string, SourceDocument[]>();
  for (const source of sources) {
    const docs = prepared.files[source.name];
    if (!docs) return null;
    documents.set(source.name, docs.map((d) => documentOf(source, d)));
  }
  return { documents, code: new Map(Object.entries(prepared.code ?? {})) };
}

/** A document from its prepared value; positions inside it are found by parsing its file, only if asked. */
function documentOf(source: LibrarySource, d: PreparedDocument): SourceDocument {
  let parsed: SourceDocument | undefined;
  const real = (): SourceDocument => (parsed ??= parseDocuments(source.file, source.text).docs.find((x) => x.index === d.index)!);
  return {
    file: source.file, index: d.index, value: d.value, line: d.line, column: d.column,
    locate: (path) => real().locate(path),
    locateKey: (path) => real().locateKey(path),
    locateInValue: (path, offset) => real().locateInValue(path, offset),
  };
}

/** What scripts/prepare-library.mjs writes: the documents of a library that loaded without a problem. */
export function prepare(sources: readonly LibrarySource[], docs: ReadonlyMap<string, readonly SourceDocument[]>): PreparedLibrary {
  const files: Record<string, PreparedDocument[]> = {};
  const code: Record<string, CompiledCode | null> = {};
  for (const s of sources) {
    files[s.name] = (docs.get(s.name) ?? []).map((d) => ({ index: d.index, line: d.line, column: d.column, value: d.value }));
    for (const d of docs.get(s.name) ?? []) {
      if (d.value['kind'] !== 'Policy') continue;
      for (const [source, expect] of policyExpressions(d.value)) {
        if (Object.hasOwn(code, source)) continue;
        const compact = compactCode(source, expect);
        if (compact !== undefined) code[source] = compact;
      }
    }
  }
  return { hash: libraryHash(sources), files, code };
}

/** Every CEL expression of a Policy document, with what it must return. */
function policyExpressions(policy: JsonObject): [string, Expectation][] {
  const out: [string, Expectation][] = [];
  const spec = policy['spec'];
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return out;
  for (const [list, fields] of Object.entries(EXPRESSION_FIELDS)) {
    const items = spec[list];
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) continue;
      for (const [field, expect] of Object.entries(fields)) {
        const source = item[field];
        if (typeof source === 'string') out.push([source, expect]);
      }
    }
  }
  return out;
}

/**
 * How a one-shot process (review, mutate) compiles the expressions of these prepared documents. The
 * build compiled each without a problem (the prepared library is only written for a library that
 * loads), so none is parsed at load: each runs the compact form the build stored, and cel-js
 * parses it only when something needs cel-js (see preparedExpression); one without stored code is
 * parsed on first use. A review of one object evaluates about half of the library's expressions
 * (126 of 226 for a KubeDB Redis): parsing them all was a fifth of its start-up, and parsing and
 * generating them a twelfth of a 1,000-file review's engine time (39 of 446 µs per object).
 */
export function preparedExpressions(code: PreparedSources['code']): (source: string, expect: Expectation) => CompileResult {
  return (source, expect) => ok(preparedExpression(source, expect, code.get(source) ?? null));
}
