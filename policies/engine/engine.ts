// The engine: recognise the workload, apply the declared mutations, evaluate every rule of every
// selected policy against the (mutated) object. Results are values — pass, fail, warn, skip or
// error — and an error never escapes: the policy's failure mode decides whether it denies.

import { recognise } from '../workloads/index.js';
import type { AdapterResult, PodSlots, Segments } from '../workloads/index.js';
import { Scope, SharedValues, describeEvaluationError, fromCel, toCel, type Compiled } from './cel.js';
import type { CompiledMutation, CompiledPolicy, Library } from './library.js';
import { PatchRecorder } from './mutate.js';
import type { Json, JsonObject, ReviewInput, ReviewOutcome, RuleResult } from './types.js';

export interface EngineOptions {
  /** Upper bound for one review; rules not reached by then resolve as errors. */
  timeBudgetMs?: number;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
}

const DEFAULT_BUDGET_MS = 250;

export class Engine {
  private readonly budgetMs: number;
  private readonly now: () => number;

  constructor(readonly library: Library, options: EngineOptions = {}) {
    this.budgetMs = options.timeBudgetMs ?? DEFAULT_BUDGET_MS;
    this.now = options.now ?? (() => performance.now());
  }

  get policyNames(): string[] {
    return this.library.policies.map((p) => p.name);
  }

  hasPlan(name: string): boolean {
    return this.library.plans.has(name);
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
      const message = `plan ${JSON.stringify(input.plan)} is not defined (known plans: ${known || 'none'}); ask the platform team to fix the namespace's redline.dev/plan label`;
      const result: RuleResult = { policy: 'redline', rule: 'plan-exists', result: 'error', action: 'Deny', message, denies: true };
      return { redis: true, reason: '', results: [result], patch: [], mutated: input.object, denied: true };
    }
    const deadline = this.now() + this.budgetMs;
    const policies = this.library.policies.filter((p) =>
      (!input.only || input.only.includes(p.name)) && p.operations.has(input.operation));
    const base = {
      oldObject: () => (input.oldObject ? toCel(input.oldObject) : null),
      plan: () => plan.cel,
      tenant: () => toCel({
        namespace: input.namespace?.name ?? '',
        id: input.namespace?.labels['redline.dev/tenant'] ?? '',
        plan: input.plan,
        labels: input.namespace?.labels ?? {},
      }),
      request: () => toCel({
        operation: input.operation,
        username: input.userInfo?.username ?? '',
        groups: input.userInfo?.groups ?? [],
      }),
    };
    const results: RuleResult[] = [];

    let adapted: AdapterResult = recognition.result;
    let mutated = input.object;
    let patch: ReviewOutcome['patch'] = [];
    // A Pod's spec is immutable after creation, so Pods are mutated on CREATE only.
    const operations = adapted.view.role === 'pod' ? ['CREATE'] : ['CREATE', 'UPDATE'];
    const mutating = input.mutate && adapted.mutable && operations.includes(input.operation);
    if (mutating) {
      const recorder = new PatchRecorder(input.object);
      const workload = toCel(adapted.view) as { podTemplates: unknown[] };
      const original = input.object;
      const activation = new Scope(new SharedValues({ ...base, object: () => toCel(original), workload: () => workload }));
      for (const policy of policies) {
        if (!policy.roles.has(adapted.view.role)) continue;
        for (const mutation of policy.mutations) {
          const error = this.applyMutation(recorder, policy, mutation, adapted.slots, workload.podTemplates, activation.with({ settings: policy.settings }));
          if (error) results.push(error);
        }
      }
      if (recorder.ops.length > 0) {
        mutated = recorder.doc;
        patch = recorder.ops;
        const again = recognise(mutated);
        if (again.redis) adapted = again.result;
      }
    }

    if (input.validate === false) return { redis: true, reason: '', results, patch, mutated, denied: false };
    const view = adapted.view;
    const stored = mutated;
    const activation = new Scope(new SharedValues({ ...base, object: () => toCel(stored), workload: () => toCel(view) }));
    for (const policy of policies) {
      if (!policy.roles.has(view.role)) continue;
      this.evaluatePolicy(policy, activation.with({ settings: policy.settings }), input, deadline, results);
    }
    const denied = results.some((r) => (r.result === 'fail' && r.action === 'Deny') || (r.result === 'error' && r.denies));
    return { redis: true, reason: '', results, patch, mutated, denied };
  }

  private evaluatePolicy(policy: CompiledPolicy, activation: Scope, input: ReviewInput, deadline: number, out: RuleResult[]): void {
    const vars: Record<string, unknown> = {};
    let variableError = '';
    for (const v of policy.variables) {
      try {
        vars[v.name] = v.expr.evaluate(activation.with({ vars }));
      } catch (e) {
        variableError = `variable ${v.name}: ${describeEvaluationError(e)}`;
        break;
      }
    }
    const withVars = policy.variables.length > 0 ? activation.with({ vars }) : activation;
    for (const rule of policy.rules) {
      if (rule.operations && !rule.operations.has(input.operation)) continue;
      if (!rule.operations && input.operation === 'DELETE') continue;
      const result = (kind: RuleResult['result'], message: string): void => {
        out.push({
          policy: policy.name, rule: rule.name, action: rule.action, result: kind, message,
          denies: kind === 'error' ? policy.failureMode === 'Deny' : false,
        });
      };
      if (variableError) {
        result('error', variableError);
        continue;
      }
      if (this.now() > deadline) {
        result('error', `evaluation stopped: the ${this.budgetMs} ms budget of this review was exhausted`);
        continue;
      }
      try {
        if (rule.when && rule.when.evaluate(withVars) !== true) {
          result('skip', this.message(rule.skipMessage, rule.skipMessageExpression, withVars));
          continue;
        }
        const failed = rule.action === 'Warn' ? 'warn' : 'fail';
        if (rule.violations) {
          const offenders = rule.violations.evaluate(withVars);
          if (!Array.isArray(offenders)) result('error', 'violations must return a list');
          else if (offenders.length === 0) result('pass', '');
          else result(failed, `${this.message(rule.message, rule.messageExpression, withVars)}: ${offenders.map(String).join(', ')}`);
          continue;
        }
        const passed = rule.expression?.evaluate(withVars);
        if (passed === true) result('pass', '');
        else if (passed === false) result(failed, this.message(rule.message, rule.messageExpression, withVars));
        else result('error', `expression returned ${typeof passed}, not bool`);
      } catch (e) {
        result('error', `${rule.name}: ${describeEvaluationError(e)}`);
      }
    }
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
  private applyMutation(recorder: PatchRecorder, policy: CompiledPolicy, mutation: CompiledMutation, slots: PodSlots[], pods: unknown[], activation: Scope): RuleResult | null {
    const targets = slotsFor(mutation.target, slots);
    for (const target of targets) {
      const current = atPath(recorder.doc, target.path);
      const scoped = activation.with({ target: toCel(current ?? {}), pod: pods[target.pod] ?? null });
      try {
        if (mutation.when && mutation.when.evaluate(scoped) !== true) continue;
        const value: Json = mutation.addExpression ? fromCel(mutation.addExpression.evaluate(scoped)) : mutation.add ?? {};
        if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) continue;
        if (target.create && atPath(recorder.doc, [...target.create.list, target.create.index]) === undefined) {
          recorder.ensureListItem(target.create.list, target.create.index, target.create.value);
        }
        recorder.merge(target.path, value);
      } catch (e) {
        return {
          policy: policy.name, rule: mutation.name, action: policy.action, result: 'error',
          message: `mutation ${mutation.name}: ${describeEvaluationError(e)}`, denies: policy.failureMode === 'Deny',
        };
      }
    }
    return null;
  }
}

interface SlotTarget {
  path: Segments;
  /** Index of the pod template this slot belongs to. */
  pod: number;
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
    else {
      for (const c of slots.containers) {
        const path = target === 'redisResources' ? (c.redis ? c.resources : null) : c.securityContext;
        push(path ? { path, pod, ...(c.create ? { create: c.create } : {}) } : null);
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
