// Configuration: defaults → file → environment → flags; every bad field with its path and origin,
// all at once; the result deep-frozen.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServeSettings, SERVE_USAGE, serveConfigError } from '../../cli/serve.js';
import { RedlineError } from '../../core/errors.js';
import type { LoadInput } from '../../core/settings/load.js';
import { MIB, SERVE_SETTINGS as SETTINGS } from '../../core/settings/serve.js';

type LoadConfigInput = LoadInput;
const usage = (): string => SERVE_USAGE;

const CWD = '/work/app';

function loadAll(input: Partial<LoadConfigInput> & { files?: Record<string, string> }) {
  const files = input.files ?? {};
  return loadServeSettings({
    argv: input.argv ?? [],
    env: input.env ?? {},
    cwd: CWD,
    readFile: (f) => {
      if (files[f] === undefined) throw Object.assign(new Error(`ENOENT: ${f}`), { code: 'ENOENT' });
      return files[f]!;
    },
  });
}

/** serve's settings, the file's controller section (serve keeps it as-is) and the file read. */
function load(input: Partial<LoadConfigInput> & { files?: Record<string, string> }) {
  const loaded = loadAll(input);
  expect(serveConfigError(loaded)).toBeNull();
  return { serve: loaded.settings!, controller: loaded.sections['controller'] ?? {}, configFile: loaded.configFile };
}

function problems(input: Partial<LoadConfigInput> & { files?: Record<string, string> }): string[] {
  const loaded = loadAll(input);
  expect(loaded.settings).toBeNull();
  const e = serveConfigError(loaded);
  expect(e).toBeInstanceOf(RedlineError);
  expect(e!.code).toBe('config-invalid');
  return [...e!.problems];
}

describe('defaults', () => {
  it('has the documented defaults (with --dev, which needs no certificate files)', () => {
    const c = load({ argv: ['--dev'] });
    expect(c.serve).toEqual({
      port: 8443,
      healthPort: 8080,
      address: '',
      dev: true,
      devCertDir: path.resolve(CWD, '.redline/dev'),
      tls: { certFile: null, keyFile: null, caFile: null, secretDir: null },
      policiesDir: null,
      namespacesFile: null,
      kubeconfig: null,
      bodyLimitBytes: 6 * MIB,
      requestTimeBudgetMs: 250,
      requestTimeoutMs: 10_000,
      shutdownGraceMs: 25_000,
      admins: { users: [], groups: ['system:masters'], serviceAccounts: [] },
      controllerServiceAccount: 'system:serviceaccount:redline-system:redline-controller',
      logLevel: 'info',
      certReloadIntervalMs: 10_000,
      policyReloadIntervalMs: 10_000,
      namespaceResyncMs: 600_000,
      ledger: { enabled: true, namespace: 'redline-ledger', reservationTtlMs: 60_000 },
    });
    expect(c.controller).toEqual({});
    expect(c.configFile).toBeNull();
  });

  it('documents every setting with an env variable (and most with a flag) in --help', () => {
    const text = usage();
    for (const s of SETTINGS) {
      expect(s.env, s.path).toMatch(/^REDLINE_[A-Z_]+$/);
      expect(text).toContain(s.env!);
      if (s.flag) expect(text).toContain(s.flag);
    }
    expect(new Set(SETTINGS.map((s) => s.env)).size).toBe(SETTINGS.length);
  });
});

describe('layering', () => {
  const file = `serve:
  port: 9443
  healthPort: 9080
  logLevel: debug
  policiesDir: ./policies
  tls:
    secretDir: certs
  admins:
    users: [root-admin]
    groups: [platform]
controller:
  leaseName: redline
`;

  it('applies file, then environment, then flags, resolving file paths against the file', () => {
    const c = load({
      argv: ['--config', 'etc/redline.yaml', '--port', '10443', '--admin-user', 'a', '--admin-user', 'b,c'],
      env: { REDLINE_PORT: '9999', REDLINE_HEALTH_PORT: '9181', REDLINE_NAMESPACES_FILE: 'ns.yaml' },
      files: { [path.resolve(CWD, 'etc/redline.yaml')]: file },
    });
    expect(c.serve.port).toBe(10443); // flag beats env beats file
    expect(c.serve.healthPort).toBe(9181); // env beats file
    expect(c.serve.logLevel).toBe('debug'); // file beats default
    expect(c.serve.policiesDir).toBe(path.resolve(CWD, 'etc/policies'));
    expect(c.serve.tls.secretDir).toBe(path.resolve(CWD, 'etc/certs'));
    expect(c.serve.namespacesFile).toBe(path.resolve(CWD, 'ns.yaml'));
    expect(c.serve.admins.users).toEqual(['a', 'b', 'c']); // flags replace, repeated flags add up
    expect(c.serve.admins.groups).toEqual(['platform']);
    expect(c.controller).toEqual({ leaseName: 'redline' });
    expect(c.configFile).toBe(path.resolve(CWD, 'etc/redline.yaml'));
  });

  it('finds the file through REDLINE_CONFIG', () => {
    const c = load({ env: { REDLINE_CONFIG: '/etc/redline.yaml' }, files: { '/etc/redline.yaml': file } });
    expect(c.serve.port).toBe(9443);
  });

  it('parses booleans, lists, sizes and service accounts from text', () => {
    const c = load({
      argv: ['--tls-cert-file', 'c.pem', '--tls-key-file=k.pem', '--no-dev'],
      env: {
        REDLINE_DEV: 'yes',
        REDLINE_BODY_LIMIT_BYTES: '8Mi',
        REDLINE_ADMIN_GROUPS: ' ops , sre ',
        REDLINE_CONTROLLER_SERVICE_ACCOUNT: 'platform/redline',
        REDLINE_LOG_LEVEL: 'WARN',
      },
    });
    expect(c.serve.dev).toBe(false);
    expect(c.serve.bodyLimitBytes).toBe(8 * MIB);
    expect(c.serve.admins.groups).toEqual(['ops', 'sre']);
    expect(c.serve.controllerServiceAccount).toBe('system:serviceaccount:platform:redline');
    expect(c.serve.logLevel).toBe('warn');
    expect(c.serve.tls.certFile).toBe(path.resolve(CWD, 'c.pem'));
  });

  it('freezes the whole tree', () => {
    const loaded = loadAll({ argv: ['--dev'], files: {} });
    const c = { serve: loaded.settings! };
    expect(Object.isFrozen(loaded.settings)).toBe(true);
    expect(Object.isFrozen(c.serve.admins.users)).toBe(true);
    expect(Object.isFrozen(loaded.sections)).toBe(true);
    expect(() => {
      (c.serve as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => (c.serve.admins.users as string[]).push('x')).toThrow(TypeError);
  });
});

describe('problems: every one, with path and origin', () => {
  it('reports all bad fields at once', () => {
    const p = problems({
      argv: ['--config', 'c.yaml', '--health-port', '70000', '--bogus', '--admin-group'],
      env: { REDLINE_PORT: 'https', REDLINE_DEV: 'maybe', REDLINE_BODY_LIMIT_BYTES: '3Mi' },
      files: {
        [path.resolve(CWD, 'c.yaml')]: `serve:
  prot: 1
  requestTimeoutMs: fast
  admins:
    users: admin
  tls: {certFile: 5}
metrics: {}
`,
      },
    });
    expect(p).toEqual(
      expect.arrayContaining([
        'serve.port: must be an integer 0-65535, got "https" (from env REDLINE_PORT)',
        'serve.healthPort: must be an integer 0-65535, got "70000" (from flag --health-port)',
        'serve.dev: must be true or false, got "maybe" (from env REDLINE_DEV)',
        expect.stringMatching(/^serve\.bodyLimitBytes: must be a byte count above 3145728 \(3 MiB\).*got "3Mi" \(from env REDLINE_BODY_LIMIT_BYTES\)$/),
        'serve.prot: unknown field (from file c.yaml); did you mean port?',
        'serve.requestTimeoutMs: must be an integer 100-120000, got "fast" (from file c.yaml)',
        'serve.admins.users: must be a list of non-empty strings, got "admin" (from file c.yaml)',
        'serve.tls.certFile: must be a file or directory path, got 5 (from file c.yaml)',
        'metrics: unknown section (from file c.yaml); known: serve, controller',
        'flag --bogus: unknown (see --help)',
        'flag --admin-group: needs a value',
      ]),
    );
    expect(p).toHaveLength(11);
  });

  it('hints at Kubernetes service links for REDLINE_PORT=tcp://…', () => {
    const p = problems({ argv: ['--dev'], env: { REDLINE_PORT: 'tcp://10.96.0.12:443' } });
    expect(p).toEqual([
      'serve.port: must be an integer 0-65535, got "tcp://10.96.0.12:443" (from env REDLINE_PORT; this looks like a Kubernetes service-link variable: set enableServiceLinks: false on the pod)',
    ]);
  });

  it('the ledger: a reservation lifetime out of range and a ledger that cannot be turned off by a typo are named', () => {
    const p = problems({ argv: ['--dev', '--ledger-reservation-ttl-ms', '10'], env: { REDLINE_LEDGER: 'maybe' } });
    expect(p).toHaveLength(2);
    expect(p.find((x) => x.startsWith('serve.ledger.reservationTtlMs:'))).toContain('--ledger-reservation-ttl-ms');
    expect(p.find((x) => x.startsWith('serve.ledger.enabled:'))).toContain('REDLINE_LEDGER');
    const off = load({ argv: ['--dev', '--no-ledger', '--ledger-namespace', 'ledgers'], env: {} }).serve.ledger;
    expect(off).toEqual({ enabled: false, namespace: 'ledgers', reservationTtlMs: 60_000 });
  });

  it('checks the TLS settings together', () => {
    expect(problems({})).toEqual(['serve.tls: a serving certificate is required: set certFile + keyFile, or secretDir, or use --dev']);
    expect(problems({ env: { REDLINE_TLS_CERT_FILE: 'c' } })).toEqual(['serve.tls.keyFile: required together with serve.tls.certFile (from env REDLINE_TLS_CERT_FILE)']);
    expect(problems({ argv: ['--tls-secret-dir', 's', '--tls-cert-file', 'c', '--tls-key-file', 'k'] })).toEqual([
      'serve.tls.secretDir: set either secretDir or certFile+keyFile, not both (from flag --tls-secret-dir)',
    ]);
    expect(problems({ argv: ['--tls-secret-dir', 's', '--dev'] })).toEqual(['serve.dev: generates its own certificate; remove serve.tls settings or dev (from flag --dev)']);
    expect(problems({ argv: ['--dev', '--port', '8080'] })).toEqual(['serve.healthPort: must differ from serve.port (8080) (default)']);
  });

  it('reports an unreadable or malformed file with its position', () => {
    expect(problems({ argv: ['--config', 'missing.yaml'] })).toEqual(expect.arrayContaining(['config: cannot read missing.yaml: ENOENT']));
    const p = problems({ argv: ['--config', 'bad.yaml', '--dev'], files: { [path.resolve(CWD, 'bad.yaml')]: 'serve:\n  port: [1\n' } });
    expect(p[0]).toMatch(/^config: bad\.yaml:\d+:\d+: /);
    expect(problems({ argv: ['--config', 'list.yaml', '--dev'], files: { [path.resolve(CWD, 'list.yaml')]: '- 1\n' } })).toEqual([
      'config: list.yaml must be a mapping with sections serve, controller',
    ]);
  });

  it('rejects stray arguments and bad service accounts', () => {
    expect(problems({ argv: ['--dev', 'extra', '--controller-service-account', 'Not Valid'] })).toEqual([
      'argument "extra": unexpected; serve takes only --flags',
      'serve.controllerServiceAccount: must be namespace/name or system:serviceaccount:<namespace>:<name>, got "Not Valid" (from flag --controller-service-account)',
    ]);
  });
});
