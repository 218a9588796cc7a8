// A closure compiler for the CEL that policies use on the admission hot path. cel-js stays the
// reference: it parses and type-checks every expression at load, and it evaluates whatever this
// compiler declines or gives up on. This file turns a checked cel-js AST (`program.ast`) into
// nested JS closures over plain JSON values, which is several times faster than walking the AST.
//
// The contract that keeps it correct: a compiled closure either returns exactly the value cel-js
// would return, or throws. It throws on anything outside its happy path (a type it does not
// expect, a missing key, a number that is not a safe integer, a mixed-type comparison), and the
// caller then evaluates the same expression with cel-js, which produces the authoritative value or
// error (with CEL's own messages and error-absorbing `&&`, `||`, `all` and `exists`). Errors are
// the rare path, so falling back costs nothing in practice.
//
// Values are the JSON model: CEL int is a JS integer (JSON has no other), strings, booleans, null,
// arrays and plain objects as parsed, plus Quantity objects from quantity(). A double (a JS number
// that is not an integer) is passed through but never computed with. Expressions with double or
// uint literals, bytes, `[?]`, optional values as results, or functions not listed here are not
// compiled at all.

import { Quantity } from './quantity.js';

/** The variables a compiled expression reads by name (JSON model), e.g. a Scope with getters. */
export type JsonVariables = object;

/** A compiled expression. Throws when cel-js must decide (see the file comment). */
export type CompiledFn = (variables: JsonVariables) => unknown;

/** The shape of a cel-js 8 AST node, as far as this compiler reads it. */
interface Node {
  op: string;
  args: unknown;
}

type Locals = unknown[];
type Fn = (v: JsonVariables, l: Locals) => unknown;

/** The locals of an expression without comprehensions: none, and nothing writes to them. */
const NO_LOCALS: Locals = Object.freeze([]) as unknown as Locals;

/** Why a value must make cel-js decide; the message is never shown (cel-js re-evaluates). */
class Decline extends Error {}
const DECLINED = new Decline('fall back to cel-js');
function bail(): never {
  throw DECLINED;
}

/** An absent optional value (`a.?b` where b is absent). */
const NONE: unique symbol = Symbol('optional.none');

/** Functions the compiler knows, by `name/arity` (calls) or `.name/arity` (methods, receiver first). */
export type NativeFunction = (...args: unknown[]) => unknown;

/** What cel-js treats as a map: a plain or null-prototype object (not an array, not a Quantity). */
function isCelMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const c = (v as { constructor?: unknown }).constructor;
  return c === Object || c === undefined;
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : bail();
}

function bool(v: unknown): boolean {
  return typeof v === 'boolean' ? v : bail();
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : bail();
}

/** Equality for same-kind values (CEL `==`); different kinds and doubles make cel-js decide. */
function equals(a: unknown, b: unknown): boolean {
  if (typeof a === 'string' || typeof a === 'boolean') {
    if (typeof b !== typeof a) bail();
    return a === b;
  }
  if (typeof a === 'number') {
    if (!isInt(a) || !isInt(b)) bail();
    return a === b;
  }
  if (a === null) return b === null ? true : bail();
  if (Array.isArray(a)) {
    if (!Array.isArray(b)) bail();
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equals(a[i], b[i])) return false;
    return true;
  }
  if (isCelMap(a)) {
    if (!isCelMap(b)) bail();
    const keys = Object.keys(a).filter((k) => a[k] !== undefined);
    if (keys.length !== Object.keys(b).filter((k) => b[k] !== undefined).length) return false;
    for (const k of keys) {
      if (!Object.hasOwn(b, k) || b[k] === undefined || !equals(a[k], b[k])) return false;
    }
    return true;
  }
  return bail();
}

function field(receiver: unknown, key: string): unknown {
  if (!isCelMap(receiver)) bail();
  const v = Object.hasOwn(receiver, key) ? receiver[key] : undefined;
  return v === undefined ? bail() : v;
}

/** `receiver.?key`: absent unless receiver is a map with the key (null, scalars: absent too). */
function optionalField(receiver: unknown, key: string): unknown {
  if (receiver === NONE || receiver === null || typeof receiver !== 'object') return NONE;
  if (!isCelMap(receiver)) bail();
  const v = Object.hasOwn(receiver, key) ? receiver[key] : undefined;
  return v === undefined ? NONE : v;
}

function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function size(v: unknown): number {
  if (typeof v === 'string') return codePoints(v);
  if (Array.isArray(v)) return v.length;
  if (isCelMap(v)) return Object.keys(v).length;
  return bail();
}

const BUILTINS: Record<string, NativeFunction> = {
  'size/1': size,
  '.size/0': size,
  'string/1': (v) => (typeof v === 'string' ? v : isInt(v) || typeof v === 'boolean' ? String(v) : bail()),
  '.startsWith/1': (s, p) => str(s).startsWith(str(p)),
  '.endsWith/1': (s, p) => str(s).endsWith(str(p)),
  '.contains/1': (s, p) => str(s).includes(str(p)),
  '.join/0': (l) => joinStrings(list(l), ''),
  '.join/1': (l, sep) => joinStrings(list(l), str(sep)),
};

/** What a comprehension ranges over: a list's items or a map's keys. */
function range(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  return isCelMap(v) ? Object.keys(v) : bail();
}

function joinStrings(items: unknown[], sep: string): string {
  for (const s of items) if (typeof s !== 'string') bail();
  return items.join(sep);
}

const MACROS = new Set(['all', 'exists', 'exists_one', 'filter', 'map']);

/** Variables declared for the expression: each becomes a property read on the variables object. */
export interface CompileOptions {
  variables: ReadonlySet<string>;
  /** Extra functions (the environment's own), in the BUILTINS key format, JSON model in and out. */
  functions: Readonly<Record<string, NativeFunction>>;
}

/** Compiles a cel-js AST, or returns null when the expression uses something not compiled here. */
export function compileAst(ast: unknown, options: CompileOptions): CompiledFn | null {
  const compiler = new Compiler(options);
  let fn: Fn | null;
  try {
    fn = compiler.value(ast as Node, new Map());
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
  if (!fn) return null;
  const body = fn;
  const slots = compiler.slots;
  if (slots === 0) return (variables) => body(variables, NO_LOCALS);
  return (variables) => body(variables, new Array<unknown>(slots));
}

class Unsupported extends Error {}

type Env = Map<string, number>;

class Compiler {
  slots = 0;
  constructor(private readonly options: CompileOptions) {}

  private unsupported(): never {
    throw new Unsupported();
  }

  private args(node: Node): Node[] {
    return Array.isArray(node.args) ? (node.args as Node[]) : this.unsupported();
  }

  /** A closure producing the node's value (never NONE). */
  value(node: Node, env: Env): Fn {
    switch (node.op) {
      case 'value':
        return this.literal(node.args);
      case 'id':
        return this.identifier(node.args, env);
      case '.': {
        const [receiver, key] = node.args as [Node, string];
        const r = this.value(receiver, env);
        return (v, l) => field(r(v, l), key);
      }
      case '[]': {
        const [receiver, index] = this.args(node);
        const r = this.value(receiver!, env);
        const i = this.value(index!, env);
        return (v, l) => {
          const c = r(v, l);
          const k = i(v, l);
          if (Array.isArray(c)) {
            if (!isInt(k) || k < 0 || k >= c.length) bail();
            return c[k];
          }
          return typeof k === 'string' ? field(c, k) : bail();
        };
      }
      case '!_': {
        const a = this.value(node.args as Node, env);
        return (v, l) => !bool(a(v, l));
      }
      case '&&':
      case '||':
        return this.logical(node.op, this.args(node), env);
      case '?:': {
        const [c, t, f] = this.args(node).map((n) => this.value(n, env)) as [Fn, Fn, Fn];
        return (v, l) => (bool(c(v, l)) ? t(v, l) : f(v, l));
      }
      case '==':
      case '!=': {
        const [a, b] = this.args(node).map((n) => this.value(n, env)) as [Fn, Fn];
        return node.op === '==' ? (v, l) => equals(a(v, l), b(v, l)) : (v, l) => !equals(a(v, l), b(v, l));
      }
      case '<':
      case '<=':
      case '>':
      case '>=':
        return this.compare(node.op, this.args(node), env);
      case '+': {
        const [a, b] = this.args(node).map((n) => this.value(n, env)) as [Fn, Fn];
        return (v, l) => add(a(v, l), b(v, l));
      }
      case 'in': {
        const [a, b] = this.args(node).map((n) => this.value(n, env)) as [Fn, Fn];
        return (v, l) => contains(b(v, l), a(v, l));
      }
      case 'list': {
        const nodes = this.args(node);
        const items = nodes.map((n) => this.value(n, env));
        if (nodes.every((n) => n.op === 'value')) {
          // A list of literals (`x in ['a', 'b']`) is built once; frozen, since callers share it.
          const constant = Object.freeze(items.map((f) => f({}, NO_LOCALS)));
          return () => constant;
        }
        return (v, l) => items.map((f) => f(v, l));
      }
      case 'map':
        return this.mapLiteral(node.args as [Node, Node][], env);
      case 'call':
        return this.call(node.args as [string, Node[]], env);
      case 'rcall':
        return this.method(node.args as [string, Node, Node[]], env);
      default:
        return this.unsupported();
    }
  }

  /** A closure producing a value or NONE (`.?` chains). */
  private optional(node: Node, env: Env): Fn {
    if (node.op !== '.?') return this.unsupported();
    const [receiver, key] = node.args as [Node, string];
    const r = receiver.op === '.?' ? this.optional(receiver, env) : this.value(receiver, env);
    return (v, l) => optionalField(r(v, l), key);
  }

  private literal(value: unknown): Fn {
    if (typeof value === 'bigint') {
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) return this.unsupported();
      const n = Number(value);
      return () => n;
    }
    if (typeof value === 'string' || typeof value === 'boolean' || value === null) return () => value;
    return this.unsupported(); // doubles (2.0 is a double, not an int), uint, bytes
  }

  private identifier(name: unknown, env: Env): Fn {
    if (typeof name !== 'string') return this.unsupported();
    const slot = env.get(name);
    if (slot !== undefined) return (_v, l) => l[slot];
    if (!this.options.variables.has(name)) return this.unsupported();
    return (v) => {
      const x = (v as Record<string, unknown>)[name];
      return x === undefined ? bail() : x;
    };
  }

  private logical(op: '&&' | '||', [left, right]: Node[], env: Env): Fn {
    const a = this.value(left!, env);
    const b = this.value(right!, env);
    // An error on either side may be absorbed by the other in CEL: cel-js decides those cases.
    return op === '&&' ? (v, l) => bool(a(v, l)) && bool(b(v, l)) : (v, l) => bool(a(v, l)) || bool(b(v, l));
  }

  private compare(op: string, [left, right]: Node[], env: Env): Fn {
    const a = this.value(left!, env);
    const b = this.value(right!, env);
    const ints = (v: JsonVariables, l: Locals): [number, number] => {
      const x = a(v, l);
      const y = b(v, l);
      return isInt(x) && isInt(y) ? [x, y] : bail();
    };
    switch (op) {
      case '<': return (v, l) => { const [x, y] = ints(v, l); return x < y; };
      case '<=': return (v, l) => { const [x, y] = ints(v, l); return x <= y; };
      case '>': return (v, l) => { const [x, y] = ints(v, l); return x > y; };
      default: return (v, l) => { const [x, y] = ints(v, l); return x >= y; };
    }
  }

  private mapLiteral(entries: [Node, Node][], env: Env): Fn {
    if (!Array.isArray(entries)) return this.unsupported();
    const compiled = entries.map(([k, val]) => [this.value(k, env), this.value(val, env)] as const);
    return (v, l) => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < compiled.length; i++) {
        const key = compiled[i]![0](v, l);
        const value = compiled[i]![1](v, l);
        if (typeof key !== 'string') bail();
        // What cel-js does with these keys: drops them.
        if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
        out[key] = value;
      }
      return out;
    };
  }

  private call([name, args]: [string, Node[]], env: Env): Fn {
    if (!Array.isArray(args)) return this.unsupported();
    if (name === 'has') return this.has(args, env);
    const fn = this.function(`${name}/${args.length}`);
    const compiled = args.map((a) => this.value(a, env));
    if (compiled.length === 1) {
      const [a] = compiled as [Fn];
      return (v, l) => fn(a(v, l));
    }
    return (v, l) => fn(...compiled.map((f) => f(v, l)));
  }

  private has(args: Node[], env: Env): Fn {
    const [arg] = args;
    if (args.length !== 1 || arg!.op !== '.') return this.unsupported();
    const [receiver, key] = arg!.args as [Node, string];
    const r = this.value(receiver, env);
    return (v, l) => {
      const o = r(v, l);
      if (!isCelMap(o)) bail();
      return Object.hasOwn(o, key) && o[key] !== undefined;
    };
  }

  private method([name, receiver, args]: [string, Node, Node[]], env: Env): Fn {
    if (!Array.isArray(args)) return this.unsupported();
    if (MACROS.has(name)) return this.macro(name, receiver, args, env);
    if (name === 'orValue' && args.length === 1) {
      const r = this.optional(receiver, env);
      const fallback = this.value(args[0]!, env);
      // The argument is evaluated only when the optional is empty (cel-js does the same).
      return (v, l) => {
        const x = r(v, l);
        return x === NONE ? fallback(v, l) : x;
      };
    }
    if (name === 'hasValue' && args.length === 0) {
      const r = this.optional(receiver, env);
      return (v, l) => r(v, l) !== NONE;
    }
    if (name === 'value' && args.length === 0 && receiver.op === '.?') {
      const r = this.optional(receiver, env);
      return (v, l) => {
        const x = r(v, l);
        return x === NONE ? bail() : x;
      };
    }
    const fn = this.function(`.${name}/${args.length}`);
    const r = this.value(receiver, env);
    const compiled = args.map((a) => this.value(a, env));
    if (compiled.length === 0) return (v, l) => fn(r(v, l));
    if (compiled.length === 1) {
      const [a] = compiled as [Fn];
      return (v, l) => fn(r(v, l), a(v, l));
    }
    return (v, l) => fn(r(v, l), ...compiled.map((f) => f(v, l)));
  }

  private function(key: string): NativeFunction {
    return this.options.functions[key] ?? BUILTINS[key] ?? this.unsupported();
  }

  private macro(name: string, receiver: Node, args: Node[], env: Env): Fn {
    const [iter, ...body] = args;
    if (!iter || iter.op !== 'id' || typeof iter.args !== 'string') return this.unsupported();
    if (body.length !== 1 && !(name === 'map' && body.length === 2)) return this.unsupported();
    const items = this.value(receiver, env);
    const slot = this.slots++;
    const inner: Env = new Map(env).set(iter.args, slot);
    const [first, second] = body.map((b) => this.value(b, inner)) as [Fn, Fn | undefined];
    switch (name) {
      case 'all':
        return (v, l) => {
          const xs = range(items(v, l));
          for (let i = 0; i < xs.length; i++) {
            const x = xs[i];
            l[slot] = x;
            if (!bool(first(v, l))) return false;
          }
          return true;
        };
      case 'exists':
        return (v, l) => {
          const xs = range(items(v, l));
          for (let i = 0; i < xs.length; i++) {
            const x = xs[i];
            l[slot] = x;
            if (bool(first(v, l))) return true;
          }
          return false;
        };
      case 'exists_one':
        return (v, l) => {
          let n = 0;
          const xs = range(items(v, l));
          for (let i = 0; i < xs.length; i++) {
            const x = xs[i];
            l[slot] = x;
            if (bool(first(v, l))) n++;
          }
          return n === 1;
        };
      case 'filter':
        return (v, l) => {
          const out: unknown[] = [];
          const xs = range(items(v, l));
          for (let i = 0; i < xs.length; i++) {
            const x = xs[i];
            l[slot] = x;
            if (bool(first(v, l))) out.push(x);
          }
          return out;
        };
      default: {
        if (second) {
          return (v, l) => {
            const out: unknown[] = [];
            const xs = range(items(v, l));
            for (let i = 0; i < xs.length; i++) {
              const x = xs[i];
              l[slot] = x;
              if (bool(first(v, l))) out.push(second(v, l));
            }
            return out;
          };
        }
        return (v, l) => {
          const source = range(items(v, l));
          const out = new Array<unknown>(source.length);
          for (let i = 0; i < source.length; i++) {
            l[slot] = source[i];
            out[i] = first(v, l);
          }
          return out;
        };
      }
    }
  }
}

function add(a: unknown, b: unknown): unknown {
  if (typeof a === 'string') return typeof b === 'string' ? a + b : bail();
  if (typeof a === 'number') {
    if (!isInt(a) || !isInt(b)) bail();
    const sum = a + b;
    return Number.isSafeInteger(sum) ? sum : bail();
  }
  if (Array.isArray(a)) return Array.isArray(b) ? [...a, ...b] : bail();
  return bail();
}

function contains(container: unknown, item: unknown): boolean {
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i++) if (equals(item, container[i])) return true;
    return false;
  }
  if (isCelMap(container)) {
    if (typeof item !== 'string') bail();
    return Object.hasOwn(container, item) && container[item] !== undefined;
  }
  return bail();
}

/** For the environment's own functions: argument guards in the JSON model. */
export const guard = {
  string: str,
  int(v: unknown): number {
    return isInt(v) ? v : bail();
  },
  quantity(v: unknown): Quantity {
    return v instanceof Quantity ? v : bail();
  },
};
