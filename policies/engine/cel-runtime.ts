// CEL semantics over plain JSON values, for the code that cel-compile.ts generates. Each helper
// either returns exactly what cel-js would or throws DECLINED, and the caller then lets cel-js
// decide (see cel-compile.ts). Values: CEL int is a safe JS integer, strings, booleans, null,
// arrays and plain objects as parsed, and Quantity objects from quantity().

import { Quantity } from './quantity.js';

/** Why a value must make cel-js decide; the message is never shown (cel-js re-evaluates). */
class Decline extends Error {}
const DECLINED = new Decline('fall back to cel-js');
export function bail(): never {
  throw DECLINED;
}

/** An absent optional value (`a.?b` where b is absent). */
export const NONE: unique symbol = Symbol('optional.none');

/** A rule's outcome in fused code when it is not the rule's value (see FusedFunctions in cel-compile.ts). */
export const NOT_FUSED: unique symbol = Symbol('not fused');
export const SKIPPED: unique symbol = Symbol('skipped');
export const WHEN_DECLINED: unique symbol = Symbol('when declined');
export const MAIN_DECLINED: unique symbol = Symbol('main declined');

/** Functions the compiler knows, by `name/arity` (calls) or `.name/arity` (methods, receiver first). */
export type NativeFunction = (...args: unknown[]) => unknown;

/** What cel-js treats as a map: a plain or null-prototype object (not an array, not a Quantity). */
export function isCelMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const c = (v as { constructor?: unknown }).constructor;
  return c === Object || c === undefined;
}

export function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : bail();
}

export function bool(v: unknown): boolean {
  return typeof v === 'boolean' ? v : bail();
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : bail();
}

/** Equality for same-kind values (CEL `==`); different kinds and doubles make cel-js decide. */
export function equals(a: unknown, b: unknown): boolean {
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

/** cel-js never reads an own `__proto__` key (a map from JSON.parse can have one): it decides. */
function ownKey(key: string): string {
  return key === '__proto__' ? bail() : key;
}

/** `receiver.key` for any key, including those Object.prototype has (`constructor`, `toString`). */
export function field(receiver: unknown, key: string): unknown {
  if (!isCelMap(receiver)) bail();
  ownKey(key);
  const v = Object.hasOwn(receiver, key) ? receiver[key] : undefined;
  return v === undefined ? bail() : v;
}

/** `receiver.key` for a key Object.prototype does not have: what the compiler inlines, as a call. */
export function member(receiver: unknown, key: string): unknown {
  let v: unknown;
  return receiver !== null && typeof receiver === 'object' && ((v = receiver.constructor) === Object || v === undefined)
    && (v = (receiver as Record<string, unknown>)[key]) !== undefined ? v : bail();
}

/** `receiver.?key` for a key Object.prototype does not have, likewise. */
export function optionalMember(receiver: unknown, key: string): unknown {
  if (receiver === NONE || receiver === null || typeof receiver !== 'object') return NONE;
  const c = receiver.constructor;
  if (c !== Object && c !== undefined) bail();
  const v = (receiver as Record<string, unknown>)[key];
  return v === undefined ? NONE : v;
}

/** `has(receiver.key)` for any key. */
export function hasField(receiver: unknown, key: string): boolean {
  if (!isCelMap(receiver)) bail();
  ownKey(key);
  return Object.hasOwn(receiver, key) && receiver[key] !== undefined;
}

/** `receiver.?key`: absent unless receiver is a map with the key (null, scalars: absent too). */
export function optionalField(receiver: unknown, key: string): unknown {
  if (receiver === NONE || receiver === null || typeof receiver !== 'object') return NONE;
  if (!isCelMap(receiver)) bail();
  const v = Object.hasOwn(receiver, ownKey(key)) ? receiver[key] : undefined;
  return v === undefined ? NONE : v;
}

/** `container[key]`: a list item by int index or a map value by string key. */
export function index(container: unknown, key: unknown): unknown {
  if (Array.isArray(container)) {
    if (!isInt(key) || key < 0 || key >= container.length) bail();
    return container[key];
  }
  return typeof key === 'string' ? field(container, key) : bail();
}

/** One entry of a map literal; cel-js drops these three keys, and so does this. */
export function put(out: Record<string, unknown>, key: unknown, value: unknown): void {
  if (typeof key !== 'string') bail();
  if (key === '__proto__' || key === 'constructor' || key === 'prototype') return;
  out[key] = value;
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

function joinStrings(items: unknown[], sep: string): string {
  for (const s of items) if (typeof s !== 'string') bail();
  return items.join(sep);
}

/** Only what int(string) of cel-js returns exactly as a safe integer: plain digits, no sign. */
const DIGITS = /^[0-9]{1,15}$/;
const ASCII = /^[\x00-\x7f]*$/;

/** `s.substring(start, end)` where code points and UTF-16 units agree (ASCII); else cel-js decides. */
function substring(s: unknown, start: unknown, end: unknown): string {
  const text = str(s);
  if (!isInt(start) || !isInt(end) || !ASCII.test(text)) bail();
  if (start < 0 || start > end || end > text.length) bail();
  return text.slice(start, end);
}

export const BUILTINS: Readonly<Record<string, NativeFunction>> = {
  'size/1': size,
  '.size/0': size,
  'string/1': (v) => (typeof v === 'string' ? v : isInt(v) || typeof v === 'boolean' ? String(v) : bail()),
  '.startsWith/1': (s, p) => str(s).startsWith(str(p)),
  '.endsWith/1': (s, p) => str(s).endsWith(str(p)),
  '.contains/1': (s, p) => str(s).includes(str(p)),
  '.join/0': (l) => joinStrings(list(l), ''),
  '.join/1': (l, sep) => joinStrings(list(l), str(sep)),
  'int/1': (v) => (isInt(v) ? v : typeof v === 'string' && DIGITS.test(v) ? Number(v) : bail()),
  '.substring/2': substring,
};

/** What a comprehension ranges over: a list's items or a map's keys. */
export function range(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  return isCelMap(v) ? Object.keys(v) : bail();
}

export function add(a: unknown, b: unknown): unknown {
  if (typeof a === 'string') return typeof b === 'string' ? a + b : bail();
  if (typeof a === 'number') {
    if (!isInt(a) || !isInt(b)) bail();
    const sum = a + b;
    return Number.isSafeInteger(sum) ? sum : bail();
  }
  if (Array.isArray(a)) return Array.isArray(b) ? [...a, ...b] : bail();
  return bail();
}

export function subtract(a: unknown, b: unknown): number {
  if (!isInt(a) || !isInt(b)) bail();
  const difference = a - b;
  return Number.isSafeInteger(difference) ? difference + 0 : bail();
}

export function multiply(a: unknown, b: unknown): number {
  if (!isInt(a) || !isInt(b)) bail();
  const product = a * b;
  // + 0: -0 is not an int cel-js would return (0 * -1 is 0).
  return Number.isSafeInteger(product) ? product + 0 : bail();
}

export function contains(container: unknown, item: unknown): boolean {
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i++) if (equals(item, container[i])) return true;
    return false;
  }
  if (isCelMap(container)) {
    if (typeof item !== 'string') bail();
    return Object.hasOwn(container, ownKey(item)) && container[item] !== undefined;
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
