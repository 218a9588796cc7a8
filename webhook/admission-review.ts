// AdmissionReview (admission.k8s.io/v1) decoding: bytes → text → JSON → checked shape. Every step
// returns a value (ok or a problem with the field path), never throws: the server turns a problem
// into a 400 answer.

import type { Failed, FieldProblem, Result } from '../core/result.js';
import type { JsonObject, Operation, UserInfo } from '../policies/engine/types.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';
/** JSON nesting deeper than this is rejected before JSON.parse (Kubernetes objects nest ~20 deep). */
export const MAX_JSON_DEPTH = 100;

const OPERATIONS: ReadonlySet<string> = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

/** The part of an AdmissionRequest that Redline reads. */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  /** The resource as the webhook rule matched it (absent fields: ''); a subresource's parent. */
  resource: GroupVersionResource;
  operation: Operation;
  namespace: string;
  name: string;
  subResource: string;
  object: JsonObject | null;
  oldObject: JsonObject | null;
  userInfo: UserInfo;
  dryRun: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8 decoding: invalid byte sequences are a problem, not U+FFFD. */
export function decodeUtf8(body: Uint8Array): Result<string, FieldProblem> {
  try {
    return { ok: true, value: utf8.decode(body) };
  } catch {
    return { ok: false, problem: { path: 'body', message: 'body is not valid UTF-8' } };
  }
}

/**
 * Maximum nesting depth of `[`/`{` outside strings, in one pass over the bytes; stops early once
 * over `limit`. The structural characters and `"`/`\` are ASCII, so they never occur inside a
 * multi-byte UTF-8 sequence; string bodies are skipped with indexOf (native memchr), which is where
 * Kubernetes objects keep most of their bytes.
 */
export function jsonDepth(bytes: Uint8Array, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (c === 0x22 /* " */) {
      let j = i;
      for (;;) {
        j = bytes.indexOf(0x22, j + 1);
        if (j < 0) return max; // unterminated string: JSON.parse reports it
        let backslashes = 0;
        for (let k = j - 1; bytes[k] === 0x5c /* \ */; k--) backslashes++;
        if ((backslashes & 1) === 0) break;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return max;
}

/**
 * Bodies above this size get the byte pre-scan before JSON.parse. V8's JSON.parse is iterative (no
 * stack overflow at any depth) but spends ~0.5 µs per nesting level, so a small body is parsed and
 * then measured (3 µs for a 5 KB review, against 20 µs for the scan), and a large one cannot make
 * it spend seconds.
 */
export const PRESCAN_ABOVE_BYTES = 64 * 1024;

/**
 * Nesting depth of a parsed value (a scalar is 0, `{}` is 1). Recursive, but never deeper than
 * `limit` + 1 frames: it stops descending once over `limit`.
 */
export function valueDepth(root: unknown, limit = MAX_JSON_DEPTH): number {
  return root !== null && typeof root === 'object' ? nestedDepth(root, 1, limit) : 0;
}

function nestedDepth(v: object, depth: number, limit: number): number {
  if (depth > limit) return depth;
  let max = depth;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (x !== null && typeof x === 'object' && (max = Math.max(max, nestedDepth(x, depth + 1, limit))) > limit) return max;
    }
  } else {
    for (const k in v) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== null && typeof x === 'object' && (max = Math.max(max, nestedDepth(x, depth + 1, limit))) > limit) return max;
    }
  }
  return max;
}

const TOO_DEEP: FieldProblem = { path: 'body', message: `JSON nesting deeper than ${MAX_JSON_DEPTH} levels` };

/** bytes → parsed JSON, with the UTF-8, depth and syntax checks in the order of their cost. */
export function parseJsonBody(bytes: Uint8Array): Result<unknown, FieldProblem> {
  if (bytes.length > PRESCAN_ABOVE_BYTES && jsonDepth(bytes) > MAX_JSON_DEPTH) return { ok: false, problem: TOO_DEEP };
  const text = decodeUtf8(bytes);
  if (!text.ok) return text;
  let value: unknown;
  try {
    value = JSON.parse(text.value) as unknown;
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    return { ok: false, problem: { path: 'body', message: `malformed JSON: ${truncate(detail, 160)}` } };
  }
  if (valueDepth(value) > MAX_JSON_DEPTH) return { ok: false, problem: TOO_DEEP };
  return { ok: true, value };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${truncate(v, 60)}"`;
  return `a ${typeof v}`;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** A problem's path is the field in the body ("request.uid"), or "body" for the whole document. */
function fail(path: string, message: string): Failed<FieldProblem> {
  return { ok: false, problem: { path, message } };
}

/** Optional string field: absent/null → '' ; anything else but a string → problem. */
function optString(obj: Record<string, unknown>, key: string, path: string): string | FieldProblem {
  const v = obj[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') return { path: `${path}.${key}`, message: `must be a string, got ${describe(v)}` };
  return v;
}

/** Check the AdmissionReview envelope and the request fields Redline relies on. */
export function checkAdmissionReview(body: unknown): Result<AdmissionRequest, FieldProblem> {
  if (!isObject(body)) return fail('body', `must be a JSON object (an AdmissionReview), got ${describe(body)}`);
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    return fail('apiVersion', `must be "${ADMISSION_API_VERSION}", got ${describe(body.apiVersion)}`);
  }
  if (body.kind !== ADMISSION_KIND) return fail('kind', `must be "${ADMISSION_KIND}", got ${describe(body.kind)}`);
  const r = body.request;
  if (r === undefined) return fail('request', 'is required');
  if (!isObject(r)) return fail('request', `must be an object, got ${describe(r)}`);
  if (typeof r.uid !== 'string' || r.uid.length === 0) {
    return fail('request.uid', r.uid === undefined ? 'is required' : `must be a non-empty string, got ${describe(r.uid)}`);
  }
  if (r.uid.length > 256) return fail('request.uid', 'must be at most 256 characters');
  const k = r.kind;
  if (!isObject(k)) return fail('request.kind', k === undefined ? 'is required' : `must be an object, got ${describe(k)}`);
  for (const f of ['group', 'version', 'kind'] as const) {
    const v = k[f];
    if (typeof v !== 'string') return fail(`request.kind.${f}`, v === undefined ? 'is required' : `must be a string, got ${describe(v)}`);
  }
  if ((k.kind as string).length === 0) return fail('request.kind.kind', 'must not be empty');
  const resource: GroupVersionResource = { group: '', version: '', resource: '' };
  const res = r.resource;
  if (res !== undefined && res !== null) {
    if (!isObject(res)) return fail('request.resource', `must be an object, got ${describe(res)}`);
    for (const f of ['group', 'version', 'resource'] as const) {
      const v = optString(res, f, 'request.resource');
      if (typeof v !== 'string') return { ok: false, problem: v };
      resource[f] = v;
    }
  }
  const op = r.operation;
  if (typeof op !== 'string' || !OPERATIONS.has(op)) {
    return fail('request.operation', `must be one of CREATE, UPDATE, DELETE, CONNECT, got ${describe(op)}`);
  }
  const operation = op as Operation;

  const strings: Record<'namespace' | 'name' | 'subResource', string> = { namespace: '', name: '', subResource: '' };
  for (const f of ['namespace', 'name', 'subResource'] as const) {
    const v = optString(r, f, 'request');
    if (typeof v !== 'string') return { ok: false, problem: v };
    strings[f] = v;
  }

  const object = r.object;
  const oldObject = r.oldObject;
  if (object !== undefined && object !== null && !isObject(object)) {
    return fail('request.object', `must be an object, got ${describe(object)}`);
  }
  if (oldObject !== undefined && oldObject !== null && !isObject(oldObject)) {
    return fail('request.oldObject', `must be an object, got ${describe(oldObject)}`);
  }
  if ((operation === 'CREATE' || operation === 'UPDATE') && !isObject(object)) {
    return fail('request.object', `is required for ${operation}`);
  }
  if (operation === 'UPDATE' && !isObject(oldObject)) return fail('request.oldObject', 'is required for UPDATE');

  let userInfo: UserInfo = { username: '', groups: [] };
  const u = r.userInfo;
  if (u !== undefined && u !== null) {
    if (!isObject(u)) return fail('request.userInfo', `must be an object, got ${describe(u)}`);
    const username = optString(u, 'username', 'request.userInfo');
    if (typeof username !== 'string') return { ok: false, problem: username };
    const g = u.groups;
    let groups: string[] = [];
    if (g !== undefined && g !== null) {
      if (!Array.isArray(g)) return fail('request.userInfo.groups', `must be an array of strings, got ${describe(g)}`);
      for (let i = 0; i < g.length; i++) {
        if (typeof g[i] !== 'string') return fail(`request.userInfo.groups[${i}]`, `must be a string, got ${describe(g[i])}`);
      }
      groups = g as string[];
    }
    userInfo = { username, groups };
  }

  const dryRun = r.dryRun;
  if (dryRun !== undefined && dryRun !== null && typeof dryRun !== 'boolean') {
    return fail('request.dryRun', `must be a boolean, got ${describe(dryRun)}`);
  }

  return {
    ok: true,
    value: {
      uid: r.uid,
      kind: { group: k.group as string, version: k.version as string, kind: k.kind as string },
      resource,
      operation,
      namespace: strings.namespace,
      name: strings.name,
      subResource: strings.subResource,
      object: isObject(object) ? (object as JsonObject) : null,
      oldObject: isObject(oldObject) ? (oldObject as JsonObject) : null,
      userInfo,
      dryRun: dryRun === true,
    },
  };
}

/** The `response` part of an AdmissionReview answer. */
export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string; reason?: string };
  patchType?: 'JSONPatch';
  /** base64 of the JSON-encoded JSONPatch operations. */
  patch?: string;
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

const RESPONSE_PREFIX = `{"apiVersion":${JSON.stringify(ADMISSION_API_VERSION)},"kind":${JSON.stringify(ADMISSION_KIND)},"response":`;

/** The answer document; the same text as JSON.stringify of the wrapper, with the wrapper written once. */
export function reviewResponseBody(response: AdmissionResponse): string {
  return `${RESPONSE_PREFIX}${JSON.stringify(response)}}`;
}
