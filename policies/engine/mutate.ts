// Add-if-absent mutation. Records one JSONPatch `add` per addition while it goes (no diffing):
// applying the operations in order to the original object yields the mutated document. Only absent
// fields are added, so a second run over the result records nothing — the fixed point admission
// reinvocation relies on.
//
// The mutated document is copy-on-write: only the objects and lists on the path of an addition are
// copied (shallowly), the rest is shared with the original. Neither may be modified afterwards.

import { isDeepStrictEqual } from 'node:util';
import type { Json, JsonObject, JsonPatchOp } from './types.js';
import type { Segments } from '../workloads/view.js';

function escape(seg: string | number): string {
  return String(seg).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(path: Segments): string {
  return path.length === 0 ? '' : `/${path.map(escape).join('/')}`;
}

function isObject(v: Json | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deep copy of JSON data; several times faster than structuredClone for small objects. */
export function clone<T extends Json>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => clone(x)) as T;
  const out: JsonObject = {};
  for (const key of Object.keys(v)) out[key] = clone((v as JsonObject)[key]!);
  return out as T;
}

/** Wraps `value` for each remaining segment: ['a', 0] + v → {a: [v]}. A list index must be 0. */
function nest(rest: Segments, value: Json): Json {
  let out = value;
  for (let i = rest.length - 1; i >= 0; i--) {
    const seg = rest[i]!;
    if (typeof seg === 'number') {
      if (seg !== 0) throw new Error(`cannot create list item ${seg} of a missing list`);
      out = [out];
    } else out = { [seg]: out };
  }
  return out;
}

function shallowCopy<T extends JsonObject | Json[]>(v: T): T {
  return (Array.isArray(v) ? v.slice() : Object.assign({}, v)) as T;
}

export class PatchRecorder {
  readonly ops: JsonPatchOp[] = [];
  private root: JsonObject;
  /** The containers this recorder copied, so may write to; everything else is the original's. */
  private readonly owned = new WeakSet<object>();

  constructor(original: JsonObject) {
    this.root = original;
  }

  /** The document as mutated so far: the original itself until something is added. */
  get doc(): JsonObject {
    return this.root;
  }

  /** The container at `path` (an object or list all the way down), copied first if still shared. */
  private writable(path: Segments): JsonObject | Json[] {
    if (!this.owned.has(this.root)) {
      this.root = shallowCopy(this.root);
      this.owned.add(this.root);
    }
    let node: JsonObject | Json[] = this.root;
    for (const seg of path) {
      const container = node as Record<string | number, Json>;
      let child = container[seg] as JsonObject | Json[];
      if (!this.owned.has(child)) {
        child = shallowCopy(child);
        container[seg] = child;
        this.owned.add(child);
      }
      node = child;
    }
    return node;
  }

  /** `value` is never modified later: the document holds its own copy. */
  private record(path: Segments, value: Json): void {
    this.ops.push({ op: 'add', path: pointer(path), value });
  }

  /**
   * Deep add-if-absent: every leaf of `tree` that is absent at `path` is added; present values
   * (including lists and nulls) are left as they are — or, with `appendToLists`, a list present in
   * both gets the tree's items it does not hold yet appended (still a fixed point). Returns false
   * when the path runs into a non-object, where nothing can be added.
   */
  merge(path: Segments, tree: Json, appendToLists = false): boolean {
    let parent: Json = this.doc;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      if (Array.isArray(parent)) {
        const index = seg as number;
        if (typeof index !== 'number' || index > parent.length) return false;
        if (index === parent.length) {
          const value = nest(path.slice(i + 1), tree);
          (this.writable(path.slice(0, i)) as Json[]).push(clone(value));
          this.record(path.slice(0, i + 1), value);
          return true;
        }
        parent = parent[index] as Json;
        continue;
      }
      if (!isObject(parent)) return false;
      const next: Json | undefined = parent[String(seg)];
      if (next === undefined) {
        const value = nest(path.slice(i + 1), tree);
        (this.writable(path.slice(0, i)) as JsonObject)[String(seg)] = clone(value);
        this.record(path.slice(0, i + 1), value);
        return true;
      }
      parent = next;
    }
    return this.mergeInto(parent, path, tree, appendToLists);
  }

  private mergeInto(current: Json, path: Segments, tree: Json, appendToLists: boolean): boolean {
    if (!isObject(tree) || !isObject(current)) return isObject(current) || !isObject(tree);
    for (const [key, value] of Object.entries(tree)) {
      const existing = current[key];
      if (existing === undefined) {
        (this.writable(path) as JsonObject)[key] = clone(value);
        this.record([...path, key], value);
      } else if (isObject(value) && isObject(existing)) {
        this.mergeInto(existing, [...path, key], value, appendToLists);
      } else if (appendToLists && Array.isArray(value) && Array.isArray(existing)) {
        const missing = value.filter((item) => !existing.some((x) => isDeepStrictEqual(x, item)));
        if (missing.length === 0) continue;
        const held = this.writable([...path, key]) as Json[];
        for (const item of missing) {
          if (held.some((x) => isDeepStrictEqual(x, item))) continue;
          this.record([...path, key, held.length], item);
          held.push(clone(item));
        }
      }
    }
    return true;
  }

  /** Ensures list[index] exists (appending `value` when index == length). */
  ensureListItem(list: Segments, index: number, value: JsonObject): boolean {
    return this.merge([...list, index], value);
  }
}

/** Applies `add` operations (what Redline emits) to a copy of `doc`; throws on a bad path. */
export function applyAddPatch(doc: JsonObject, ops: readonly JsonPatchOp[]): JsonObject {
  const out = clone(doc);
  for (const op of ops) {
    const segs = op.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    let parent: Json = out;
    for (const seg of segs.slice(0, -1)) {
      parent = Array.isArray(parent) ? (parent[Number(seg)] as Json) : isObject(parent) ? (parent[seg] as Json) : null;
      if (parent === undefined || parent === null || typeof parent !== 'object') throw new Error(`patch path ${op.path} does not exist`);
    }
    const last = segs.at(-1) ?? '';
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index > parent.length) throw new Error(`patch index ${op.path} out of range`);
      parent.splice(index, 0, clone(op.value));
    } else if (isObject(parent)) parent[last] = clone(op.value);
    else throw new Error(`patch path ${op.path} does not exist`);
  }
  return out;
}
