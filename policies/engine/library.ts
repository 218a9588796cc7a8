// Loads the policy library: every Plan, Policy, PolicyException and LibrarySettings document (and
// the PolicyTest cases) under a directory, each validated
// against its JSON Schema and every CEL expression compiled and type-checked. Any problem in any
// document fails the whole load (nothing is half-applied) with file:line:column and field path.

import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { compile, fusePolicy, toCel, type Compiled, type CompileResult, type Expectation, type FusedPolicy } from './cel.js';
import type { DocumentProblem } from '../../core/result.js';
import { documentError, parseDocuments, pathToString, type SourceDocument } from './documents.js';
import { compileException, DEFAULT_LIBRARY_SETTINGS, librarySettingsOf, type CompiledException, type LibrarySettings } from './exceptions.js';
import { preparedExpressions, preparedFor, type LibrarySource, type PreparedSources } from './prepared.js';
import { API_VERSION, DOCUMENT_KINDS, describeSchemaError, instanceSegments, relevantErrors, validatorFor, type DocumentKind } from './schema.js';
import type { Action, Json, JsonObject, Operation } from './types.js';
import { namespacePatternProblem, tenancyOf } from '../tenancy/namespaces.js';

/**
 * What an object is to the policies (the view's role): a Redis workload, a Redis pod, a PDB, a Pod
 * or workload template that does not run Redis, or a cert-manager Certificate.
 */
export type Role = 'workload' | 'pod' | 'pdb' | 'other-pod' | 'other-workload' | 'certificate';
export type MutationTarget = 'object' | 'podSecurityContext' | 'containerSecurityContext' | 'redisResources' | 'affinity' | 'podSpec';

export interface Plan {
  name: string;
  spec: JsonObject;
  /** The plan as expressions see it (`plan.name`, `plan.perPod…`, `plan.spec…`): JSON, and as CEL values. */
  json: JsonObject;
  cel: unknown;
}

export function makePlan(name: string, spec: JsonObject): Plan {
  const effective = withPlanDefaults(spec);
  const json: JsonObject = { name, ...effective, spec: effective };
  return { name, spec, json, cel: toCel(json) };
}

/**
 * A plan's spec with the defaults of the optional fields filled in, as expressions see it (and as
 * the bootstrapper renders it): podMax → perPod's memory and cpu, containerMin → 1Mi / 1m, no
 * priority classes, no tolerations, Service type ClusterIP only, no extra certificate domains;
 * no zone spreading, no replica required per shard, durable storage, no WipeOut, 25% maxmemory
 * headroom, any image, no node isolation; Sentinel and other containers' defaults → defaults'
 * memory and cpu; no Active-Active, no rack awareness, databases up to perPod.memory; no kind
 * without TLS; no traffic between a tenant's namespaces, any namespace name.
 */
export function withPlanDefaults(spec: JsonObject): JsonObject {
  const perPod = (spec['perPod'] ?? {}) as JsonObject;
  const scheduling = (spec['scheduling'] ?? {}) as JsonObject;
  const certificates = (spec['certificates'] ?? {}) as JsonObject;
  const availability = (spec['availability'] ?? {}) as JsonObject;
  const persistence = (spec['persistence'] ?? {}) as JsonObject;
  const images = (spec['images'] ?? {}) as JsonObject;
  const nodeIsolation = (spec['nodeIsolation'] ?? {}) as JsonObject;
  const defaults = (spec['defaults'] ?? {}) as JsonObject;
  const redisDefaults = { memory: defaults['memory'] ?? null, cpu: defaults['cpu'] ?? null };
  const enterprise = (spec['enterprise'] ?? {}) as JsonObject;
  const tls = (spec['tls'] ?? {}) as JsonObject;
  const tenancy = (spec['tenancy'] ?? {}) as JsonObject;
  return {
    ...spec,
    defaults: { ...defaults, sentinel: defaults['sentinel'] ?? redisDefaults, other: defaults['other'] ?? redisDefaults },
    enterprise: { allowActiveActive: false, allowRackAwareness: false, maxDatabaseMemory: perPod['memory'] ?? null, ...enterprise },
    tls: { allowKindsWithoutTLS: [], ...tls },
    podMax: spec['podMax'] ?? { memory: perPod['memory'] ?? null, cpu: perPod['cpu'] ?? null },
    containerMin: spec['containerMin'] ?? { memory: '1Mi', cpu: '1m' },
    scheduling: { priorityClasses: [], tolerations: [], serviceAccounts: [], runtimeClasses: [], schedulers: [], ...scheduling },
    extendedResources: spec['extendedResources'] ?? [],
    serviceTypes: spec['serviceTypes'] ?? ['ClusterIP'],
    certificates: { allowedDomains: [], ...certificates },
    availability: { zones: 'none', replicaPerShard: false, sentinelZones: 0, ...availability },
    persistence: { allowEphemeral: false, allowWipeOut: false, ...persistence },
    maxmemoryHeadroomPercent: spec['maxmemoryHeadroomPercent'] ?? 25,
    images: { allowed: [], ...images },
    nodeIsolation: { key: '', value: '', nodeSelector: false, toleration: false, ...nodeIsolation },
    tenancy: { allowTrafficBetweenNamespaces: false, namespacePattern: '', ...tenancy },
  };
}

export interface CompiledRule {
  name: string;
  /** The rule's description; '' when it has none (the policy's then says what it is for). */
  description: string;
  /** Where the judged value lives (dotted paths, [*] any item), for review's positions; [] when not declared. */
  fields: readonly string[];
  action: Action;
  operations: ReadonlySet<Operation> | null;
  when: Compiled | null;
  skipMessage: string;
  skipMessageExpression: Compiled | null;
  /** Either a bool expression, or a list of offenders (empty list = pass). */
  expression: Compiled | null;
  violations: Compiled | null;
  message: string;
  messageExpression: Compiled | null;
}

export interface CompiledMutation {
  name: string;
  target: MutationTarget;
  when: Compiled | null;
  add: Json | null;
  addExpression: Compiled | null;
  /** Lists present in the object get the value's missing items appended (else they are left as they are). */
  appendToLists: boolean;
}

export interface CompiledPolicy {
  name: string;
  file: string;
  description: string;
  action: Action;
  failureMode: 'Deny' | 'Allow';
  roles: ReadonlySet<Role>;
  /** Roles for which a failing Deny rule is reported as a warning, and an error never denies. */
  warnRoles: ReadonlySet<Role>;
  operations: ReadonlySet<Operation>;
  settings: unknown;
  variables: { name: string; expr: Compiled }[];
  rules: CompiledRule[];
  mutations: CompiledMutation[];
  /** The variables and rules as fused code (see cel.ts), or null: each expression runs on its own. */
  fused: FusedPolicy | null;
}

export interface Library {
  dir: string;
  plans: ReadonlyMap<string, Plan>;
  policies: readonly CompiledPolicy[];
  /** Waivers of named rules for named objects of one tenant, each with an expiry (see exceptions.ts). */
  exceptions: readonly CompiledException[];
  settings: LibrarySettings;
  /** Test documents found next to the policies (run by `redline test`). */
  tests: readonly SourceDocument[];
}

const DEFAULT_ROLES: Role[] = ['workload', 'pod'];
const DEFAULT_OPERATIONS: Operation[] = ['CREATE', 'UPDATE'];

/** Whether a directory entry is left out of a library or review walk: ConfigMap mounts keep ..data links. */
function hidden(e: Dirent): boolean {
  return e.name.startsWith('.');
}

const YAML_FILE = /\.(ya?ml|json)$/i;

/** The YAML and JSON files under a directory, in name order, without blocking (a server's reloads). */
export async function listYamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (hidden(e)) continue;
      const p = join(d, e.name);
      const isDir = e.isDirectory() || (e.isSymbolicLink() && (await stat(p)).isDirectory());
      if (isDir) await walk(p);
      else if (YAML_FILE.test(e.name)) out.push(p);
    }
  };
  await walk(dir);
  return out;
}

/**
 * listYamlFiles for one-shot commands (review, the library at start-up), which have nothing else
 * to do while they wait: awaiting each directory of a 1,000-file repository left `redline review`
 * idle for a quarter of its time (npm run bench:review).
 */
export function listYamlFilesSync(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    const entries = readdirSync(d, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (hidden(e)) continue;
      const p = join(d, e.name);
      if (e.isDirectory() || (e.isSymbolicLink() && statSync(p).isDirectory())) walk(p);
      else if (YAML_FILE.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Paths under the working directory are shown relative to it, others in full. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

export interface LoadOptions {
  /**
   * Read the PolicyTest documents too (default true). `review` and `mutate` never run them, and
   * parsing them is most of the time a library takes to load: with false, files that hold only
   * PolicyTest documents are not parsed (see onlyPolicyTests) and `tests` is empty.
   */
  tests?: boolean;
  /**
   * For one-shot processes (review, mutate): generate the expressions' JS on first use instead of
   * at load (see cel.ts compile), and run the expressions of a prepared library (checked and
   * generated by the build, see prepared.ts preparedExpressions) from the build's code; default false.
   */
  lazy?: boolean;
}

/** Reads a library directory's files (PolicyTest-only files left out when options.tests is false). */
export async function readLibrarySources(dir: string, options: LoadOptions = {}): Promise<LibrarySource[]> {
  let files: string[];
  try {
    files = listYamlFilesSync(dir);
  } catch (e) {
    throw documentError([{ file: dir, line: 1, column: 1, path: '', message: `cannot read policy directory: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  const sources: LibrarySource[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    if (options.tests === false && onlyPolicyTests(text)) continue;
    sources.push({ name: relative(dir, file).split('\\').join('/'), file: displayPath(file), text });
  }
  return sources;
}

/**
 * Reads and compiles a library directory. Throws a 'document-invalid' RedlineError listing every problem. When the
 * files are exactly those `npm run build` prepared (see prepared.ts), their parsed and validated
 * documents are used instead of parsing them again.
 */
export async function loadLibrary(dir: string, options: LoadOptions = {}): Promise<Library> {
  const sources = await readLibrarySources(dir, options);
  return compileLibrary(dir, sources, preparedFor(sources), options.lazy === true);
}

/**
 * Whether a YAML file holds PolicyTest documents and nothing else, told without parsing it: every
 * top-level `kind:` line (column 0) says PolicyTest, and no document is written in flow style (a
 * line starting with `{` or `[`), where kind would not be at column 0. Anything else is parsed.
 */
export function onlyPolicyTests(text: string): boolean {
  if (/^[{[]/m.test(text)) return false;
  const kinds = text.match(/^kind:.*$/gm);
  return kinds !== null && kinds.every((line) => /^kind:\s*["']?PolicyTest["']?\s*(#.*)?$/.test(line));
}

/**
 * Compiles a library's sources. `prepared`: documents already parsed and validated (by
 * `npm run build`) for each source name, not validated again, and their expressions' stored code.
 */
export function compileLibrary(dir: string, sources: { file: string; text: string; name?: string }[], prepared: PreparedSources | null = null, lazy = false): Library {
  const problems: DocumentProblem[] = [];
  const plans = new Map<string, Plan>();
  const policies: CompiledPolicy[] = [];
  const tests: SourceDocument[] = [];
  // Exceptions are checked against every policy, so after all documents are read.
  const exceptionDocs: SourceDocument[] = [];
  const policyRules = new Map<string, string[]>();
  let settingsDoc: SourceDocument | undefined;
  const seen = new Map<string, SourceDocument>();
  const reporter = (doc: SourceDocument) => (path: (string | number)[], message: string, key = false): void => {
    problems.push({ file: doc.file, ...(key ? doc.locateKey(path) : doc.locate(path)), path: pathToString(path), message });
  };
  for (const { file, text, name } of sources) {
    const ready = name === undefined ? undefined : prepared?.documents.get(name);
    const parsed = ready ? { docs: ready, problems: [] } : parseDocuments(file, text);
    problems.push(...parsed.problems);
    for (const doc of parsed.docs) {
      const kind = doc.value['kind'] as DocumentKind;
      const at = reporter(doc);
      if (doc.value['apiVersion'] !== API_VERSION || !DOCUMENT_KINDS.includes(kind)) {
        at([], `expected apiVersion ${API_VERSION} and kind ${DOCUMENT_KINDS.slice(0, -1).join(', ')} or ${DOCUMENT_KINDS.at(-1)}, got ${String(doc.value['apiVersion'])} ${String(kind)}`);
        continue;
      }
      const validate = ready ? null : validatorFor(kind);
      if (validate && !validate(doc.value)) {
        for (const err of relevantErrors(validate.errors ?? [])) {
          at(instanceSegments(err), describeSchemaError(err), err.keyword === 'additionalProperties');
        }
        // Report the CEL problems of the same document too, so one run lists everything.
        if (kind === 'Policy') {
          try {
            compilePolicy(doc, 'invalid', () => undefined, (p) => problems.push(p), (source, expect) => compile(source, expect, lazy), lazy);
          } catch {
            // The structure is too broken to find expressions; the schema errors say why.
          }
        }
        continue;
      }
      const name = String((doc.value['metadata'] as JsonObject)['name']);
      const key = `${kind}/${name}`;
      const previous = seen.get(key);
      if (previous) {
        at(['metadata', 'name'], `duplicate ${kind} ${name} (first defined in ${previous.file}:${previous.line})`);
        continue;
      }
      seen.set(key, doc);
      if (kind === 'Plan') {
        const spec = doc.value['spec'] as JsonObject;
        const pattern = tenancyOf(spec).namespacePattern;
        const problem = pattern ? namespacePatternProblem(pattern) : '';
        if (problem) {
          at(['spec', 'tenancy', 'namespacePattern'], `namespacePattern ${problem}`);
          continue;
        }
        plans.set(name, makePlan(name, spec));
      } else if (kind === 'Policy') {
        policyRules.set(name, ((doc.value['spec'] as JsonObject)['rules'] as JsonObject[]).map((r) => String(r['name'])));
        const expressions: CompileCel = ready && lazy ? preparedExpressions(prepared!.code) : (source, expect) => compile(source, expect, lazy);
        const policy = compilePolicy(doc, name, at, (p) => problems.push(p), expressions, lazy);
        if (policy) policies.push(policy);
      } else if (kind === 'PolicyException') exceptionDocs.push(doc);
      else if (kind === 'LibrarySettings') {
        if (settingsDoc) at([], `a library has one LibrarySettings document (the first is in ${settingsDoc.file}:${settingsDoc.line})`);
        else settingsDoc = doc;
      } else tests.push(doc);
    }
  }
  const settings = settingsDoc
    ? librarySettingsOf(settingsDoc.value['spec'] as JsonObject | undefined, reporter(settingsDoc))
    : DEFAULT_LIBRARY_SETTINGS;
  const exceptions: CompiledException[] = [];
  for (const doc of exceptionDocs) {
    const exception = compileException(doc, policyRules, settings, reporter(doc));
    if (exception) exceptions.push(exception);
  }
  if (problems.length > 0) throw documentError(problems);
  return { dir, plans, policies, exceptions, settings, tests };
}

type Report = (path: (string | number)[], message: string) => void;

function expressionProblem(doc: SourceDocument, path: (string | number)[], offset: number, message: string): DocumentProblem {
  return { file: doc.file, ...doc.locateInValue(path, offset), path: pathToString(path), message };
}

type CompileCel = (source: string, expect: Expectation) => CompileResult;

function compilePolicy(doc: SourceDocument, name: string, at: Report, report: (p: DocumentProblem) => void, compileCel: CompileCel, lazy = false): CompiledPolicy | null {
  const spec = doc.value['spec'] as JsonObject;
  let ok = true;
  const cel = (path: (string | number)[], source: unknown, expect: Expectation): Compiled | null => {
    if (typeof source !== 'string') return null;
    const result = compileCel(source, expect);
    if (result.ok) return result.value;
    ok = false;
    report(expressionProblem(doc, path, result.problem.offset, `CEL: ${result.problem.message}`));
    return null;
  };
  const action = spec['action'] as Action;
  const match = (spec['match'] ?? {}) as JsonObject;
  const variables = ((spec['variables'] ?? []) as JsonObject[]).map((v, i) => ({
    name: String(v['name']),
    expr: cel(['spec', 'variables', i, 'expression'], v['expression'], 'any'),
  }));
  const rules: CompiledRule[] = [];
  const ruleNames = new Set<string>();
  ((spec['rules'] ?? []) as JsonObject[]).forEach((r, i) => {
    const ruleName = String(r['name']);
    if (ruleNames.has(ruleName)) {
      ok = false;
      at(['spec', 'rules', i, 'name'], `duplicate rule name ${ruleName}`);
    }
    ruleNames.add(ruleName);
    const expression = cel(['spec', 'rules', i, 'expression'], r['expression'], 'bool');
    const violations = cel(['spec', 'rules', i, 'violations'], r['violations'], 'list');
    const skipMessageExpression = cel(['spec', 'rules', i, 'skipMessageExpression'], r['skipMessageExpression'], 'string');
    const when = cel(['spec', 'rules', i, 'when'], r['when'], 'bool');
    const messageExpression = cel(['spec', 'rules', i, 'messageExpression'], r['messageExpression'], 'string');
    if (!expression && !violations) return;
    rules.push({
      name: ruleName,
      description: typeof r['description'] === 'string' ? r['description'] : '',
      fields: Array.isArray(r['fields']) ? r['fields'].map(String) : [],
      action: (r['action'] as Action | undefined) ?? action,
      operations: Array.isArray(r['operations']) ? new Set(r['operations'] as Operation[]) : null,
      when,
      skipMessage: typeof r['skipMessage'] === 'string' ? r['skipMessage'] : 'precondition not met',
      skipMessageExpression,
      expression,
      violations,
      message: typeof r['message'] === 'string' ? r['message'] : '',
      messageExpression,
    });
  });
  const mutations: CompiledMutation[] = ((spec['mutations'] ?? []) as JsonObject[]).map((m, i) => ({
    name: String(m['name']),
    target: m['target'] as MutationTarget,
    when: cel(['spec', 'mutations', i, 'when'], m['when'], 'bool'),
    add: (m['add'] as Json | undefined) ?? null,
    addExpression: cel(['spec', 'mutations', i, 'addExpression'], m['addExpression'], 'map'),
    appendToLists: m['appendToLists'] === true,
  }));
  const roles = (match['roles'] as Role[] | undefined) ?? DEFAULT_ROLES;
  const warnRoles = (match['warnRoles'] as Role[] | undefined) ?? [];
  warnRoles.forEach((role, i) => {
    if (roles.includes(role)) return;
    ok = false;
    at(['spec', 'match', 'warnRoles', i], `${role} is not one of the policy's roles (${roles.join(', ')}); add it to match.roles or remove it here`);
  });
  if (!ok) return null;
  const declaredOps = Array.isArray(match['operations']) ? (match['operations'] as Operation[]) : null;
  const ruleOps = rules.flatMap((r) => (r.operations ? [...r.operations] : []));
  const compiledVariables = variables.filter((v): v is { name: string; expr: Compiled } => v.expr !== null);
  return {
    name,
    file: doc.file,
    description: typeof spec['description'] === 'string' ? spec['description'] : '',
    action,
    failureMode: (spec['failureMode'] as 'Deny' | 'Allow' | undefined) ?? (action === 'Deny' ? 'Deny' : 'Allow'),
    roles: new Set(roles),
    warnRoles: new Set(warnRoles),
    operations: new Set(declaredOps ?? [...DEFAULT_OPERATIONS, ...ruleOps]),
    settings: spec['settings'] ?? {},
    variables: compiledVariables,
    rules,
    mutations,
    fused: fusePolicy({ variables: compiledVariables, rules }, lazy),
  };
}
