// `redline controller`: the process that runs the tenant namespace controller and the webhook's
// certificate manager. It owns the wiring: settings → plans → KubeConfig → one API client (token
// bucket; write gate = the Lease) → leader election → the TenantController and the CertManager,
// started as siblings on that client, and its own health/metrics port. Runs until SIGTERM/SIGINT;
// on the way out: in-flight reconciles finish, the certificate check finishes, the lease is given
// up (the standby takes over at once), then the watches stop.
//
// Exit codes: 0 clean shutdown; 1 runtime failure (plans, kubeconfig, port); 2 bad usage or
// configuration (a 'usage' RedlineError for flags; every bad setting listed with its path).

import type { Writable } from 'node:stream';
import { pino } from 'pino';
import { ControllerLogKey, TenantController, type TenantControllerOptions } from '../bootstrap/controller.js';
import { ControllerLedger } from '../bootstrap/ledger-view.js';
import { ControllerHealthServer } from '../bootstrap/health.js';
import { createCertManager } from '../certs/create.js';
import type { CertManager } from '../certs/manager.js';
import { KubeApi } from '../kube/api-client.js';
import { defaultIdentity, kubeLeaseClient, LeaderElector } from '../kube/lease.js';
import { TokenBucket } from '../kube/token-bucket.js';
import { ControllerMetrics } from '../bootstrap/metrics.js';
import { CONTROLLER_SPEC, type ControllerSettings } from '../core/settings/controller.js';
import { describeSettings, loadSettings } from '../core/settings/load.js';
import { formatProblems } from '../core/settings/spec.js';
import { describeClusterAccess, loadKubeConfig, resolveClusterAccess } from '../kube/kubeconfig.js';
import { defaultLibraryDir, loadLibrary } from '../policies/engine/index.js';
import { RedlineError } from '../core/errors.js';
import { AUDIT_TIME_BUDGET_MS, type AuditLibrary } from '../bootstrap/audit/index.js';
import { PolicyReloader } from '../webhook/policy-reloader.js';

export const CONTROLLER_USAGE = `usage: redline controller [--config FILE] [--kubeconfig FILE] [--policies DIR] [more flags below]

Stamps every namespace labelled redline.dev/tenant=<id> and redline.dev/plan=<plan> with RBAC,
NetworkPolicies, a ResourceQuota and LimitRange sized by the plan, a cert-manager CA Issuer and
Pod Security labels, and keeps them that way; keeps a Role granting the tenant read access to
exactly the Secrets its Redis objects and Certificates use and the ones it created. Offboarding
(tenant label removed) ends the tenant's access first. Health, readiness (informers synced; leader
or standby: not ready while the Lease cannot be read or written) and metrics on the health port.

Settings (precedence: flag > environment > config file "controller:" section > default):
  --config FILE  (env REDLINE_CONFIG)
${describeSettings(CONTROLLER_SPEC).join('\n')}
`;

export interface ControllerIo {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stderr?: Pick<Writable, 'write'>;
  stdout?: Pick<Writable, 'write'>;
  logDestination?: pino.DestinationStream;
  signals?: NodeJS.EventEmitter;
  onListening?: (info: { healthPort: number; identity: string }) => void;
}

export async function runController(argv: string[], io: ControllerIo = {}): Promise<number> {
  const stderr = io.stderr ?? process.stderr;
  const stdout = io.stdout ?? process.stdout;
  const env = io.env ?? process.env;
  const say = (line: string): void => void stderr.write(`${line}\n`);

  const args = loadSettings<ControllerSettings>(CONTROLLER_SPEC, { argv, env, cwd: io.cwd ?? process.cwd() });
  if (args.help) {
    stdout.write(CONTROLLER_USAGE);
    return 0;
  }
  if (args.usage.length || args.positional.length) {
    throw new RedlineError('usage',
      [...args.usage.map((u) => u.message), ...args.positional.map((p) => `unexpected argument ${JSON.stringify(p)}`)].join('\n') + '\n\nsee redline controller --help',
    );
  }
  if (!args.settings) {
    say(`redline controller: invalid configuration:\n${formatProblems(args.problems)}`);
    return 2;
  }
  const settings = args.settings as ControllerSettings; // frozen: nothing writes it

  const policiesDir = settings.policiesDir ?? defaultLibraryDir();
  let plans;
  try {
    plans = (await loadLibrary(policiesDir)).plans;
  } catch (e) {
    say(`redline controller: cannot load plans from ${policiesDir}:\n${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  if (plans.size === 0) {
    say(`redline controller: no plans in ${policiesDir}`);
    return 1;
  }

  const access = resolveClusterAccess({ kubeconfig: settings.kubeconfig, env });
  if (!access) {
    say('redline controller: no cluster: pass --kubeconfig FILE, set KUBECONFIG, or run in a cluster');
    return 2;
  }
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig(access);
  } catch (e) {
    say(`redline controller: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }

  const log = pino(
    { level: settings.logLevel, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    io.logDestination ?? pino.destination({ fd: 1, sync: true }),
  );
  const metrics = new ControllerMetrics({ defaultMetrics: true });
  const identity = settings.leaderElection.identity ?? defaultIdentity();
  const component = (name: string) => log.child({ [ControllerLogKey.component]: name });

  // One API client for everything this process does: one token bucket, one write gate (the Lease).
  const limiter = new TokenBucket({ qps: settings.qps, burst: settings.burst });
  metrics.limiterWaitMs = () => limiter.stats.waitedMs;
  let elector: LeaderElector | undefined;
  const isLeader = (): boolean => (elector ? elector.isLeader() : true);
  let api: KubeApi;
  try {
    api = await KubeApi.create({
      kubeConfig,
      limiter,
      observe: (verb, code, ms) => {
        metrics.apiRequests.inc({ verb, code });
        if (verb !== 'watch') metrics.apiDuration.observe({ verb }, ms / 1000);
      },
      writeGate: () => (elector ? elector.writeGate() : null),
    });
  } catch (e) {
    say(`redline controller: cannot start: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  // The background audit judges with serve's hot-reloaded library (a change audits everything again).
  let auditLibrary: AuditLibrary | undefined;
  if (settings.audit.enabled) {
    const reloader = new PolicyReloader({ dir: settings.policiesDir ?? defaultLibraryDir(), timeBudgetMs: AUDIT_TIME_BUDGET_MS });
    try {
      await reloader.load();
    } catch (e) {
      say(`redline controller: cannot start: ${e instanceof Error ? e.message : String(e)}`);
      api.close();
      return 1;
    }
    reloader.start();
    auditLibrary = reloader;
  }
  const ledger: TenantControllerOptions['ledger'] = (changes) =>
    new ControllerLedger({
      kubeConfig,
      resyncMs: settings.resyncMs,
      plans: () => plans,
      logger: component('ledger'),
      onError: () => metrics.informerRestarts.inc({ resource: 'ledger' }),
      ...changes,
    });
  const controller = new TenantController({ settings, api, plans, identity, isLeader, logger: component('controller'), metrics, ledger, ...(auditLibrary ? { auditLibrary } : {}) });
  // The webhook's certificate: rotated and injected by the leader only (writes pass the same gate).
  let certs: CertManager | undefined;
  try {
    if (settings.certs.enabled) certs = createCertManager({ api, settings: settings.certs, registry: metrics.registry, logger: component('certs') });
  } catch (e) {
    say(`redline controller: cannot start: ${e instanceof Error ? e.message : String(e)}`);
    api.close();
    return 1;
  }
  if (settings.leaderElection.enabled) {
    const le = settings.leaderElection;
    elector = new LeaderElector({
      client: kubeLeaseClient(api, le.namespace, le.name, Math.max(500, le.renewDeadlineMs - le.retryPeriodMs)),
      onError: (err) => metrics.leaseErrors.inc({ reason: err.reason }),
      namespace: le.namespace,
      name: le.name,
      identity,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      logger: component('leader-election'),
      onStartedLeading: () => {
        metrics.isLeader.set(1);
        controller.enqueueAll();
        void certs?.tick(); // a new leader checks the certificate at once, not at the next poll
      },
      onStoppedLeading: () => metrics.isLeader.set(0),
      onNewLeader: (holder) => log.info({ [ControllerLogKey.holder]: holder }, 'lease holder'),
    });
  }

  let stopping = false;
  const health = new ControllerHealthServer({
    registry: metrics.registry,
    readiness: () => {
      const lease = elector?.readiness() ?? { ok: true, detail: 'disabled: always writing' };
      return [controller.readiness(), { name: 'leader-election', ok: !stopping && lease.ok, detail: stopping ? 'shutting down' : lease.detail }];
    },
  });
  let healthPort: number;
  try {
    healthPort = (await health.listen(settings.healthPort, settings.address || undefined)).port;
  } catch (e) {
    say(`redline controller: cannot listen on health port ${settings.healthPort}: ${e instanceof Error ? e.message : String(e)}`);
    api.close();
    return 1;
  }
  try {
    certs?.start({ isLeader });
    await controller.start();
  } catch (e) {
    say(`redline controller: cannot start: ${e instanceof Error ? e.message : String(e)}`);
    await certs?.stop();
    await controller.stop();
    limiter.close();
    api.close();
    await health.close();
    return 1;
  }
  if (elector) elector.start();
  else metrics.isLeader.set(1);
  log.info(
    {
      [ControllerLogKey.component]: 'controller',
      [ControllerLogKey.address]: `${settings.address || '*'}:${healthPort}`,
      [ControllerLogKey.holder]: identity,
      [ControllerLogKey.reason]: describeClusterAccess(access),
    },
    `controller started: ${plans.size} plans from ${policiesDir}`,
  );

  const shutdown = async (): Promise<void> => {
    stopping = true;
    await controller.drain();
    await certs?.stop();
    await elector?.stop(true);
    metrics.isLeader.set(0);
    limiter.close(); // releases informers waiting for a token
    await controller.stop();
    api.close();
  };

  const signals = io.signals ?? process;
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const code = await new Promise<number>((resolve) => {
    let stopping = false;
    onSignal = (signal) => {
      if (stopping) {
        if (signal === 'SIGINT') resolve(1);
        return;
      }
      stopping = true;
      log.info({ [ControllerLogKey.component]: 'controller', [ControllerLogKey.reason]: signal }, 'shutting down');
      void shutdown().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    signals.on('SIGTERM', onSignal);
    signals.on('SIGINT', onSignal);
    io.onListening?.({ healthPort, identity });
  });
  signals.off('SIGTERM', onSignal);
  signals.off('SIGINT', onSignal);
  await health.close();
  log.flush?.();
  return code;
}

/** Entry for `node -e "import('./dist/cli/controller.js').then(m => m.main(process.argv.slice(1)))"`. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await runController(argv);
  } catch (e) {
    process.stderr.write(`redline: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
}
