// CountingHistogram renders exactly what prom-client's own Histogram renders for the same
// observations (it replaces it on the admission hot path), and the request counter it works with
// counts every request by the next scrape.

import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CountingHistogram } from '../../webhook/histogram.js';
import { DURATION_BUCKETS, WebhookMetrics } from '../../webhook/metrics.js';

const LABELS = ['endpoint', 'kind'] as const;

async function both(observations: [string, string, number][]): Promise<[string, string]> {
  const ours = new Registry();
  const theirs = new Registry();
  const counting = new CountingHistogram('h_seconds', 'help text', LABELS, DURATION_BUCKETS, ours);
  const reference = new Histogram({ name: 'h_seconds', help: 'help text', labelNames: LABELS, buckets: DURATION_BUCKETS, registers: [theirs] });
  for (const [endpoint, kind, value] of observations) {
    counting.observe(counting.labels(endpoint, kind), value);
    reference.labels(endpoint, kind).observe(value);
  }
  return [await ours.metrics(), await theirs.metrics()];
}

describe('CountingHistogram', () => {
  it('renders like prom-client, boundaries included (a value equal to a bound is in that bucket)', async () => {
    const [ours, theirs] = await both([
      ['validate', 'Pod', 0.0005],
      ['validate', 'Pod', 0.0007],
      ['validate', 'Pod', 2.5],
      ['validate', 'Pod', 9],
      ['mutate', 'Redis', 0.003],
    ]);
    expect(ours).toBe(theirs);
    expect(ours).toContain('h_seconds_bucket{le="0.0005",endpoint="validate",kind="Pod"} 1');
    expect(ours).toContain('h_seconds_bucket{le="+Inf",endpoint="validate",kind="Pod"} 4');
    expect(ours).toContain('h_seconds_count{endpoint="mutate",kind="Redis"} 1');
  });

  it('property: any observations render the same as prom-client', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('validate', 'mutate'), fc.constantFrom('Pod', 'Redis', 'other'), fc.oneof(fc.constantFrom(...DURATION_BUCKETS), fc.double({ min: 0, max: 5, noNaN: true }))), { maxLength: 60 }),
        async (obs) => {
          const [ours, theirs] = await both(obs);
          expect(ours).toBe(theirs);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('WebhookMetrics request counting', () => {
  it('every request is in redline_admission_requests_total and the latency histogram at each scrape', async () => {
    const m = new WebhookMetrics();
    const count = (text: string, outcome: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`redline_admission_requests_total{endpoint="validate",kind="Pod",operation="CREATE",outcome="${outcome}"}`));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    for (let i = 0; i < 3; i++) m.request('validate', 'Pod', 'CREATE', 'allowed', 0.001);
    m.request('validate', 'Pod', 'CREATE', 'denied', 0.002);
    let text = await m.registry.metrics();
    expect(count(text, 'allowed')).toBe(3);
    expect(count(text, 'denied')).toBe(1);
    expect(text).toContain('redline_admission_request_duration_seconds_count{endpoint="validate",kind="Pod",operation="CREATE"} 4');
    // Counted once: a second scrape without requests shows the same numbers; new requests add up.
    expect(count(await m.registry.metrics(), 'allowed')).toBe(3);
    m.request('validate', 'Pod', 'CREATE', 'allowed', 0.001);
    m.request('validate', 'UnknownKind', 'PATCH', 'allowed', 0.001);
    text = await m.registry.metrics();
    expect(count(text, 'allowed')).toBe(4);
    expect(text).toContain('redline_admission_requests_total{endpoint="validate",kind="other",operation="other",outcome="allowed"} 1');
    expect(text).toContain('redline_admission_request_duration_seconds_count{endpoint="validate",kind="Pod",operation="CREATE"} 5');
  });
});
