// core/result.ts: the one value-or-problem shape and the one Problem, formatted with as much of
// its place as is known.
import { describe, expect, it } from 'vitest';
import { fail, formatProblem, ok, type Result } from '../../core/result.js';

describe('Result', () => {
  it('ok and fail build the two cases, told apart by ok', () => {
    const half = (n: number): Result<number, string> => (n % 2 === 0 ? ok(n / 2) : fail(`${n} is odd`));
    expect(half(4)).toEqual({ ok: true, value: 2 });
    expect(half(3)).toEqual({ ok: false, problem: '3 is odd' });
    const r = half(3);
    expect(r.ok ? r.value : r.problem).toBe('3 is odd');
  });
});

describe('formatProblem', () => {
  it('says where as far as it is known: file:line:column, then the field path', () => {
    expect(formatProblem({ file: 'a.yaml', line: 3, column: 7, path: 'spec.x', message: 'unknown field' })).toBe('a.yaml:3:7: spec.x: unknown field');
    expect(formatProblem({ file: 'a.yaml', line: 1, column: 1, path: '', message: 'bad' })).toBe('a.yaml:1:1: bad');
    expect(formatProblem({ file: 'a.yaml', message: 'cannot read' })).toBe('a.yaml: cannot read');
    expect(formatProblem({ path: 'serve.port', message: 'must be an integer' })).toBe('serve.port: must be an integer');
    expect(formatProblem({ message: 'nothing to point at' })).toBe('nothing to point at');
  });
});
