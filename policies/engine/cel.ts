// The one module that talks to @marcbachmann/cel-js. Everything CEL-specific lives here:
// the environment (variables and the Kubernetes helpers policies use), compile-time checks,
// JSON ⇄ CEL value conversion, and the guard against catastrophic regular expressions.

import { Environment } from '@marcbachmann/cel-js';
import type { Json } from './types.js';
import { Quantity } from './quantity.js';

/** Variables every expression may use. `target` is the slot a mutation writes into. */
export const CEL_VARIABLES = [
  'object', 'oldObject', 'workload', 'plan', 'tenant', 'request', 'settings', 'vars', 'target', 'pod',
] as const;

export type Activation = Partial<Record<(typeof CEL_VARIABLES)[number], unknown>> | Scope;

export interface Compiled {
  readonly source: string;
  evaluate(activation: Activation): unknown;
}

export type CompileResult =
  | { ok: true; expr: Compiled }
  | { ok: false; message: string; offset: number };

export type Expectation = 'bool' | 'string' | 'map' | 'list' | 'any';

function quantityArg(text: string): Quantity {
  return Quantity.parse(text);
}

function buildEnvironment(): Environment {
  const env = new Environment({
    unlistedVariablesAreDyn: false,
    homogeneousAggregateLiterals: false,
    enableOptionalTypes: true,
    limits: { maxAstNodes: 5000, maxDepth: 64, maxListElements: 1000, maxMapEntries: 1000, maxCallArguments: 16 },
  });
  for (const name of CEL_VARIABLES) env.registerVariable(name, 'dyn');
  env.registerType('Quantity', Quantity);
  env.registerFunction('quantity(string): Quantity', quantityArg);
  env.registerFunction('isQuantity(string): bool', (s: string) => Quantity.tryParse(s) !== undefined);
  const method = (name: string, params: { name: string; type: string }[], returnType: string, handler: (...a: never[]) => unknown): void => {
    env.registerFunction({ name, receiverType: 'Quantity', returnType, params, handler: handler as (...a: unknown[]) => unknown });
  };
  const other = [{ name: 'other', type: 'Quantity' }];
  method('compareTo', other, 'int', (a: Quantity, b: Quantity) => BigInt(a.compareTo(b)));
  method('isGreaterThan', other, 'bool', (a: Quantity, b: Quantity) => a.compareTo(b) > 0);
  method('isLessThan', other, 'bool', (a: Quantity, b: Quantity) => a.compareTo(b) < 0);
  method('add', other, 'Quantity', (a: Quantity, b: Quantity) => a.plus(b));
  method('times', [{ name: 'n', type: 'int' }], 'Quantity', (a: Quantity, n: bigint) => a.times(n));
  method('asString', [], 'string', (a: Quantity) => a.text);
  return env;
}

let shared: Environment | undefined;
function environment(): Environment {
  shared ??= buildEnvironment();
  return shared;
}

// Nested quantifiers ("(a+)+", "(x*)*", "(a|aa)+") backtrack exponentially in JS RegExp.
// Patterns must be literals so they are checked when the policy loads, not on the hot path.
const MATCHES_CALL = /\.matches\(/g;
const LITERAL_ARG = /^\s*(?:r?"((?:[^"\\]|\\.)*)"|r?'((?:[^'\\]|\\.)*)')\s*\)/;
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[*+}](?:[^()\\]|\\.)*\)\s*[*+{?]/;
const ALTERNATION_REPEAT = /\((?:[^()\\]|\\.)*\|(?:[^()\\]|\\.)*\)\s*[*+{]/;
const BACKREFERENCE = /\\[1-9]/;

function checkRegexes(source: string): { message: string; offset: number } | undefined {
  for (const m of source.matchAll(MATCHES_CALL)) {
    const offset = (m.index ?? 0) + m[0].length;
    const lit = LITERAL_ARG.exec(source.slice(offset));
    if (!lit) return { message: 'matches() takes a string literal pattern, so it can be checked when the policy loads', offset };
    const pattern = lit[1] ?? lit[2] ?? '';
    if (NESTED_QUANTIFIER.test(pattern) || ALTERNATION_REPEAT.test(pattern) || BACKREFERENCE.test(pattern)) {
      return { message: `pattern ${JSON.stringify(pattern)} can backtrack catastrophically (nested or alternated repetition, or a backreference); rewrite it`, offset };
    }
    try {
      new RegExp(pattern);
    } catch (e) {
      return { message: `invalid pattern ${JSON.stringify(pattern)}: ${(e as Error).message}`, offset };
    }
  }
  return undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0]?.trim() ?? message;
}

function errorOffset(err: unknown): number {
  const node = (err as { node?: { pos?: unknown } }).node;
  return typeof node?.pos === 'number' ? node.pos : 0;
}

const ACCEPTS: Record<Expectation, (type: string) => boolean> = {
  bool: (t) => t === 'bool' || t === 'dyn',
  string: (t) => t === 'string' || t === 'dyn',
  map: (t) => t.startsWith('map') || t === 'dyn',
  list: (t) => t.startsWith('list') || t === 'dyn',
  any: () => true,
};

/** Parses and type-checks an expression. Never throws. */
export function compile(source: string, expect: Expectation): CompileResult {
  const regex = checkRegexes(source);
  if (regex) return { ok: false, ...regex };
  const env = environment();
  let check: { valid: boolean; type?: string; error?: Error };
  try {
    check = env.check(source) as typeof check;
  } catch (e) {
    return { ok: false, message: firstLine((e as Error).message), offset: errorOffset(e) };
  }
  if (!check.valid) {
    return { ok: false, message: firstLine(check.error?.message ?? 'invalid expression'), offset: errorOffset(check.error) };
  }
  const type = String(check.type ?? 'dyn');
  if (!ACCEPTS[expect](type)) return { ok: false, message: `expression must return ${expect}, but returns ${type}`, offset: 0 };
  const program = env.parse(source);
  return { ok: true, expr: { source, evaluate: (activation) => program(activation as unknown as Record<string, unknown>) } };
}

type Shared = 'object' | 'oldObject' | 'workload' | 'plan' | 'tenant' | 'request';

/**
 * The variables of one review. The shared ones are produced on first use and memoised — most
 * rules read only `workload`, so the raw object is converted only when an expression asks for
 * it. A plain class keeps property access monomorphic for the evaluator.
 */
export class Scope {
  settings: unknown = null;
  vars: unknown = null;
  target: unknown = null;
  pod: unknown = null;

  constructor(private readonly shared: SharedValues) {}

  get object(): unknown { return this.shared.get('object'); }
  get oldObject(): unknown { return this.shared.get('oldObject'); }
  get workload(): unknown { return this.shared.get('workload'); }
  get plan(): unknown { return this.shared.get('plan'); }
  get tenant(): unknown { return this.shared.get('tenant'); }
  get request(): unknown { return this.shared.get('request'); }

  with(own: Partial<Pick<Scope, 'settings' | 'vars' | 'target' | 'pod'>>): Scope {
    const s = new Scope(this.shared);
    s.settings = own.settings !== undefined ? own.settings : this.settings;
    s.vars = own.vars !== undefined ? own.vars : this.vars;
    s.target = own.target !== undefined ? own.target : this.target;
    s.pod = own.pod !== undefined ? own.pod : this.pod;
    return s;
  }
}

export class SharedValues {
  private readonly values = new Map<Shared, unknown>();
  constructor(private readonly producers: Record<Shared, () => unknown>) {}

  get(name: Shared): unknown {
    if (this.values.has(name)) return this.values.get(name);
    const value = this.producers[name]();
    this.values.set(name, value);
    return value;
  }
}

/** JSON → CEL values: integers become BigInt (CEL int), other numbers stay doubles. Done once per review. */
export function toCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const list = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) list[i] = toCel(value[i]);
    return list;
  }
  const out: Record<string, unknown> = {};
  const source = value as Record<string, unknown>;
  for (const key in source) out[key] = toCel(source[key]);
  return out;
}

/** CEL values → JSON, for values that mutations write into objects. */
export function fromCel(value: unknown): Json {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Quantity) return value.text;
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') return value;
  if (Array.isArray(value)) return value.map(fromCel);
  if (value instanceof Map) {
    const out: Record<string, Json> = {};
    for (const [k, v] of value) out[String(k)] = fromCel(v);
    return out;
  }
  if (typeof value === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromCel(v);
    return out;
  }
  return String(value);
}

export function describeEvaluationError(err: unknown): string {
  return firstLine(err instanceof Error ? err.message : String(err));
}
