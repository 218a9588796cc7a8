// A parsed YAML document's value together with where each of its nodes sits in the source, kept
// instead of the yaml package's Document. A review of a 1,000-file repository holds every document
// until its findings are located; holding the Documents (a node, a range array and a Pair per
// field) cost about 20% more than parsing alone, in garbage collection (npm run bench:review).
// Here a document's nodes are one flat array of numbers (a "tape", in source order) and one array
// of strings, which the collector does not have to trace node by node.
//
// Documents this plain walk does not cover exactly as Document#toJS does (anchors, aliases, tags,
// merge keys, keys that are not strings, values that are not JSON) are left to the caller, which
// keeps their Document.

import { isAlias, isMap, isScalar, isSeq, type Node, type ParsedNode, type Scalar } from 'yaml';
import type { JsonObject } from './types.js';

// Each tape entry is four numbers: [start offset, end offset, what, link].
//  what  MAP / SEQ: a collection; link = the entry just past its subtree (its next sibling).
//        KEY: a mapping's key, followed by its value's entry; link = the key's index in `strings`.
//        NONE: a key without a value node (`? key`).
//        OTHER: a scalar that is not a string (number, boolean, null).
//        0…4: a string scalar written in STYLES[what]; link = its value's index in `strings`.
export const MAP = -1;
export const SEQ = -2;
const KEY = -3;
const NONE = -4;
const OTHER = -5;
const STYLES: readonly Scalar.Type[] = ['PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE', 'BLOCK_LITERAL', 'BLOCK_FOLDED'];
const WIDTH = 4;

/** Where a document's nodes sit in its source; entry 0 is the document's root mapping. */
export interface Places {
  readonly tape: readonly number[];
  readonly strings: readonly string[];
}

/** Thrown inside the walk when a node needs Document#toJS. */
const NOT_PLAIN = Symbol('not plain');

/**
 * The JS value of a document whose contents are a mapping, as Document#toJS returns it, with the
 * places of its nodes; null when the document uses anything beyond plain mappings, sequences and
 * JSON scalars (the caller then keeps the Document and asks it).
 */
export function plainValue(contents: ParsedNode | null): { value: JsonObject; places: Places } | null {
  if (!isMap(contents)) return null;
  const places = new TapeWriter();
  try {
    return { value: walk(contents, places) as JsonObject, places };
  } catch {
    // NOT_PLAIN, or nesting too deep for the stack: Document#toJS then answers, or fails as a problem of the document.
    return null;
  }
}

/** Appends the node's entries to the tape and returns its JS value. */
function walk(node: unknown, places: TapeWriter): unknown {
  if (isAlias(node) || (node as Node | null)?.anchor || (node as Node | null)?.tag) throw NOT_PLAIN;
  if (isScalar(node)) {
    const v = node.value;
    const [start, end] = node.range!;
    if (typeof v === 'string') {
      if (!places.string(start, end, node.type ?? 'PLAIN', v)) throw NOT_PLAIN;
    } else if (v === null || typeof v === 'number' || typeof v === 'boolean') places.other(start, end);
    else throw NOT_PLAIN;
    return v;
  }
  if (isMap(node)) {
    const at = places.open(node.range![0], node.range![1], MAP);
    const value: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = pair.key;
      if (!isScalar(key) || typeof key.value !== 'string' || key.value === '<<' || key.anchor || key.tag) throw NOT_PLAIN;
      const k = key.value;
      places.key(key.range![0], key.range![1], k);
      let child: unknown = null;
      if (pair.value === null || pair.value === undefined) places.none(key.range![0], key.range![1]);
      else child = walk(pair.value, places);
      setField(value, k, child);
    }
    places.close(at);
    return value;
  }
  if (isSeq(node)) {
    const at = places.open(node.range![0], node.range![1], SEQ);
    const value: unknown[] = [];
    for (const item of node.items) value.push(walk(item, places));
    places.close(at);
    return value;
  }
  throw NOT_PLAIN;
}

/** As the yaml package does: a key the object already answers to (__proto__, toString) becomes an own property. */
export function setField(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key in target) Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}

/** Writes a tape in source order: both walkers (the Document's here, the CST's in yaml-cst.ts) go through it. */
export class TapeWriter implements Places {
  readonly tape: number[] = [];
  readonly strings: string[] = [];

  /** Opens a MAP or SEQ entry; close it with its index once its subtree is written. */
  open(start: number, end: number, what: typeof MAP | typeof SEQ): number {
    const at = this.tape.length;
    this.tape.push(start, end, what, 0);
    return at;
  }

  close(at: number): void {
    this.tape[at + 3] = this.tape.length / WIDTH;
  }

  key(start: number, end: number, key: string): void {
    this.tape.push(start, end, KEY, this.strings.push(key) - 1);
  }

  none(start: number, end: number): void {
    this.tape.push(start, end, NONE, 0);
  }

  /** A string scalar; false when its style is not one the tape knows. */
  string(start: number, end: number, style: Scalar.Type, value: string): boolean {
    const what = STYLES.indexOf(style);
    if (what < 0) return false;
    this.tape.push(start, end, what, this.strings.push(value) - 1);
    return true;
  }

  /** A scalar that is not a string: a number, a boolean or null. */
  other(start: number, end: number): void {
    this.tape.push(start, end, OTHER, 0);
  }
}

/** The entry after entry `i`'s subtree. */
function next(tape: readonly number[], i: number): number {
  const what = tape[i * WIDTH + 2]!;
  return what === MAP || what === SEQ ? tape[i * WIDTH + 3]! : i + 1;
}

/** The KEY entry of `key` in the mapping at entry `map`, or -1. */
function keyEntry({ tape, strings }: Places, map: number, key: string | number): number {
  // A number never names a key here: every key of a plain mapping is a string.
  if (typeof key !== 'string') return -1;
  const end = tape[map * WIDTH + 3]!;
  for (let i = map + 1; i < end; i = next(tape, i + 1)) if (strings[tape[i * WIDTH + 3]!] === key) return i;
  return -1;
}

/** The entry of the node at `path` (as Document#getIn finds it), or -1. */
function entryAt(places: Places, path: readonly (string | number)[]): number {
  const tape = places.tape;
  let at = 0;
  for (const seg of path) {
    const what = tape[at * WIDTH + 2];
    if (what === MAP) {
      const key = keyEntry(places, at, seg);
      if (key < 0 || tape[(key + 1) * WIDTH + 2] === NONE) return -1;
      at = key + 1;
    } else if (what === SEQ) {
      const index = typeof seg === 'number' ? seg : seg === '' ? -1 : Number(seg);
      if (!Number.isInteger(index) || index < 0) return -1;
      const end = tape[at * WIDTH + 3]!;
      let item = at + 1;
      for (let k = 0; k < index && item < end; k++) item = next(tape, item);
      if (item >= end) return -1;
      at = item;
    } else return -1;
  }
  return at;
}

/** Where the node at `path` starts, or undefined when there is none. */
export function startAt(places: Places, path: readonly (string | number)[]): number | undefined {
  const at = entryAt(places, path);
  return at < 0 ? undefined : places.tape[at * WIDTH];
}

/** Where the key `path` ends with starts, in the mapping at the rest of the path; undefined when there is none. */
export function keyStartAt(places: Places, path: readonly (string | number)[]): number | undefined {
  const parent = entryAt(places, path.slice(0, -1));
  if (parent < 0 || places.tape[parent * WIDTH + 2] !== MAP) return undefined;
  const key = keyEntry(places, parent, path.at(-1)!);
  return key < 0 ? undefined : places.tape[key * WIDTH];
}

/** The string scalar at `path`: its value, its raw source span and its style; undefined for any other node. */
export function stringAt(places: Places, path: readonly (string | number)[]): { value: string; start: number; end: number; style: Scalar.Type } | undefined {
  const at = entryAt(places, path);
  if (at < 0) return undefined;
  const { tape, strings } = places;
  const what = tape[at * WIDTH + 2]!;
  if (what < 0) return undefined;
  return { value: strings[tape[at * WIDTH + 3]!]!, start: tape[at * WIDTH]!, end: tape[at * WIDTH + 1]!, style: STYLES[what]! };
}
