// `redline serve`: the admission webhook. Wires config → policies → certificate → namespace source →
// HTTPS webhook + HTTP health surface, then waits for SIGTERM/SIGINT and drains.
//
// Exit codes: 0 clean shutdown; 1 runtime failure (policies, certificate, ports, shutdown deadline
// hit); 2 bad configuration.

import path from 'node:path';
import type { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { Gauge } from 'prom-client';
import { systemClock, type Clock } from '../certs/clock.js';
import { RedlineError } from '../core/errors.js';
import { ensureDevCertificates } from '../certs/dev.js';
import { registerCertificateExpiry } from '../certs/metrics.js';
import { describeClusterAccess, loadKubeConfig, resolveClusterAccess } from '../kube/kubeconfig.js';
import type { ClusterFacts } from '../kube/cluster-facts-source.js';
import { ObjectReader } from '../kube/object-reader.js';
import { ClusterPdbSource } from '../kube/pdb-source.js';
import { ClusterStorageClassSource } from '../kube/storage-class-source.js';
import { ClusterTenantSource } from '../kube/tenant-source.js';
import {
  ClusterNamespaceSource,
  FileNamespaceSource,
  StaticNamespaceSource,
  type NamespaceSource,
} from '../kube/namespaces.js';
import { defaultLibraryDir } from '../policies/engine/index.js';
import type { AdmissionContext } from '../webhook/admission.js';
import { PolicyReloader } from '../webhook/policy-reloader.js';
import { CertReloader, type CertPaths } from '../webhook/cert-reloader.js';
import { createHealthApp, HealthServer, type ReadinessCheck } from '../webhook/health.js';
import { LabelGuard } from '../webhook/label-guard.js';
import { bufferedDestination } from '../webhook/log-destination.js';
import { isoTime, LogKey } from '../webhook/log-keys.js';
import { WebhookMetrics } from '../webhook/metrics.js';
import { WebhookServer } from '../webhook/server.js';
import { createServeLedger, type ServeLedger } from '../webhook/ledger-wiring.js';
import { CONFIG_ENV, CONFIG_FLAG, describeSettings, loadSettings, type Loaded, type LoadInput } from '../core/settings/load.js';
import { SERVE_SPEC, type ServeSettings } from '../core/settings/serve.js';

/** Longest a buffered log line waits before it is written. */
const LOG_FLUSH_MS = 1000;

export interface ServeIo {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Human-facing messages (config problems, the dev CA hint). Default process.stderr. */
  stderr?: Pick<Writable, 'write'>;
  /** Usage text. Default process.stdout. */
  stdout?: Pick<Writable, 'write'>;
  /** JSON logs. Default: stdout (fd 1). */
  logDestination?: pino.DestinationStream;
  /** Where SIGTERM/SIGINT arrive. Default process. */
  signals?: NodeJS.EventEmitter;
  clock?: Clock;
  /** Called once both servers listen (tests use it to learn the ports). */
  onListening?: (info: { port: number; healthPort: number }) => void;
}

export const SERVE_USAGE = [
  'usage: redline serve [--config FILE] [--dev] [--port 8443] [--health-port 8080] [--policies DIR]',
  '                     [--namespaces FILE] [--kubeconfig FILE] [more flags below]',
  '',
  'Settings (precedence: flag > environment > config file > default):',
  `  ${CONFIG_FLAG} FILE  (env ${CONFIG_ENV})  YAML file with a "serve:" section`,
  ...describeSettings(SERVE_SPEC),
].join('\n');

/** serve's settings, through the one settings loader (core/settings/load.ts). */
export function loadServeSettings(input: LoadInput): Loaded<ServeSettings> {
  return loadSettings<ServeSettings>(SERVE_SPEC, input);
}

/**
 * Every problem of a load (stray arguments, bad flags, bad settings) as `where: what` lines in one
 * 'config-invalid' RedlineError; null when the settings loaded.
 */
export function serveConfigError(loaded: Loaded<ServeSettings>): RedlineError | null {
  const problems = [
    ...loaded.positional.map((a) => `argument ${JSON.stringify(a)}: unexpected; serve takes only --flags`),
    ...loaded.usage.map((u) =>
      u.issue === 'unknown' ? `flag ${u.flag}: unknown (see --help)` : `flag ${u.flag}: ${u.flag === CONFIG_FLAG ? 'needs a file name' : 'needs a value'}`,
    ),
    ...loaded.problems.map((p) => `${p.path}: ${p.message}`),
  ];
  if (!problems.length && loaded.settings) return null;
  return new RedlineError('config-invalid', `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { problems });
}

export async function runServe(argv: string[], io: ServeIo = {}): Promise<number> {
  const stderr = io.stderr ?? process.stderr;
  const stdout = io.stdout ?? process.stdout;
  const env = io.env ?? process.env;
  const cwd = io.cwd ?? process.cwd();
  const clock = io.clock ?? systemClock;
  const say = (line: string): void => void stderr.write(`${line}\n`);

  if (argv.includes('--help') || argv.includes('-h')) {
    stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  const loaded = loadServeSettings({ argv, env, cwd });
  const invalid = serveConfigError(loaded);
  if (invalid || !loaded.settings) {
    say(`redline serve: ${invalid!.message}`);
    return 2;
  }
  const cfg = loaded.settings;
  // Buffered: the per-request lines go out in writes of at least 4 KiB (measured 15–20 µs less per
  // request than one write(2) per line), at least every LOG_FLUSH_MS, right after start-up, and on
  // exit (pino flushes its destination then). Only a SIGKILL loses lines: the last second's.
  const destination = io.logDestination ?? bufferedDestination(1, 4096);
  const flushLog = (): void => {
    if ('flush' in destination && typeof destination.flush === 'function') destination.flush();
  };
  const root: Logger = pino(
    { level: cfg.logLevel, base: { pid: process.pid }, timestamp: isoTime },
    destination,
  );
  // One `component` key per line: children of `root`, never children of children.
  const log = root.child({ [LogKey.component]: 'serve' });
  const metrics = new WebhookMetrics({ defaultMetrics: true });

  // Policies: compiled once at start (a bad library is a start-up failure with file:line:column
  // problems), then hot-reloaded when the directory changes.
  const policiesDir = cfg.policiesDir ?? defaultLibraryDir();
  const policies = new PolicyReloader({
    dir: policiesDir,
    timeBudgetMs: cfg.requestTimeBudgetMs,
    logger: root.child({ [LogKey.component]: 'policies' }),
    metrics,
    intervalMs: cfg.policyReloadIntervalMs,
    // PolicyExceptions start and expire by the same clock as the certificates.
    clock,
  });
  try {
    await policies.load();
  } catch (e) {
    say(`redline serve: cannot load policies from ${policiesDir}:\n${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }

  // redline_exception_expiry_timestamp_seconds{exception}, redline_exceptions{state}: the library in service.
  metrics.setExceptionSource(() => policies.current().exceptionStatuses());

  // Serving certificate.
  let certPaths: CertPaths;
  if (cfg.dev) {
    try {
      const dev = await ensureDevCertificates(cfg.devCertDir, clock);
      certPaths = { certFile: dev.certPath, keyFile: dev.keyPath };
      const ca = relativeIfInside(cwd, dev.caPath);
      const port = cfg.port === 0 ? '<port>' : String(cfg.port);
      say(
        `redline serve --dev: CA at ${ca}${dev.reused ? '' : ' (new)'}; try: curl --cacert ${ca} -H 'Content-Type: application/json' --data @manifests/examples/admission-review.json https://localhost:${port}/validate`,
      );
    } catch (e) {
      say(`redline serve: cannot create development certificates in ${cfg.devCertDir}: ${e instanceof Error ? e.message : String(e)}`);
      return 1;
    }
  } else if (cfg.tls.secretDir) {
    certPaths = { certFile: path.join(cfg.tls.secretDir, 'tls.crt'), keyFile: path.join(cfg.tls.secretDir, 'tls.key') };
  } else {
    certPaths = { certFile: cfg.tls.certFile!, keyFile: cfg.tls.keyFile! };
  }
  const caFile = cfg.dev ? null : (cfg.tls.caFile ?? (cfg.tls.secretDir ? path.join(cfg.tls.secretDir, 'ca.crt') : null));
  if (caFile) log.info({ [LogKey.path]: caFile }, 'serving certificate CA (for clients and the caBundle)');
  let webhook: WebhookServer | undefined;
  const certs = new CertReloader({
    paths: certPaths,
    clock,
    logger: root.child({ [LogKey.component]: 'certs' }),
    metrics,
    intervalMs: cfg.certReloadIntervalMs,
    onChange: (c) => webhook?.setCertificate(c),
  });
  let initialCert;
  try {
    initialCert = await certs.load();
  } catch (e) {
    say(`redline serve: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  // redline_certificate_expiry_timestamp_seconds{certificate="serving"}: what is served right now.
  registerCertificateExpiry(metrics.registry, () => {
    const pem = certs.currentCertificate();
    return pem ? [{ certificate: 'serving', pem }] : [];
  });

  // Namespace source, and what the engine learns about the cluster besides (StorageClasses,
  // PodDisruptionBudgets): watched next to the namespaces, or read from the same file.
  let namespaces: NamespaceSource;
  let unknownNamespace: AdmissionContext['unknownNamespace'] = 'allow';
  let facts: ClusterFacts | undefined;
  let factsReadiness: () => ReadinessCheck[] = () => [
    { name: 'storageclasses', ok: true, detail: 'no cluster: not known; the rules that need them skip' },
    { name: 'poddisruptionbudgets', ok: true, detail: 'no cluster: not known; the rules that need them skip' },
  ];
  const caches: { start(): Promise<void>; stop(): Promise<void> }[] = [];
  let ledger: ServeLedger | undefined;
  let tenantSource: ClusterTenantSource | undefined;
  let parents: ObjectReader | undefined;
  if (cfg.namespacesFile) {
    const file = new FileNamespaceSource(cfg.namespacesFile);
    namespaces = file;
    facts = { storageClasses: () => file.facts.storageClasses(), pdbs: (ns) => file.facts.pdbs(ns) };
    factsReadiness = () => {
      const d = file.facts.describe();
      return [
        { name: 'storageclasses', ok: true, detail: d.storageClasses },
        { name: 'poddisruptionbudgets', ok: true, detail: d.pdbs },
      ];
    };
  } else {
    const access = resolveClusterAccess({ kubeconfig: cfg.kubeconfig, env });
    if (access) {
      try {
        const kc = loadKubeConfig(access);
        const clusterNamespaces = new ClusterNamespaceSource({
          kubeConfig: kc,
          resyncMs: cfg.namespaceResyncMs,
          logger: root.child({ [LogKey.component]: 'namespaces' }),
          onError: () => metrics.error('namespace_watch'),
        });
        namespaces = clusterNamespaces;
        if (cfg.ledger.enabled) {
          ledger = createServeLedger({
            kubeConfig: kc, namespaces: clusterNamespaces, plans: () => policies.current().library.plans,
            namespace: cfg.ledger.namespace, reservationTtlMs: cfg.ledger.reservationTtlMs, resyncMs: cfg.namespaceResyncMs,
            root, metrics,
          });
        }
        const storageClasses = new ClusterStorageClassSource({
          kubeConfig: kc,
          resyncMs: cfg.namespaceResyncMs,
          logger: root.child({ [LogKey.component]: 'storageclasses' }),
          onError: () => metrics.error('storageclass_watch'),
        });
        const pdbs = new ClusterPdbSource({
          kubeConfig: kc,
          resyncMs: cfg.namespaceResyncMs,
          logger: root.child({ [LogKey.component]: 'poddisruptionbudgets' }),
          onError: () => metrics.error('pdb_watch'),
        });
        tenantSource = new ClusterTenantSource({
          kubeConfig: kc,
          resyncMs: cfg.namespaceResyncMs,
          logger: root.child({ [LogKey.component]: 'tenants' }),
          onError: () => metrics.error('tenant_watch'),
        });
        parents = new ObjectReader({ kubeConfig: kc });
        caches.push(storageClasses, pdbs, tenantSource, parents, ...(ledger?.caches ?? []));
        facts = { storageClasses: () => storageClasses.storageClasses(), pdbs: (ns) => pdbs.pdbs(ns) };
        factsReadiness = () => [
          { name: 'storageclasses', ...storageClasses.status() },
          { name: 'poddisruptionbudgets', ...pdbs.status() },
        ];
        unknownNamespace = 'deny';
        log.info({ [LogKey.reason]: describeClusterAccess(access) }, 'namespaces from the cluster');
      } catch (e) {
        say(`redline serve: ${e instanceof Error ? e.message : String(e)}`);
        return 1;
      }
    } else if (cfg.dev) {
      namespaces = new StaticNamespaceSource();
      say('redline serve --dev: no cluster and no --namespaces FILE: every namespace is treated as a non-tenant (all allowed)');
    } else {
      say('redline serve: no namespace source: pass --namespaces FILE, or --kubeconfig FILE / KUBECONFIG / run in a cluster');
      return 2;
    }
  }
  // The caches use the namespace source's kubeconfig; all start together. They never throw once
  // a client exists: they keep retrying, and readiness waits for them.
  const cachesStarted = Promise.allSettled(caches.map((c) => c.start()));
  try {
    await namespaces.start();
  } catch (e) {
    say(`redline serve: cannot load namespaces: ${e instanceof Error ? e.message : String(e)}`);
    await cachesStarted;
    await Promise.allSettled(caches.map((c) => c.stop()));
    return 1;
  }
  const failed = (await cachesStarted).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    say(`redline serve: cannot watch the cluster: ${failed.reason instanceof Error ? failed.reason.message : String(failed.reason)}`);
    await Promise.allSettled([namespaces.stop(), ...caches.map((c) => c.stop())]);
    return 1;
  }

  // Servers.
  let shuttingDown = false;
  const context: AdmissionContext = {
    reviewer: () => policies.current(),
    namespaces,
    ...(facts ? { cluster: facts } : {}),
    labelGuard: new LabelGuard(cfg.admins, cfg.controllerServiceAccount),
    plans: () => policies.current().library.plans,
    ...(tenantSource ? { tenants: tenantSource } : {}),
    metrics,
    unknownNamespace,
    ...(parents ? { parents } : {}),
    ...(ledger ? { ledger: ledger.gate } : {}),
  };
  webhook = new WebhookServer({
    context,
    logger: root.child({ [LogKey.component]: 'webhook' }),
    metrics,
    certificate: initialCert,
    bodyLimitBytes: cfg.bodyLimitBytes,
    requestTimeoutMs: cfg.requestTimeoutMs,
  });
  const server = webhook;
  new Gauge({
    name: 'redline_admission_requests_in_flight',
    help: 'Admission requests received and not answered yet (what a shutdown drains).',
    registers: [metrics.registry],
    collect() {
      this.set(server.inFlight);
    },
  });
  const readiness = (): ReadinessCheck[] => {
    const cert = certs.status();
    return [
      { name: 'policies', ok: true, detail: `${policies.current().policyNames.length} policies compiled from ${policiesDir}` },
      { name: 'certificate', ok: cert.ready, detail: cert.reason },
      { name: 'namespaces', ok: namespaces.synced(), detail: `${namespaces.kind} source ${namespaces.synced() ? 'synced' : 'not synced yet'}` },
      ...factsReadiness(),
      ...(ledger ? [ledger.readiness()] : []),
      ...(tenantSource ? [{ name: 'tenants', ...tenantSource.status() }] : []),
      { name: 'serving', ok: !shuttingDown, detail: shuttingDown ? 'shutting down' : 'accepting requests' },
    ];
  };
  metrics.setReadinessProbe(() => readiness().every((c) => c.ok));
  const health = new HealthServer(createHealthApp({ readiness, registry: metrics.registry }));

  const host = cfg.address || undefined;
  let port: number;
  let healthPort: number;
  try {
    port = (await webhook.listen(cfg.port, host)).port;
    healthPort = (await health.listen(cfg.healthPort, host)).port;
  } catch (e) {
    say(`redline serve: cannot listen: ${e instanceof Error ? e.message : String(e)}`);
    await closeQuietly(webhook, health, [namespaces, ...caches], certs, policies);
    return 1;
  }
  certs.start();
  policies.start();
  log.info({ [LogKey.address]: `${cfg.address || '*'}:${port}` }, 'webhook listening');
  log.info({ [LogKey.address]: `${cfg.address || '*'}:${healthPort}` }, 'health listening');
  flushLog();
  const logFlusher = setInterval(flushLog, LOG_FLUSH_MS);
  logFlusher.unref();

  // Wait for a signal, then drain.
  const signals = io.signals ?? process;
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const code = await new Promise<number>((resolve) => {
    let draining = false;
    onSignal = (signal) => {
      if (draining) {
        if (signal === 'SIGINT') {
          log.warn({ [LogKey.reason]: signal }, 'second interrupt: closing all connections now');
          webhook!.server.closeAllConnections();
          resolve(1);
        }
        return;
      }
      draining = true;
      shuttingDown = true; // readiness false immediately
      log.info({ [LogKey.reason]: signal }, `shutting down: draining ${webhook!.inFlight} in-flight request(s)`);
      void webhook!.shutdown(cfg.shutdownGraceMs).then((drained) => {
        if (drained) log.info({ [LogKey.reason]: signal }, 'drained; exiting');
        else log.error({ [LogKey.reason]: `deadline ${cfg.shutdownGraceMs} ms` }, 'shutdown deadline hit; connections destroyed');
        resolve(drained ? 0 : 1);
      });
    };
    signals.on('SIGTERM', onSignal);
    signals.on('SIGINT', onSignal);
    io.onListening?.({ port, healthPort });
  });
  signals.off('SIGTERM', onSignal);
  signals.off('SIGINT', onSignal);
  clearInterval(logFlusher);
  await closeQuietly(webhook, health, [namespaces, ...caches], certs, policies);
  flushLog();
  return code;
}

async function closeQuietly(webhook: WebhookServer, health: HealthServer, sources: { stop(): Promise<void> }[], certs: CertReloader, policies: PolicyReloader): Promise<void> {
  certs.stop();
  policies.stop();
  if (webhook.server.listening) webhook.server.close();
  webhook.server.closeAllConnections();
  await Promise.allSettled([health.close(), ...sources.map((s) => s.stop())]);
}

function relativeIfInside(cwd: string, p: string): string {
  const rel = path.relative(cwd, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}
