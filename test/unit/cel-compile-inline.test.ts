// The same agreement checks as cel-compile.test.ts, with every expression on the form it takes once
// it is hot (inline field reads, see HOT_EVALUATIONS in cel.ts) from its first evaluation on: that
// file's own run covers the compact form expressions start with.

import { afterAll, beforeAll } from 'vitest';
import { HOT_EVALUATIONS, setHotEvaluations } from '../../policies/engine/cel.js';

beforeAll(() => setHotEvaluations(1));
afterAll(() => setHotEvaluations(HOT_EVALUATIONS));

await import('./cel-compile.test.js');
