// review, mutate and test raise V8's interrupt budget for their process (cli/batch-tiering.ts),
// unless node was started with one: a user's or a benchmark's own setting wins.
import { describe, expect, it } from 'vitest';
import { BATCH_INTERRUPT_BUDGET, tierUpLater, V8_DEFAULT_INTERRUPT_BUDGET } from '../../cli/batch-tiering.js';

describe('tierUpLater', () => {
  it('leaves a budget given on the command line or in NODE_OPTIONS alone', () => {
    expect(tierUpLater([`--interrupt-budget=${V8_DEFAULT_INTERRUPT_BUDGET}`], '')).toBe(false);
    expect(tierUpLater(['--enable-source-maps'], '--max-old-space-size=512 --interrupt_budget=1000')).toBe(false);
  });

  it('raises it otherwise, to eight times V8 11.3\'s default', () => {
    expect(BATCH_INTERRUPT_BUDGET).toBe(8 * 67_584);
    expect(tierUpLater(['--enable-source-maps'], '--max-old-space-size=512')).toBe(true);
  });
});
