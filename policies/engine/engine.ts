// The engine: recognise the workload, apply the declared mutations, evaluate every rule of every
// selected policy against the (mutated) object. Results are values — pass, fail, warn, skip or
// error — and an error never escapes: the policy's failure mode decides whether it denies. Then
// the library's PolicyExceptions turn the results they waive into skips naming them: every caller
// (admission, review, audit) gets them from here, by the engine's wall clock.

import { LABEL_PLAN, LABEL_TENANT } from '../../core/vocabulary.js';
import { recognise } from '../workloads/index.js';
import type { AdapterResult, PodSlots, PodView, Segments, WorkloadView } from '../workloads/index.js';
import {
  MAIN_DECLINED, NOT_FUSED, SKIPPED, Scope, SharedValues, WHEN_DECLINED, describeEvaluationError, evaluateVariables, fromCel, toCel, type Compiled, type FusedPolicy,
} from './cel.js';
import type { CompiledMutation, CompiledPolicy, CompiledRule, Library, Plan } from './library.js';
import { applyExceptions, exceptionCandidates, exceptionStatuses, indexExceptions, type ExceptionIndex, type ExceptionStatus } from './exceptions.js';
import { PatchRecorder } from './mutate.js';
import { practicesOf } from '../workloads/practices.js';
import type { Json, JsonObject, Operation, ReviewInput, ReviewOutcome, RuleResult } from './types.js';

export interface EngineOptions {
  /** Upper bound for one review; rules not reached by then resolve as errors. */
  timeBudgetMs?: number;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
  /** The wall clock exceptions start and expire by (a ReviewInput's `now` overrides it). Default: the system's. */
  clock?: () => Date;
}

const DEFAULT_BUDGET_MS = 250;
/**
 * The clock is read before every this-many-th rule of a policy (the first included): one reading
 * costs about as much as evaluating a simple rule, and each rule is short (see cel.ts).
 */
const RULES_PER_CLOCK_READING = 4;

export class Engine {
  private readonly budgetMs: number;
  private readonly now: () => number;
  readonly clock: () => Date;
  private readonly exceptions: ExceptionIndex;

  constructor(readonly library: Library, options: EngineOptions = {}) {
    this.budgetMs = options.timeBudgetMs ?? DEFAULT_BUDGET_MS;
    this.now = options.now ?? (() => performance.now());
    this.clock = options.clock ?? (() => new Date());
    this.exceptions = indexExceptions(library.exceptions);
  }

  get policyNames(): string[] {
    return this.library.policies.map((p) => p.name);
  }

  hasPlan(name: string): boolean {
    return this.library.plans.has(name);
  }

  /** Each PolicyException of the library and its state at `at` (default: the engine's clock). */
  exceptionStatuses(at: Date = this.clock()): ExceptionStatus[] {
    return exceptionStatuses(this.library.exceptions, this.library.settings, at.getTime());
  }

  review(input: ReviewInput): ReviewOutcome {
    const subject = input.operation === 'DELETE' ? input.oldObject ?? input.object : input.object;
    const recognition = recognise(subject);
    if (!recognition.redis) {
      return { redis: false, reason: recognition.reason, results: [], patch: [], mutated: input.object, denied: false };
    }
    const plan = this.library.plans.get(input.plan);
    if (!plan) {
      const known = [...this.library.plans.keys()].join(', ');
      const message = `plan ${JSON.stringify(input.plan)} is not defined (known plans: ${known || 'none'}); ask the platform team to fix the namespace's ${LABEL_PLAN} label`;
      const result: RuleResult = { policy: 'redline', rule: 'plan-exists', result: 'error', action: 'Deny', message, denies: true };
      return { redis: true, reason: '', results: [result], patch: [], mutated: input.object, denied: true };
    }
    const deadline = this.now() + this.budgetMs;
    const policies = this.library.policies.filter((p) =>
      (!input.only || input.only.includes(p.name)) && p.operations.has(input.operation));
    const results: RuleResult[] = [];

    let adapted: AdapterResult = recognition.result;
    let mutated = input.object;
    let patch: ReviewOutcome['patch'] = [];
    // What the mutating pass evaluated, for the rules when it changed nothing (see below).
    let unchanged: { activation: Scope; variables: Map<CompiledPolicy, Variables> } | null = null;
    // A Pod's spec is immutable after creation, so Pods are mutated on CREATE only.
    const isPod = adapted.view.role === 'pod' || adapted.view.role === 'other-pod';
    const operations = isPod ? ['CREATE'] : ['CREATE', 'UPDATE'];
    const mutating = input.mutate && adapted.mutable && operations.includes(input.operation);
    if (mutating) {
      const recorder = new PatchRecorder(input.object);
      const workload = adapted.view;
      const activation = reviewScope(input, plan, input.object, workload);
      const evaluated = input.validate === false ? null : new Map<CompiledPolicy, Variables>();
      for (const policy of policies) {
        if (!policy.roles.has(adapted.view.role) || policy.mutations.length === 0) continue;
        // Mutations see the policy's variables too, evaluated against the object before mutation.
        const variables = this.variables(policy, activation.with({ settings: policy.settings }));
        evaluated?.set(policy, variables);
        const { scope, error: variableError } = variables;
        for (const mutation of policy.mutations) {
          const error = variableError
            ? mutationError(policy, mutation, variableError)
            : this.applyMutation(recorder, policy, mutation, adapted.slots, workload.podTemplates, scope);
          if (error) results.push(asWarningFor(policy, adapted.view.role, error));
        }
      }
      if (recorder.ops.length > 0) {
        mutated = recorder.doc;
        patch = recorder.ops;
      } else if (evaluated) {
        unchanged = { activation, variables: evaluated };
      }
    }

    if (input.validate === false) return { redis: true, reason: '', results, patch, mutated, denied: false };
    // The rules judge the object as mutated: its view again, which the mutating webhook (validate
    // false) never needs.
    let judgesMutated = subject === input.object;
    if (patch.length > 0) {
      const again = recognise(mutated);
      if (again.redis) adapted = again.result;
      else judgesMutated = false;
    }
    const view = adapted.view;
    const mutatedView = judgesMutated ? view : undefined;
    // Nothing mutated: the same object and view as the mutating pass, so the same shared values
    // (practices computed once) and the same variables. The rules read them; nothing writes them.
    const activation = unchanged?.activation ?? reviewScope(input, plan, mutated, view);
    let exhausted = false;
    for (const policy of policies) {
      if (!policy.roles.has(view.role)) continue;
      const from = results.length;
      const variables = unchanged?.variables.get(policy) ?? this.variables(policy, activation.with({ settings: policy.settings }));
      exhausted = this.evaluatePolicy(policy, variables, input, deadline, exhausted, results);
      if (policy.warnRoles.has(view.role)) {
        for (let i = from; i < results.length; i++) results[i] = asWarningFor(policy, view.role, results[i]!);
      }
    }
    const target = subjectOf(subject);
    const candidates = exceptionCandidates(this.exceptions, target, input.namespace);
    if (candidates.length === 0) return { redis: true, reason: '', results, patch, mutated, denied: isDenied(results), view: mutatedView };
    const excepted = applyExceptions(candidates, this.library.settings, results, target, input.namespace, (input.now ?? this.clock()).getTime());
    const outcome: ReviewOutcome = { redis: true, reason: '', results: excepted.results, patch, mutated, denied: isDenied(excepted.results), view: mutatedView };
    if (excepted.notices.length > 0) outcome.exceptions = excepted.notices;
    return outcome;
  }

  /** Appends the policy's results; returns whether the budget is exhausted (it stays so). */
  private evaluatePolicy(policy: CompiledPolicy, variables: Variables, input: ReviewInput, deadline: number, exhausted: boolean, out: RuleResult[]): boolean {
    const { scope: withVars, error: variableError } = variables;
    const fused = fusedOf(policy);
    const rules = policy.rules;
    const active = fused ? rules.map((rule) => applies(rule, input.operation)) : null;
    // With a fused policy: each active rule's outcome, evaluated RULES_PER_CLOCK_READING rules at a
    // time right after the clock reading before the first of them, as the rules are judged otherwise.
    const outcomes: unknown[] | null = fused ? new Array(rules.length) : null;
    let evaluated = 0;
    let reached = 0;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (!applies(rule, input.operation)) continue;
      if (!exhausted && reached++ % RULES_PER_CLOCK_READING === 0 && this.now() > deadline) exhausted = true;
      if (variableError) out.push(ruleResult(policy, rule, 'error', variableError));
      else if (exhausted) out.push(ruleResult(policy, rule, 'error', `evaluation stopped: the ${this.budgetMs} ms budget of this review was exhausted`));
      else {
        if (fused && i >= evaluated) evaluated = fused.rules(withVars, active!, i, RULES_PER_CLOCK_READING, outcomes!);
        out.push(this.judge(policy, rule, withVars, outcomes ? outcomes[i] : NOT_FUSED));
      }
    }
    return exhausted;
  }

  /**
   * One rule's result; an evaluation error is a result, never an exception. `outcome`: what its
   * fused policy made of its when and expression (see FusedPolicy.rules), NOT_FUSED to evaluate them here.
   */
  private judge(policy: CompiledPolicy, rule: CompiledRule, scope: Scope, outcome: unknown): RuleResult {
    try {
      const skips = outcome === NOT_FUSED ? rule.when !== null && rule.when.evaluate(scope) !== true
        : outcome === WHEN_DECLINED ? rule.when!.interpret(scope) !== true
        : outcome === SKIPPED;
      if (skips) return ruleResult(policy, rule, 'skip', this.message(rule.skipMessage, rule.skipMessageExpression, scope));
      const failed = rule.action === 'Warn' ? 'warn' : 'fail';
      const main = (rule.violations ?? rule.expression)!;
      const value = outcome === NOT_FUSED || outcome === WHEN_DECLINED ? main.evaluate(scope)
        : outcome === MAIN_DECLINED ? main.interpret(scope)
        : outcome;
      if (rule.violations) {
        if (!Array.isArray(value)) return ruleResult(policy, rule, 'error', 'violations must return a list');
        if (value.length === 0) return ruleResult(policy, rule, 'pass', '');
        const result = ruleResult(policy, rule, failed, `${this.message(rule.message, rule.messageExpression, scope)}: ${value.map(String).join(', ')}`);
        const paths = leadingPaths(value);
        return paths.length > 0 ? { ...result, paths } : result;
      }
      if (value === true) return ruleResult(policy, rule, 'pass', '');
      if (value === false) return ruleResult(policy, rule, failed, this.message(rule.message, rule.messageExpression, scope));
      return ruleResult(policy, rule, 'error', `expression returned ${typeof value}, not bool`);
    } catch (e) {
      return ruleResult(policy, rule, 'error', `${rule.name}: ${describeEvaluationError(e)}`);
    }
  }

  /**
   * The policy's variables, in order. Compiled while every one of them can be (JSON values); from
   * the first one that needs cel-js on, all are evaluated by cel-js (CEL values), and expressions
   * reading `vars` are then interpreted too.
   */
  private variables(policy: CompiledPolicy, activation: Scope): Variables {
    if (policy.variables.length === 0) return { scope: activation, error: '' };
    const json: Record<string, unknown> = {};
    // One scope for them all: each variable sees the ones before it as they are added to `json`.
    const scope = activation.with({ vars: json });
    const fused = fusedOf(policy);
    let i = fused ? fused.variables(scope, json) : evaluateVariables(policy.variables, scope, json);
    if (i === policy.variables.length) return { scope, error: '' };
    // cel-js decides this variable and every later one.
    const cel = toCel(json) as Record<string, unknown>;
    for (; i < policy.variables.length; i++) {
      const v = policy.variables[i]!;
      try {
        cel[v.name] = v.expr.interpret(activation.with({ celVars: cel }));
      } catch (e) {
        return { scope: activation, error: `variable ${v.name}: ${describeEvaluationError(e)}` };
      }
    }
    return { scope: activation.with({ celVars: cel }), error: '' };
  }

  private message(text: string, expr: Compiled | null, activation: Scope): string {
    if (!expr) return text;
    try {
      const value = expr.evaluate(activation);
      return typeof value === 'string' && value ? value : text || 'rule failed';
    } catch (e) {
      return `${text || 'rule failed'} (message expression failed: ${describeEvaluationError(e)})`;
    }
  }

  /** Applies one declared mutation to every slot it targets. Returns an error result, if any. */
  private applyMutation(recorder: PatchRecorder, policy: CompiledPolicy, mutation: CompiledMutation, slots: PodSlots[], pods: readonly PodView[], activation: Scope): RuleResult | null {
    const targets = slotsFor(mutation.target, slots);
    for (const target of targets) {
      const current = atPath(recorder.doc, target.path);
      const pod = pods[target.pod];
      // A container target sees its container's view (image and its known user, security context as the kind fills it in).
      const container = target.container && pod
        ? pod.containers.find((c) => c.name === target.container!.name && c.kind === target.container!.kind) ?? null
        : null;
      const scoped = activation.with({ target: current ?? {}, pod: pod ?? null, container });
      try {
        if (mutation.when && mutation.when.evaluate(scoped) !== true) continue;
        const value: Json = mutation.addExpression ? fromCel(mutation.addExpression.evaluate(scoped)) : mutation.add ?? {};
        if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) continue;
        if (target.create && atPath(recorder.doc, [...target.create.list, target.create.index]) === undefined) {
          recorder.ensureListItem(target.create.list, target.create.index, target.create.value);
        }
        recorder.merge(target.path, value, mutation.appendToLists);
      } catch (e) {
        return mutationError(policy, mutation, describeEvaluationError(e));
      }
    }
    return null;
  }
}

/** The policy's fused form, unless it is a copy with other expressions than the form was made from. */
function fusedOf(policy: CompiledPolicy): FusedPolicy | null {
  return policy.fused?.covers(policy) ? policy.fused : null;
}

/** Whether a rule is evaluated for this operation: its own operations, else every one but DELETE. */
function applies(rule: CompiledRule, operation: Operation): boolean {
  return rule.operations ? rule.operations.has(operation) : operation !== 'DELETE';
}

/** A policy's scope with its variables, or why one of them could not be evaluated. */
interface Variables { scope: Scope; error: string }

function isDenied(results: readonly RuleResult[]): boolean {
  return results.some((r) => (r.result === 'fail' && r.action === 'Deny') || (r.result === 'error' && r.denies));
}

/** Kind and name of the object judged, as exceptions match them. */
function subjectOf(object: JsonObject): { kind: string; name: string } {
  const meta = object['metadata'];
  const name = meta && typeof meta === 'object' && !Array.isArray(meta) ? meta['name'] : undefined;
  return { kind: typeof object['kind'] === 'string' ? object['kind'] : '', name: typeof name === 'string' ? name : '' };
}

/** The variables of one pass over the policies: the object (as mutated so far) and its view. */
function reviewScope(input: ReviewInput, plan: Plan, object: Json, workload: WorkloadView): Scope {
  // One literal, not a spread of shared getters: spreading measured microseconds per review.
  const values = new SharedValues(
    {
      object: () => object,
      workload: () => workload,
      oldObject: () => input.oldObject ?? null,
      plan: () => plan.json,
      tenant: () => ({
        namespace: input.namespace?.name ?? '',
        id: input.namespace?.labels[LABEL_TENANT] ?? '',
        plan: input.plan,
        labels: input.namespace?.labels ?? {},
      }),
      request: () => ({
        operation: input.operation,
        username: input.userInfo?.username ?? '',
        groups: input.userInfo?.groups ?? [],
      }),
      // Derived facts (authentication, persistence, maxmemory, …): computed only when a rule reads them.
      practices: () => practicesOf(workload, object as JsonObject, {
        storageClasses: input.storageClasses,
        pdbs: input.pdbs,
        maxmemoryHeadroomPercent: typeof plan.json['maxmemoryHeadroomPercent'] === 'number' ? plan.json['maxmemoryHeadroomPercent'] : 0,
        containerDefaults: containerDefaults(plan),
      }) as unknown as Json,
    },
    { plan: () => plan.cel },
  );
  return new Scope(values);
}

/** The LimitRange's Container default: the plan's defaults.other (filled in from defaults when absent). */
function containerDefaults(plan: Plan): { memory: string; cpu: string } | undefined {
  const other = (plan.json['defaults'] as JsonObject | undefined)?.['other'] as JsonObject | undefined;
  const memory = other?.['memory'];
  const cpu = other?.['cpu'];
  return typeof memory === 'string' && typeof cpu === 'string' ? { memory, cpu } : undefined;
}

function mutationError(policy: CompiledPolicy, mutation: CompiledMutation, reason: string): RuleResult {
  return {
    policy: policy.name, rule: mutation.name, action: policy.action, result: 'error',
    message: `mutation ${mutation.name}: ${reason}`, denies: policy.failureMode === 'Deny',
  };
}

/**
 * For a role in the policy's warnRoles (as Pod Security Admission only warns about workload
 * templates): a Deny failure becomes a warning, and an error is reported without denying.
 */
function asWarningFor(policy: CompiledPolicy, role: WorkloadView['role'], result: RuleResult): RuleResult {
  if (!policy.warnRoles.has(role)) return result;
  if (result.result === 'fail' && result.action === 'Deny') return { ...result, result: 'warn', action: 'Warn' };
  if (result.result === 'error' && result.denies) return { ...result, denies: false };
  return result;
}

/** An offender that starts with a field path (a dot or an index in it): that path. */
const LEADING_PATH = /^[A-Za-z_$][\w$-]*(?:\.[A-Za-z_$][\w$-]*|\[\d+\])+/;

function leadingPaths(offenders: readonly unknown[]): string[] {
  const out: string[] = [];
  for (const o of offenders) {
    const m = typeof o === 'string' ? LEADING_PATH.exec(o) : null;
    if (m) out.push(m[0]);
  }
  return out;
}

function ruleResult(policy: CompiledPolicy, rule: CompiledRule, result: RuleResult['result'], message: string): RuleResult {
  return { policy: policy.name, rule: rule.name, action: rule.action, result, message, denies: result === 'error' && policy.failureMode === 'Deny' };
}

interface SlotTarget {
  path: Segments;
  /** Index of the pod template this slot belongs to. */
  pod: number;
  /** The container of a container target (containerSecurityContext, redisResources). */
  container?: { name: string; kind: string };
  create?: { list: Segments; index: number; value: JsonObject };
}

function slotsFor(target: CompiledMutation['target'], pods: PodSlots[]): SlotTarget[] {
  const out: SlotTarget[] = [];
  const seen = new Set<string>();
  const push = (t: SlotTarget | null): void => {
    if (!t) return;
    const key = t.path.join('\u0000');
    if (seen.has(key)) return; // RedisCluster roles may share one place (kubernetesConfig.resources)
    seen.add(key);
    out.push(t);
  };
  if (target === 'object') return [{ path: [], pod: 0 }];
  pods.forEach((slots, pod) => {
    if (target === 'podSecurityContext') push(slots.podSecurityContext ? { path: slots.podSecurityContext, pod } : null);
    else if (target === 'affinity') push(slots.affinity ? { path: slots.affinity, pod } : null);
    // The PodSpec level that holds affinity (and topologySpreadConstraints beside it).
    else if (target === 'podSpec') push(slots.affinity ? { path: slots.affinity.slice(0, -1), pod } : null);
    else {
      for (const c of slots.containers) {
        const path = target === 'redisResources' ? (c.redis ? c.resources : null) : c.securityContext;
        const slot: SlotTarget | null = path ? { path, pod, container: { name: c.name, kind: c.kind } } : null;
        if (slot && c.create) slot.create = c.create;
        push(slot);
      }
    }
  });
  return out;
}

function atPath(root: Json, path: Segments): Json | undefined {
  let cur: Json | undefined = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[seg as number] : cur[String(seg)];
  }
  return cur;
}
