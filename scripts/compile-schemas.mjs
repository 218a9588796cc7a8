#!/usr/bin/env node
// Compiles the schemas `redline review` validates objects against to standalone ajv code, once, at
// build time: policies/schemas/**/*.json (the operators' CRD schemas) and the built-in kinds'
// schemas (policies/review/kubernetes-schemas.ts) → dist/policies/schemas/**/*.cjs, each with its V8
// code cache (*.cjs.v8cache, policies/review/code-cache.ts). Compiling a
// CRD schema takes 0.3–0.6 s; loading its compiled validator a few milliseconds. Run by
// `npm run build` after tsc (it reads the compiled dist/policies/review/*.js).

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { AJV_OPTIONS, COMPILED_DIR, SCHEMAS_DIR, builtinFileOf } = await import(join(ROOT, 'dist', 'policies', 'review', 'schemas.js'));
const { KUBERNETES_SCHEMAS } = await import(join(ROOT, 'dist', 'policies', 'review', 'kubernetes-schemas.js'));
const { writeCodeCache } = await import(join(ROOT, 'dist', 'policies', 'review', 'code-cache.js'));

const sources = new Map();
for (const e of readdirSync(SCHEMAS_DIR, { withFileTypes: true, recursive: true })) {
  if (!e.isFile() || !e.name.endsWith('.json')) continue;
  const path = join(e.parentPath, e.name);
  sources.set(relative(SCHEMAS_DIR, path), JSON.parse(readFileSync(path, 'utf8')));
}
for (const [key, schema] of Object.entries(KUBERNETES_SCHEMAS)) sources.set(builtinFileOf(key), schema);

/**
 * The schema with every object and list-of-object subschema moved to $defs and referenced, so
 * ajv emits one small function per subschema instead of one function of megabytes: V8 then
 * compiles only the functions of the fields an object has (the KubeDB Redis validator's first
 * call went from ~170 ms to a few), and identical subschemas become one function. Validation is unchanged: a subschema is replaced by a $ref to
 * an identical copy, never merged with siblings.
 */
export function hoisted(schema) {
  const defs = {};
  const names = new Map();
  let next = 0;
  const visit = (node, top) => {
    if (Array.isArray(node)) return node.map((n) => visit(n, false));
    if (node === null || typeof node !== 'object') return node;
    const out = {};
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'properties' || key === 'patternProperties') && value && typeof value === 'object') {
        out[key] = Object.fromEntries(Object.entries(value).map(([field, sub]) => [field, visit(sub, false)]));
      } else out[key] = visit(value, false);
    }
    if (top || !(out.properties || out.items || out.additionalProperties)) return out;
    // CRDs repeat whole subschemas (containers, initContainers and ephemeralContainers; each
    // affinity): identical ones share one definition.
    const key = JSON.stringify(out);
    let name = names.get(key);
    if (!name) {
      name = `s${next++}`;
      names.set(key, name);
      defs[name] = out;
    }
    return { $ref: `#/$defs/${name}` };
  };
  const root = visit(schema, true);
  return { ...root, $defs: { ...(root.$defs ?? {}), ...defs } };
}

rmSync(COMPILED_DIR, { recursive: true, force: true });
for (const [file, schema] of sources) {
  const ajv = new Ajv({ ...AJV_OPTIONS, inlineRefs: false, code: { source: true } });
  const code = standaloneCode.default(ajv, ajv.compile(hoisted(schema)));
  const out = join(COMPILED_DIR, file.replace(/\.json$/, '.cjs'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, code);
  // One call compiles the validator's own function, so V8's code cache of the file holds it too.
  writeCodeCache(out, (validate) => validate({}));
}
process.stdout.write(`compiled ${sources.size} schemas to ${relative(process.cwd(), COMPILED_DIR) || '.'}\n`);
