// review, mutate and test are batches of about a second over objects of many shapes. V8 optimises
// a function with TurboFan once it has run about 66 KB of bytecode (its interrupt budget); in such a
// batch that happens early, on feedback from a few shapes, and the compilations (and re-compilations
// as other shapes arrive) cost more than the optimised code saves before the process exits. Eight
// times the budget leaves only the really hot functions to TurboFan: `npm run bench:review`'s
// 1,000-file review, which prints the review with V8's default budget next to it, took about a
// quarter less wall and CPU time; a 4,000-file one likewise (Node.js 20, V8 11.3). serve keeps V8's
// default: its requests arrive one by one on cold caches, and there the default tiers up sooner to
// code that pays (bench:engine's cold mutating review took 30% longer with this budget).

import { setFlagsFromString } from 'node:v8';

/** V8 11.3's default interrupt budget (`node --v8-options`). */
export const V8_DEFAULT_INTERRUPT_BUDGET = 67_584;
/** What review, mutate and test run with. */
export const BATCH_INTERRUPT_BUDGET = 8 * V8_DEFAULT_INTERRUPT_BUDGET;

/** Raises V8's interrupt budget for this process, unless node was started with one (`--interrupt-budget`, also in NODE_OPTIONS). */
export function tierUpLater(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env['NODE_OPTIONS'] ?? ''): boolean {
  if ([...execArgv, nodeOptions].some((a) => /--interrupt[-_]budget/.test(a))) return false;
  setFlagsFromString(`--interrupt-budget=${BATCH_INTERRUPT_BUDGET}`);
  return true;
}
