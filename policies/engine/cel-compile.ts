// A compiler for the CEL that policies use on the admission hot path. cel-js stays the reference:
// it parses and type-checks every expression at load, and it evaluates whatever this compiler
// declines or gives up on. This file turns a checked cel-js AST (`program.ast`) into the source of
// one JS function per expression (plus one per comprehension), as ajv does for JSON Schema, and
// builds it with `new Function`. Each field read is then its own property access with its own
// inline cache, which is what makes it several times faster than shared closures walking the AST.
//
// The contract that keeps it correct: a compiled function either returns exactly the value cel-js
// would return, or throws. It throws on anything outside its happy path (a type it does not
// expect, a missing key, a number that is not a safe integer, a mixed-type comparison), and the
// caller then evaluates the same expression with cel-js, which produces the authoritative value or
// error (with CEL's own messages and error-absorbing `&&`, `||`, `all` and `exists`). Errors are
// the rare path, so falling back costs nothing in practice.
//
// Values are the JSON model of cel-runtime.ts. A double (a JS number that is not an integer) is
// passed through but never computed with; ints are added, subtracted and multiplied while the
// result stays a safe integer. Expressions with double or uint literals, bytes, `[?]`,
// optional values as results, or functions not listed here are not compiled at all.
//
// Nothing from a policy reaches the generated source as code: identifiers become generated names
// (x0, t3, …), and keys and string literals are emitted with JSON.stringify.

import * as runtime from './cel-runtime.js';
import { BUILTINS, type NativeFunction } from './cel-runtime.js';

export { guard, type NativeFunction } from './cel-runtime.js';

/** The variables a compiled expression reads by name (JSON model), e.g. a Scope with getters. */
export type JsonVariables = object;

/** A compiled expression. Throws when cel-js must decide (see the file comment). */
export type CompiledFn = (variables: JsonVariables) => unknown;

/** Variables declared for the expression: each becomes a property read on the variables object. */
export interface CompileOptions {
  variables: ReadonlySet<string>;
  /** Extra functions (the environment's own), in the BUILTINS key format, JSON model in and out. */
  functions: Readonly<Record<string, NativeFunction>>;
  /**
   * How a field is read. `inline` (default): each read is its own property access with its own
   * inline cache — fastest once V8 has optimised the function, but twice the code. `call`: each
   * read calls one shared helper (the same checks) — half the code, so cheaper to generate and to
   * run while the function is cold; see Expression in cel.ts for when each is used.
   */
  fieldAccess?: 'inline' | 'call';
}

/** The shape of a cel-js 8 AST node, as far as this compiler reads it. */
interface Node {
  op: string;
  args: unknown;
}

/**
 * A compiled expression as data: the source of its factory and what each constant is. A build can
 * store it (prepared.ts), and buildCode makes the same function from it as from a fresh generation.
 */
export interface CompiledCode {
  source: string;
  constants: ConstantSpec[];
}

/** A literal list (frozen), a set of strings (`in` a literal list), or a function by its key. */
export type ConstantSpec = { list: unknown[] } | { set: string[] } | { fn: string };

/** Compiles a cel-js AST, or returns null when the expression uses something not compiled here. */
export function compileAst(ast: unknown, options: CompileOptions): CompiledFn | null {
  const code = generateCode(ast, options);
  return code && buildCode(code, options);
}

/** The code of a cel-js AST, or null when the expression uses something not compiled here. */
export function generateCode(ast: unknown, options: CompileOptions): CompiledCode | null {
  try {
    return new Generator(options).program(ast as Node);
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

/**
 * A policy's expressions as fused code takes them: checked ASTs, null for one not compiled (cel-js
 * interprets it). A rule's `main` is its expression or its violations; `when` undefined: it has none.
 */
export interface FusedTrees {
  variables: { name: string; tree: unknown }[];
  rules: { when: unknown; main: unknown }[];
}

/**
 * The two functions of a fused policy. `variables` assigns the variables' JSON values to `json` in
 * order (the scope's `vars` is `json`, so each sees the ones before it) and returns how many it
 * assigned: from the next one on, cel-js decides. `rules` evaluates up to `count` of the rules
 * `active` marks, from index `from` on, and returns the index of the first active rule it left
 * (the rule count when none). It writes each evaluated rule's outcome to `out` at its index: the
 * value of its expression or violations; SKIPPED when its when is not true; WHEN_DECLINED or
 * MAIN_DECLINED when compiled code declined its when, or its expression or violations after a
 * true when (cel-js decides that one); NOT_FUSED when it has an expression not compiled.
 */
export interface FusedFunctions {
  variables(scope: JsonVariables, json: Record<string, unknown>): number;
  rules(scope: JsonVariables, active: readonly boolean[], from: number, count: number, out: unknown[]): number;
}

/** A policy's fused code (see FusedFunctions); it compiles whatever the separate expressions compile. */
export function generateFusedCode(trees: FusedTrees, options: CompileOptions): CompiledCode {
  return new Generator(options).fused(trees);
}

/** The function of generated code; `options` must hold the functions it was generated with. */
export function buildCode(code: CompiledCode, options: CompileOptions): CompiledFn {
  const constants = code.constants.map((c): unknown => {
    if ('list' in c) return Object.freeze(c.list.slice());
    if ('set' in c) return new Set(c.set);
    const f = options.functions[c.fn] ?? BUILTINS[c.fn];
    if (!f) throw new Error(`compiled code calls ${c.fn}, which this environment does not have`);
    return f;
  });
  const factory = new Function('h', 'k', code.source) as (h: typeof runtime, k: unknown[]) => CompiledFn;
  return factory(runtime, constants);
}

class Unsupported extends Error {}

/** The helpers generated code calls, by the names it calls them. */
const HELPERS = ['bail', 'bool', 'isInt', 'field', 'hasField', 'optionalField', 'index', 'put', 'equals', 'add', 'subtract', 'multiply', 'contains', 'range', 'NONE', 'member', 'optionalMember'] as const;

/** What fused code writes as a rule's outcome when it is not the rule's value (see FusedFunctions). */
const OUTCOMES = ['NOT_FUSED', 'SKIPPED', 'WHEN_DECLINED', 'MAIN_DECLINED'] as const;

const MACROS = new Set(['all', 'exists', 'exists_one', 'filter', 'map']);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** CEL iteration variable → the JS name it has in generated code. */
type Env = ReadonlyMap<string, string>;

/**
 * One generated function: the temporaries its expressions need. A body that holds several
 * expressions (a fused policy) reuses them from one expression to the next, and reads each variable
 * of the scope once (`cached`): a local holds it from its first read on.
 */
class FunctionBody {
  private temps = 0;
  private maxTemps = 0;
  private readonly cachedReads: Map<string, string> | null;

  constructor(cacheVariables = false) {
    this.cachedReads = cacheVariables ? new Map() : null;
  }

  temp(): string {
    this.maxTemps = Math.max(this.maxTemps, this.temps + 1);
    return `t${this.temps++}`;
  }

  /** The expression that needed the temporaries so far is complete: the next one may reuse them. */
  release(): void {
    this.temps = 0;
  }

  /** The local that caches the scope variable `name`, or null when this body reads it each time. */
  cached(name: string): string | null {
    if (!this.cachedReads) return null;
    let local = this.cachedReads.get(name);
    if (!local) this.cachedReads.set(name, (local = `v${this.cachedReads.size}`));
    return local;
  }

  declarations(): string {
    const names = Array.from({ length: this.maxTemps }, (_, i) => `t${i}`);
    if (this.cachedReads) names.push(...this.cachedReads.values());
    return names.length === 0 ? '' : `let ${names.join(', ')};`;
  }
}

class Generator {
  private readonly constants: ConstantSpec[] = [];
  private readonly hoisted: string[] = [];
  private iterationVariables = 0;

  constructor(private readonly options: CompileOptions) {}

  /**
   * A policy's code as two functions: `variables(s, json)` and `rules(s, active, from, count, out)`
   * (see FusedFunctions). Each rule is one case of a switch that falls through to the next, so a
   * call can start at any rule; each runs in its own try, and what throws is cel-js's to decide.
   */
  fused(trees: FusedTrees): CompiledCode {
    const rulesBody = new FunctionBody(true);
    const cases = trees.rules.map((rule, i) => {
      const outcome = `out[${i}]`;
      let evaluate: string;
      const when = rule.when === undefined ? undefined : this.expression(rule.when, rulesBody);
      const main = this.expression(rule.main, rulesBody);
      if (when === null || main === null) evaluate = `${outcome} = NOT_FUSED;`;
      else {
        const judged = `stage = 1; ${outcome} = ${main};`;
        const guarded = when === undefined ? judged : `if (${when} !== true) ${outcome} = SKIPPED; else { ${judged} }`;
        evaluate = `stage = 0; try { ${guarded} } catch { ${outcome} = stage === 0 ? WHEN_DECLINED : MAIN_DECLINED; }`;
      }
      return `case ${i}: if (active[${i}]) { if (count-- === 0) return ${i}; ${evaluate} }`;
    });
    const variablesBody = new FunctionBody(true);
    const assignments = trees.variables.map((v, i) => {
      const value = this.expression(v.tree, variablesBody);
      return value === null ? `return ${i};` : `json[${JSON.stringify(v.name)}] = ${value}; n = ${i + 1};`;
    });
    const source = [
      '"use strict";',
      `const { ${HELPERS.join(', ')}, ${OUTCOMES.join(', ')} } = h;`,
      ...this.constants.map((_, i) => `const k${i} = k[${i}];`),
      ...this.hoisted,
      `function rules(s, active, from, count, out) { ${rulesBody.declarations()} let stage = 0;`,
      `switch (from) {\n${cases.join('\n')}\n}`,
      `return ${trees.rules.length}; }`,
      `function variables(s, json) { ${variablesBody.declarations()} let n = 0;`,
      `try {\n${assignments.join('\n')}\n} catch {}`,
      'return n; }',
      'return { rules, variables };',
    ].join('\n');
    return { source, constants: this.constants };
  }

  /** One expression of a fused body, or null when it is not compiled (nothing of it is kept). */
  private expression(tree: unknown, body: FunctionBody): string | null {
    if (tree === null) return null;
    const constants = this.constants.length;
    const hoisted = this.hoisted.length;
    try {
      return this.value(tree as Node, new Map(), body);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      this.constants.length = constants;
      this.hoisted.length = hoisted;
      return null;
    } finally {
      body.release();
    }
  }

  program(ast: Node): CompiledCode {
    const body = new FunctionBody();
    const value = this.value(ast, new Map(), body);
    const source = [
      '"use strict";',
      `const { ${HELPERS.join(', ')} } = h;`,
      ...this.constants.map((_, i) => `const k${i} = k[${i}];`),
      ...this.hoisted,
      `return function compiled(s) { ${body.declarations()} return ${value}; };`,
    ].join('\n');
    return { source, constants: this.constants };
  }

  private constant(value: ConstantSpec): string {
    this.constants.push(value);
    return `k${this.constants.length - 1}`;
  }

  /** JS source producing the node's value (never NONE). */
  private value(node: Node, env: Env, fn: FunctionBody): string {
    switch (node.op) {
      case 'value':
        return this.literal(node.args);
      case 'id':
        return this.identifier(node.args, env, fn);
      case '.': {
        const [receiver, key] = node.args as [Node, unknown];
        if (typeof key !== 'string') return this.unsupported();
        return this.field(this.value(receiver, env, fn), key, fn);
      }
      case '[]': {
        const [receiver, key] = this.args(node);
        return `index(${this.value(receiver!, env, fn)}, ${this.value(key!, env, fn)})`;
      }
      case '!_':
        return `!bool(${this.value(node.args as Node, env, fn)})`;
      case '&&':
      case '||': {
        // An error on either side may be absorbed by the other in CEL: cel-js decides those cases.
        const [a, b] = this.args(node).map((n) => this.value(n, env, fn));
        return `(bool(${a}) ${node.op} bool(${b}))`;
      }
      case '?:': {
        const [c, t, f] = this.args(node).map((n) => this.value(n, env, fn));
        return `(bool(${c}) ? ${t} : ${f})`;
      }
      case '==':
      case '!=':
        return this.equality(node.op, this.args(node), env, fn);
      case '<':
      case '<=':
      case '>':
      case '>=': {
        const [a, b] = this.args(node).map((n) => this.value(n, env, fn));
        const x = fn.temp();
        const y = fn.temp();
        return `(isInt(${x} = ${a}) && isInt(${y} = ${b}) ? ${x} ${node.op} ${y} : bail())`;
      }
      case '+': {
        const [a, b] = this.args(node).map((n) => this.value(n, env, fn));
        return `add(${a}, ${b})`;
      }
      case '-':
      case '*': {
        const [a, b] = this.args(node).map((n) => this.value(n, env, fn));
        return `${node.op === '-' ? 'subtract' : 'multiply'}(${a}, ${b})`;
      }
      case 'in':
        return this.membership(this.args(node), env, fn);
      case 'list': {
        const nodes = this.args(node);
        const constant = literalList(nodes);
        // A list of literals (`x in ['a', 'b']`) is built once; frozen, since callers share it.
        if (constant) return this.constant({ list: constant });
        return `[${nodes.map((n) => this.value(n, env, fn)).join(', ')}]`;
      }
      case 'map':
        return this.mapLiteral(node.args as [Node, Node][], env, fn);
      case 'call':
        return this.call(node.args as [string, Node[]], env, fn);
      case 'rcall':
        return this.method(node.args as [string, Node, Node[]], env, fn);
      default:
        return this.unsupported();
    }
  }

  /** JS source producing a value or NONE (`.?` chains). */
  private optional(node: Node, env: Env, fn: FunctionBody): string {
    if (node.op !== '.?') return this.unsupported();
    const [receiver, key] = node.args as [Node, unknown];
    const r = receiver.op === '.?' ? this.optional(receiver, env, fn) : this.value(receiver, env, fn);
    if (typeof key !== 'string') return this.unsupported();
    if (key in Object.prototype) return `optionalField(${r}, ${JSON.stringify(key)})`;
    if (this.options.fieldAccess === 'call') return `optionalMember(${r}, ${JSON.stringify(key)})`;
    // optionalField() inline, as field() is: absent on NONE, null and scalars; a map's key or absent.
    const o = fn.temp();
    const v = fn.temp();
    return `((${o} = ${r}) === NONE || ${o} === null || typeof ${o} !== "object" ? NONE : ((${v} = ${o}.constructor) === Object || ${v} === undefined) ? ((${v} = ${o}[${JSON.stringify(key)}]) === undefined ? NONE : ${v}) : bail())`;
  }

  private unsupported(): never {
    throw new Unsupported();
  }

  private args(node: Node): Node[] {
    return Array.isArray(node.args) ? (node.args as Node[]) : this.unsupported();
  }

  private literal(value: unknown): string {
    if (typeof value === 'bigint') {
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) return this.unsupported();
      return `(${String(value)})`;
    }
    if (typeof value === 'string') return JSON.stringify(value);
    if (typeof value === 'boolean' || value === null) return String(value);
    return this.unsupported(); // doubles (2.0 is a double, not an int), uint, bytes
  }

  private identifier(name: unknown, env: Env, fn: FunctionBody): string {
    if (typeof name !== 'string') return this.unsupported();
    const local = env.get(name);
    if (local !== undefined) return local;
    if (!this.options.variables.has(name) || !IDENTIFIER.test(name)) return this.unsupported();
    const cached = fn.cached(name);
    // A variable is the same throughout one call (undefined: not known as JSON; read again, bail).
    if (cached) return `(${cached} !== undefined ? ${cached} : (${cached} = s.${name}) === undefined ? bail() : ${cached})`;
    const t = fn.temp();
    return `((${t} = s.${name}) === undefined ? bail() : ${t})`;
  }

  /**
   * `receiver.key`, inline: a map (plain or null-prototype object) with the key, else cel-js
   * decides. Keys Object.prototype has (`constructor`, `toString`, …) need an own-property check,
   * so they go through the helper.
   */
  private field(receiver: string, key: string, fn: FunctionBody): string {
    if (key in Object.prototype) return `field(${receiver}, ${JSON.stringify(key)})`;
    if (this.options.fieldAccess === 'call') return `member(${receiver}, ${JSON.stringify(key)})`;
    const o = fn.temp();
    const v = fn.temp();
    return `((${o} = ${receiver}) !== null && typeof ${o} === "object" && ((${v} = ${o}.constructor) === Object || ${v} === undefined) && (${v} = ${o}[${JSON.stringify(key)}]) !== undefined ? ${v} : bail())`;
  }

  /** `==` and `!=`; against a string, bool, int or null literal without the general equals(). */
  private equality(op: '==' | '!=', [left, right]: Node[], env: Env, fn: FunctionBody): string {
    const literalSide = isScalarLiteral(right!) ? right! : isScalarLiteral(left!) ? left! : null;
    if (!literalSide) {
      const test = `equals(${this.value(left!, env, fn)}, ${this.value(right!, env, fn)})`;
      return op === '==' ? test : `!${test}`;
    }
    const other = this.value(literalSide === right ? left! : right!, env, fn);
    const literal = literalSide.args;
    const t = fn.temp();
    // Against null, cel-js compares any kind (a map, a list, a string is simply not null): no bail.
    if (literal === null) return `((${t} = ${other}) === undefined ? bail() : ${t} ${op === '==' ? '===' : '!=='} null)`;
    // What equals() does when one side is this literal: same kind compares, any other kind declines.
    const sameKind = literal === null ? `${t} === null` : typeof literal === 'bigint' ? `isInt(${t})` : `typeof ${t} === "${typeof literal}"`;
    const test = literal === null ? 'true' : `${t} === ${this.literal(literal)}`;
    return `((${t} = ${other}), ${sameKind} ? ${op === '==' ? test : `!(${test})`} : bail())`;
  }

  /** `item in container`; a list of string literals becomes a Set lookup. */
  private membership([item, container]: Node[], env: Env, fn: FunctionBody): string {
    const strings = container!.op === 'list' ? literalList(this.args(container!)) : null;
    if (strings && strings.length > 0 && strings.every((s) => typeof s === 'string')) {
      const set = this.constant({ set: strings as string[] });
      const t = fn.temp();
      return `(typeof (${t} = ${this.value(item!, env, fn)}) === "string" ? ${set}.has(${t}) : bail())`;
    }
    return `contains(${this.value(container!, env, fn)}, ${this.value(item!, env, fn)})`;
  }

  private mapLiteral(entries: [Node, Node][], env: Env, fn: FunctionBody): string {
    if (!Array.isArray(entries)) return this.unsupported();
    const out = fn.temp();
    const puts = entries.map(([k, v]) => `put(${out}, ${this.value(k, env, fn)}, ${this.value(v, env, fn)})`);
    return `(${[`${out} = {}`, ...puts, out].join(', ')})`;
  }

  private call([name, args]: [string, Node[]], env: Env, fn: FunctionBody): string {
    if (!Array.isArray(args)) return this.unsupported();
    if (name === 'has') return this.has(args, env, fn);
    const f = this.constant(this.function(`${name}/${args.length}`));
    return `${f}(${args.map((a) => this.value(a, env, fn)).join(', ')})`;
  }

  private has(args: Node[], env: Env, fn: FunctionBody): string {
    const [arg] = args;
    if (args.length !== 1 || arg!.op !== '.') return this.unsupported();
    const [receiver, key] = arg!.args as [Node, string];
    const r = this.value(receiver, env, fn);
    if (key in Object.prototype) return `hasField(${r}, ${JSON.stringify(key)})`;
    const o = fn.temp();
    const c = fn.temp();
    return `((${o} = ${r}) !== null && typeof ${o} === "object" && ((${c} = ${o}.constructor) === Object || ${c} === undefined) ? ${o}[${JSON.stringify(key)}] !== undefined : bail())`;
  }

  private method([name, receiver, args]: [string, Node, Node[]], env: Env, fn: FunctionBody): string {
    if (!Array.isArray(args)) return this.unsupported();
    if (MACROS.has(name)) return this.macro(name, receiver, args, env, fn);
    if (name === 'orValue' && args.length === 1) {
      const r = this.optional(receiver, env, fn);
      const t = fn.temp();
      // The argument is evaluated only when the optional is empty (cel-js does the same).
      return `((${t} = ${r}) === NONE ? ${this.value(args[0]!, env, fn)} : ${t})`;
    }
    if (name === 'hasValue' && args.length === 0) return `(${this.optional(receiver, env, fn)} !== NONE)`;
    if (name === 'value' && args.length === 0 && receiver.op === '.?') {
      const t = fn.temp();
      return `((${t} = ${this.optional(receiver, env, fn)}) === NONE ? bail() : ${t})`;
    }
    const f = this.constant(this.function(`.${name}/${args.length}`));
    return `${f}(${[receiver, ...args].map((a) => this.value(a, env, fn)).join(', ')})`;
  }

  /** A function the environment has, as a constant (by its key). */
  private function(key: string): ConstantSpec {
    return this.options.functions[key] ?? BUILTINS[key] ? { fn: key } : this.unsupported();
  }

  /**
   * A comprehension becomes its own function, hoisted out of the expression: it takes the
   * variables, the range and the iteration variables of enclosing comprehensions.
   */
  private macro(name: string, receiver: Node, args: Node[], env: Env, fn: FunctionBody): string {
    const [iter, ...body] = args;
    if (!iter || iter.op !== 'id' || typeof iter.args !== 'string') return this.unsupported();
    if (body.length !== 1 && !(name === 'map' && body.length === 2)) return this.unsupported();
    const x = `x${this.iterationVariables++}`;
    const outer = [...new Set(env.values())];
    const inner = new FunctionBody();
    const bind = (iterName: unknown): Env => new Map(env).set(iterName as string, x);
    // `xs.filter(a, P).map(b, E)` (how violations list offenders) runs as one loop, `xs.map(a, P, E)`
    // with a and b both naming the item: no intermediate list, one function call fewer.
    const filtered = name === 'map' && body.length === 1 ? filterCall(receiver) : null;
    if (filtered) {
      const items = this.value(filtered.receiver, env, fn);
      const predicate = this.value(filtered.predicate, bind(filtered.iter), inner);
      const mapped = this.value(body[0]!, bind(iter.args), inner);
      return this.hoist(`const out = []; ${eachItem(x, `if (bool(${predicate})) out.push(${mapped});`)} return out;`, items, outer, inner);
    }
    const items = this.value(receiver, env, fn);
    const [first, second] = body.map((b) => this.value(b, bind(iter.args), inner)) as [string, string | undefined];
    const each = (step: string): string => eachItem(x, step);
    let loop: string;
    switch (name) {
      case 'all':
        loop = `${each(`if (!bool(${first})) return false;`)} return true;`;
        break;
      case 'exists':
        loop = `${each(`if (bool(${first})) return true;`)} return false;`;
        break;
      case 'exists_one':
        loop = `let n = 0; ${each(`if (bool(${first})) n++;`)} return n === 1;`;
        break;
      case 'filter':
        loop = `const out = []; ${each(`if (bool(${first})) out.push(${x});`)} return out;`;
        break;
      default:
        loop = second
          ? `const out = []; ${each(`if (bool(${first})) out.push(${second});`)} return out;`
          : `const out = new Array(xs.length); ${each(`out[i] = ${first};`)} return out;`;
    }
    return this.hoist(loop, items, outer, inner);
  }

  /** A comprehension's loop as a function of the variables, the range and the outer iteration variables. */
  private hoist(loop: string, items: string, outer: string[], body: FunctionBody): string {
    const fnName = `c${this.hoisted.length}`;
    this.hoisted.push(`function ${fnName}(${['s', 'xs', ...outer].join(', ')}) { ${body.declarations()} ${loop} }`);
    return `${fnName}(${['s', `range(${items})`, ...outer].join(', ')})`;
  }
}

function eachItem(x: string, step: string): string {
  return `for (let i = 0; i < xs.length; i++) { const ${x} = xs[i]; ${step} }`;
}

/** The parts of `receiver.filter(iter, predicate)`, or null when `node` is not such a call. */
function filterCall(node: Node): { receiver: Node; iter: string; predicate: Node } | null {
  if (node.op !== 'rcall' || !Array.isArray(node.args)) return null;
  const [name, receiver, args] = node.args as [unknown, Node, unknown];
  if (name !== 'filter' || !Array.isArray(args) || args.length !== 2) return null;
  const [iter, predicate] = args as [Node, Node];
  if (iter.op !== 'id' || typeof iter.args !== 'string') return null;
  return { receiver, iter: iter.args, predicate };
}

function isScalarLiteral(node: Node): boolean {
  if (node.op !== 'value') return false;
  const v = node.args;
  return typeof v === 'string' || typeof v === 'boolean' || v === null
    || (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER));
}

/** The values of a list made only of string, bool, int and null literals, else null. */
function literalList(nodes: Node[]): unknown[] | null {
  if (!nodes.every(isScalarLiteral)) return null;
  return nodes.map((n) => (typeof n.args === 'bigint' ? Number(n.args) : n.args));
}
