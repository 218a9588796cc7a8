// What the red-team suites (attack*.e2e.test.ts) assert on an API server's answer.
import { expect } from 'vitest';
import type { Answer } from './isolation-http.js';

export function show(a: Answer): string {
  return `HTTP ${a.status}: ${a.message || JSON.stringify(a.body).slice(0, 300)} warnings=${JSON.stringify(a.warnings)}`;
}

export function refusedByWebhook(a: Answer, ...why: (string | RegExp)[]): void {
  expect(a.status, show(a)).toBe(403);
  expect(a.message).toContain('admission webhook "validate.redline.dev" denied the request');
  for (const p of why) expect(a.message, show(a)).toMatch(p);
}

/** The object placed in namespace `ns`. */
export function inNs(o: Record<string, unknown>, ns: string): Record<string, unknown> {
  return { ...o, metadata: { ...(o['metadata'] as Record<string, unknown>), namespace: ns } };
}
