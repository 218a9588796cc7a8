// Policy exceptions: a scoped, expiring waiver of named policy rules for named objects of one
// tenant, kept in the platform's policy library (a tenant has no way to write one). The engine
// applies them to every review — admission, `review`, audit — so a waived rule reads the same
// everywhere: `skip`, naming the exception and its owner, never a silent pass.
//
// Matching: the namespace's `redline.dev/tenant` label equals `match.tenant` (only admins set it,
// so an exception for tenant A never reaches tenant B, nor a namespace being offboarded), the
// namespace is one of `match.namespaces` when given, the kind one of `match.kinds` when given, and
// the object's name is one of `match.names`, exactly: a tenant chooses its objects' names, so a glob
// would let it bring any object under the waiver.
//
// Time: in effect from `approved` until `expires` (exclusive), which the library keeps at most
// maxDays apart, so no edit of one date stretches a waiver; the window is fixed in the document,
// not measured from whenever serve happened to load it.

import { LABEL_TENANT } from '../../core/vocabulary.js';
import type { SourceDocument } from './documents.js';
import { parseTimestamp } from './schema.js';
import type { ExceptionNotice, ExceptionRef, ExceptionState, JsonObject, NamespaceInfo, RuleResult } from './types.js';

const DAY_MS = 86_400_000;

export interface LibrarySettings {
  /** The longest an exception may run, approved to expires, in days. */
  maxExceptionDays: number;
  /** An exception this close to its expiry is warned about wherever it applies. */
  expiryWarningDays: number;
}

export const DEFAULT_LIBRARY_SETTINGS: LibrarySettings = Object.freeze({ maxExceptionDays: 90, expiryWarningDays: 14 });

export interface CompiledException {
  name: string;
  file: string;
  line: number;
  owner: string;
  reason: string;
  ticket: string;
  /** As written in the document. */
  approved: string;
  expires: string;
  approvedMs: number;
  expiresMs: number;
  /** Policy name → the rules waived (null: every rule of the policy). */
  rules: ReadonlyMap<string, ReadonlySet<string> | null>;
  tenant: string;
  namespaces: ReadonlySet<string> | null;
  kinds: ReadonlySet<string> | null;
  names: ReadonlySet<string>;
}

type Report = (path: (string | number)[], message: string) => void;

/** The settings of a validated LibrarySettings document, defaults filled in. */
export function librarySettingsOf(spec: JsonObject | undefined, at: Report): LibrarySettings {
  const exceptions = (spec?.['exceptions'] ?? {}) as JsonObject;
  const maxExceptionDays = (exceptions['maxDays'] as number | undefined) ?? DEFAULT_LIBRARY_SETTINGS.maxExceptionDays;
  const expiryWarningDays = (exceptions['expiryWarningDays'] as number | undefined) ?? DEFAULT_LIBRARY_SETTINGS.expiryWarningDays;
  if (expiryWarningDays > maxExceptionDays) {
    at(['spec', 'exceptions', 'expiryWarningDays'], `must be at most maxDays (${maxExceptionDays})`);
  }
  return { maxExceptionDays, expiryWarningDays };
}

/**
 * A schema-valid PolicyException checked against the library: its policies and rules exist, its
 * window is positive and no longer than the library allows. Null (with problems reported) if not.
 */
export function compileException(
  doc: SourceDocument,
  policyRules: ReadonlyMap<string, readonly string[]>,
  settings: LibrarySettings,
  at: Report,
): CompiledException | null {
  const spec = doc.value['spec'] as JsonObject;
  const match = spec['match'] as JsonObject;
  let ok = true;
  const fail: Report = (path, message) => {
    ok = false;
    at(path, message);
  };
  const rules = new Map<string, Set<string> | null>();
  (spec['policies'] as JsonObject[]).forEach((entry, i) => {
    const policy = String(entry['policy']);
    const known = policyRules.get(policy);
    if (!known) {
      fail(['spec', 'policies', i, 'policy'], `no policy ${policy} in the library (policies: ${[...policyRules.keys()].join(', ') || 'none'})`);
      return;
    }
    if (rules.has(policy)) fail(['spec', 'policies', i, 'policy'], `policy ${policy} is listed twice; list its rules in one entry`);
    const names = entry['rules'] as string[] | undefined;
    names?.forEach((rule, j) => {
      if (!known.includes(rule)) fail(['spec', 'policies', i, 'rules', j], `policy ${policy} has no rule ${rule} (its rules: ${known.join(', ')})`);
    });
    rules.set(policy, names ? new Set(names) : null);
  });
  const approved = String(spec['approved']);
  const expires = String(spec['expires']);
  const approvedMs = parseTimestamp(approved)!;
  const expiresMs = parseTimestamp(expires)!;
  if (expiresMs <= approvedMs) fail(['spec', 'expires'], `must be after approved (${approved})`);
  else if (expiresMs - approvedMs > settings.maxExceptionDays * DAY_MS) {
    const days = Math.ceil((expiresMs - approvedMs) / DAY_MS);
    fail(['spec', 'expires'], `${days} days after approved (${approved}); the library allows at most ${settings.maxExceptionDays} (LibrarySettings spec.exceptions.maxDays)`);
  }
  if (!ok) return null;
  const set = (v: unknown): Set<string> | null => (Array.isArray(v) ? new Set(v.map(String)) : null);
  return {
    name: String((doc.value['metadata'] as JsonObject)['name']),
    file: doc.file,
    line: doc.line,
    owner: String(spec['owner']),
    reason: String(spec['reason']),
    ticket: typeof spec['ticket'] === 'string' ? spec['ticket'] : '',
    approved,
    expires,
    approvedMs,
    expiresMs,
    rules,
    tenant: String(match['tenant']),
    namespaces: set(match['namespaces']),
    kinds: set(match['kinds']),
    names: set(match['names'])!,
  };
}

export function exceptionState(e: CompiledException, nowMs: number, settings: LibrarySettings): ExceptionState {
  if (nowMs >= e.expiresMs) return 'expired';
  if (nowMs < e.approvedMs) return 'pending';
  return e.expiresMs - nowMs <= settings.expiryWarningDays * DAY_MS ? 'expiring' : 'active';
}

/** Whole days left until the exception expires (rounded up; 0 once expired). */
export function daysLeft(e: CompiledException, nowMs: number): number {
  return Math.max(0, Math.ceil((e.expiresMs - nowMs) / DAY_MS));
}

export interface ExceptionStatus {
  name: string;
  owner: string;
  expires: string;
  approvedMs: number;
  expiresMs: number;
  state: ExceptionState;
  daysLeft: number;
}

/** Every exception of the library as of `nowMs` (logs, metrics, the review summary). */
export function exceptionStatuses(exceptions: readonly CompiledException[], settings: LibrarySettings, nowMs: number): ExceptionStatus[] {
  return exceptions.map((e) => ({
    name: e.name, owner: e.owner, expires: e.expires, approvedMs: e.approvedMs, expiresMs: e.expiresMs,
    state: exceptionState(e, nowMs, settings), daysLeft: daysLeft(e, nowMs),
  }));
}

/**
 * The next instant after `nowMs` at which an exception comes into effect (approved) or goes out of
 * it (expires): what a waiver-dependent judgement, such as the background audit's, must be redone
 * at. Undefined when none is ahead.
 */
export function nextExceptionChange(statuses: readonly Pick<ExceptionStatus, 'approvedMs' | 'expiresMs'>[], nowMs: number): number | undefined {
  let next: number | undefined;
  for (const s of statuses) {
    for (const at of [s.approvedMs, s.expiresMs]) if (at > nowMs && (next === undefined || at < next)) next = at;
  }
  return next;
}

/** The object a review judges: its kind and name (metadata.name; '' for a generateName create). */
export interface Subject { kind: string; name: string }

/** Whether the exception names this object, regardless of time. A namespace without a tenant label matches nothing. */
export function matchesObject(e: CompiledException, subject: Subject, namespace: NamespaceInfo | null): boolean {
  if (!namespace || !Object.hasOwn(namespace.labels, LABEL_TENANT) || namespace.labels[LABEL_TENANT] !== e.tenant) return false;
  if (e.namespaces && !e.namespaces.has(namespace.name)) return false;
  if (e.kinds && !e.kinds.has(subject.kind)) return false;
  return subject.name !== '' && e.names.has(subject.name);
}

/** Exceptions by tenant and object name: a review looks up only the ones that can match it. */
export type ExceptionIndex = ReadonlyMap<string, readonly CompiledException[]>;

const indexKey = (tenant: string, name: string): string => `${tenant}\u0000${name}`;

export function indexExceptions(exceptions: readonly CompiledException[]): ExceptionIndex {
  const index = new Map<string, CompiledException[]>();
  for (const e of exceptions) {
    for (const name of e.names) {
      const key = indexKey(e.tenant, name);
      const list = index.get(key);
      if (list) list.push(e);
      else index.set(key, [e]);
    }
  }
  return index;
}

/** The exceptions that may match the object (same tenant, same name); matchesObject decides. */
export function exceptionCandidates(index: ExceptionIndex, subject: Subject, namespace: NamespaceInfo | null): readonly CompiledException[] {
  if (index.size === 0 || !namespace || subject.name === '' || !Object.hasOwn(namespace.labels, LABEL_TENANT)) return [];
  return index.get(indexKey(namespace.labels[LABEL_TENANT]!, subject.name)) ?? [];
}

function covers(e: CompiledException, policy: string, rule: string): boolean {
  if (!e.rules.has(policy)) return false;
  const rules = e.rules.get(policy);
  return rules === null || rules!.has(rule);
}

export function exceptionRef(e: CompiledException): ExceptionRef {
  return { name: e.name, owner: e.owner, reason: e.reason, expires: e.expires, ...(e.ticket ? { ticket: e.ticket } : {}) };
}

function noticeMessage(e: CompiledException, state: ExceptionState, rules: readonly string[], nowMs: number): string {
  const who = `exception ${e.name}, owner ${e.owner}`;
  const list = rules.join(', ');
  switch (state) {
    case 'active': return `${who}, until ${e.expires}: waives ${list}`;
    case 'expiring': {
      const days = daysLeft(e, nowMs);
      return `${who}, expires in ${days} day${days === 1 ? '' : 's'} (${e.expires}): waives ${list}`;
    }
    case 'expired': return `${who}, expired ${e.expires}: ${list} ${rules.length === 1 ? 'applies' : 'apply'} again`;
    case 'pending': return `${who}, not in effect before ${e.approved}: ${list} ${rules.length === 1 ? 'applies' : 'apply'}`;
  }
}

/**
 * Turns each fail, warn or error result that an exception in effect covers into a `skip` naming
 * it (the original result and message kept); pass and skip stay as they are. Notices: one per
 * matching exception that waived something (active or expiring), or that would have but is
 * expired or not yet in effect.
 */
export function applyExceptions(
  exceptions: readonly CompiledException[],
  settings: LibrarySettings,
  results: RuleResult[],
  subject: Subject,
  namespace: NamespaceInfo | null,
  nowMs: number,
): { results: RuleResult[]; notices: ExceptionNotice[] } {
  const matching = exceptions.filter((e) => matchesObject(e, subject, namespace));
  if (matching.length === 0) return { results, notices: [] };
  const states = new Map(matching.map((e) => [e, exceptionState(e, nowMs, settings)]));
  const touched = new Map<CompiledException, string[]>();
  const note = (e: CompiledException, r: RuleResult): void => {
    const list = touched.get(e) ?? [];
    list.push(`${r.policy}.${r.rule}`);
    touched.set(e, list);
  };
  const out = results.map((r): RuleResult => {
    if (r.result !== 'fail' && r.result !== 'warn' && r.result !== 'error') return r;
    const covering = matching.filter((e) => covers(e, r.policy, r.rule));
    const waiver = covering.find((e) => states.get(e) === 'active' || states.get(e) === 'expiring');
    if (!waiver) {
      // Expired or not yet in effect: the rule applies, and the notice says which exception did not.
      for (const e of covering) note(e, r);
      return r;
    }
    note(waiver, r);
    const ticket = waiver.ticket ? `, ticket ${waiver.ticket}` : '';
    return {
      ...r,
      result: 'skip',
      denies: false,
      excepted: r.result,
      exception: exceptionRef(waiver),
      message: `excepted by ${waiver.name} (owner ${waiver.owner}, until ${waiver.expires}${ticket}): ${r.message}`,
    };
  });
  const notices: ExceptionNotice[] = [];
  for (const [e, rules] of touched) {
    const state = states.get(e)!;
    notices.push({ exception: exceptionRef(e), state, rules, message: noticeMessage(e, state, rules, nowMs) });
  }
  return { results: out, notices };
}
