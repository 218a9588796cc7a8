// Output formats of `redline review`: text for people, json for scripts, sarif for code-scanning
// UIs, junit for CI test reports. A rule a PolicyException waives is a skip naming the exception and
// its owner in every format (SARIF: a result with an accepted suppression); an exception that is
// expired, expiring soon or not yet in effect is a warning.

import type { NotReviewed, ObjectReview, Summary } from './review.js';
import { summarise } from './review.js';
import type { CompiledPolicy } from '../engine/library.js';
import { DIMENSIONS } from '../tenancy/usage.js';
import { TENANT_TOTALS_POLICY } from './tenant-totals.js';
import type { ExceptionStatus } from '../engine/exceptions.js';
import type { ExceptionNotice, RuleResult } from '../engine/types.js';

export type Format = 'text' | 'json' | 'sarif' | 'junit';
export const FORMATS: readonly Format[] = ['text', 'json', 'sarif', 'junit'];

/** The one rule id every not-reviewed object is reported under (SARIF note, JUnit skipped testcase). */
export const NOT_REVIEWED_RULE = 'redline/not-reviewed';

/**
 * `exceptions`: the library's PolicyExceptions and their states now; the expired, expiring and
 * pending ones are warned about (an expired one is ignored) whether or not they matched anything.
 */
export function render(
  format: Format,
  reviews: readonly ObjectReview[],
  policies: readonly CompiledPolicy[],
  notReviewed: readonly NotReviewed[] = [],
  exceptions: readonly ExceptionStatus[] = [],
): string {
  const warnings = exceptionWarnings(exceptions);
  switch (format) {
    case 'text': return renderText(reviews, notReviewed, warnings);
    case 'json': return renderJson(reviews, notReviewed, exceptions);
    case 'sarif': return renderSarif(reviews, policies, notReviewed, warnings);
    case 'junit': return renderJunit(reviews, notReviewed);
  }
}

/** One line per library exception that is not simply in effect. */
export function exceptionWarnings(exceptions: readonly ExceptionStatus[]): string[] {
  return exceptions.flatMap((e) => {
    const who = `exception ${e.name} (owner ${e.owner})`;
    switch (e.state) {
      case 'expired': return [`${who} expired ${e.expires}: ignored`];
      case 'expiring': return [`${who} expires in ${e.daysLeft} day${e.daysLeft === 1 ? '' : 's'}, ${e.expires}`];
      case 'pending': return [`${who} is not in effect yet`];
      default: return [];
    }
  });
}

/** Notices worth a line beside the results: the exception did not apply, or expires soon. */
function warningNotices(r: ObjectReview): ExceptionNotice[] {
  return (r.exceptions ?? []).filter((n) => n.state !== 'active');
}

function notReviewedLine(n: NotReviewed): string {
  return `not reviewed: ${n.reason}`;
}

const MARK: Record<string, string> = { fail: 'FAIL', warn: 'WARN', error: 'ERROR', skip: 'skip', pass: 'pass' };

function renderText(reviews: readonly ObjectReview[], notReviewed: readonly NotReviewed[], warnings: readonly string[]): string {
  const lines: string[] = warnings.map((w) => `warning: ${w}`);
  for (const r of reviews) {
    const where = `${r.doc.file}:${r.doc.line}`;
    const verdict = r.denied ? 'DENIED' : 'allowed';
    lines.push(`${where} ${r.kind}/${r.name}${r.namespace ? ` (namespace ${r.namespace}, plan ${r.plan})` : ` (plan ${r.plan})`}: ${verdict}${r.patched ? ', mutated' : ''}`);
    for (const res of r.results) {
      // Skips are "not applicable here" for most rules; json/sarif/junit carry their reasons. A
      // waived rule is shown: an exception is never silent.
      if (res.result === 'pass' || (res.result === 'skip' && !res.exception)) continue;
      const action = res.result === 'fail' && res.action !== 'Deny' ? ` [${res.action}]` : '';
      lines.push(`  ${MARK[res.result]}${action} ${res.policy}/${res.rule}: ${res.message}`);
    }
    for (const n of warningNotices(r)) lines.push(`  WARN ${n.message}`);
  }
  for (const n of notReviewed) {
    lines.push(`${n.doc.file}:${n.doc.line} ${n.kind}/${n.name}${n.namespace ? ` (namespace ${n.namespace})` : ''}: ${notReviewedLine(n)}`);
  }
  const s = summarise(reviews);
  const excepted = countExcepted(reviews);
  lines.push(`${reviews.length} Redis object(s): ${s.pass} pass, ${s.fail} fail, ${s.warn} warn, ${s.skip} skip${excepted > 0 ? ` (${excepted} by exceptions)` : ''}, ${s.error} error`
    + (notReviewed.length > 0 ? `; ${notReviewed.length} object(s) not reviewed` : '')
    + (s.skip > 0 ? ' (--format json lists why rules were skipped)' : ''));
  return `${lines.join('\n')}\n`;
}

function countExcepted(reviews: readonly ObjectReview[]): number {
  let n = 0;
  for (const r of reviews) for (const res of r.results) if (res.exception) n++;
  return n;
}

function exceptionFields(res: RuleResult): Record<string, unknown> {
  return res.exception ? { exception: res.exception, excepted: res.excepted } : {};
}

function renderJson(reviews: readonly ObjectReview[], notReviewed: readonly NotReviewed[], exceptions: readonly ExceptionStatus[]): string {
  const results = reviews.flatMap((r) => r.results.map((res) => ({
    file: r.doc.file,
    kind: r.kind,
    apiVersion: r.apiVersion,
    namespace: r.namespace,
    name: r.name,
    policy: res.policy,
    rule: res.rule,
    result: res.result,
    message: res.message,
    patched: r.patched,
    ...exceptionFields(res),
  })));
  const summary: Summary = summarise(reviews);
  const notices = reviews.flatMap((r) => (r.exceptions ?? []).map((n) => ({
    file: r.doc.file, kind: r.kind, namespace: r.namespace, name: r.name,
    exception: n.exception.name, owner: n.exception.owner, expires: n.exception.expires, state: n.state, rules: n.rules, message: n.message,
  })));
  const library = exceptions.map((e) => ({ name: e.name, owner: e.owner, expires: e.expires, state: e.state, daysLeft: e.daysLeft }));
  const skipped = notReviewed.map((n) => ({
    file: n.doc.file,
    line: n.doc.line,
    kind: n.kind,
    apiVersion: n.apiVersion,
    namespace: n.namespace,
    name: n.name,
    why: n.why,
    message: notReviewedLine(n),
  }));
  return `${JSON.stringify({ results, notReviewed: skipped, summary, exceptions: library, exceptionNotices: notices }, null, 2)}\n`;
}

function sarifLevel(res: RuleResult): string {
  const kind = res.excepted ?? res.result;
  if (kind === 'error') return res.exception ? 'warning' : res.denies ? 'error' : 'warning';
  return kind === 'warn' || res.action !== 'Deny' ? (res.action === 'Audit' ? 'note' : 'warning') : 'error';
}

/** SARIF's way to say "found, and waived on purpose": an accepted external suppression. */
function sarifSuppressions(res: RuleResult): Record<string, unknown> {
  const e = res.exception;
  if (!e) return {};
  return {
    suppressions: [{
      kind: 'external',
      status: 'accepted',
      justification: `${e.reason} (exception ${e.name}, owner ${e.owner}, expires ${e.expires}${e.ticket ? `, ticket ${e.ticket}` : ''})`,
      properties: { exception: e.name, owner: e.owner, expires: e.expires, ...(e.ticket ? { ticket: e.ticket } : {}) },
    }],
  };
}

function renderSarif(reviews: readonly ObjectReview[], policies: readonly CompiledPolicy[], notReviewed: readonly NotReviewed[], warnings: readonly string[]): string {
  const rules = policies.flatMap((p) => p.rules.map((rule) => ({
    id: `${p.name}/${rule.name}`,
    name: `${p.name}/${rule.name}`,
    shortDescription: { text: `${p.name}: ${rule.name}` },
    defaultConfiguration: { level: rule.action === 'Deny' ? 'error' : 'warning' },
  })));
  rules.push({ id: 'redline/plan-exists', name: 'redline/plan-exists', shortDescription: { text: 'the plan exists' }, defaultConfiguration: { level: 'error' } });
  for (const d of DIMENSIONS) {
    const id = `${TENANT_TOTALS_POLICY}/${d}`;
    rules.push({ id, name: id, shortDescription: { text: `the tenant's ${d} across its namespaces within the plan's tenantTotals` }, defaultConfiguration: { level: 'error' } });
  }
  rules.push({
    id: NOT_REVIEWED_RULE, name: NOT_REVIEWED_RULE,
    shortDescription: { text: 'an object that looks like Redis was not reviewed (a kind Redline does not know, or a namespace that is not a tenant\'s)' },
    defaultConfiguration: { level: 'note' },
  });
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const results: Record<string, unknown>[] = reviews.flatMap((r) => r.results
    .filter((res) => res.result === 'fail' || res.result === 'warn' || res.result === 'error' || res.exception)
    .map((res) => {
      const id = `${res.policy}/${res.rule}`;
      return {
        ruleId: id,
        ...(index.has(id) ? { ruleIndex: index.get(id) } : {}),
        level: sarifLevel(res),
        message: { text: `${r.kind}/${r.name}: ${res.message}` },
        ...sarifSuppressions(res),
        locations: [{
          physicalLocation: {
            artifactLocation: { uri: r.doc.file.replace(/\\/g, '/') },
            region: { startLine: r.doc.line, startColumn: r.doc.column },
          },
        }],
      };
    }));
  for (const n of notReviewed) {
    results.push({
      ruleId: NOT_REVIEWED_RULE,
      ruleIndex: index.get(NOT_REVIEWED_RULE)!,
      level: 'note',
      message: { text: `${n.kind}/${n.name}: ${notReviewedLine(n)}` },
      locations: [{
        physicalLocation: {
          artifactLocation: { uri: n.doc.file.replace(/\\/g, '/') },
          region: { startLine: n.doc.line, startColumn: n.doc.column },
        },
      }],
    });
  }
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'redline', informationUri: 'https://redline.dev', rules } },
      ...(warnings.length > 0 || reviews.some((r) => warningNotices(r).length > 0)
        ? {
          invocations: [{
            executionSuccessful: true,
            toolExecutionNotifications: [
              ...warnings.map((text) => ({ level: 'warning', message: { text } })),
              ...reviews.flatMap((r) => warningNotices(r).map((n) => ({ level: 'warning', message: { text: `${r.kind}/${r.name}: ${n.message}` } }))),
            ],
          }],
        }
        : {}),
      results,
    }],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

function renderJunit(reviews: readonly ObjectReview[], notReviewed: readonly NotReviewed[]): string {
  const s = summarise(reviews);
  const suites = reviews.map((r) => {
    const name = `${r.doc.file}:${r.doc.line} ${r.kind}/${r.name}`;
    const cases = r.results.map((res) => {
      const open = `    <testcase classname="${xml(`${r.kind}/${r.name}`)}" name="${xml(`${res.policy}/${res.rule}`)}" file="${xml(r.doc.file)}" line="${r.doc.line}">`;
      switch (res.result) {
        case 'fail': return `${open}<failure type="${res.action}" message="${xml(res.message)}"/></testcase>`;
        case 'warn': return `${open}<system-out>${xml(`warning: ${res.message}`)}</system-out></testcase>`;
        case 'error': return `${open}<error message="${xml(res.message)}"/></testcase>`;
        case 'skip': return `${open}<skipped message="${xml(res.message)}"/></testcase>`;
        default: return `${open}</testcase>`;
      }
    });
    const count = (k: string): number => r.results.filter((x) => x.result === k).length;
    const notices = warningNotices(r);
    const out = notices.length > 0 ? `\n    <system-out>${xml(notices.map((n) => `warning: ${n.message}`).join('\n'))}</system-out>` : '';
    return `  <testsuite name="${xml(name)}" tests="${r.results.length}" failures="${count('fail')}" errors="${count('error')}" skipped="${count('skip')}">\n${cases.join('\n')}${out}\n  </testsuite>`;
  });
  for (const n of notReviewed) {
    const name = `${n.doc.file}:${n.doc.line} ${n.kind}/${n.name}`;
    const testcase = `    <testcase classname="${xml(`${n.kind}/${n.name}`)}" name="${NOT_REVIEWED_RULE}" file="${xml(n.doc.file)}" line="${n.doc.line}"><skipped message="${xml(notReviewedLine(n))}"/></testcase>`;
    suites.push(`  <testsuite name="${xml(name)}" tests="1" failures="0" errors="0" skipped="1">\n${testcase}\n  </testsuite>`);
  }
  const total = s.pass + s.fail + s.warn + s.skip + s.error + notReviewed.length;
  const skipped = s.skip + notReviewed.length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="redline review" tests="${total}" failures="${s.fail}" errors="${s.error}" skipped="${skipped}">\n${suites.join('\n')}\n</testsuites>\n`;
}
