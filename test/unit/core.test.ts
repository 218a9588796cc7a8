import { describe, expect, it } from 'vitest';
import { errorKind, errorMessage, EXIT_CODES, isRedlineError, RedlineError } from '../../core/errors.js';
import { isDnsLabel, isDnsSubdomain, isLabelKey, isLabelValue } from '../../core/names.js';
import { CONTROLLER_SERVICE_ACCOUNT, LABEL_PLAN, LABEL_TENANT, REDLINE_LABEL_PREFIX, SYSTEM_NAMESPACES } from '../../core/vocabulary.js';

describe('core/errors', () => {
  it('the code decides the kind; kinds map to distinct exit codes (usage and input 2, outside failures 1, bugs 70)', () => {
    expect(new RedlineError('usage', 'm').kind).toBe('usage');
    expect(new RedlineError('document-invalid', 'm').kind).toBe('input');
    expect(new RedlineError('kube-api', 'm', { status: 503 }).kind).toBe('unavailable');
    expect(new RedlineError('reviewer-failed', 'm', { status: 500 }).kind).toBe('internal');
    expect(EXIT_CODES).toEqual({ usage: 2, input: 2, unavailable: 1, internal: 70 });
    // review exits 1 for "a policy denied": a bug must never look like that, nor like bad usage.
    expect(EXIT_CODES.internal).not.toBe(1);
    expect(EXIT_CODES.internal).not.toBe(2);
  });

  it('anything that is not a RedlineError is a bug', () => {
    expect(errorKind(new TypeError('x is undefined'))).toBe('internal');
    expect(errorKind('a string')).toBe('internal');
    expect(errorKind(new RedlineError('config-invalid', 'm'))).toBe('input');
  });

  it('keeps message, status, problems and cause; recognised by code only', () => {
    const cause = new Error('root');
    const e = new RedlineError('config-invalid', 'bad settings', { status: 400, problems: ['a', 'b'], cause });
    expect(e).toBeInstanceOf(Error);
    expect([e.message, e.status, e.problems, e.cause]).toEqual(['bad settings', 400, ['a', 'b'], cause]);
    expect(isRedlineError(e)).toBe(true);
    expect(isRedlineError(e, 'config-invalid', 'usage')).toBe(true);
    expect(isRedlineError(e, 'usage')).toBe(false);
    // A look-alike with the same name and code is not one.
    expect(isRedlineError(Object.assign(new Error('x'), { name: 'RedlineError', code: 'usage' }), 'usage')).toBe(false);
    expect(errorMessage(e)).toBe('bad settings');
    expect(errorMessage(42)).toBe('42');
  });
});

describe('core/names', () => {
  it('DNS labels: pattern and the 63-character limit', () => {
    for (const ok of ['a', 'redline-system', '0a', 'a'.repeat(63)]) expect(isDnsLabel(ok), ok).toBe(true);
    for (const bad of ['', 'A', '-a', 'a-', 'a.b', 'a_b', 'a'.repeat(64)]) expect(isDnsLabel(bad), bad).toBe(false);
  });

  it('DNS subdomains: dot-separated labels, at most 253 characters', () => {
    for (const ok of ['redline-webhook-tls', 'a.b.c', `${'a'.repeat(63)}.${'b'.repeat(63)}`]) expect(isDnsSubdomain(ok), ok).toBe(true);
    for (const bad of ['', '.a', 'a.', 'a..b', 'A.b', `${'a.'.repeat(127)}a`]) expect(isDnsSubdomain(bad), bad).toBe(false);
  });

  it('label keys and values', () => {
    for (const ok of ['app', 'k8s-app', 'redline.dev/tenant', 'kubernetes.io/metadata.name', 'a_b.c']) expect(isLabelKey(ok), ok).toBe(true);
    for (const bad of ['', '/a', 'a/', 'a/b/c', 'Redline.dev/x', '-a', `${'a'.repeat(64)}`]) expect(isLabelKey(bad), bad).toBe(false);
    expect(isLabelValue('')).toBe(true);
    expect(isLabelValue('', { nonEmpty: true })).toBe(false);
    for (const ok of ['acme', 'A_b.c-1', 'a'.repeat(63)]) expect(isLabelValue(ok), ok).toBe(true);
    for (const bad of ['-a', 'a/b', 'a b', 'a'.repeat(64)]) expect(isLabelValue(bad), bad).toBe(false);
  });
});

describe('core/vocabulary', () => {
  it('the names the manifests and policies spell out', () => {
    expect([LABEL_TENANT, LABEL_PLAN]).toEqual(['redline.dev/tenant', 'redline.dev/plan']);
    expect(LABEL_TENANT.startsWith(REDLINE_LABEL_PREFIX)).toBe(true);
    expect(CONTROLLER_SERVICE_ACCOUNT).toBe('system:serviceaccount:redline-system:redline-controller');
    expect(SYSTEM_NAMESPACES).toEqual(['kube-system', 'redline-system']);
  });
});
