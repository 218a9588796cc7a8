// PolicyExceptions through `redline serve` over real HTTPS: runServe in-process with a library that
// holds an exception and a clock the test moves. The object the exception names is admitted with a
// warning naming its owner, another tenant's identical object is denied, the exception is warned
// about in its last 14 days and ignored from its expiry on (denied again), the metrics and the log
// follow, and a renewed exception is hot-reloaded.

import { EventEmitter } from 'node:events';
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runServe } from '../../cli/serve.js';
import { defaultLibraryDir, Engine, loadLibrary, type JsonObject } from '../../policies/engine/index.js';
import { admissionReview, httpsRequest, MemoryLog, repoRoot } from '../bench/webhook-harness.js';
import { waitFor } from '../helpers/wait.js';

const DAY = 86_400_000;
const NAMESPACES = `apiVersion: v1
kind: Namespace
metadata:
  name: tenant-acme
  labels: {redline.dev/tenant: acme, redline.dev/plan: standard}
---
apiVersion: v1
kind: Namespace
metadata:
  name: tenant-globex
  labels: {redline.dev/tenant: globex, redline.dev/plan: standard}
`;

/** yyyy-mm-dd of a time, UTC. */
const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function exceptionYaml(approved: string, expires: string): string {
  return `apiVersion: redline.dev/v1alpha1
kind: PolicyException
metadata: {name: acme-sessions-no-tls}
spec:
  owner: dba@acme.example
  reason: the sessions clients get a TLS-capable driver next sprint
  ticket: OPS-42
  approved: ${approved}
  expires: ${expires}
  policies:
    - {policy: tls, rules: [tls-enabled]}
  match: {tenant: acme, namespaces: [tenant-acme], kinds: [RedisReplication], names: [sessions]}
`;
}

let dir: string;
let libDir: string;
let ca: Buffer;
let ports: { port: number; healthPort: number };
let log: MemoryLog;
const signals = new EventEmitter();
let exit: Promise<number>;
/** The serve clock; it starts at the real time (the client checks the dev certificate by that). */
let now = Date.now();
const today = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate());
const expiresMs = today + 30 * DAY;

/** The shipped example with TLS removed, as the mutating call stores it: only tls.tls-enabled fails it. */
let sessionsIn: (namespace: string) => JsonObject;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'redline-exceptions-'));
  libDir = path.join(dir, 'library');
  cpSync(defaultLibraryDir(), libDir, { recursive: true });
  rmSync(path.join(libDir, 'tests'), { recursive: true });
  mkdirSync(path.join(libDir, 'exceptions'));
  writeFileSync(path.join(libDir, 'exceptions', 'acme.yaml'), exceptionYaml(day(today - DAY), day(expiresMs)));
  writeFileSync(path.join(dir, 'namespaces.yaml'), NAMESPACES);

  const engine = new Engine(await loadLibrary(defaultLibraryDir()));
  const shipped = parse(readFileSync(path.join(repoRoot(), 'manifests', 'examples', 'good', 'ot-replication.yaml'), 'utf8')) as JsonObject;
  sessionsIn = (namespace) => {
    const example = structuredClone(shipped);
    (example['metadata'] as JsonObject)['namespace'] = namespace;
    delete (example['spec'] as JsonObject)['TLS'];
    return engine.review({
      object: example, operation: 'CREATE', plan: 'standard', mutate: true, validate: false,
      namespace: { name: namespace, labels: { 'redline.dev/tenant': namespace.slice('tenant-'.length), 'redline.dev/plan': 'standard' } },
    }).mutated;
  };

  log = new MemoryLog();
  await new Promise<void>((resolve) => {
    exit = runServe(['--dev', '--dev-cert-dir', path.join(dir, 'certs'), '--port', '0', '--health-port', '0', '--address', '127.0.0.1',
      '--policies', libDir, '--namespaces', path.join(dir, 'namespaces.yaml')], {
      stderr: { write: () => true },
      cwd: dir,
      env: { HOME: dir, REDLINE_POLICY_RELOAD_INTERVAL_MS: '100' },
      logDestination: log,
      signals,
      clock: () => new Date(now),
      onListening: (p) => {
        ports = p;
        resolve();
      },
    });
  });
  ca = readFileSync(path.join(dir, 'certs', 'ca.crt'));
});

afterAll(async () => {
  signals.emit('SIGTERM', 'SIGTERM');
  expect(await exit).toBe(0);
  rmSync(dir, { recursive: true, force: true });
});

async function validate(object: JsonObject): Promise<{ allowed: boolean; message: string; warnings: string[] }> {
  const answer = await httpsRequest({ port: ports.port, ca, path: '/validate', body: JSON.stringify(admissionReview(object)) });
  expect(answer.status).toBe(200);
  const response = answer.json().response as { allowed: boolean; status?: { message: string }; warnings?: string[] };
  return { allowed: response.allowed, message: response.status?.message ?? '', warnings: response.warnings ?? [] };
}

async function metrics(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${ports.healthPort}/metrics`)).text();
}

/** Replaces the exception file in one step, as a ConfigMap update swaps its files (a reload never reads half a file). */
function replaceException(text: string): void {
  const staged = path.join(dir, 'staged.yaml');
  writeFileSync(staged, text);
  renameSync(staged, path.join(libDir, 'exceptions', 'acme.yaml'));
}

const logged = (pattern: RegExp): boolean => log.records().some((r) => typeof r['msg'] === 'string' && pattern.test(r['msg']));

describe('exceptions in admission', () => {
  it('admits the named object with a warning naming the owner while the exception is valid; another tenant stays denied', async () => {
    const acme = await validate(sessionsIn('tenant-acme'));
    expect(acme.allowed).toBe(true);
    expect(acme.warnings).toContain(`exception acme-sessions-no-tls, owner dba@acme.example, until ${day(expiresMs)}: waives tls.tls-enabled`);

    const globex = await validate(sessionsIn('tenant-globex'));
    expect(globex.allowed).toBe(false);
    expect(globex.message).toContain('tls.tls-enabled: TLS is off');
    expect(globex.warnings.join('\n')).not.toContain('acme-sessions-no-tls');

    const text = await metrics();
    expect(text).toContain(`redline_exception_expiry_timestamp_seconds{exception="acme-sessions-no-tls"} ${expiresMs / 1000}`);
    expect(text).toContain('redline_exceptions{state="active"} 1');
    expect(text).toMatch(/redline_policy_results_total\{policy="tls",rule="tls-enabled",result="skip"\} [1-9]/);
    expect(logged(/^exception acme-sessions-no-tls \(owner dba@acme\.example\) in effect until /)).toBe(true);
  });

  it('warns in the last 14 days, logs it once, and counts it as expiring', async () => {
    now = expiresMs - 3 * DAY + 60_000;
    const acme = await validate(sessionsIn('tenant-acme'));
    expect(acme.allowed).toBe(true);
    expect(acme.warnings).toContain(`exception acme-sessions-no-tls, owner dba@acme.example, expires in 3 days (${day(expiresMs)}): waives tls.tls-enabled`);
    expect(await metrics()).toContain('redline_exceptions{state="expiring"} 1');
    await waitFor(() => logged(/^exception acme-sessions-no-tls \(owner dba@acme\.example\) expires in 3 day\(s\)/));
  });

  it('denies again from the expiry on, naming the expired exception in a warning and in the log', async () => {
    now = expiresMs;
    const acme = await validate(sessionsIn('tenant-acme'));
    expect(acme.allowed).toBe(false);
    expect(acme.message).toContain('tls.tls-enabled: TLS is off');
    expect(acme.warnings).toContain(`exception acme-sessions-no-tls, owner dba@acme.example, expired ${day(expiresMs)}: tls.tls-enabled applies again`);
    const text = await metrics();
    expect(text).toContain('redline_exceptions{state="expired"} 1');
    expect(text).toContain('redline_exceptions{state="active"} 0');
    await waitFor(() => log.records().some((r) => r['level'] === 40 && r['exception'] === 'acme-sessions-no-tls'
      && r['msg'] === `exception acme-sessions-no-tls (owner dba@acme.example) expired ${day(expiresMs)}: ignored; remove it from the library or renew it`));
  });

  it('hot-reloads a renewed exception from the library directory', async () => {
    const renewed = expiresMs + 20 * DAY;
    replaceException(exceptionYaml(day(expiresMs - DAY), day(renewed)));
    await waitFor(() => logged(/^policies reloaded: \d+ policies, \d+ plans, 1 exceptions$/));
    const acme = await validate(sessionsIn('tenant-acme'));
    expect(acme.allowed).toBe(true);
    expect(acme.warnings).toContain(`exception acme-sessions-no-tls, owner dba@acme.example, until ${day(renewed)}: waives tls.tls-enabled`);
    expect(await metrics()).toContain(`redline_exception_expiry_timestamp_seconds{exception="acme-sessions-no-tls"} ${renewed / 1000}`);
  });

  it('refuses a reloaded exception longer than the library allows and keeps the one in service', async () => {
    replaceException(exceptionYaml(day(expiresMs), day(expiresMs + 120 * DAY)));
    await waitFor(() => logged(/changed policies are invalid/));
    const rejected = log.records().find((r) => r['msg'] === 'changed policies are invalid; keeping the ones in service');
    expect(String(rejected?.['reason'])).toMatch(/exceptions\/acme\.yaml:9:12: spec\.expires: 120 days after approved .*at most 90/);
    expect((await validate(sessionsIn('tenant-acme'))).allowed).toBe(true);
  });
});
