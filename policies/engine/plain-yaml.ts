// Plain YAML documents read by js-yaml, several times faster than the yaml package on manifests
// (npm run bench:review), with the yaml package still the one that decides what a document means.
//
// js-yaml reads the structure and the scalars' text (its failsafe schema: every scalar a string);
// a listener records where each node opens and closes. From that tree this module builds the value
// as the yaml package's Document#toJS would (plain scalars resolved by the yaml package's own core
// schema tags, keys inserted in source order, `__proto__` as an own key) and the tape of places
// (yaml-places.ts). Only what a manifest needs is taken this way: block and flow mappings and
// sequences of scalars, written the usual way. Anything else — anchors, aliases, tags, explicit
// keys, empty values, directives, tabs, carriage returns, a byte-order mark, text after `---` or
// `...`, a key that is not a string or is `<<`, an implicit key near the 1024-character limit, a
// flow node whose later lines are not indented past its block collection, a comment glued to a
// closing quote or bracket, a tree whose shape does not match its value, anything js-yaml rejects —
// declines the whole file, and the caller parses it with the yaml package (each of these rules is
// a difference between the two parsers that the tests found). test/unit/plain-yaml.test.ts holds
// this path to the yaml package's answers (values, errors, every field's place) on the
// repository's files and on thousands of mutations of them.

import { FAILSAFE_SCHEMA, loadAll, type State } from 'js-yaml';
import { Document, isScalar, type ScalarTag } from 'yaml';
import type { JsonObject } from './types.js';
import { MAP, SEQ, setField, TapeWriter, type Places } from './yaml-places.js';

/** A document of a file: its index among the file's documents, its value and its places. */
export interface PlainDocument {
  index: number;
  value: JsonObject;
  places: Places;
}

/** A node as js-yaml read it: where it opened (before any white space) and closed, and what it is. */
interface Frame {
  open: number;
  close: number;
  kind: string | null;
  result: unknown;
  children: Frame[] | null;
}

/** Thrown inside the walk where the yaml package must decide. */
const DECLINE = Symbol('decline');

/** What declines a file before it is read: a tab, a carriage return, a byte-order mark, a directive, anything but a comment after a line's `---` or `...`. */
const UNUSUAL = /[\t\r\uFEFF]|^%|^(?:---|\.\.\.)(?!(?:[ ]+(?:#.*)?)?$)/m;

// The schema and options every document of parseAllDocuments has (YAML 1.2, core schema).
const reference = new Document();
const plainTags = reference.schema.tags.filter((t): t is ScalarTag & { test: RegExp } => t.default === true && 'test' in t && t.test instanceof RegExp);
const MAY_NOT_BE_STRING: boolean[] = [];
for (const c of '~NnTtFf+-.0123456789') MAY_NOT_BE_STRING[c.charCodeAt(0)] = true;
const declineOnError = (): never => {
  throw DECLINE;
};

/**
 * The documents of a file (empty documents and documents whose value is null skipped, as
 * parseDocuments skips them), or null when the file needs the yaml package.
 */
export function plainDocuments(text: string): PlainDocument[] | null {
  if (UNUSUAL.test(text)) return null;
  const roots: Frame[] = [];
  const stack: Frame[] = [];
  const listener = (event: 'open' | 'close', state: State): void => {
    if (event === 'open') {
      const frame: Frame = { open: state.position, close: 0, kind: null, result: null, children: null };
      if (stack.length === 0) roots.push(frame);
      stack.push(frame);
      return;
    }
    const frame = stack.pop()!;
    frame.kind = state.kind;
    frame.result = state.result;
    frame.close = state.position;
    // Inside a scalar, js-yaml's attempts at reading it as something else; an empty node adds nothing.
    if (frame.kind === 'scalar') frame.children = null;
    const parent = stack.at(-1);
    if (parent && frame.kind !== null) (parent.children ??= []).push(frame);
  };
  try {
    loadAll(text, undefined, { schema: FAILSAFE_SCHEMA, listener });
    const out: PlainDocument[] = [];
    roots.forEach((root, index) => {
      if (root.kind === null) return;
      const places = new TapeWriter();
      const value = build(text, root, places);
      if (root.kind === 'mapping') out.push({ index, value: value as JsonObject, places });
      // A null document is skipped like an empty one; any other value is a problem the yaml package words.
      else if (value !== null) throw DECLINE;
    });
    return out;
  } catch {
    // DECLINE, js-yaml's error, or nesting too deep for the stack: the yaml package decides.
    return null;
  }
}

/** Appends the frame's entries to the tape and returns its value as Document#toJS gives it. */
function build(text: string, read: Frame, places: TapeWriter, blockIndent = -1): unknown {
  let frame = read;
  // A node js-yaml first tried as a block mapping's key and then kept as it was: the same node twice.
  while (frame.children?.length === 1 && frame.children[0]!.result === frame.result) frame = frame.children[0]!;
  const start = startOf(text, frame.open);
  const first = text.charCodeAt(start);
  // An anchor, an alias or a tag.
  if (first === 0x26 || first === 0x2a || first === 0x21) throw DECLINE;
  const children = frame.children ?? [];
  const flow = first === 0x5b || first === 0x7b || (frame.kind === 'scalar' && first !== 0x7c && first !== 0x3e);
  // In a block collection, the yaml package wants every later line of a flow node indented past the collection's column.
  if (flow && blockIndent >= 0 && !indentedPast(text, start, frame.close, blockIndent)) throw DECLINE;
  if (frame.kind === 'scalar') return scalar(text, frame, start, places);
  if (flow && text.charCodeAt(frame.close) === 0x23) throw DECLINE;
  const column = flow ? -1 : start - text.lastIndexOf('\n', start - 1) - 1;
  if (frame.kind === 'sequence') {
    const items = frame.result as unknown[];
    if (!Array.isArray(items) || children.length !== items.length) throw DECLINE;
    const at = places.open(start, frame.close, SEQ);
    const value: unknown[] = [];
    children.forEach((child, i) => {
      if (child.result !== items[i]) throw DECLINE;
      value.push(build(text, child, places, column));
    });
    places.close(at);
    return value;
  }
  if (frame.kind !== 'mapping') throw DECLINE;
  const pairs = frame.result as Record<string, unknown>;
  if (children.length !== 2 * Object.keys(pairs).length) throw DECLINE;
  const at = places.open(start, frame.close, MAP);
  const value: Record<string, unknown> = {};
  for (let i = 0; i < children.length; i += 2) {
    const key = children[i]!;
    const item = children[i + 1]!;
    const source = key.result;
    if (key.kind !== 'scalar' || typeof source !== 'string' || !Object.hasOwn(pairs, source) || item.result !== pairs[source]) throw DECLINE;
    const keyStart = startOf(text, key.open);
    if (item.open - keyStart > 1000 || !colonBetween(text, key.close, item.open) || explicitKey(text, keyStart)) throw DECLINE;
    const k = isPlain(text.charCodeAt(keyStart)) ? resolvePlain(source) : source;
    if (typeof k !== 'string' || k === '<<') throw DECLINE;
    places.key(keyStart, key.close, k);
    setField(value, k, build(text, item, places, column));
  }
  places.close(at);
  return value;
}

function scalar(text: string, frame: Frame, start: number, places: TapeWriter): unknown {
  const source = frame.result;
  if (typeof source !== 'string') throw DECLINE;
  const first = text.charCodeAt(start);
  if (first === 0x22 || first === 0x27) {
    // "…" or '…': js-yaml stops just past the closing quote; a comment right after it is the yaml package's error.
    if (text.charCodeAt(frame.close - 1) !== first || text.charCodeAt(frame.close) === 0x23) throw DECLINE;
    places.string(start, frame.close, first === 0x22 ? 'QUOTE_DOUBLE' : 'QUOTE_SINGLE', source);
    return source;
  }
  const end = trimEnd(text, frame.close);
  if (first === 0x7c || first === 0x3e) {
    // As the yaml package's range: past the header's line break, even when nothing follows it.
    const header = text.indexOf('\n', start) + 1;
    places.string(start, Math.max(end, header), first === 0x7c ? 'BLOCK_LITERAL' : 'BLOCK_FOLDED', source);
    return source;
  }
  const value = resolvePlain(source);
  if (typeof value === 'string') places.string(start, end, 'PLAIN', value);
  else if (value === null || typeof value === 'number' || typeof value === 'boolean') places.other(start, end);
  else throw DECLINE;
  return value;
}

/** A plain scalar's value under the core schema, by its own tags (the first whose test matches). */
function resolvePlain(source: string): unknown {
  // Every core tag but str matches only the empty string or text starting with one of ~ N n T t F f + - . 0-9.
  if (source !== '' && !MAY_NOT_BE_STRING[source.charCodeAt(0)]) return source;
  const tag = plainTags.find((t) => t.test.test(source));
  if (!tag) return source;
  const resolved = tag.resolve(source, declineOnError, reference.options);
  return isScalar(resolved) ? resolved.value : resolved;
}

function isPlain(first: number): boolean {
  return first !== 0x22 && first !== 0x27;
}

/** Whether every later line from `start` to `end` that is not empty is indented past `column`. */
function indentedPast(text: string, start: number, end: number, column: number): boolean {
  for (let eol = text.indexOf('\n', start); eol >= 0 && eol < end; eol = text.indexOf('\n', eol + 1)) {
    let i = eol + 1;
    while (text.charCodeAt(i) === 0x20) i++;
    if (i < text.length && text.charCodeAt(i) !== 0x0a && i - eol - 1 <= column) return false;
  }
  return true;
}

/**
 * Whether only spaces and one `:` lie between a key's end and where its value opened: the `:` on the
 * key's line, not an explicit `? key` / `: value` pair nor a key on several lines.
 */
function colonBetween(text: string, from: number, to: number): boolean {
  let colons = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a) colons++;
    else if (c !== 0x20) return false;
  }
  return colons === 1;
}

/** Whether a `?` (an explicit key's indicator) precedes the key starting at `at` on its line. */
function explicitKey(text: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && text.charCodeAt(i) === 0x20) i--;
  return text.charCodeAt(i) === 0x3f;
}

/** Where a node opened at `at` starts: past white space, line breaks and comments, as js-yaml skips them. */
function startOf(text: string, at: number): number {
  let i = at;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a) i++;
    else if (c === 0x23) {
      const eol = text.indexOf('\n', i);
      if (eol < 0) return text.length;
      i = eol;
    } else return i;
  }
}

/** Where the content before `at` ends: back past white space and line breaks. */
function trimEnd(text: string, at: number): number {
  let i = Math.min(at, text.length);
  while (i > 0 && (text.charCodeAt(i - 1) === 0x20 || text.charCodeAt(i - 1) === 0x0a)) i--;
  return i;
}
