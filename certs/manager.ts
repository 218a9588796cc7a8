// CertManager: keeps Redline's webhook certificate authority in one Secret and its CA bundle in the
// webhook configurations, for years, without anyone touching it. It runs inside the leader-elected
// controller process and does nothing (no reads, no writes) while this replica is not the leader.
//
//   every checkIntervalMs (wall clock; a machine that slept catches up at the next tick):
//     not leader                        → nothing
//     just became leader / due / Secret changed (resourceVersion) → reconcileOnce()
//   reconcileOnce():
//     read Secret → decode (corrupt: log the key, salvage what is still trusted) → plan (rotation.ts)
//     → write with resourceVersion (409: read and plan again) → inject caBundle → metrics
//
// The jobs around it each have their module: when to look (schedule.ts: due times, retries with
// backoff), what to do (rotation.ts, over authority.ts's decide/apply), the Secret's one reader
// (secret.ts, salvage included), and mode 'external' (external.ts: cert-manager or the user owns the
// Secret; never written; its ca.crt is injected unless inject is false).

import type { Registry } from 'prom-client';
import { assertCertSettings, DEFAULT_CERT_SETTINGS, type CertMode } from '../core/settings/certs.js';
import { type AuthorityConfig, type AuthorityConfigInput, type AuthorityState, resolveAuthorityConfig } from './authority.js';
import { type Clock, systemClock } from './clock.js';
import { externalView } from './external.js';
import type { CaBundleInjector, InjectResult } from './inject.js';
import { CertMetrics } from './metrics.js';
import { isRedlineError, RedlineError } from '../core/errors.js';
import { ANNOTATION_ROTATE } from '../core/vocabulary.js';
import { fingerprint, nextManagedCheck, planRotation, rotationRequest, type Rollout, type RotationAction, type RotationRequest } from './rotation.js';
import { CheckSchedule } from './schedule.js';
import { decodeSecretData, SECRET_KEYS, salvageSecret, type Salvage } from './secret.js';
import type { SecretSnapshot, SecretStore } from './secret-store.js';
import { type KeyPairPem, tryParseCertificate } from './x509.js';

export type { CertMode, RotationRequest };

/** Log keys of the certificate manager (an API like the webhook's and the controller's). */
export const CertLogKey = {
  component: 'component',
  namespace: 'namespace',
  name: 'name',
  /** What was decided: issue-all, renew-ca, renew-serving, update-bundle, none, wait-ca-rollout. */
  action: 'action',
  reason: 'reason',
  /** Serial (hex) of the serving certificate written or found. */
  serial: 'serial',
  notAfter: 'notAfter',
  nextCheckAt: 'nextCheckAt',
  attempt: 'attempt',
  backoffMs: 'backoffMs',
  kind: 'kind',
  err: 'err',
} as const;

export interface CertLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

const silent: CertLogger = { info() {}, warn() {}, error() {}, debug() {} };

export const CERT_MANAGER_DEFAULTS = Object.freeze({
  mode: DEFAULT_CERT_SETTINGS.mode,
  inject: DEFAULT_CERT_SETTINGS.inject,
  checkIntervalMs: DEFAULT_CERT_SETTINGS.checkIntervalMs,
  resyncMs: DEFAULT_CERT_SETTINGS.resyncMs,
  caRolloutDelayMs: DEFAULT_CERT_SETTINGS.caRolloutDelayMs,
  retryInitialMs: 1_000,
  retryMaxMs: 300_000,
  maxConflictRetries: 5,
});

export interface CertManagerOptions {
  /** managed (default): Redline issues and rotates. external: someone else does; never written. */
  mode?: CertMode;
  /** Inject the CA bundle into the webhook configurations (default true). Needs `injector`. */
  inject?: boolean;
  /** Service, namespace, SANs, lifetimes (defaults: CA 5 years, serving 90 days, renew at 2/3). */
  authority: AuthorityConfigInput;
  store: SecretStore;
  injector?: CaBundleInjector;
  clock?: Clock;
  logger?: CertLogger;
  /** Metrics are registered here (redline_certificate_*). */
  registry?: Registry;
  /** Wall-clock poll period (default 10 s). */
  checkIntervalMs?: number;
  /** A full check (Secret + caBundle) at least this often even when nothing is due (default 5 min). */
  resyncMs?: number;
  /** Phase A → phase B of a CA rotation, after the bundle with the new CA was injected (default 60 s). */
  caRolloutDelayMs?: number;
  /** Retry after a failed reconcile: doubles from initialMs up to maxMs (default 1 s … 5 min). */
  retry?: { initialMs: number; maxMs: number };
  /** 409s in a row before a reconcile gives up (and retries with backoff). Default 5. */
  maxConflictRetries?: number;
  /** Leadership; also settable by start(). Default: always leader. */
  isLeader?: () => boolean;
  /** Key source (tests inject a pool); default RSA-2048 from node:crypto. */
  generateKeyPair?: () => Promise<KeyPairPem>;
}

export type ReconcileAction = RotationAction | 'external' | 'skipped';

export interface ReconcileResult {
  action: ReconcileAction;
  reason: string;
  /** Whether the Secret was written. */
  wrote: boolean;
  /** The injection result (undefined when injection is off or did not run). */
  injection?: InjectResult;
  /** Set when the reconcile failed; it is retried at nextCheckAt. */
  error?: string;
  skipped?: 'not-leader';
  nextCheckAt: Date;
}

export interface CertManagerStatus {
  mode: CertMode;
  lastReconcileAt: Date | null;
  lastError: string | null;
  nextCheckAt: Date;
  serving: { serial: string; notAfter: Date } | null;
  caBundle: Array<{ serial: string; notAfter: Date }>;
}


function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class CertManager {
  readonly mode: CertMode;
  readonly inject: boolean;
  readonly cfg: AuthorityConfig;
  readonly metrics: CertMetrics | undefined;
  private readonly store: SecretStore;
  private readonly injector: CaBundleInjector | undefined;
  private readonly clock: Clock;
  private readonly log: CertLogger;
  private readonly checkIntervalMs: number;
  private readonly resyncMs: number;
  private readonly caRolloutDelayMs: number;
  private readonly maxConflictRetries: number;
  private readonly genKey: (() => Promise<KeyPairPem>) | undefined;
  private readonly schedule: CheckSchedule;
  private isLeader: () => boolean;

  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private ticking = false;
  private wasLeader = false;
  private lastSeenRv: string | null | undefined = undefined;
  private lastCorruptRv: string | undefined;
  private lastIgnoredRequestRv: string | undefined;
  private lastReconcileAt: Date | null = null;
  private lastError: string | null = null;
  /** When this process saw the bundle with the current CA injected (phase A done). */
  private rollout: Rollout | null = null;
  private current: { servingPem: string | null; caBundle: string[] } = { servingPem: null, caBundle: [] };

  constructor(opts: CertManagerOptions) {
    this.mode = opts.mode ?? CERT_MANAGER_DEFAULTS.mode;
    this.inject = opts.inject ?? CERT_MANAGER_DEFAULTS.inject;
    assertCertSettings({ mode: this.mode });
    if (this.inject && !opts.injector) throw new Error('inject is on but no injector was given');
    this.cfg = resolveAuthorityConfig(opts.authority);
    this.store = opts.store;
    this.injector = this.inject ? opts.injector : undefined;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silent;
    this.metrics = opts.registry ? new CertMetrics(opts.registry) : undefined;
    this.checkIntervalMs = opts.checkIntervalMs ?? CERT_MANAGER_DEFAULTS.checkIntervalMs;
    this.resyncMs = opts.resyncMs ?? CERT_MANAGER_DEFAULTS.resyncMs;
    this.caRolloutDelayMs = opts.caRolloutDelayMs ?? CERT_MANAGER_DEFAULTS.caRolloutDelayMs;
    this.maxConflictRetries = opts.maxConflictRetries ?? CERT_MANAGER_DEFAULTS.maxConflictRetries;
    this.genKey = opts.generateKeyPair;
    this.isLeader = opts.isLeader ?? (() => true);
    assertCertSettings({ checkIntervalMs: this.checkIntervalMs, resyncMs: this.resyncMs, caRolloutDelayMs: this.caRolloutDelayMs });
    this.schedule = new CheckSchedule(this.clock, opts.retry ?? { initialMs: CERT_MANAGER_DEFAULTS.retryInitialMs, maxMs: CERT_MANAGER_DEFAULTS.retryMaxMs });
  }

  private get ref(): Record<string, string> {
    return { [CertLogKey.namespace]: this.store.namespace, [CertLogKey.name]: this.store.name };
  }

  /** When the next full check is due (wall clock). */
  get nextCheckAt(): Date {
    return this.schedule.nextCheckAt;
  }

  status(): CertManagerStatus {
    const brief = (pem: string) => {
      const i = tryParseCertificate(pem);
      return i ? { serial: i.serialHex, notAfter: i.notAfter } : null;
    };
    return {
      mode: this.mode,
      lastReconcileAt: this.lastReconcileAt,
      lastError: this.lastError,
      nextCheckAt: this.nextCheckAt,
      serving: this.current.servingPem ? brief(this.current.servingPem) : null,
      caBundle: this.current.caBundle.map(brief).filter((x): x is { serial: string; notAfter: Date } => x !== null),
    };
  }

  /** Starts the wall-clock poll. `isLeader` is asked before every check and every write. */
  start(opts: { isLeader?: () => boolean } = {}): void {
    if (opts.isLeader) this.isLeader = opts.isLeader;
    if (this.timer) return;
    this.schedule.force();
    this.timer = setInterval(() => void this.tick(), this.checkIntervalMs);
    this.timer.unref?.();
    void this.tick();
  }

  /** Stops polling and waits for a running check to finish. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.chain.catch(() => undefined);
  }

  /** The next tick runs a full check (e.g. the controller saw the Secret or a configuration change). */
  requestCheck(): void {
    this.schedule.force();
  }

  /**
   * One poll step (what the interval runs): nothing unless leader; a full check when due, when
   * leadership was just gained, or when the Secret's resourceVersion changed since the last check.
   */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      if (!this.isLeader()) {
        if (this.wasLeader) {
          // A standby manages nothing: stop reporting expiries (the leader does).
          this.current = { servingPem: null, caBundle: [] };
          this.metrics?.expose(null, []);
        }
        this.wasLeader = false;
        return;
      }
      let due = !this.wasLeader || this.schedule.isDue();
      this.wasLeader = true;
      if (!due) {
        try {
          const snap = await this.store.read();
          if ((snap?.resourceVersion ?? null) !== this.lastSeenRv) due = true;
        } catch {
          // The full check at nextCheckAt reports it.
        }
      }
      if (due) await this.reconcileOnce();
    } finally {
      this.ticking = false;
    }
  }

  /** One full check. Never throws: failures are logged, counted and retried with backoff. */
  reconcileOnce(): Promise<ReconcileResult> {
    const run = this.chain.then(() => this.reconcile());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private skipped(): ReconcileResult {
    return { action: 'skipped', reason: 'not the leader', wrote: false, skipped: 'not-leader', nextCheckAt: this.nextCheckAt };
  }

  private async reconcile(): Promise<ReconcileResult> {
    if (!this.isLeader()) return this.skipped();
    this.schedule.started();
    try {
      const r = this.mode === 'managed' ? await this.reconcileManaged() : await this.reconcileExternal();
      this.lastError = null;
      this.lastReconcileAt = this.clock();
      return r;
    } catch (e) {
      if (isRedlineError(e, 'not-leader', 'write-gate-closed')) {
        this.log.info({ ...this.ref, [CertLogKey.reason]: errText(e) }, 'lost leadership during a certificate check; stopping it');
        return this.skipped();
      }
      const { attempt, backoffMs } = this.schedule.failed();
      this.lastError = errText(e);
      this.log.error(
        { ...this.ref, [CertLogKey.err]: this.lastError, [CertLogKey.attempt]: attempt, [CertLogKey.backoffMs]: backoffMs },
        'certificate check failed; will retry',
      );
      return { action: 'skipped', reason: 'error', wrote: false, error: this.lastError, nextCheckAt: this.nextCheckAt };
    }
  }

  private async read(): Promise<SecretSnapshot | null> {
    try {
      const snap = await this.store.read();
      this.lastSeenRv = snap?.resourceVersion ?? null;
      return snap;
    } catch (e) {
      this.metrics?.error('secret_read');
      throw new Error(`cannot read secret ${this.store.namespace}/${this.store.name}: ${errText(e)}`, { cause: e });
    }
  }

  private gate(): void {
    if (!this.isLeader()) throw new RedlineError('not-leader', 'this replica is no longer the leader');
  }

  // ------------------------------------------------------------------------------------------ managed

  private async reconcileManaged(): Promise<ReconcileResult> {
    let state: AuthorityState | null = null;
    let action: ReconcileAction = 'none';
    let reason = '';
    let wrote = false;
    for (let attempt = 1; ; attempt++) {
      const snap = await this.read();
      this.gate();
      const now = this.clock();
      const decoded = this.decode(snap);
      state = decoded.state;
      const request = rotationRequest(snap?.annotations);
      if (request === 'invalid') {
        this.log.warn({ ...this.ref, [CertLogKey.reason]: `annotation ${ANNOTATION_ROTATE} must be "serving" or "ca"` }, 'ignoring an invalid rotation request');
      }
      let plan: Awaited<ReturnType<typeof planRotation>>;
      try {
        plan = await planRotation(state, decoded.salvage, request, this.rotationContext(now));
      } catch (e) {
        this.metrics?.error('issue');
        throw new Error(`cannot issue certificates: ${errText(e)}`, { cause: e });
      }
      action = plan.action;
      reason = plan.reason;
      if (!plan.write) break;
      this.gate();
      try {
        const written = snap ? await this.store.update(snap.resourceVersion, plan.write) : await this.store.create(plan.write);
        this.lastSeenRv = written.resourceVersion;
        wrote = true;
        const before = state;
        state = plan.state!;
        this.countRotations(before, state);
        const serving = tryParseCertificate(state.serving.certPem);
        this.log.info(
          {
            ...this.ref,
            [CertLogKey.action]: action,
            [CertLogKey.reason]: reason,
            [CertLogKey.serial]: serving?.serialHex ?? '',
            [CertLogKey.notAfter]: serving?.notAfter.toISOString() ?? '',
          },
          plan.phaseA ? 'new CA written; the serving certificate follows once the bundle is injected' : 'certificate secret written',
        );
        break;
      } catch (e) {
        if (isRedlineError(e, 'secret-conflict') && attempt < this.maxConflictRetries) {
          this.metrics?.error('secret_conflict');
          this.log.info({ ...this.ref, [CertLogKey.reason]: e.message, [CertLogKey.attempt]: attempt }, 'secret changed meanwhile; reading it again');
          continue;
        }
        if (isRedlineError(e, 'secret-conflict')) this.metrics?.error('secret_conflict');
        else if (!isRedlineError(e, 'write-gate-closed')) this.metrics?.error('secret_write');
        throw e;
      }
    }
    if (!state) throw new Error('no certificate state after the check');
    this.current = { servingPem: state.serving.certPem, caBundle: state.caBundle };
    this.metrics?.expose(state.serving.certPem, state.caBundle);

    const injection = await this.injectBundle(state.caBundle);
    const caPrint = fingerprint(state.ca.certPem);
    if (caPrint && this.rollout?.caFingerprint !== caPrint) {
      // The bundle with this CA is in place (or injection is not ours): phase B may start after the delay.
      this.rollout = { caFingerprint: caPrint, confirmedAt: this.clock().getTime() };
    }

    // When to look again.
    const now = this.clock();
    this.schedule.succeeded(nextManagedCheck(state, { ...this.rotationContext(now), resyncMs: this.resyncMs, injectionComplete: !injection || injection.complete }));
    if (action === 'none') this.log.debug({ ...this.ref, [CertLogKey.nextCheckAt]: this.nextCheckAt.toISOString() }, 'certificates up to date');
    return { action, reason, wrote, ...(injection ? { injection } : {}), nextCheckAt: this.nextCheckAt };
  }

  private decode(snap: SecretSnapshot | null): { state: AuthorityState | null; salvage: Salvage | null } {
    if (!snap) return { state: null, salvage: null };
    const d = decodeSecretData(snap.data);
    if (d.ok) return { state: d.value, salvage: null };
    if (this.lastCorruptRv !== snap.resourceVersion) {
      this.lastCorruptRv = snap.resourceVersion;
      this.metrics?.error('secret_corrupt');
      this.log.error(
        { ...this.ref, [CertLogKey.reason]: d.problem, [CertLogKey.kind]: 'secret_corrupt' },
        `certificate secret ${snap.namespace}/${snap.name} is unusable (${d.problem}); issuing a fresh certificate authority`,
      );
    }
    return { state: null, salvage: salvageSecret(snap.data, this.clock()) };
  }

  private rotationContext(now: Date): Parameters<typeof planRotation>[3] {
    return {
      cfg: this.cfg,
      now,
      rollout: this.rollout,
      caRolloutDelayMs: this.caRolloutDelayMs,
      checkIntervalMs: this.checkIntervalMs,
      ...(this.genKey ? { generateKeyPair: this.genKey } : {}),
    };
  }

  private countRotations(before: AuthorityState | null, after: AuthorityState): void {
    if (!this.metrics) return;
    if (fingerprint(before?.ca.certPem) !== fingerprint(after.ca.certPem)) this.metrics.rotated('ca');
    if (fingerprint(before?.serving.certPem) !== fingerprint(after.serving.certPem)) this.metrics.rotated('serving');
  }

  /** undefined: injection is off. Throws when it fails (counted). */
  private async injectBundle(caBundle: readonly string[]): Promise<InjectResult | undefined> {
    if (!this.injector) return undefined;
    this.gate();
    const pem = caBundle.join('');
    let r: InjectResult;
    try {
      r = await this.injector.inject(pem);
    } catch (e) {
      if (isRedlineError(e, 'write-gate-closed')) throw e;
      this.metrics?.error('inject');
      throw new Error(`cannot inject the CA bundle: ${errText(e)}`, { cause: e });
    }
    for (const t of r.targets) {
      if (!t.found) {
        this.log.warn({ ...this.ref, [CertLogKey.kind]: t.kind, [CertLogKey.reason]: `${t.kind} ${t.name} not found` }, 'cannot inject the CA bundle: webhook configuration missing');
      } else if (t.changed > 0) {
        this.log.info({ ...this.ref, [CertLogKey.kind]: t.kind, [CertLogKey.reason]: `${t.changed} of ${t.webhooks} webhook(s) of ${t.name} updated` }, 'CA bundle injected');
      }
    }
    return r;
  }

  // ----------------------------------------------------------------------------------------- external

  private async reconcileExternal(): Promise<ReconcileResult> {
    const snap = await this.read();
    this.gate();
    const now = this.clock();
    const problem = (msg: string): never => {
      this.metrics?.error('external_invalid');
      throw new Error(msg);
    };
    if (!snap) problem(`secret ${this.store.namespace}/${this.store.name} not found (mode external: its owner, e.g. cert-manager, creates it)`);
    if (rotationRequest(snap!.annotations) !== null && this.lastIgnoredRequestRv !== snap!.resourceVersion) {
      this.lastIgnoredRequestRv = snap!.resourceVersion;
      this.log.warn({ ...this.ref, [CertLogKey.reason]: 'mode external' }, `ignoring ${ANNOTATION_ROTATE}: the Secret is managed externally (renew it with its owner, e.g. cmctl renew)`);
    }
    const view = externalView(snap!, this.cfg, now, this.resyncMs);
    const st = view.serving;
    if (!st.ready) {
      this.metrics?.error('external_invalid');
      this.log.warn({ ...this.ref, [CertLogKey.reason]: st.reason }, 'externally managed serving certificate is not usable');
    }
    const caBundle = view.caBundle;
    this.current = { servingPem: view.leaf, caBundle };
    this.metrics?.expose(view.leaf, caBundle);
    let injection: InjectResult | undefined;
    if (this.injector) {
      if (caBundle.length === 0) problem(`secret ${this.store.namespace}/${this.store.name} has no usable "${SECRET_KEYS.caCert}" to inject`);
      injection = await this.injectBundle(caBundle);
    }
    // Follow the owner's renewals: look again at the earliest of resync and the serving renewal time.
    this.schedule.succeeded(view.nextCheck);
    return {
      action: 'external',
      reason: st.reason,
      wrote: false,
      ...(injection ? { injection } : {}),
      nextCheckAt: this.nextCheckAt,
    };
  }
}
