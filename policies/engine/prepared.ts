// The shipped library, read ahead of time. `npm run build` (scripts/prepare-library.mjs) parses and
// validates policies/library once and writes its documents as JSON, keyed by a hash of every file
// it read; loadLibrary uses them instead of parsing the YAML and running the Plan/Policy schemas
// again when the library on disk hashes the same, and a one-shot process (review, mutate) parses
// their CEL expressions only when it first evaluates them (checkedExpression). An edited library
// (another hash) is read from its files and checked as always, so the JSON can only ever stand
// for the exact text it was made from.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RedlineError } from '../../core/errors.js';
import { ok } from '../../core/result.js';
import { compile, type Compiled, type CompileResult, type Expectation, type Scope } from './cel.js';
import { parseDocuments, type SourceDocument } from './documents.js';
import type { JsonObject } from './types.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = HERE.includes(join('dist', 'policies')) ? join(HERE, '..', '..', '..') : join(HERE, '..', '..');
/** Written by `npm run build`; absent when running from the sources without a build. */
export const PREPARED_LIBRARY = join(ROOT, 'dist', 'policies', 'library.prepared.json');

/** A library's files as loadLibrary reads them: `name` relative to the library, `file` as shown in messages. */
export interface LibrarySource { name: string; file: string; text: string }

interface PreparedDocument { index: number; line: number; column: number; value: JsonObject }
export interface PreparedLibrary { hash: string; files: Record<string, PreparedDocument[]> }

/** One hash over every file's name and text, in order. */
export function libraryHash(sources: readonly LibrarySource[]): string {
  const hash = createHash('sha256');
  for (const s of sources) hash.update(`${s.name}\u0000${s.text.length}\u0000${s.text}\u0000`);
  return hash.digest('hex');
}

/** The prepared documents of these sources (name → documents), or null when none match them. */
export function preparedFor(sources: readonly LibrarySource[], path = PREPARED_LIBRARY): Map<string, SourceDocument[]> | null {
  let prepared: PreparedLibrary;
  try {
    prepared = JSON.parse(readFileSync(path, 'utf8')) as PreparedLibrary;
  } catch {
    return null;
  }
  if (prepared.hash !== libraryHash(sources)) return null;
  const out = new Map<string, SourceDocument[]>();
  for (const source of sources) {
    const docs = prepared.files[source.name];
    if (!docs) return null;
    out.set(source.name, docs.map((d) => documentOf(source, d)));
  }
  return out;
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
  for (const s of sources) files[s.name] = (docs.get(s.name) ?? []).map((d) => ({ index: d.index, line: d.line, column: d.column, value: d.value }));
  return { hash: libraryHash(sources), files };
}

/**
 * An expression of a prepared document: the build compiled it without a problem (the prepared
 * library is only written for a library that loads), so a one-shot process (review, mutate) parses
 * and type-checks it on first use rather than at load. A review of one object evaluates about half
 * of the library's expressions (126 of 226 for a KubeDB Redis), and parsing them all was a fifth
 * of its start-up (npm run bench:review).
 */
export function checkedExpression(source: string, expect: Expectation): CompileResult {
  return ok(new CheckedExpression(source, expect));
}

class CheckedExpression implements Compiled {
  private compiled: Compiled | undefined;

  constructor(readonly source: string, private readonly expect: Expectation) {}

  private get expr(): Compiled {
    if (this.compiled) return this.compiled;
    const result = compile(this.source, this.expect, true);
    // Only a build with another CEL environment than this process's could get here.
    if (!result.ok) throw new RedlineError('internal', `prepared expression ${JSON.stringify(this.source)} does not compile: ${result.problem.message}`);
    return (this.compiled = result.value);
  }

  get native(): boolean { return this.expr.native; }
  evaluate(scope: Scope): unknown { return this.expr.evaluate(scope); }
  evaluateNative(scope: Scope): unknown { return this.expr.evaluateNative(scope); }
  interpret(scope: Scope): unknown { return this.expr.interpret(scope); }
}
