// Log keys are an API: dashboards and alerts match on these names. Every structured log line the
// webhook writes uses only these keys (plus pino's own: level, time, pid, hostname, msg). Never bind
// an object body, a Secret or any other untrusted structure to a logger.

export const LogKey = {
  /** Component that wrote the line: "webhook", "health", "certs", "namespaces", "serve". */
  component: 'component',
  /** AdmissionReview request.uid. */
  uid: 'uid',
  /** CREATE | UPDATE | DELETE | CONNECT. */
  operation: 'operation',
  /** request.kind.kind of the reviewed object. */
  kind: 'kind',
  namespace: 'namespace',
  name: 'name',
  /** request.userInfo.username. */
  user: 'user',
  /** "validate" | "mutate". */
  endpoint: 'endpoint',
  /** allowed | patched | denied | rejected | error (same values as the metric label). */
  outcome: 'outcome',
  durationMs: 'durationMs',
  /** HTTP status of the answer. */
  status: 'status',
  dryRun: 'dryRun',
  /** Short machine-readable reason (e.g. "not-tenant", "label-guard", "body-too-large"). */
  reason: 'reason',
  /** Number of patch operations in a /mutate answer. */
  patchOps: 'patchOps',
  /** Policy results that were not `pass`/`skip`, as "policy.rule=result" strings ("policy.rule=excepted:NAME" when waived). */
  results: 'results',
  /** An Error (serialised by pino's err serializer: type, message, stack). */
  err: 'err',
  /** A file path the process reads (certificate, namespaces file, policies). */
  path: 'path',
  /** A listening address, "host:port". */
  address: 'address',
  /** Retry delay of a restarting watch, in ms. */
  backoffMs: 'backoffMs',
  /** A PolicyException's name, its owner and its expiry as written. */
  exception: 'exception',
  owner: 'owner',
  expires: 'expires',
} as const;

export type LogKeyName = (typeof LogKey)[keyof typeof LogKey];

let lastMs = NaN;
let lastTime = '';

/**
 * pino's `time` field as an ISO 8601 string, like pino.stdTimeFunctions.isoTime, but formatted
 * once per millisecond: under load many lines share one, and the Date formatting was measurable
 * per request.
 */
export function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}
