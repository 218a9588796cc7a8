// The cheap per-request helpers of the webhook's hot path, at their edges.

import { describe, expect, it, vi } from 'vitest';
import { MAX_JSON_DEPTH, parseJsonBody, reviewResponseBody, valueDepth, type AdmissionResponse } from '../../webhook/admission-review.js';
import { isoTime } from '../../webhook/log-keys.js';
import { isJsonContentType } from '../../webhook/server.js';

function nestedArrays(depth: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

function nestedObjects(depth: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = { k: v, s: 1 };
  return v;
}

describe('valueDepth', () => {
  it('counts containers, not scalars', () => {
    expect(valueDepth(3)).toBe(0);
    expect(valueDepth(null)).toBe(0);
    expect(valueDepth([])).toBe(1);
    expect(valueDepth({ a: [{}], b: 1 })).toBe(3);
    expect(valueDepth([1, [2, [3]], { x: { y: {} } }])).toBe(4);
  });

  it(`accepts exactly ${MAX_JSON_DEPTH} levels and reports more than that as over the limit`, () => {
    for (const make of [nestedArrays, nestedObjects]) {
      expect(valueDepth(make(MAX_JSON_DEPTH))).toBe(MAX_JSON_DEPTH);
      expect(valueDepth(make(MAX_JSON_DEPTH + 1))).toBeGreaterThan(MAX_JSON_DEPTH);
      // Stops descending once over the limit: no stack overflow however deep the value is.
      expect(valueDepth(make(200_000))).toBe(MAX_JSON_DEPTH + 1);
    }
  });

  it('parseJsonBody applies it to bodies under the pre-scan size', () => {
    const ok = parseJsonBody(Buffer.from(JSON.stringify(nestedObjects(MAX_JSON_DEPTH))));
    expect(ok.ok).toBe(true);
    const deep = parseJsonBody(Buffer.from(JSON.stringify(nestedObjects(MAX_JSON_DEPTH + 1))));
    expect(deep).toEqual({ ok: false, problem: { path: 'body', message: `JSON nesting deeper than ${MAX_JSON_DEPTH} levels` } });
  });
});

describe('isJsonContentType', () => {
  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['Application/JSON;charset="UTF8"', true],
    ['application/json; charset=latin1', false],
    ['application/jsonx', false],
    ['text/plain', false],
    ['', false],
    [undefined, false],
  ])('%s → %s', (header, expected) => {
    expect(isJsonContentType(header)).toBe(expected);
  });
});

describe('isoTime (the serve log timestamp)', () => {
  it('is pino’s time field: the current time as ISO 8601', () => {
    const before = Date.now();
    const field = isoTime();
    const after = Date.now();
    const m = /^,"time":"([^"]+)"$/.exec(field);
    expect(m).not.toBeNull();
    const t = Date.parse(m![1]!);
    expect(new Date(t).toISOString()).toBe(m![1]);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(after);
  });

  it('moves with the clock (formatted once per millisecond, never stale)', () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-01-02T03:04:05.006Z') });
    try {
      const first = isoTime();
      vi.advanceTimersByTime(5);
      const later = isoTime();
      expect(later).not.toBe(first);
      expect(Date.parse(later.slice(9, -1))).toBeGreaterThan(Date.parse(first.slice(9, -1)));
    } finally {
      vi.useRealTimers();
    }
  });

  it('is Date’s own ISO string at every millisecond width, across seconds, days and years', () => {
    const start = Date.parse('2026-12-31T23:59:59.000Z');
    vi.useFakeTimers({ toFake: ['Date'], now: start });
    try {
      for (const step of [0, 1, 9, 10, 99, 100, 999, 1, 1000, 86_400_000 - 1]) {
        vi.advanceTimersByTime(step);
        expect(isoTime()).toBe(`,"time":"${new Date(Date.now()).toISOString()}"`);
      }
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('reviewResponseBody', () => {
  it('is exactly JSON.stringify of the AdmissionReview wrapper, for every kind of answer', () => {
    const answers: AdmissionResponse[] = [
      { uid: 'u1', allowed: true },
      { uid: 'u"2\\', allowed: false, status: { code: 403, reason: 'Forbidden', message: 'no: "quotes" \u2028 ✓' } },
      { uid: 'u3', allowed: true, patchType: 'JSONPatch', patch: 'W10=', warnings: ['a', 'b'], auditAnnotations: { 'x/y': 'z' } },
    ];
    for (const response of answers) {
      const text = reviewResponseBody(response);
      expect(text).toBe(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
      expect(JSON.parse(text)).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
    }
  });
});
