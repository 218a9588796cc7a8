// Leader election on a coordination.k8s.io/v1 Lease, client-go's algorithm with the safety margin
// made explicit:
//
//  - A candidate never compares the Lease's renewTime with its own wall clock (clocks differ
//    between nodes). It remembers when IT first saw the current record (holder, renewTime,
//    transitions) on its own monotonic clock, and takes over only when that record has stayed
//    unchanged for leaseDuration. The server's view (the record and its resourceVersion) is the
//    only shared thing; updates are optimistic (resourceVersion), so two candidates cannot both win.
//  - The leader takes the time BEFORE it sends a renewal (t0). If that renewal succeeds, it may
//    write until t0 + renewDeadline. Any other candidate saw that renewal at or after t0 and waits
//    leaseDuration > renewDeadline from then, so the old leader has stopped writing before anyone
//    else can start (margin: leaseDuration − renewDeadline, minus clock-rate drift).
//  - `isLeader()` is evaluated against the clock at the moment of each write (the API client's
//    write gate), not from a flag flipped by a timer that might run late.
//  - An attempt that fails on the API (the Lease's namespace does not exist, RBAC forbids the
//    Lease, the server is unreachable) is an error someone must act on: logged at `error` with
//    what to do (again when it changes, and once a minute while it lasts), reported through
//    onError (a metric), and the elector is not ready until it can lead or stand by again.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { RedlineError } from '../core/errors.js';
import { ApiError, type KubeApi, resourcePath } from './api-client.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LeaseObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string> };
  spec: LeaseSpec;
}

/** The three calls the elector makes; 404 on get → undefined; update is optimistic (409 on a stale resourceVersion). */
export interface LeaseClient {
  get(): Promise<LeaseObject | undefined>;
  create(lease: LeaseObject): Promise<LeaseObject>;
  update(lease: LeaseObject): Promise<LeaseObject>;
  /**
   * Whether the Lease's namespace exists (undefined: cannot tell). RBAC is checked before
   * existence, so a missing namespace usually shows as 403: this tells the two apart.
   */
  namespaceExists?(): Promise<boolean | undefined>;
}

export function kubeLeaseClient(api: KubeApi, namespace: string, name: string, timeoutMs: number): LeaseClient {
  const path = resourcePath('coordination.k8s.io/v1', 'leases', namespace, name);
  return {
    get: async () => {
      try {
        return await api.request<LeaseObject>({ method: 'GET', path, priority: true, timeoutMs });
      } catch (e) {
        if (e instanceof ApiError && e.notFound) return undefined;
        throw e;
      }
    },
    create: (lease) =>
      api.request<LeaseObject>({
        method: 'POST',
        path: resourcePath('coordination.k8s.io/v1', 'leases', namespace),
        body: lease,
        priority: true,
        ungated: true,
        timeoutMs,
      }),
    update: (lease) => api.request<LeaseObject>({ method: 'PUT', path, body: lease, priority: true, ungated: true, timeoutMs }),
    namespaceExists: async () => {
      try {
        await api.request({ method: 'GET', path: resourcePath('v1', 'namespaces', undefined, namespace), priority: true, timeoutMs });
        return true;
      } catch (e) {
        return e instanceof ApiError && e.notFound ? false : undefined;
      }
    },
  };
}

export interface LeaderElectorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Why a lease attempt failed (a bounded metric label). */
export type LeaseErrorReason = 'namespace_missing' | 'forbidden' | 'unauthorized' | 'unreachable' | 'api_error';

export interface LeaseError {
  reason: LeaseErrorReason;
  /** The API's error, as returned. */
  message: string;
  /** What to do about it. */
  hint: string;
}

/** Classifies a failed Lease call; undefined for an optimistic-lock race (409), which is normal. */
export function describeLeaseError(e: unknown, namespace: string, name: string): LeaseError | undefined {
  const message = e instanceof Error ? e.message : String(e);
  if (!(e instanceof ApiError)) return { reason: 'api_error', message, hint: 'unexpected error; see the message' };
  if (e.status === 409) return undefined;
  if (e.status === 404 && e.verb === 'create') return namespaceMissing(message, namespace);
  if (e.status === 403) {
    return {
      reason: 'forbidden',
      message,
      hint: `the controller may not ${e.verb} the Lease: grant its ServiceAccount create on leases and get/update on the lease "${name}" in namespace "${namespace}" (Role redline-controller-leader-election in manifests/base/rbac-controller.yaml; change its namespace and resourceNames with the settings)`,
    };
  }
  if (e.status === 401) return { reason: 'unauthorized', message, hint: 'the API server rejected the credentials: check the kubeconfig or the ServiceAccount token' };
  if (e.status === 0) return { reason: 'unreachable', message, hint: 'cannot reach the API server: check the address in the kubeconfig and the network path to it' };
  return { reason: 'api_error', message, hint: `the API server answered HTTP ${e.status}; see the message` };
}

function namespaceMissing(message: string, namespace: string): LeaseError {
  return {
    reason: 'namespace_missing',
    message,
    hint:
      `the Lease's namespace "${namespace}" does not exist: create it (kubectl create namespace ${namespace}) with the Role and RoleBinding ` +
      `redline-controller-leader-election of manifests/base/rbac-controller.yaml, or set controller.leaderElection.namespace (--lease-namespace) to an existing namespace`,
  };
}

/** How often a persisting lease error is logged again. */
const ERROR_LOG_EVERY_MS = 60_000;

export interface LeaderElectorOptions {
  client: LeaseClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  /** < leaseDurationMs: a leader that could not renew for this long stops writing. */
  renewDeadlineMs: number;
  /** Pause between attempts (candidate) and between renewals (leader). */
  retryPeriodMs: number;
  /** Monotonic milliseconds; default performance.now(). */
  now?: () => number;
  /** Wall clock, only for the informational acquireTime/renewTime fields. */
  wallClock?: () => Date;
  onStartedLeading?: () => void;
  onStoppedLeading?: (reason: string) => void;
  onNewLeader?: (identity: string) => void;
  /** Every failed attempt (not a 409 race): for a metric. */
  onError?: (error: LeaseError) => void;
  logger?: LeaderElectorLogger;
}

const silent: LeaderElectorLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** A holder identity unique to this process: hostname_pid_random. */
export function defaultIdentity(): string {
  return `${hostname()}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

export class LeaderElector {
  private leading = false;
  /** Monotonic time until which this process may write (valid only while `leading`). */
  private leaderUntil = -Infinity;
  private observedRecord = '';
  private observedAt = -Infinity;
  private observedHolder = '';
  /** Monotonic time of the last attempt the API server answered (lease read, written, or a 409 race). */
  private answeredAt = -Infinity;
  private lastError: LeaseError | undefined;
  private loggedError = '';
  private loggedAt = -Infinity;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly wall: () => Date;
  private readonly log: LeaderElectorLogger;

  constructor(private readonly opts: LeaderElectorOptions) {
    if (!(opts.renewDeadlineMs < opts.leaseDurationMs)) throw new RedlineError('config-invalid', 'renewDeadlineMs must be < leaseDurationMs');
    if (!(opts.retryPeriodMs < opts.renewDeadlineMs)) throw new RedlineError('config-invalid', 'retryPeriodMs must be < renewDeadlineMs');
    this.now = opts.now ?? (() => performance.now());
    this.wall = opts.wallClock ?? (() => new Date());
    this.log = opts.logger ?? silent;
  }

  get identity(): string {
    return this.opts.identity;
  }

  /** The holder last seen in the Lease ('' when none). */
  get holder(): string {
    return this.observedHolder;
  }

  /** True while this process holds the lease AND its renew deadline has not passed. */
  isLeader(): boolean {
    if (!this.leading) return false;
    if (this.now() < this.leaderUntil) return true;
    this.stopLeading(`renew deadline of ${this.opts.renewDeadlineMs} ms passed without a successful renewal`);
    return false;
  }

  /**
   * Ready when leading, or when an attempt within the last leaseDuration reached the Lease (a
   * standby that can take over). Otherwise the detail says what is wrong and what to do.
   */
  readiness(): { ok: boolean; detail: string } {
    if (this.isLeader()) return { ok: true, detail: `leader (${this.opts.identity})` };
    if (this.now() - this.answeredAt <= this.opts.leaseDurationMs) return { ok: true, detail: `standby; leader is ${this.observedHolder || 'unknown'}` };
    const where = `Lease ${this.opts.namespace}/${this.opts.name}`;
    if (!this.lastError) return { ok: false, detail: `${where}: no answer from the API server yet` };
    return { ok: false, detail: `${where}: ${this.lastError.reason}: ${this.lastError.message}; ${this.lastError.hint}` };
  }

  /** The last failed attempt's error, until an attempt succeeds. */
  get error(): LeaseError | undefined {
    return this.lastError;
  }

  /** For the API client: null when writes are allowed. */
  writeGate = (): string | null => (this.isLeader() ? null : 'this replica is not the leader');

  /**
   * One attempt: read the Lease; create it, renew it (ours), or take it over (expired by our own
   * observation), else stay a candidate. Returns whether this process leads afterwards.
   */
  async tryAcquireOrRenew(): Promise<boolean> {
    const sentAt = this.now();
    const me = this.opts.identity;
    const durationS = Math.ceil(this.opts.leaseDurationMs / 1000);
    let lease: LeaseObject | undefined;
    try {
      lease = await this.opts.client.get();
      if (!lease) {
        const nowIso = microTime(this.wall());
        const created = await this.opts.client.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec: { holderIdentity: me, leaseDurationSeconds: durationS, acquireTime: nowIso, renewTime: nowIso, leaseTransitions: 0 },
        });
        this.answered();
        this.observe(created);
        this.renewed(sentAt);
        return true;
      }
      this.answered();
      this.observe(lease);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const durationMs = (spec.leaseDurationSeconds ?? durationS) * 1000;
      if (holder !== me) {
        if (this.leading) this.stopLeading(`lease now held by ${holder || 'nobody'}`);
        const expired = holder === '' || this.now() >= this.observedAt + durationMs;
        if (!expired) return false;
      }
      const nowIso = microTime(this.wall());
      const next: LeaseObject = {
        ...lease,
        spec: {
          holderIdentity: me,
          leaseDurationSeconds: durationS,
          acquireTime: holder === me && spec.acquireTime ? spec.acquireTime : nowIso,
          renewTime: nowIso,
          leaseTransitions: holder === me ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
        },
      };
      const updated = await this.opts.client.update(next);
      this.observe(updated);
      this.renewed(sentAt);
      return true;
    } catch (e) {
      // A failed attempt changes nothing: the leader keeps its (time-bounded) right to write
      // until its deadline; isLeader() enforces the deadline.
      let error = describeLeaseError(e, this.opts.namespace, this.opts.name);
      if (error?.reason === 'forbidden' && (await this.opts.client.namespaceExists?.().catch(() => undefined)) === false) {
        error = namespaceMissing(error.message, this.opts.namespace);
      }
      if (!error) {
        this.answered(); // lost an optimistic-lock race: the Lease is there and writable
        this.log.debug({ err: e instanceof Error ? e.message : String(e) }, 'lease attempt lost a race');
      } else this.failed(error);
      return this.isLeader();
    }
  }

  private answered(): void {
    this.answeredAt = this.now();
    if (this.lastError) {
      this.log.info({ reason: this.lastError.reason }, `Lease ${this.opts.namespace}/${this.opts.name} reachable again`);
      this.lastError = undefined;
      this.loggedError = '';
    }
  }

  private failed(error: LeaseError): void {
    this.lastError = error;
    this.opts.onError?.(error);
    const key = `${error.reason}|${error.message}`;
    const t = this.now();
    if (key === this.loggedError && t - this.loggedAt < ERROR_LOG_EVERY_MS) return;
    this.loggedError = key;
    this.loggedAt = t;
    this.log.error(
      { reason: error.reason, err: error.message, namespace: this.opts.namespace, name: this.opts.name },
      `cannot ${this.leading ? 'renew' : 'acquire'} the Lease ${this.opts.namespace}/${this.opts.name}: ${error.hint}; not ready until it can lead or stand by`,
    );
  }

  private observe(lease: LeaseObject): void {
    const s = lease.spec ?? {};
    const record = JSON.stringify([s.holderIdentity ?? '', s.renewTime ?? '', s.leaseTransitions ?? 0, lease.metadata.resourceVersion ?? '']);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = this.now();
    }
    const holder = s.holderIdentity ?? '';
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder) this.opts.onNewLeader?.(holder);
    }
  }

  private renewed(sentAt: number): void {
    this.leaderUntil = sentAt + this.opts.renewDeadlineMs;
    if (!this.leading) {
      this.leading = true;
      this.log.info({ holder: this.opts.identity }, 'became leader');
      this.opts.onStartedLeading?.();
    }
    // Stop on time even if no attempt completes (a hung request).
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => void this.isLeader(), Math.max(0, this.leaderUntil - this.now()) + 1);
    this.deadlineTimer.unref?.();
  }

  private stopLeading(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.leaderUntil = -Infinity;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.log.warn({ holder: this.opts.identity, reason }, 'stopped leading');
    this.opts.onStoppedLeading?.(reason);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = (async () => {
      while (!this.stopped) {
        await this.tryAcquireOrRenew();
        if (this.stopped) break;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.opts.retryPeriodMs);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
      }
    })();
  }

  /** Stops the loop; when leading, gives the lease up so another replica takes over at once. */
  async stop(release = true): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (this.leading) {
      this.stopLeading('shutting down');
      if (release) {
        try {
          const lease = await this.opts.client.get();
          if (lease && lease.spec?.holderIdentity === this.opts.identity) {
            await this.opts.client.update({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.wall()) } });
          }
        } catch (e) {
          this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not release the lease');
        }
      }
    }
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
  }
}
