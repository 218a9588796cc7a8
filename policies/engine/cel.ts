// The one module that talks to @marcbachmann/cel-js. Everything CEL-specific lives here:
// the environment (variables and the Kubernetes helpers policies use), compile-time checks,
// JSON ⇄ CEL value conversion, and the guard against catastrophic regular expressions.

import { RedlineError } from '../../core/errors.js';
import { fail, ok, type Problem, type Result } from '../../core/result.js';
import { Environment } from '@marcbachmann/cel-js';
import type { Json } from './types.js';
import { Quantity } from './quantity.js';
import { buildCode, compileAst, generateCode, generateFusedCode, guard, type CompiledCode, type FusedFunctions, type FusedTrees, type NativeFunction } from './cel-compile.js';
import { MAIN_DECLINED, NOT_FUSED, SKIPPED, WHEN_DECLINED } from './cel-runtime.js';

/**
 * Variables every expression may use. `target` is the slot a mutation writes into, `pod` its pod
 * template's view and `container` (container targets only; null otherwise) the container's view.
 */
export const CEL_VARIABLES = [
  'object', 'oldObject', 'workload', 'plan', 'tenant', 'request', 'settings', 'vars', 'target', 'pod', 'container', 'practices',
] as const;

export interface Compiled {
  readonly source: string;
  /** Whether it also runs compiled (else cel-js interprets every evaluation). */
  readonly native: boolean;
  /** The value: compiled when it can be, else (or when the compiled form gives up) cel-js. */
  evaluate(scope: Scope): unknown;
  /** Compiled only, JSON values; throws when cel-js must decide (or when not `native`). */
  evaluateNative(scope: Scope): unknown;
  /** cel-js only, CEL values (int is BigInt). */
  interpret(scope: Scope): unknown;
}

/** What is wrong with an expression; `offset` is where in its source (0-based). */
export type ExpressionProblem = Problem & { offset: number };

export type CompileResult = Result<Compiled, ExpressionProblem>;

export type Expectation = 'bool' | 'string' | 'map' | 'list' | 'any';

/**
 * The environment's own functions, each once: its CEL signature, the handler cel-js calls (CEL
 * values: int is BigInt) and the native form compiled code calls (JSON model: int is a JS
 * number), keyed as the compiler looks them up.
 */
interface OwnFunction {
  register(env: Environment): void;
  key: string;
  native: NativeFunction;
}

function globalFunction(signature: string, key: string, handler: (...a: never[]) => unknown, native: NativeFunction): OwnFunction {
  return { key, native, register: (env) => env.registerFunction(signature, handler as (...a: unknown[]) => unknown) };
}

function quantityMethod(name: string, params: { name: string; type: string }[], returnType: string, handler: (...a: never[]) => unknown, native: NativeFunction): OwnFunction {
  return {
    key: `.${name}/${params.length}`,
    native: (receiver, ...args) => native(guard.quantity(receiver), ...args),
    register: (env) => env.registerFunction({ name, receiverType: 'Quantity', returnType, params, handler: handler as (...a: unknown[]) => unknown }),
  };
}

const OTHER = [{ name: 'other', type: 'Quantity' }];
const OWN_FUNCTIONS: OwnFunction[] = [
  globalFunction('quantity(string): Quantity', 'quantity/1', (s: string) => Quantity.parse(s), (s) => Quantity.parse(guard.string(s))),
  globalFunction('isQuantity(string): bool', 'isQuantity/1', (s: string) => Quantity.tryParse(s) !== undefined, (s) => Quantity.tryParse(guard.string(s)) !== undefined),
  quantityMethod('compareTo', OTHER, 'int', (a: Quantity, b: Quantity) => BigInt(a.compareTo(b)), (a, b) => (a as Quantity).compareTo(guard.quantity(b))),
  quantityMethod('isGreaterThan', OTHER, 'bool', (a: Quantity, b: Quantity) => a.compareTo(b) > 0, (a, b) => (a as Quantity).compareTo(guard.quantity(b)) > 0),
  quantityMethod('isLessThan', OTHER, 'bool', (a: Quantity, b: Quantity) => a.compareTo(b) < 0, (a, b) => (a as Quantity).compareTo(guard.quantity(b)) < 0),
  quantityMethod('add', OTHER, 'Quantity', (a: Quantity, b: Quantity) => a.plus(b), (a, b) => (a as Quantity).plus(guard.quantity(b))),
  quantityMethod('times', [{ name: 'n', type: 'int' }], 'Quantity', (a: Quantity, n: bigint) => a.times(n), (a, n) => (a as Quantity).times(BigInt(guard.int(n)))),
  quantityMethod('asString', [], 'string', (a: Quantity) => a.text, (a) => (a as Quantity).text),
];
const NATIVE_FUNCTIONS: Record<string, NativeFunction> = Object.fromEntries(OWN_FUNCTIONS.map((f) => [f.key, f.native]));
const COMPILED_VARIABLES: ReadonlySet<string> = new Set(CEL_VARIABLES);

function buildEnvironment(): Environment {
  const env = new Environment({
    unlistedVariablesAreDyn: false,
    homogeneousAggregateLiterals: false,
    enableOptionalTypes: true,
    limits: { maxAstNodes: 5000, maxDepth: 64, maxListElements: 1000, maxMapEntries: 1000, maxCallArguments: 16 },
  });
  for (const name of CEL_VARIABLES) env.registerVariable(name, 'dyn');
  env.registerType('Quantity', Quantity);
  for (const f of OWN_FUNCTIONS) f.register(env);
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

/** Why `pattern` may backtrack catastrophically in JS RegExp ('' when it looks safe). */
export function catastrophicRegexReason(pattern: string): string {
  if (NESTED_QUANTIFIER.test(pattern) || ALTERNATION_REPEAT.test(pattern) || BACKREFERENCE.test(pattern)) {
    return `pattern ${JSON.stringify(pattern)} can backtrack catastrophically (nested or alternated repetition, or a backreference); rewrite it`;
  }
  return '';
}

function checkRegexes(source: string): ExpressionProblem | undefined {
  for (const m of source.matchAll(MATCHES_CALL)) {
    const offset = (m.index ?? 0) + m[0].length;
    const lit = LITERAL_ARG.exec(source.slice(offset));
    if (!lit) return { message: 'matches() takes a string literal pattern, so it can be checked when the policy loads', offset };
    const pattern = lit[1] ?? lit[2] ?? '';
    const unsafe = catastrophicRegexReason(pattern);
    if (unsafe) return { message: unsafe, offset };
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

/**
 * Test hook: when set, every evaluation of a compiled expression also runs cel-js and reports
 * both outcomes, so a suite can prove the two agree on real reviews.
 */
export type CrossCheck = (source: string, compiled: EvalResult, interpreted: EvalResult) => void;
/** An evaluation's value, or what it threw. */
export type EvalResult = Result<unknown, unknown>;
let crossCheck: CrossCheck | null = null;
export function setCrossCheck(check: CrossCheck | null): void {
  crossCheck = check;
}

function attempt(fn: (scope: Scope) => unknown, scope: Scope): EvalResult {
  try {
    return ok(fn(scope));
  } catch (error) {
    return fail(error);
  }
}

// Out of line: a closure over `scope` inside evaluate() would make every call allocate a context.
function checkBoth(check: CrossCheck, source: string, native: (scope: Scope) => unknown, interpret: (scope: Scope) => unknown, scope: Scope): void {
  check(source, attempt(native, scope), attempt(interpret, scope));
}

/**
 * Parses and type-checks an expression. Never throws. `lazy`: generate its JS form on first use
 * rather than now (for one-shot processes such as `redline review`, which evaluate only some of a
 * library's expressions; serve generates everything at load, outside any request's time budget).
 */
export function compile(source: string, expect: Expectation, lazy = false): CompileResult {
  return compileSeeded(source, expect, lazy, null);
}

/** compile(), the compact form already built (`seed`, evaluated `evaluations` times so far) when given. */
function compileSeeded(source: string, expect: Expectation, lazy: boolean, seed: { fn: (scope: Scope) => unknown; evaluations: number } | null): CompileResult {
  const parsed = parse(source, expect);
  if (!parsed.ok) return parsed;
  const { program, ast } = parsed.value;
  const interpret = (scope: Scope): unknown => program(scope.cel() as unknown as Record<string, unknown>);
  const expr = new Expression(source, ast, interpret, seed);
  if (!lazy) expr.generate();
  return ok(expr);
}

/** The cel-js program of a checked expression, and the AST to compile (null: not compiled, an optional result). */
function parse(source: string, expect: Expectation): Result<{ program: ReturnType<Environment['parse']>; ast: unknown }, ExpressionProblem> {
  const regex = checkRegexes(source);
  if (regex) return fail(regex);
  const env = environment();
  let program: ReturnType<Environment['parse']>;
  let check: { valid: boolean; type?: string; error?: Error };
  try {
    program = env.parse(source);
    check = program.check() as typeof check;
  } catch (e) {
    return fail({ message: firstLine((e as Error).message), offset: errorOffset(e) });
  }
  if (!check.valid) {
    return fail({ message: firstLine(check.error?.message ?? 'invalid expression'), offset: errorOffset(check.error) });
  }
  const type = String(check.type ?? 'dyn');
  if (!ACCEPTS[expect](type)) return fail({ message: `expression must return ${expect}, but returns ${type}`, offset: 0 });
  return ok({ program, ast: type.startsWith('optional') ? null : (program as unknown as { ast: unknown }).ast });
}

const COMPACT = { variables: COMPILED_VARIABLES, functions: NATIVE_FUNCTIONS, fieldAccess: 'call' } as const;

/**
 * The compact form of a valid expression as data, for a build to store (prepared.ts); null when it
 * is not compiled (cel-js interprets it), undefined when it does not compile at all.
 */
export function compactCode(source: string, expect: Expectation): CompiledCode | null | undefined {
  const parsed = parse(source, expect);
  if (!parsed.ok) return undefined;
  return parsed.value.ast === null ? null : generateCode(parsed.value.ast, COMPACT);
}

/**
 * An expression a build has checked and stored the compact form of (compactCode): it runs that
 * form without parsing, and cel-js parses it only when something needs more — an evaluation the
 * compact form declines, cel-js itself, a cross-check, or the inline form once hot — from then on
 * it is exactly the expression compile() makes, handed the compact function and its count. A
 * first-contact review skipped half its expressions' parsing this way and all of their generation.
 */
export function preparedExpression(source: string, expect: Expectation, code: CompiledCode | null): Compiled {
  return new PreparedExpression(source, expect, code);
}

/** `code` null: none stored, so parsed on first use (the build checked it; it is not checked at load). */
class PreparedExpression implements Compiled {
  private fn: ((scope: Scope) => unknown) | undefined;
  private evaluations = 0;
  private parsed: Compiled | undefined;

  constructor(readonly source: string, private readonly expect: Expectation, private readonly code: CompiledCode | null) {}

  /** The compact function while nothing needs cel-js; undefined once the expression is parsed. */
  private compact(): ((scope: Scope) => unknown) | undefined {
    if (!this.code || this.parsed || crossCheck || this.evaluations + 1 >= hotEvaluations) return undefined;
    this.evaluations++;
    return (this.fn ??= buildCode(this.code, COMPACT) as (scope: Scope) => unknown);
  }

  private get expr(): Compiled {
    if (this.parsed) return this.parsed;
    const seed = this.fn ? { fn: this.fn, evaluations: this.evaluations } : null;
    const result = compileSeeded(this.source, this.expect, true, seed);
    // Only a build with another CEL environment than this process's could get here.
    if (!result.ok) throw new RedlineError('internal', `prepared expression ${JSON.stringify(this.source)} does not compile: ${result.problem.message}`);
    return (this.parsed = result.value);
  }

  get native(): boolean {
    return this.parsed || !this.code ? this.expr.native : true;
  }

  evaluate(scope: Scope): unknown {
    const fn = this.compact();
    if (!fn) return this.expr.evaluate(scope);
    try {
      return fn(scope);
    } catch {
      // As Expression.evaluate: outside the compiled happy path, cel-js decides.
      return this.expr.interpret(scope);
    }
  }

  evaluateNative(scope: Scope): unknown {
    const fn = this.compact();
    return fn ? fn(scope) : this.expr.evaluateNative(scope);
  }

  interpret(scope: Scope): unknown {
    return this.expr.interpret(scope);
  }
}

/**
 * Evaluations after which an expression's JS is generated again with inline field reads. Until
 * then it runs the compact form (each field read a call to one shared helper): half the code, which
 * is cheaper to generate and runs faster while cold — a one-shot review, or serve at the API
 * server's pace of one request every few milliseconds — but about a quarter slower once V8 has
 * optimised it under sustained load (`npm run bench:engine` prints all three cases).
 */
export const HOT_EVALUATIONS = 2_000;
let hotEvaluations = HOT_EVALUATIONS;
/** Test hook: the evaluations after which expressions switch to inline field reads (1: at once). */
export function setHotEvaluations(n: number): void {
  hotEvaluations = n;
}

/**
 * A checked expression. Its JS form is generated at load, or (lazy) on first use: a review
 * evaluates only some of a library's expressions (a message only when its rule fails, a skip
 * message only when it skips), and generating them all was a tenth of `redline review`'s start-up.
 * It is generated compact first, and with inline field reads once it is hot (HOT_EVALUATIONS).
 */
class Expression implements Compiled {
  /** undefined: not generated yet; null: not compilable (cel-js interprets every evaluation). */
  private fn: ((scope: Scope) => unknown) | null | undefined;
  private evaluations = 0;
  /** The checked AST, for a fused policy (null: not compiled); `ast` is dropped once hot. */
  readonly tree: unknown;

  constructor(readonly source: string, private ast: unknown, readonly interpret: (scope: Scope) => unknown, seed: { fn: (scope: Scope) => unknown; evaluations: number } | null = null) {
    this.tree = ast;
    if (ast === null) this.fn = null;
    else if (seed) {
      this.fn = seed.fn;
      this.evaluations = seed.evaluations;
    }
  }

  generate(): void {
    this.compiled();
  }

  private compiled(): ((scope: Scope) => unknown) | null {
    if (this.fn === undefined) this.fn = this.generated('call');
    return this.fn;
  }

  private generated(fieldAccess: 'call' | 'inline'): ((scope: Scope) => unknown) | null {
    return compileAst(this.ast, { ...COMPACT, fieldAccess }) as ((scope: Scope) => unknown) | null;
  }

  /** The function to run now: the inline form from the HOT_EVALUATIONS-th evaluation on. */
  private current(): ((scope: Scope) => unknown) | null {
    const fn = this.fn === undefined ? this.compiled() : this.fn;
    if (fn !== null && this.ast !== null && ++this.evaluations >= hotEvaluations) {
      this.fn = this.generated('inline');
      this.ast = null;
      return this.fn;
    }
    return fn;
  }

  get native(): boolean {
    return this.compiled() !== null;
  }

  evaluateNative(scope: Scope): unknown {
    const native = this.current();
    if (!native) throw new RedlineError('internal', 'not compiled');
    return native(scope);
  }

  evaluate(scope: Scope): unknown {
    const native = this.current();
    if (!native) return this.interpret(scope);
    if (crossCheck) checkBoth(crossCheck, this.source, native, this.interpret, scope);
    try {
      return native(scope);
    } catch {
      // Outside the compiled happy path (a type error, a missing key, …): cel-js decides.
      return this.interpret(scope);
    }
  }
}

/** A policy's expressions, as a fused policy evaluates them: a rule's violations if it has them, else its expression. */
export interface PolicyExpressions {
  variables: readonly { name: string; expr: Compiled }[];
  rules: readonly { when: Compiled | null; expression: Compiled | null; violations: Compiled | null }[];
}

export { MAIN_DECLINED, NOT_FUSED, SKIPPED, WHEN_DECLINED };

/**
 * A policy's variables and its rules' `when`s and expressions (or violations) compiled into two
 * functions, instead of one per expression and comprehension: a cold validating review entered some
 * 180 generated functions once each, which cost more than their work (`npm run bench:engine`, (b)).
 * Each expression still either returns what cel-js would or declines, per expression: what it
 * declines, cel-js decides, as for the expression alone. Messages are evaluated by their own
 * expressions (only when a rule fails or skips).
 */
export interface FusedPolicy {
  /** Whether it was made from exactly these expressions (a copy of a policy with others must not use it). */
  covers(expressions: PolicyExpressions): boolean;
  /**
   * Assigns the variables' JSON values to `json` in order, as evaluateNative would (the scope's
   * `vars` must be `json`), and returns how many it assigned: from the next one on, cel-js decides.
   */
  variables(scope: Scope, json: Record<string, unknown>): number;
  /**
   * Evaluates up to `count` of the rules `active` marks, from index `from` on, writing each one's
   * outcome to `out` at its index: the value of its expression or violations (a `when` that is
   * true first), SKIPPED (its `when` is not true), WHEN_DECLINED or MAIN_DECLINED (compiled code
   * declined its when, or its expression or violations: cel-js decides), NOT_FUSED (evaluate its
   * expressions as they are). Returns the index of the first active rule it did not evaluate, or
   * the rule count.
   */
  rules(scope: Scope, active: readonly boolean[], from: number, count: number, out: unknown[]): number;
}

/**
 * The fused form of a policy's expressions, or null when none of them is compiled here (a prepared
 * library's expressions run the build's stored code one by one). `lazy`: generated on first use
 * (as compile()'s `lazy`).
 */
export function fusePolicy(expressions: PolicyExpressions, lazy = false): FusedPolicy | null {
  const tree = (c: Compiled | null): unknown => (c instanceof Expression ? c.tree : null);
  const trees: FusedTrees = {
    variables: expressions.variables.map((v) => ({ name: v.name, tree: tree(v.expr) })),
    rules: expressions.rules.map((r) => ({ when: r.when ? tree(r.when) : undefined, main: tree(r.violations ?? r.expression) })),
  };
  if (trees.variables.every((v) => v.tree === null) && trees.rules.every((r) => r.main === null || r.when === null)) return null;
  const fused = new Fusion(expressions, trees);
  if (!lazy) fused.generate();
  return fused;
}

/** The per-expression way: each variable's evaluateNative in order, until one throws. */
export function evaluateVariables(variables: PolicyExpressions['variables'], scope: Scope, json: Record<string, unknown>): number {
  let i = 0;
  try {
    for (; i < variables.length; i++) {
      const v = variables[i]!;
      json[v.name] = v.expr.evaluateNative(scope);
    }
  } catch {
    // cel-js decides this variable and every later one.
  }
  return i;
}

/**
 * Generated compact, then again with inline field reads once hot, as an Expression is: after
 * HOT_EVALUATIONS passes over its rules (calls that start at the first active rule: the budget
 * splits a pass into several calls), as its rules' `when`s would be on their own. The variables
 * are evaluated by every pass of a review that changes the object, so they do not count.
 */
class Fusion implements FusedPolicy {
  private fns: FusedFunctions | undefined;
  private uses = 0;

  constructor(private readonly expressions: PolicyExpressions, private trees: FusedTrees | null) {}

  covers(expressions: PolicyExpressions): boolean {
    return expressions.rules === this.expressions.rules && expressions.variables === this.expressions.variables;
  }

  generate(): void {
    this.fns ??= this.generated('call');
  }

  private generated(fieldAccess: 'call' | 'inline'): FusedFunctions {
    return buildCode(generateFusedCode(this.trees!, { ...COMPACT, fieldAccess }), COMPACT) as unknown as FusedFunctions;
  }

  private current(use: boolean): FusedFunctions {
    const fns = (this.fns ??= this.generated('call'));
    if (use && this.trees !== null && ++this.uses >= hotEvaluations) {
      this.fns = this.generated('inline');
      this.trees = null;
      return this.fns;
    }
    return fns;
  }

  variables(scope: Scope, json: Record<string, unknown>): number {
    // A cross-check sees each expression on its own, as without fusion.
    if (crossCheck) return evaluateVariables(this.expressions.variables, scope, json);
    return this.current(false).variables(scope, json);
  }

  rules(scope: Scope, active: readonly boolean[], from: number, count: number, out: unknown[]): number {
    if (crossCheck) {
      out.fill(NOT_FUSED);
      return out.length;
    }
    let first = 0;
    while (first < from && !active[first]) first++;
    return this.current(first === from).rules(scope, active, from, count, out);
  }
}

type Shared = 'object' | 'oldObject' | 'workload' | 'plan' | 'tenant' | 'request' | 'practices';
/** `practices` is optional: scopes built for one expression (tests, benches) may leave it out. */
type Producers = Record<Exclude<Shared, 'practices'>, () => unknown> & { practices?: () => unknown };

const UNSET: unique symbol = Symbol('unset');

/**
 * The shared variables of one review, produced on first use and memoised: most rules read only
 * `workload`, so the raw object is touched only when an expression asks for it. Each exists as
 * JSON (what compiled expressions read) and, only when cel-js has to evaluate something, as CEL
 * values (`cel` producers, or toCel of the JSON).
 */
export class SharedValues {
  private readonly json: Record<Shared, unknown> = { object: UNSET, oldObject: UNSET, workload: UNSET, plan: UNSET, tenant: UNSET, request: UNSET, practices: UNSET };
  private readonly celValues: Record<Shared, unknown> = { object: UNSET, oldObject: UNSET, workload: UNSET, plan: UNSET, tenant: UNSET, request: UNSET, practices: UNSET };

  constructor(
    private readonly producers: Producers,
    private readonly celProducers: Partial<Producers> = {},
  ) {}

  get(name: Shared): unknown {
    const v = this.json[name];
    if (v !== UNSET) return v;
    const produce = this.producers[name];
    return (this.json[name] = produce ? produce() : null);
  }

  cel(name: Shared): unknown {
    const v = this.celValues[name];
    if (v !== UNSET) return v;
    const produce = this.celProducers[name];
    return (this.celValues[name] = produce ? produce() : toCel(this.get(name)));
  }
}

/**
 * The variables of one evaluation, as JSON values (the compiled expressions read these getters).
 * `vars` may be known only as CEL values (`celVars`, when a variable needed cel-js): then `vars` is
 * undefined and every compiled expression that reads it hands over to cel-js.
 */
export class Scope {
  settings: unknown = null;
  vars: unknown = null;
  celVars: unknown = undefined;
  target: unknown = null;
  pod: unknown = null;
  container: unknown = null;
  private celScope: CelScope | undefined;

  constructor(readonly shared: SharedValues) {}

  get object(): unknown { return this.shared.get('object'); }
  get oldObject(): unknown { return this.shared.get('oldObject'); }
  get workload(): unknown { return this.shared.get('workload'); }
  get plan(): unknown { return this.shared.get('plan'); }
  get tenant(): unknown { return this.shared.get('tenant'); }
  get request(): unknown { return this.shared.get('request'); }
  get practices(): unknown { return this.shared.get('practices'); }

  with(own: Partial<Pick<Scope, 'settings' | 'vars' | 'target' | 'pod' | 'container'>> & { celVars?: unknown }): Scope {
    const s = new Scope(this.shared);
    s.settings = own.settings !== undefined ? own.settings : this.settings;
    if (own.celVars !== undefined) {
      s.vars = undefined;
      s.celVars = own.celVars;
    } else {
      s.vars = own.vars !== undefined ? own.vars : this.vars;
      s.celVars = own.vars !== undefined ? undefined : this.celVars;
    }
    s.target = own.target !== undefined ? own.target : this.target;
    s.pod = own.pod !== undefined ? own.pod : this.pod;
    s.container = own.container !== undefined ? own.container : this.container;
    return s;
  }

  /** The same variables as CEL values, for cel-js. */
  cel(): CelScope {
    return (this.celScope ??= new CelScope(this));
  }
}

/** A Scope seen through toCel (memoised per variable), the activation cel-js evaluates with. */
export class CelScope {
  private own: { settings?: unknown; target?: unknown; pod?: unknown; container?: unknown; vars?: unknown } = {};
  constructor(private readonly scope: Scope) {}

  get object(): unknown { return this.scope.shared.cel('object'); }
  get oldObject(): unknown { return this.scope.shared.cel('oldObject'); }
  get workload(): unknown { return this.scope.shared.cel('workload'); }
  get plan(): unknown { return this.scope.shared.cel('plan'); }
  get tenant(): unknown { return this.scope.shared.cel('tenant'); }
  get request(): unknown { return this.scope.shared.cel('request'); }
  get practices(): unknown { return this.scope.shared.cel('practices'); }
  get vars(): unknown {
    if (this.scope.celVars !== undefined) return this.scope.celVars;
    return ('vars' in this.own) ? this.own.vars : (this.own.vars = toCel(this.scope.vars));
  }
  get settings(): unknown { return ('settings' in this.own) ? this.own.settings : (this.own.settings = toCel(this.scope.settings)); }
  get target(): unknown { return ('target' in this.own) ? this.own.target : (this.own.target = toCel(this.scope.target)); }
  get pod(): unknown { return ('pod' in this.own) ? this.own.pod : (this.own.pod = toCel(this.scope.pod)); }
  get container(): unknown { return ('container' in this.own) ? this.own.container : (this.own.container = toCel(this.scope.container)); }
}

/**
 * JSON → CEL values: integers become BigInt (CEL int), other numbers stay doubles. Values of
 * registered types (Quantity) pass through.
 */
export function toCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Quantity) return value;
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
