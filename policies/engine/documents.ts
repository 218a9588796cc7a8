// YAML/JSON documents with source positions. Every problem found in a document is reported as
// file:line:column plus the field path, never as a stack trace.

import { LineCounter, parseAllDocuments, isMap, isNode, isScalar, type Document, type Node } from 'yaml';
import { RedlineError } from '../../core/errors.js';
import { formatProblem, type DocumentProblem } from '../../core/result.js';
import type { JsonObject } from './types.js';
import { plainDocuments } from './plain-yaml.js';
import { keyStartAt, plainValue, startAt, stringAt, type Places } from './yaml-places.js';

/** Documents that do not parse or validate: a 'document-invalid' RedlineError with every problem's position. */
export type DocumentError = RedlineError<DocumentProblem>;

export function documentError(problems: DocumentProblem[]): DocumentError {
  return new RedlineError('document-invalid', problems.map(formatProblem).join('\n'), { problems });
}

export interface SourceDocument {
  file: string;
  /** 0-based index of the document in its file. */
  index: number;
  value: JsonObject;
  line: number;
  column: number;
  /** Position of a field's value inside this document (falls back to the nearest existing parent). */
  locate(path: readonly (string | number)[]): { line: number; column: number };
  /** Position of a field's key, where the field name itself is the problem (an unknown field). */
  locateKey(path: readonly (string | number)[]): { line: number; column: number };
  /** Position of character `offset` of a string field's value, through quoting and folding. */
  locateInValue(path: readonly (string | number)[], offset: number): { line: number; column: number };
}

export function pathToString(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

/** Splits a file into documents. Empty documents are skipped; non-object documents are problems. */
export function parseDocuments(file: string, text: string): { docs: SourceDocument[]; problems: DocumentProblem[] } {
  const lineCounter = new LineCounter();
  const docs: SourceDocument[] = [];
  const problems: DocumentProblem[] = [];
  const pos = (offset: number): { line: number; column: number } => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const plain = plainDocuments(text);
  if (plain) {
    // As the yaml package's parser counts lines: the start of the input and after every line feed.
    lineCounter.addNewLine(0);
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineCounter.addNewLine(i + 1);
    for (const d of plain) docs.push(placedDocument(file, d.index, text, d.value, d.places, pos));
    return { docs, problems };
  }
  let parsed: Document.Parsed[];
  try {
    parsed = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false }) as Document.Parsed[];
  } catch (e) {
    return { docs, problems: [{ file, line: 1, column: 1, path: '', message: (e as Error).message }] };
  }
  if (!Array.isArray(parsed)) parsed = [];
  parsed.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const { line, column } = pos(err.pos[0]);
        problems.push({ file, line, column, path: '', message: `invalid YAML: ${err.message.split('\n')[0]}` });
      }
      return;
    }
    if (doc.contents === null) return;
    const plain = plainValue(doc.contents);
    if (plain) {
      docs.push(placedDocument(file, index, text, plain.value, plain.places, pos));
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      problems.push({ file, ...pos(doc.range[0]), path: '', message: (e as Error).message });
      return;
    }
    if (value === null || value === undefined) return;
    const start = pos(isNode(doc.contents) && doc.contents.range ? doc.contents.range[0] : doc.range[0]);
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push({ file, ...start, path: '', message: 'a document must be a mapping (an object with apiVersion and kind)' });
      return;
    }
    // Anchors, aliases, tags or merge keys: the Document itself answers where a field is.
    docs.push({ file, index, value: value as JsonObject, ...start, ...documentLocator(doc, text, pos, start) });
  });
  return { docs, problems };
}

type Position = { line: number; column: number };
type Locator = Pick<SourceDocument, 'locate' | 'locateKey' | 'locateInValue'>;

/** Where a field is, asked of the yaml package's Document (`start`: the document's own position, the last resort). */
export function documentLocator(doc: Document.Parsed, text: string, pos: (offset: number) => Position, start: Position): Locator {
  const locate = (path: readonly (string | number)[]): Position => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && (node as Node).range) return pos((node as Node).range![0]);
    }
    return start;
  };
  return {
    locate,
    locateKey: (path) => {
      const parent = doc.getIn(path.slice(0, -1), true);
      const last = path.at(-1);
      if (isMap(parent) && typeof last === 'string') {
        const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
        if (pair && isNode(pair.key) && pair.key.range) return pos(pair.key.range[0]);
      }
      return locate(path);
    },
    locateInValue: (path, offset) => {
      const node = doc.getIn(path, true);
      if (!isScalar(node) || typeof node.value !== 'string' || !node.range) return locate(path);
      return pos(node.range[0] + rawIndexOf(node.value, text.slice(node.range[0], node.range[1]), node.type ?? 'PLAIN', offset));
    },
  };
}

/** A document of plain mappings, sequences and JSON scalars, located through its nodes' places. */
function placedDocument(file: string, index: number, text: string, value: JsonObject, places: Places, pos: (offset: number) => { line: number; column: number }): SourceDocument {
  const start = pos(places.tape[0]!);
  const locate = (path: readonly (string | number)[]): { line: number; column: number } => {
    for (let n = path.length; n >= 0; n--) {
      const at = startAt(places, n === path.length ? path : path.slice(0, n));
      if (at !== undefined) return pos(at);
    }
    return start;
  };
  return {
    file, index, value, ...start, locate,
    locateKey: (path) => {
      const at = keyStartAt(places, path);
      return at === undefined ? locate(path) : pos(at);
    },
    locateInValue: (path, offset) => {
      const s = stringAt(places, path);
      return s ? pos(s.start + rawIndexOf(s.value, text.slice(s.start, s.end), s.style, offset)) : locate(path);
    },
  };
}

/**
 * Where character `offset` of a scalar's value sits in its raw source. Folding, indentation and
 * quoting only change whitespace and quote characters, so the n-th non-whitespace character of
 * the value is the n-th non-whitespace content character of the source.
 */
function rawIndexOf(value: string, raw: string, type: string, offset: number): number {
  let wanted = 0;
  for (let i = 0; i < Math.min(offset, value.length); i++) if (!/\s/.test(value[i]!)) wanted++;
  let i = 0;
  if (type === 'BLOCK_LITERAL' || type === 'BLOCK_FOLDED') i = raw.indexOf('\n') + 1;
  else if (type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE') i = 1;
  let seen = 0;
  let end = i;
  for (; i < raw.length; i++) {
    const c = raw[i]!;
    if (/\s/.test(c)) continue;
    if (seen === wanted) return i;
    seen++;
    end = i + 1;
    if (type === 'QUOTE_DOUBLE' && c === '\\') i++; // an escape is one character of the value
    else if (type === 'QUOTE_SINGLE' && c === "'" && raw[i + 1] === "'") i++;
  }
  // Past the last character (an unexpected end of the expression): just after it, before a quote.
  return type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE' ? Math.max(1, end - 1) : end;
}

/** JSON files are YAML too, but a JSON List object (kind: List) is unwrapped into its items. */
export function unwrapLists(docs: SourceDocument[]): SourceDocument[] {
  const out: SourceDocument[] = [];
  for (const d of docs) {
    const items = d.value['items'];
    if (typeof d.value['kind'] === 'string' && d.value['kind'].endsWith('List') && Array.isArray(items)) {
      items.forEach((item, i) => {
        if (item && typeof item === 'object' && !Array.isArray(item)) {
          const p = d.locate(['items', i]);
          out.push({
            ...d, value: item, line: p.line, column: p.column,
            locate: (path) => d.locate(['items', i, ...path]),
            locateKey: (path) => d.locateKey(['items', i, ...path]),
            locateInValue: (path, offset) => d.locateInValue(['items', i, ...path], offset),
          });
        }
      });
    } else out.push(d);
  }
  return out;
}
