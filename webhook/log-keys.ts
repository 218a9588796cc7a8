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
let secondStart = NaN;
/** `,"time":"2026-01-02T03:04:05.` of the second being written. */
let secondPrefix = '';

/**
 * pino's `time` field as an ISO 8601 string, like pino.stdTimeFunctions.isoTime, but the Date is
 * formatted once per second and each millisecond only appends its three digits: at one request at
 * a time every line has a millisecond of its own, and the Date formatting, cold between requests,
 * was a tenth of the answer line's cost (CPU profile of serve under bench:apiserver).
 */
export function isoTime(): string {
  const now = Date.now();
  if (now === lastMs) return lastTime;
  lastMs = now;
  const ms = now % 1000;
  if (now - ms !== secondStart) {
    secondStart = now - ms;
    const iso = new Date(secondStart).toISOString(); // …T03:04:05.000Z
    secondPrefix = `,"time":"${iso.slice(0, -4)}`;
  }
  lastTime = `${secondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
  return lastTime;
}
