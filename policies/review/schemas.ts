// Schema validation of the objects `redline review` reads, before any policy judges them: a field
// of the wrong type or form (`replicas: "3"`, `limits.memory: lots`, `mode: Standalon`) is an
// input error with its file, line, column and field path, never policy advice about a value the
// API server would refuse anyway.
//
// Custom resources are checked against their operator's own CRD schema (policies/schemas/, copied
// from the upstream CRDs by scripts/crd-schemas.ts); built-in kinds against KUBERNETES_SCHEMAS.
// Only review does this: in admission the API server has already decoded built-in objects and
// validated custom resources against the installed CRD before the validating webhook sees them.
//
// A CRD schema is large (a KubeDB Redis is ~80 KB): compiling it with ajv takes 0.3–0.6 s, so
// `npm run build` compiles every schema ahead of time to standalone code
// (scripts/compile-schemas.mjs → dist/policies/schemas/), and review loads only the validators of
// the kinds in its input, each with the V8 code cache the build wrote of it (code-cache.ts).
// Without a build (tests run from the sources) a schema is compiled here.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { DocumentProblem } from '../../core/result.js';
import type { SourceDocument } from '../engine/documents.js';
import { pathToString } from '../engine/documents.js';
import { requireWithCodeCache } from './code-cache.js';
import { KUBERNETES_SCHEMAS, QUANTITY_PATTERN } from './kubernetes-schemas.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository (or installed package) root, from the sources (policies/review) or the build (dist/policies/review). */
const ROOT = HERE.includes(join('dist', 'policies')) ? join(HERE, '..', '..', '..') : join(HERE, '..', '..');
/** The CRD schemas copied from upstream (JSON, committed). */
export const SCHEMAS_DIR = join(ROOT, 'policies', 'schemas');
/** Their ahead-of-time compiled validators (CommonJS, written by `npm run build`). */
export const COMPILED_DIR = join(ROOT, 'dist', 'policies', 'schemas');

/** The ajv options every schema is compiled with, here and by scripts/compile-schemas.mjs. */
export const AJV_OPTIONS = { strict: false, allErrors: true, validateFormats: false } as const;

/** Where the schema of an apiVersion/kind lives under policies/schemas/ (and its compiled twin under dist/). */
export function schemaFileOf(apiVersion: string, kind: string): string {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? 'core' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return `${group}/${version}/${kind}.json`;
}

/** File name of the compiled validator of a built-in kind (KUBERNETES_SCHEMAS key). */
export function builtinFileOf(key: string): string {
  const kindAt = key.lastIndexOf('/');
  return schemaFileOf(key.slice(0, kindAt), key.slice(kindAt + 1)).replace(/^/, 'kubernetes/');
}

const require = createRequire(import.meta.url);
const validators = new Map<string, ValidateFunction | null>();
let ajv: import('ajv').Ajv | undefined;

function compileHere(schema: object): ValidateFunction {
  if (!ajv) {
    const { Ajv } = require('ajv') as typeof import('ajv');
    ajv = new Ajv(AJV_OPTIONS);
  }
  return ajv.compile(schema);
}

/** The validator of an apiVersion/kind, loaded once; null when Redline has no schema for it. */
function validatorOf(apiVersion: string, kind: string): ValidateFunction | null {
  const key = `${apiVersion}/${kind}`;
  if (validators.has(key)) return validators.get(key)!;
  let validator: ValidateFunction | null = null;
  const builtin = KUBERNETES_SCHEMAS[key];
  const file = builtin ? builtinFileOf(key) : schemaFileOf(apiVersion, kind);
  const compiled = join(COMPILED_DIR, file.replace(/\.json$/, '.cjs'));
  if (existsSync(compiled)) validator = requireWithCodeCache(compiled) as ValidateFunction;
  else if (builtin) validator = compileHere(builtin);
  else if (existsSync(join(SCHEMAS_DIR, file))) validator = compileHere(JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as object);
  validators.set(key, validator);
  return validator;
}

/** Whether review has a schema for this apiVersion/kind. */
export function hasSchema(apiVersion: string, kind: string): boolean {
  return validatorOf(apiVersion, kind) !== null;
}

/** ajv's instancePath ("/spec/replicas") as segments. */
function segments(err: ErrorObject): (string | number)[] {
  const segs: (string | number)[] = err.instancePath.split('/').slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  if (err.keyword === 'required') segs.push(String(err.params['missingProperty']));
  return segs;
}

function shown(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value === 'number' && Number.isInteger(value) ? 'the integer' : `the ${typeof value}`} ${String(value)}`;
}

const ARTICLE: Record<string, string> = { integer: 'an integer', object: 'a mapping', array: 'a list', string: 'a string', boolean: 'a boolean (true or false)', number: 'a number' };

const types = (names: readonly string[]): string => names.map((t) => ARTICLE[t] ?? t).join(' or ');

/** One sentence for an error; `value` is the field's value, `anyOfTypes` the types an anyOf allows. */
function describe(err: ErrorObject, value: unknown, anyOfTypes: readonly string[]): string {
  switch (err.keyword) {
    case 'type': return `must be ${types(String(err.params['type']).split(','))}, not ${shown(value)}`;
    case 'anyOf': return anyOfTypes.length > 0 ? `must be ${types(anyOfTypes)}, not ${shown(value)}` : 'matches none of the allowed forms';
    case 'enum': return `must be one of ${(err.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, not ${JSON.stringify(value)}`;
    case 'pattern':
      return err.params['pattern'] === QUANTITY_PATTERN
        ? `must be a Kubernetes quantity such as 512Mi, 2Gi or 500m, not ${shown(value)}`
        : `must match ${String(err.params['pattern'])}, not ${shown(value)}`;
    case 'required': return 'required field is missing';
    case 'minItems': return `must have at least ${String(err.params['limit'])} item(s)`;
    case 'maxItems': return `must have at most ${String(err.params['limit'])} item(s)`;
    case 'minimum': case 'maximum': case 'exclusiveMinimum': case 'exclusiveMaximum':
      return `must be ${String(err.params['comparison'])} ${String(err.params['limit'])}, not ${String(value)}`;
    default: return `${err.message ?? 'invalid'}${value !== undefined && (value === null || typeof value !== 'object') ? `, not ${shown(value)}` : ''}`;
  }
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let cur = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

/**
 * The problems of one object against its kind's schema: one per field (the most telling error),
 * each at the field's own line and column. Empty when the object is valid or Redline has no
 * schema for its kind.
 */
export function schemaProblems(doc: SourceDocument): DocumentProblem[] {
  const apiVersion = doc.value['apiVersion'];
  const kind = doc.value['kind'];
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return [];
  const validate = validatorOf(apiVersion, kind);
  if (!validate || validate(doc.value)) return [];
  const errors = validate.errors ?? [];
  // A failed anyOf reports each branch and then itself: the branches' types make its sentence.
  // When a sibling keyword of the field failed too (a quantity's pattern), that one says more.
  const anyOfTypes = new Map<string, string[]>();
  for (const e of errors) {
    if (e.keyword === 'type' && /\/anyOf\/\d+\/type$/.test(e.schemaPath)) {
      anyOfTypes.set(e.instancePath, [...(anyOfTypes.get(e.instancePath) ?? []), String(e.params['type'])]);
    }
  }
  const byPath = new Map<string, ErrorObject>();
  for (const err of errors) {
    if (/\/anyOf\/\d+\//.test(err.schemaPath)) continue;
    const path = pathToString(segments(err));
    const previous = byPath.get(path);
    if (!previous || (previous.keyword === 'anyOf' && err.keyword !== 'anyOf')) byPath.set(path, err);
  }
  const problems = [...byPath.entries()].map(([path, err]): DocumentProblem => {
    const segs = segments(err);
    const at = err.keyword === 'required' ? doc.locate(segs.slice(0, -1)) : doc.locate(segs);
    const message = describe(err, valueAt(doc.value, segs), anyOfTypes.get(err.instancePath) ?? []);
    return { file: doc.file, ...at, path, message: `${message} (the ${kind} ${apiVersion} schema)` };
  });
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}
