// One value of a setting, as written in the file (YAML types) or as text (environment, flag),
// parsed by the setting's kind. Never throws: a bad value is a failed Result saying what it should
// have been.

import path from 'node:path';
import { isDnsLabel, isLabelKey, isLabelValue } from '../names.js';
import { fail, ok } from '../result.js';
import type { Parsed, Setting } from './spec.js';

const KIB = 1024;
const BYTE_UNITS: Record<string, number> = { '': 1, k: 1000, ki: KIB, kib: KIB, m: 1000 ** 2, mi: KIB ** 2, mib: KIB ** 2, g: 1000 ** 3, gi: KIB ** 3, gib: KIB ** 3 };

/** Where a value came from. */
export interface Source {
  value: unknown;
  /** Raw text (env/flag): numbers, booleans and lists are parsed from it. */
  raw: boolean;
  /** Directory relative paths resolve against. */
  base: string;
  origin: string;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as messages show it. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 59)}…` : v);
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/** Comma-separated text (from the environment or a flag) as trimmed, non-empty items. */
export function splitList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

/** 3145728 → "3 MiB" (or "3Mi" when short). */
function bytesText(n: number, short = false): string {
  for (const [unit, size] of [['Gi', KIB ** 3], ['Mi', KIB ** 2], ['Ki', KIB]] as const) {
    if (n >= size && n % size === 0) return short ? `${n / size}${unit}` : `${n / size} ${unit}B`;
  }
  return short ? String(n) : `${n} bytes`;
}

/** A hint appended to a bad value's origin, where the cause is known. */
export function hint(s: Setting, src: Source): string {
  if (s.kind === 'port' && typeof src.value === 'string' && /^(tcp|udp|sctp):\/\//.test(src.value) && src.origin.startsWith('from env')) {
    return '; this looks like a Kubernetes service-link variable: set enableServiceLinks: false on the pod';
  }
  return '';
}

export function convert(s: Setting, src: Source): Parsed {
  const v = src.value;
  const bad = (expected: string): Parsed => fail(expected);
  if (v === null || v === undefined) return s.default === null ? ok(null) : bad('must be set');
  switch (s.kind) {
    case 'port':
    case 'int':
    case 'number': {
      const lo = s.kind === 'port' ? 0 : (s.min ?? 0);
      const hi = s.kind === 'port' ? 65535 : (s.max ?? Number.MAX_SAFE_INTEGER);
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
      const intOk = s.kind === 'number' || Number.isInteger(n);
      if (!Number.isFinite(n) || !intOk || n < lo || n > hi) return bad(`must be ${s.kind === 'number' ? 'a number' : 'an integer'} ${lo}-${hi}`);
      return ok(n);
    }
    case 'bytes': {
      let n = NaN;
      if (typeof v === 'number') n = v;
      else if (typeof v === 'string') {
        const m = /^\s*(\d+)\s*([kKmMgG]i?[bB]?)?\s*$/.exec(v);
        const unit = BYTE_UNITS[(m?.[2] ?? '').toLowerCase()];
        if (m && unit !== undefined) n = Number(m[1]) * unit;
      }
      const lo = s.min ?? 0;
      const hi = s.max ?? Number.MAX_SAFE_INTEGER;
      if (!Number.isInteger(n) || n < lo || n > hi) {
        const above = lo > 0 ? ` above ${lo - 1} (${bytesText(lo - 1)})` : '';
        const example = typeof s.default === 'number' ? ` (e.g. ${bytesText(s.default, true)})` : '';
        return bad(`must be a byte count${above} and at most ${hi}${example}`);
      }
      return ok(n);
    }
    case 'bool': {
      if (typeof v === 'boolean') return ok(v);
      if (typeof v === 'string') {
        const t = v.trim().toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(t)) return ok(true);
        if (['false', '0', 'no', 'off'].includes(t)) return ok(false);
        if (t === '') return ok(s.default);
      }
      return bad('must be true or false');
    }
    case 'string':
      if (typeof v !== 'string') return bad('must be a string');
      return ok(v.trim() === '' && s.default === null ? null : v.trim());
    case 'name':
      if (typeof v !== 'string' || !(isDnsLabel(v) || (s.optional && v === ''))) return bad('must be a DNS label (lower-case letters, digits, "-", at most 63)');
      return ok(v);
    case 'path':
      if (typeof v !== 'string' || v.trim() === '') return bad('must be a file or directory path');
      return ok(path.resolve(src.base, v.trim()));
    case 'enum':
      if (typeof v !== 'string' || !s.values!.includes(v.trim().toLowerCase())) return bad(`must be one of ${s.values!.join(', ')}`);
      return ok(v.trim().toLowerCase());
    case 'list':
    case 'namespaces': {
      // Comma-separated text from the environment or a flag; a real list in the file.
      const items: unknown = typeof v === 'string' && src.raw ? splitList(v) : v;
      if (s.kind === 'list') {
        if (!Array.isArray(items) || items.some((x) => typeof x !== 'string' || x.trim() === '')) return bad('must be a list of non-empty strings');
        return ok(items.map((x: string) => x.trim()));
      }
      if (!Array.isArray(items) || items.some((x) => typeof x !== 'string' || !isDnsLabel(x))) return bad('must be a list of namespace names');
      return ok([...new Set(items as string[])]);
    }
    case 'labels': {
      let m: unknown = v;
      if (typeof v === 'string' && src.raw) {
        const out: Record<string, string> = {};
        for (const pair of splitList(v)) {
          const eq = pair.indexOf('=');
          if (eq <= 0) return bad('must be k=v pairs separated by commas');
          out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
        }
        m = out;
      }
      if (!isPlainObject(m) || Object.keys(m).length === 0) return bad('must be a non-empty mapping of label keys to values');
      for (const [k, lv] of Object.entries(m)) {
        if (!isLabelKey(k) || typeof lv !== 'string' || !isLabelValue(lv)) return bad(`label ${k}=${describe(lv)} is not a valid label`);
      }
      return ok({ ...m });
    }
    case 'custom':
      return s.parse!(v, src.raw);
  }
}
