// AnswerLog: a request's metrics and log line are written one event-loop turn after the answer, in
// order, in one batch; flush() writes at once (shutdown); a failing logger never escapes; a review's
// policy results are counted with the next batch, each once.

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { RuleResult } from '../../policies/engine/types.js';
import { AnswerLog, type Answered } from '../../webhook/answer-log.js';
import { WebhookMetrics } from '../../webhook/metrics.js';
import { MemoryLog } from '../bench/webhook-harness.js';

function setup(): { answers: AnswerLog; metrics: WebhookMetrics; sink: MemoryLog; entry: (uid: string) => Answered } {
  const metrics = new WebhookMetrics();
  const sink = new MemoryLog();
  const log = pino({ base: null, timestamp: false }, sink);
  const entry = (uid: string): Answered => ({
    endpoint: 'validate', kind: 'StatefulSet', operation: 'CREATE', outcome: 'allowed', seconds: 0.002,
    log, level: 'info', line: { uid }, message: 'admission',
  });
  return { answers: new AnswerLog(metrics), metrics, sink, entry };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function requestsCounted(metrics: WebhookMetrics): Promise<number> {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith('redline_admission_requests_total{'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function resultCount(metrics: WebhookMetrics, rule: string, result: string): Promise<number> {
  const m = new RegExp(`^redline_policy_results_total\\{policy="tls",rule="${rule}",result="${result}"\\} (\\d+)$`, 'm').exec(await metrics.registry.metrics());
  return m ? Number(m[1]) : 0;
}

const ruleResult = (rule: string, result: RuleResult['result']): RuleResult =>
  ({ policy: 'tls', rule, result, action: 'Deny', message: '', denies: false });

describe('AnswerLog', () => {
  it('counts a review\'s policy results with the answers that follow it, each once', async () => {
    const { answers, metrics, entry } = setup();
    answers.countResults([ruleResult('tls-enabled', 'pass'), ruleResult('issuer', 'fail')]);
    answers.countResults([ruleResult('tls-enabled', 'pass')]);
    expect(await resultCount(metrics, 'tls-enabled', 'pass')).toBe(0); // not before the answers are written
    answers.add(entry('a'));
    await nextTurn();
    expect(await resultCount(metrics, 'tls-enabled', 'pass')).toBe(2);
    expect(await resultCount(metrics, 'issuer', 'fail')).toBe(1);
    answers.flush(); // nothing pending: nothing counted twice
    await nextTurn();
    expect(await resultCount(metrics, 'tls-enabled', 'pass')).toBe(2);
  });

  it('flush() counts pending results even with no answer queued (shutdown)', async () => {
    const { answers, metrics } = setup();
    answers.countResults([ruleResult('tls-enabled', 'skip')]);
    answers.flush();
    expect(await resultCount(metrics, 'tls-enabled', 'skip')).toBe(1);
  });

  it('writes nothing during the turn that answered, then every line in order with its metrics', async () => {
    const { answers, metrics, sink, entry } = setup();
    for (const uid of ['a', 'b', 'c']) answers.add(entry(uid));
    expect(sink.lines).toEqual([]);
    await nextTurn();
    expect(sink.records().map((r) => [r['uid'], r['msg']])).toEqual([['a', 'admission'], ['b', 'admission'], ['c', 'admission']]);
    expect(await requestsCounted(metrics)).toBe(3);
    answers.add(entry('d')); // a later batch gets its own turn
    await nextTurn();
    expect(sink.records().map((r) => r['uid'])).toEqual(['a', 'b', 'c', 'd']);
  });

  it('flush() writes what is queued at once, and the scheduled turn then has nothing left', async () => {
    const { answers, sink, entry } = setup();
    answers.add(entry('x'));
    answers.flush();
    expect(sink.records().map((r) => r['uid'])).toEqual(['x']);
    await nextTurn();
    expect(sink.lines).toHaveLength(1);
  });

  it('a logger that throws is counted as a handler error, and the other lines are still written', async () => {
    const { answers, metrics, sink, entry } = setup();
    const broken = entry('broken');
    broken.log = { info: () => { throw new Error('disk on fire'); } } as unknown as Answered['log'];
    answers.add(entry('before'));
    answers.add(broken);
    answers.add(entry('after'));
    await nextTurn();
    expect(sink.records().map((r) => r['uid'])).toEqual(['before', 'after']);
    expect(await metrics.registry.metrics()).toMatch(/redline_errors_total\{kind="handler"\} 1/);
  });
});
