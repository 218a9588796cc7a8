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

/** file:line:column of result i of a review, with the field path when it points at a field. */
function at(r: ObjectReview, i: number): string {
  const w = r.where[i]!;
  return `${r.doc.file}:${w.line}:${w.column}${w.path ? ` ${w.path}` : ''}`;
}

const MARK: Record<string, string> = { fail: 'FAIL', warn: 'WARN', error: 'ERROR', skip: 'skip', pass: 'pass' };

function renderText(reviews: readonly ObjectReview[], notReviewed: readonly NotReviewed[], warnings: readonly string[]): string {
  const lines: string[] = warnings.map((w) => `warning: ${w}`);
  for (const r of reviews) {
    const where = `${r.doc.file}:${r.doc.line}`;
    const verdict = r.denied ? 'DENIED' : 'allowed';
    lines.push(`${where} ${r.kind}/${r.name}${r.namespace ? ` (namespace ${r.namespace}, plan ${r.plan})` : ` (plan ${r.plan})`}: ${verdict}${r.patched ? ', mutated' : ''}`);
    r.results.forEach((res, i) => {
      // Skips are "not applicable here" for most rules; json/sarif/junit carry their reasons. A
      // waived rule is shown: an exception is never silent.
      if (res.result === 'pass' || (res.result === 'skip' && !res.exception)) return;
      const action = res.result === 'fail' && res.action !== 'Deny' ? ` [${res.action}]` : '';
      lines.push(`  ${MARK[res.result]}${action} ${res.policy}/${res.rule}: ${res.message}\n    at ${at(r, i)}`);
    });
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
  const results = reviews.flatMap((r) => r.results.map((res, i) => ({
    file: r.doc.file,
    line: r.where[i]!.line,
    column: r.where[i]!.column,
    path: r.where[i]!.path,
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

/** A SARIF reportingDescriptor: GitHub code scanning wants a full description and help on every rule. */
interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  help: { text: string; markdown: string };
  defaultConfiguration: { level: 'error' | 'warning' | 'note' };
}

const ACTION_MEANS: Record<string, string> = {
  Deny: 'a failure denies the object (review exits 1)',
  Warn: 'a failure is a warning; the object is still admitted',
  Audit: 'a failure is recorded for audit; the object is still admitted',
};

/** The SARIF rule of one policy rule, described from the library: what it is for, what it checks, where it lives. */
export function sarifRule(policy: CompiledPolicy, rule: CompiledPolicy['rules'][number]): SarifRule {
  const id = `${policy.name}/${rule.name}`;
  const purpose = rule.description || policy.description || `rule ${rule.name} of policy ${policy.name}`;
  const check = rule.violations ? rule.violations.source : rule.expression?.source ?? '';
  const when = rule.when ? rule.when.source : '';
  const text = [
    `${purpose}${/[.!?]$/.test(purpose) ? '' : '.'}`,
    `Policy ${policy.name} (${policy.file}), action ${rule.action}: ${ACTION_MEANS[rule.action] ?? rule.action}.`,
    when ? `Applies when: ${when}` : '',
    check ? `${rule.violations ? 'Fails for each item of' : 'Passes when'}: ${check}` : '',
    'The result message says what to change.',
  ].filter(Boolean).join('\n');
  const markdown = [
    `**${policy.name} / ${rule.name}**: ${purpose}`,
    '',
    `Policy \`${policy.name}\` in \`${policy.file}\`, action **${rule.action}**: ${ACTION_MEANS[rule.action] ?? rule.action}.`,
    ...(when ? ['', `Applies when:`, '', '```cel', when, '```'] : []),
    ...(check ? ['', rule.violations ? 'Fails for each item of:' : 'Passes when:', '', '```cel', check, '```'] : []),
    '',
    'The result message says what to change.',
  ].join('\n');
  return {
    id,
    name: id,
    shortDescription: { text: `${policy.name}: ${rule.name}` },
    fullDescription: { text: purpose },
    help: { text, markdown },
    defaultConfiguration: { level: rule.action === 'Deny' ? 'error' : 'warning' },
  };
}

function fixedRule(id: string, short: string, full: string, help: string, level: SarifRule['defaultConfiguration']['level']): SarifRule {
  return { id, name: id, shortDescription: { text: short }, fullDescription: { text: full }, help: { text: help, markdown: help }, defaultConfiguration: { level } };
}

function renderSarif(reviews: readonly ObjectReview[], policies: readonly CompiledPolicy[], notReviewed: readonly NotReviewed[], warnings: readonly string[]): string {
  const rules = policies.flatMap((p) => p.rules.map((rule) => sarifRule(p, rule)));
  rules.push(fixedRule(
    'redline/plan-exists', 'the plan exists',
    'The plan named by the namespace\'s redline.dev/plan label (or --plan) must be defined in the policy library.',
    'Define the plan in the library\'s plans/ folder, or fix the namespace\'s redline.dev/plan label (or --plan). Every object of a namespace with an unknown plan is denied.',
    'error',
  ));
  for (const d of DIMENSIONS) {
    rules.push(fixedRule(
      `${TENANT_TOTALS_POLICY}/${d}`,
      `the tenant's ${d} across its namespaces within the plan's tenantTotals`,
      `The objects of the input, summed per tenant in document order, must keep the tenant's ${d} within the plan's spec.tenantTotals.${d}, across all of the tenant's namespaces.`,
      `Lower the ${d} of the object the result names or of earlier objects of the same tenant, or move the tenant to a plan whose tenantTotals allow it.`,
      'error',
    ));
  }
  rules.push(fixedRule(
    NOT_REVIEWED_RULE,
    'an object that looks like Redis was not reviewed (a kind Redline does not know, or a namespace that is not a tenant\'s)',
    'An object whose kind or apiVersion looks like Redis but that Redline has no adapter for, or an object in a Namespace of the input that has no tenant labels (admission allows it unreviewed).',
    'Check the kind and apiVersion for a typo (the message names the nearest kind Redline knows) or a version Redline does not support; for a namespace that is not a tenant\'s, nothing is to be done.',
    'note',
  ));
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const results: Record<string, unknown>[] = reviews.flatMap((r) => r.results
    .map((res, i) => ({ res, where: r.where[i]! }))
    .filter(({ res }) => res.result === 'fail' || res.result === 'warn' || res.result === 'error' || res.exception)
    .map(({ res, where }) => {
      const id = `${res.policy}/${res.rule}`;
      return {
        ruleId: id,
        ...(index.has(id) ? { ruleIndex: index.get(id) } : {}),
        level: sarifLevel(res),
        message: { text: `${r.kind}/${r.name}: ${res.message}${where.path ? ` (${where.path})` : ''}` },
        ...sarifSuppressions(res),
        locations: [{
          physicalLocation: {
            artifactLocation: { uri: r.doc.file.replace(/\\/g, '/') },
            region: { startLine: where.line, startColumn: where.column },
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

/**
 * Text as XML character data or attribute value. Characters XML 1.0 cannot carry even escaped
 * (control characters, lone surrogates: an object's name or value may hold them) become U+FFFD.
 */
function xml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

/**
 * JUnit XML that passes the strict xunit schema (Jenkins' junit-10 structure, every count and time
 * attribute present, nothing else on a test case; test/fixtures/junit-strict.xsd): one suite per
 * object, one case per rule. A failure, error or skip says where in its text: file:line:column and
 * the field path.
 */
function renderJunit(reviews: readonly ObjectReview[], notReviewed: readonly NotReviewed[]): string {
  const s = summarise(reviews);
  const suites = reviews.map((r) => {
    const name = `${r.doc.file}:${r.doc.line} ${r.kind}/${r.name}`;
    const cases = r.results.map((res, i) => {
      const open = `    <testcase classname="${xml(`${r.kind}/${r.name}`)}" name="${xml(`${res.policy}/${res.rule}`)}" time="0">`;
      const where = xml(at(r, i));
      switch (res.result) {
        case 'fail': return `${open}<failure type="${res.action}" message="${xml(res.message)}">${where}</failure></testcase>`;
        case 'warn': return `${open}<system-out>${xml(`warning at ${at(r, i)}: ${res.message}`)}</system-out></testcase>`;
        case 'error': return `${open}<error type="${res.denies ? 'Deny' : 'Allow'}" message="${xml(res.message)}">${where}</error></testcase>`;
        case 'skip': return `${open}<skipped message="${xml(res.message)}"/></testcase>`;
        default: return `${open}</testcase>`;
      }
    });
    const count = (k: string): number => r.results.filter((x) => x.result === k).length;
    const notices = warningNotices(r);
    const out = notices.length > 0 ? `\n    <system-out>${xml(notices.map((n) => `warning: ${n.message}`).join('\n'))}</system-out>` : '';
    return `  <testsuite name="${xml(name)}" tests="${r.results.length}" failures="${count('fail')}" errors="${count('error')}" skipped="${count('skip')}" time="0">\n${cases.join('\n')}${out}\n  </testsuite>`;
  });
  for (const n of notReviewed) {
    const name = `${n.doc.file}:${n.doc.line} ${n.kind}/${n.name}`;
    const testcase = `    <testcase classname="${xml(`${n.kind}/${n.name}`)}" name="${NOT_REVIEWED_RULE}" time="0"><skipped message="${xml(notReviewedLine(n))}">${xml(`${n.doc.file}:${n.doc.line}:${n.doc.column}`)}</skipped></testcase>`;
    suites.push(`  <testsuite name="${xml(name)}" tests="1" failures="0" errors="0" skipped="1" time="0">\n${testcase}\n  </testsuite>`);
  }
  const total = s.pass + s.fail + s.warn + s.skip + s.error + notReviewed.length;
  const skipped = s.skip + notReviewed.length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="redline review" tests="${total}" failures="${s.fail}" errors="${s.error}" skipped="${skipped}" time="0">\n${suites.join('\n')}\n</testsuites>\n`;
}
