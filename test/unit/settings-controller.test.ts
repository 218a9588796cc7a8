import { describe, expect, it } from 'vitest';
import { CONTROLLER_SETTINGS, CONTROLLER_SPEC, defaultControllerSettings, resolveControllerSettings, validateControllerSettings } from '../../core/settings/controller.js';
import { loadSettings, type LoadInput } from '../../core/settings/load.js';

const loadControllerArgs = (input: LoadInput) => loadSettings(CONTROLLER_SPEC, input);

describe('controller settings', () => {
  it('defaults are valid and frozen', () => {
    const s = defaultControllerSettings();
    expect(s).toMatchObject({
      healthPort: 8081,
      workers: 4,
      resyncMs: 300_000,
      qps: 20,
      burst: 40,
      offboarding: 'delete',
      tenantSubjects: [{ kind: 'Group', name: 'redline:tenant:{tenant}' }],
      certManager: { enabled: true, clusterIssuer: 'redline-platform-ca' },
      network: { operatorNamespaces: ['kubedb'], monitoringNamespaces: ['monitoring'], dnsNamespace: 'kube-system', dnsPodLabels: { 'k8s-app': 'kube-dns' } },
      leaderElection: { enabled: true, namespace: 'redline-system', name: 'redline-controller', identity: null, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
    });
    expect(Object.isFrozen(s.leaderElection)).toBe(true);
    expect(validateControllerSettings({}).problems).toEqual([]);
    expect(validateControllerSettings(undefined).problems).toEqual([]);
  });

  it('reports every bad field with its path, all at once', () => {
    const { settings, problems } = validateControllerSettings({
      workers: 0,
      qps: 'fast',
      burst: 1.5,
      healthPort: 70000,
      offboarding: 'shred',
      logLevel: 'loud',
      tenantSubjects: [{ kind: 'Team', name: 'x' }],
      certManager: { enabled: 'maybe', clusterIssuer: 'Not_A_Name' },
      network: { operatorNamespaces: 'kubedb', monitoringNamespaces: ['ok', 'Bad!'], dnsPodLabels: {} },
      leaderElection: { leaseDurationMs: 5_000, renewDeadlineMs: 6_000 },
      retry: { initialMs: 100, maxMs: 50 },
      typo: 1,
      leaderElection2: {},
    });
    expect(settings).toBeNull();
    const paths = problems.map((p) => p.path).sort();
    expect(paths).toEqual(
      [
        'controller.burst',
        'controller.certManager.clusterIssuer',
        'controller.certManager.enabled',
        'controller.healthPort',
        'controller.leaderElection.renewDeadlineMs',
        'controller.leaderElection2',
        'controller.logLevel',
        'controller.network.dnsPodLabels',
        'controller.network.monitoringNamespaces',
        'controller.network.operatorNamespaces',
        'controller.offboarding',
        'controller.qps',
        'controller.retry.initialMs',
        'controller.tenantSubjects',
        'controller.typo',
        'controller.workers',
      ].sort(),
    );
    const cross = validateControllerSettings({ leaderElection: { leaseDurationMs: 5_000, renewDeadlineMs: 6_000, retryPeriodMs: 7_000 }, retry: { initialMs: 100, maxMs: 50 } });
    expect(cross.problems.map((p) => p.path).sort()).toEqual([
      'controller.leaderElection.renewDeadlineMs',
      'controller.leaderElection.retryPeriodMs',
      'controller.retry.initialMs',
    ]);
    expect(cross.problems.find((p) => p.path.endsWith('renewDeadlineMs'))!.message).toMatch(/less than leaderElection.leaseDurationMs/);
    expect(problems.find((p) => p.path === 'controller.workers')!.message).toMatch(/integer 1-64, got 0 \(from file config\)/);
  });

  it('ServiceAccount subjects need a namespace; unknown subject fields are rejected', () => {
    expect(validateControllerSettings({ tenantSubjects: [{ kind: 'ServiceAccount', name: 'ci' }] }).problems[0]!.message).toMatch(/namespace is required/);
    expect(validateControllerSettings({ tenantSubjects: [{ kind: 'Group', name: 'g', apiGroup: 'x' }] }).problems[0]!.message).toMatch(/unknown field apiGroup/);
    expect(validateControllerSettings({ tenantSubjects: [] }).problems[0]!.path).toBe('controller.tenantSubjects');
  });

  it('precedence: default < file < env < flag; env parses lists, labels, JSON subjects', () => {
    const r = resolveControllerSettings({
      file: { qps: 5, workers: 2, network: { operatorNamespaces: ['a'] } },
      env: {
        REDLINE_CONTROLLER_QPS: '7.5',
        REDLINE_CONTROLLER_OPERATOR_NAMESPACES: 'kubedb, ot-operators',
        REDLINE_CONTROLLER_DNS_POD_LABELS: 'k8s-app=coredns,tier=dns',
        REDLINE_CONTROLLER_TENANT_SUBJECTS: '[{"kind":"User","name":"{tenant}@example.com"}]',
        REDLINE_CONTROLLER_LEADER_ELECT: 'false',
      },
      flags: new Map([['qps', { value: '9', flag: '--qps' }]]),
      cwd: '/tmp',
    });
    expect(r.problems).toEqual([]);
    expect(r.settings).toMatchObject({
      qps: 9,
      workers: 2,
      network: { operatorNamespaces: ['kubedb', 'ot-operators'], dnsPodLabels: { 'k8s-app': 'coredns', tier: 'dns' } },
      tenantSubjects: [{ kind: 'User', name: '{tenant}@example.com' }],
      leaderElection: { enabled: false },
    });
    const bad = resolveControllerSettings({ env: { REDLINE_CONTROLLER_WORKERS: 'many' } });
    expect(bad.problems).toEqual([{ path: 'controller.workers', message: 'must be an integer 1-64, got "many" (from env REDLINE_CONTROLLER_WORKERS)' }]);
  });

  it('network.apiServerCidrs/apiServerPorts: addresses become CIDRs, a bad entry is named, env takes comma lists', () => {
    const ok = validateControllerSettings({ network: { apiServerCidrs: ['10.0.0.10', '172.18.0.0/16', 'fd00::1', '10.0.0.10/32'], apiServerPorts: [6443, '443', 6443] } });
    expect(ok.problems).toEqual([]);
    expect(ok.settings!.network.apiServerCidrs).toEqual(['10.0.0.10/32', '172.18.0.0/16', 'fd00::1/128']);
    expect(ok.settings!.network.apiServerPorts).toEqual([443, 6443]);
    expect(defaultControllerSettings().network).toMatchObject({ apiServerCidrs: [], apiServerPorts: [443, 6443] });

    for (const bad of [['10.0.0.300/32'], ['10.0.0.0/33'], ['fd00::/129'], ['kubernetes.default'], ['10.0.0.1/'], [''], 'not-a-list']) {
      const r = validateControllerSettings({ network: { apiServerCidrs: bad } });
      expect(r.settings, JSON.stringify(bad)).toBeNull();
      expect(r.problems.map((p) => p.path)).toEqual(['controller.network.apiServerCidrs']);
    }
    expect(validateControllerSettings({ network: { apiServerCidrs: ['10.0.0.1', '10.0.0.300'] } }).problems[0]!.message).toMatch(/\[1\] "10\.0\.0\.300" is not an IPv4 or IPv6 CIDR/);
    for (const bad of [[], [0], [65536], ['https'], [1.5]]) {
      expect(validateControllerSettings({ network: { apiServerPorts: bad } }).problems.map((p) => p.path), JSON.stringify(bad)).toEqual(['controller.network.apiServerPorts']);
    }

    const env = resolveControllerSettings({ env: { REDLINE_CONTROLLER_API_SERVER_CIDRS: '10.96.0.1, 192.168.49.2/32', REDLINE_CONTROLLER_API_SERVER_PORTS: '8443' } });
    expect(env.problems).toEqual([]);
    expect(env.settings!.network).toMatchObject({ apiServerCidrs: ['10.96.0.1/32', '192.168.49.2/32'], apiServerPorts: [8443] });
  });

  it('every setting has a doc and an env variable; flags are unique', () => {
    for (const s of CONTROLLER_SETTINGS) {
      expect(s.doc.length, s.path).toBeGreaterThan(10);
      expect(s.env, s.path).toMatch(/^REDLINE_CONTROLLER_/);
    }
    const flags = CONTROLLER_SETTINGS.filter((s) => s.flag).map((s) => s.flag);
    expect(new Set(flags).size).toBe(flags.length);
  });

  it('argv + config file: flags, --no-bool, relative paths against the file, usage errors kept apart', () => {
    const files: Record<string, string> = {
      '/etc/redline/config.yaml': 'serve:\n  port: 1\ncontroller:\n  policiesDir: ./lib\n  workers: 3\n',
    };
    const args = loadControllerArgs({
      argv: ['--config', '/etc/redline/config.yaml', '--kubeconfig=kc.yaml', '--no-leader-elect', '--health-port', '0'],
      env: {},
      cwd: '/work',
      readFile: (f) => {
        const t = files[f];
        if (t === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
        return t;
      },
    });
    expect(args.usage.map((u) => u.message)).toEqual([]);
    expect(args.problems).toEqual([]);
    expect(args.settings).toMatchObject({ policiesDir: '/etc/redline/lib', workers: 3, kubeconfig: '/work/kc.yaml', healthPort: 0, leaderElection: { enabled: false } });

    const bad = loadControllerArgs({ argv: ['--bogus', '--qps', '--workers', 'x', '--config', 'missing.yaml'], env: {}, cwd: '/', readFile: () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }); } });
    expect(bad.usage.map((u) => u.message)).toEqual(['unknown flag --bogus', 'flag --qps needs a value']);
    expect(bad.problems.map((p) => p.path)).toEqual(['config', 'controller.workers']);
    expect(bad.settings).toBeNull();
  });
});
