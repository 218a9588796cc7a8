import { describe, expect, it } from 'vitest';
import { ApiError } from '../../kube/api-client.js';
import { describeLeaseError, LeaderElector, microTime, type LeaseClient, type LeaseError, type LeaseObject } from '../../kube/lease.js';

/** An in-memory Lease with optimistic concurrency, shared by several electors. */
class FakeLeaseServer {
  lease: LeaseObject | undefined;
  private rv = 0;
  down = false;
  calls = 0;
  client(): LeaseClient {
    const check = (): void => {
      this.calls++;
      if (this.down) throw new ApiError(0, 'get', '/lease', 'connection refused');
    };
    return {
      get: async () => {
        check();
        return this.lease ? structuredClone(this.lease) : undefined;
      },
      create: async (l) => {
        check();
        if (this.lease) throw new ApiError(409, 'create', '/lease', 'already exists', 'AlreadyExists');
        this.lease = { ...structuredClone(l), metadata: { ...l.metadata, resourceVersion: String(++this.rv) } };
        return structuredClone(this.lease);
      },
      update: async (l) => {
        check();
        if (!this.lease || l.metadata.resourceVersion !== this.lease.metadata.resourceVersion) {
          throw new ApiError(409, 'update', '/lease', 'the object has been modified', 'Conflict');
        }
        this.lease = { ...structuredClone(l), metadata: { ...l.metadata, resourceVersion: String(++this.rv) } };
        return structuredClone(this.lease);
      },
    };
  }
}

function elector(server: FakeLeaseServer, identity: string, clock: { t: number }, log: string[] = []): LeaderElector {
  return new LeaderElector({
    client: server.client(),
    namespace: 'redline-system',
    name: 'redline-controller',
    identity,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    now: () => clock.t,
    // Deliberately skewed wall clocks: the algorithm must not depend on them.
    wallClock: () => new Date(identity === 'a' ? 0 : 10 ** 12),
    onStartedLeading: () => log.push(`${identity} started`),
    onStoppedLeading: (why) => log.push(`${identity} stopped: ${why}`),
  });
}

describe('LeaderElector (injected clock)', () => {
  it('first candidate creates the Lease and leads; the second stays standby while renewals continue', async () => {
    const server = new FakeLeaseServer();
    const clock = { t: 0 };
    const log: string[] = [];
    const a = elector(server, 'a', clock, log);
    const b = elector(server, 'b', clock, log);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(a.isLeader()).toBe(true);
    expect(a.writeGate()).toBeNull();
    expect(server.lease!.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(await b.tryAcquireOrRenew()).toBe(false);
    expect(b.writeGate()).toMatch(/not the leader/);
    expect(b.holder).toBe('a');
    // a renews every 2 s for a minute; b never takes over, though its wall clock is 30 years off
    for (let i = 0; i < 30; i++) {
      clock.t += 2_000;
      expect(await a.tryAcquireOrRenew()).toBe(true);
      expect(await b.tryAcquireOrRenew()).toBe(false);
    }
    expect(log).toEqual(['a started']);
  });

  it('a leader that cannot renew stops writing at the renew deadline, before a standby can take over', async () => {
    const server = new FakeLeaseServer();
    const clock = { t: 0 };
    const log: string[] = [];
    const a = elector(server, 'a', clock, log);
    const b = elector(server, 'b', clock, log);
    await a.tryAcquireOrRenew(); // renewal sent at t=0
    await b.tryAcquireOrRenew(); // b observes the record at t=0
    // a is partitioned from the API server from now on; b still reaches it
    const aClient = server.client();
    let aDown = true;
    (a as unknown as { opts: { client: LeaseClient } }).opts.client = {
      get: () => (aDown ? Promise.reject(new ApiError(0, 'get', '/', 'partitioned')) : aClient.get()),
      create: (l) => aClient.create(l),
      update: (l) => (aDown ? Promise.reject(new ApiError(0, 'update', '/', 'partitioned')) : aClient.update(l)),
    };
    let aStoppedAt = -1;
    let bLeadsAt = -1;
    for (clock.t = 500; clock.t <= 20_000; clock.t += 500) {
      const aLeads = await a.tryAcquireOrRenew();
      if (!aLeads && aStoppedAt < 0) aStoppedAt = clock.t;
      if (await b.tryAcquireOrRenew()) {
        bLeadsAt = clock.t;
        break;
      }
      // never two writers at the same instant
      expect(a.isLeader() && b.isLeader()).toBe(false);
    }
    expect(aStoppedAt).toBe(10_000); // renewDeadline after the last renewal was SENT
    expect(bLeadsAt).toBe(15_000); // leaseDuration after b last SAW a change
    expect(bLeadsAt - aStoppedAt).toBeGreaterThanOrEqual(5_000);
    expect(a.isLeader()).toBe(false);
    expect(b.isLeader()).toBe(true);
    expect(server.lease!.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(log).toEqual(['a started', expect.stringMatching(/^a stopped: renew deadline/), 'b started']);
    // a comes back: sees b's lease and stays standby
    aDown = false;
    clock.t += 500;
    expect(await a.tryAcquireOrRenew()).toBe(false);
    expect(a.holder).toBe('b');
  });

  it('isLeader() is time based: writes stop at the deadline even if no attempt completes', async () => {
    const server = new FakeLeaseServer();
    const clock = { t: 1_000 };
    const a = elector(server, 'a', clock);
    await a.tryAcquireOrRenew();
    clock.t = 10_999;
    expect(a.isLeader()).toBe(true);
    clock.t = 11_000;
    expect(a.isLeader()).toBe(false);
    expect(a.writeGate()).not.toBeNull();
  });

  it('the deadline counts from when the renewal was sent, not when it was answered', async () => {
    const server = new FakeLeaseServer();
    const clock = { t: 0 };
    const a = elector(server, 'a', clock);
    const slow = server.client();
    (a as unknown as { opts: { client: LeaseClient } }).opts.client = {
      get: async () => {
        const l = await slow.get();
        clock.t += 4_000; // the API server takes 4 s to answer
        return l;
      },
      create: (l) => slow.create(l),
      update: (l) => slow.update(l),
    };
    await a.tryAcquireOrRenew(); // sent at 0, answered at 4 s
    clock.t = 9_999;
    expect(a.isLeader()).toBe(true);
    clock.t = 10_000;
    expect(a.isLeader()).toBe(false);
  });

  it('optimistic concurrency: of two candidates racing for an expired lease only one wins', async () => {
    const server = new FakeLeaseServer();
    const clock = { t: 0 };
    const old = elector(server, 'old', clock);
    await old.tryAcquireOrRenew();
    const a = elector(server, 'a', clock);
    const b = elector(server, 'b', clock);
    await a.tryAcquireOrRenew();
    await b.tryAcquireOrRenew();
    clock.t = 16_000;
    const results = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
  });

  it('release on shutdown hands over at once; a lease taken by someone else stops the leader immediately', async () => {
    const server = new FakeLeaseServer();
    const clock = { t: 0 };
    const log: string[] = [];
    const a = elector(server, 'a', clock, log);
    const b = elector(server, 'b', clock, log);
    await a.tryAcquireOrRenew();
    await b.tryAcquireOrRenew();
    await a.stop(true);
    expect(server.lease!.spec.holderIdentity).toBe('');
    clock.t += 100;
    expect(await b.tryAcquireOrRenew()).toBe(true); // no need to wait leaseDuration
    // an admin hands the lease to "c": b notices on its next attempt
    server.lease!.spec.holderIdentity = 'c';
    server.lease!.metadata.resourceVersion = '999';
    clock.t += 100;
    expect(await b.tryAcquireOrRenew()).toBe(false);
    expect(b.isLeader()).toBe(false);
    expect(log).toContain('b stopped: lease now held by c');
  });

  it('rejects unsafe timings; microTime has microseconds', () => {
    const server = new FakeLeaseServer();
    const mk = (lease: number, renew: number, retry: number) => () =>
      new LeaderElector({ client: server.client(), namespace: 'n', name: 'l', identity: 'x', leaseDurationMs: lease, renewDeadlineMs: renew, retryPeriodMs: retry });
    expect(mk(10_000, 10_000, 1_000)).toThrow(/renewDeadlineMs must be < leaseDurationMs/);
    expect(mk(15_000, 10_000, 10_000)).toThrow(/retryPeriodMs/);
    expect(microTime(new Date('2024-05-06T07:08:09.123Z'))).toBe('2024-05-06T07:08:09.123000Z');
  });

  it('a Lease namespace that does not exist: error log with what to do, counted, not ready; ready once it exists', async () => {
    const server = new FakeLeaseServer();
    const clock = { t: 0 };
    const logs: { level: string; msg: string; obj: object }[] = [];
    const errors: LeaseError[] = [];
    let namespaceExists = false;
    const inner = server.client();
    const record = (level: string) => (obj: object, msg: string) => logs.push({ level, msg, obj });
    const e = new LeaderElector({
      client: {
        get: () => inner.get(), // 404 → undefined, as kubeLeaseClient does
        create: (l) =>
          namespaceExists
            ? inner.create(l)
            : Promise.reject(new ApiError(404, 'create', '/apis/coordination.k8s.io/v1/namespaces/redline-system/leases', 'namespaces "redline-system" not found', 'NotFound')),
        update: (l) => inner.update(l),
      },
      namespace: 'redline-system',
      name: 'redline-controller',
      identity: 'a',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      now: () => clock.t,
      onError: (err) => errors.push(err),
      logger: { info: record('info'), warn: record('warn'), error: record('error'), debug: record('debug') },
    });
    expect(e.readiness()).toMatchObject({ ok: false, detail: expect.stringMatching(/no answer from the API server yet/) });
    for (let i = 0; i < 10; i++, clock.t += 2_000) expect(await e.tryAcquireOrRenew()).toBe(false);
    expect(errors).toHaveLength(10); // every failed attempt counted
    expect(errors[0]!.reason).toBe('namespace_missing');
    const errorLogs = logs.filter((l) => l.level === 'error');
    expect(errorLogs).toHaveLength(1); // logged once while it persists (again after a minute)
    expect(errorLogs[0]!.msg).toMatch(/Lease redline-system\/redline-controller: .*does not exist: create it \(kubectl create namespace redline-system\)/);
    expect(errorLogs[0]!.obj).toMatchObject({ reason: 'namespace_missing', err: expect.stringMatching(/HTTP 404 NotFound: namespaces "redline-system" not found/) });
    const ready = e.readiness();
    expect(ready.ok).toBe(false);
    expect(ready.detail).toMatch(/^Lease redline-system\/redline-controller: namespace_missing: .*404.*kubectl create namespace redline-system/);
    clock.t += 60_000;
    await e.tryAcquireOrRenew();
    expect(logs.filter((l) => l.level === 'error')).toHaveLength(2);

    namespaceExists = true;
    expect(await e.tryAcquireOrRenew()).toBe(true);
    expect(e.readiness()).toEqual({ ok: true, detail: 'leader (a)' });
    expect(e.error).toBeUndefined();
    expect(logs.some((l) => l.level === 'info' && /reachable again/.test(l.msg))).toBe(true);
  });

  it('a Lease RBAC forbids: error says which grant is missing; a standby that can read the Lease is ready', async () => {
    const server = new FakeLeaseServer();
    const clock = { t: 0 };
    const a = elector(server, 'a', clock);
    await a.tryAcquireOrRenew();
    const errors: string[] = [];
    const inner = server.client();
    let forbidden = true;
    const b = new LeaderElector({
      client: {
        get: () => (forbidden ? Promise.reject(new ApiError(403, 'get', '/lease', 'leases.coordination.k8s.io "redline-controller" is forbidden: User "x" cannot get resource "leases"', 'Forbidden')) : inner.get()),
        create: (l) => inner.create(l),
        update: (l) => inner.update(l),
      },
      namespace: 'redline-system',
      name: 'redline-controller',
      identity: 'b',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      now: () => clock.t,
      onError: (err) => errors.push(err.reason),
    });
    expect(await b.tryAcquireOrRenew()).toBe(false);
    expect(errors).toEqual(['forbidden']);
    expect(b.readiness().ok).toBe(false);
    expect(b.readiness().detail).toMatch(/forbidden: .*403.*grant its ServiceAccount create on leases and get\/update on the lease "redline-controller" in namespace "redline-system"/);
    forbidden = false;
    expect(await b.tryAcquireOrRenew()).toBe(false);
    expect(b.readiness()).toEqual({ ok: true, detail: 'standby; leader is a' });
    // a standby that stops reaching the API server turns not ready after leaseDuration, not at once
    forbidden = true;
    clock.t += 2_000;
    await b.tryAcquireOrRenew();
    expect(b.readiness().ok).toBe(true);
    clock.t += 15_000;
    expect(b.readiness().ok).toBe(false);
  });

  it('describeLeaseError: a 409 race is no error; the rest are classified with a fix', () => {
    expect(describeLeaseError(new ApiError(409, 'update', '/l', 'modified', 'Conflict'), 'ns', 'l')).toBeUndefined();
    expect(describeLeaseError(new ApiError(401, 'get', '/l', 'Unauthorized'), 'ns', 'l')!.reason).toBe('unauthorized');
    expect(describeLeaseError(new ApiError(0, 'get', '/l', 'ECONNREFUSED'), 'ns', 'l')!.reason).toBe('unreachable');
    expect(describeLeaseError(new ApiError(500, 'get', '/l', 'etcd'), 'ns', 'l')).toMatchObject({ reason: 'api_error', hint: expect.stringContaining('HTTP 500') });
    expect(describeLeaseError(new Error('boom'), 'ns', 'l')!.reason).toBe('api_error');
  });

  it('a 403 in a namespace that does not exist is reported as the missing namespace (RBAC is checked first)', async () => {
    const errors: LeaseError[] = [];
    let exists = false;
    const e = new LeaderElector({
      client: {
        get: () => Promise.reject(new ApiError(403, 'get', '/lease', 'leases.coordination.k8s.io "l" is forbidden', 'Forbidden')),
        create: () => Promise.reject(new Error('not reached')),
        update: () => Promise.reject(new Error('not reached')),
        namespaceExists: async () => exists,
      },
      namespace: 'gone',
      name: 'l',
      identity: 'a',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      onError: (err) => errors.push(err),
    });
    await e.tryAcquireOrRenew();
    exists = true;
    await e.tryAcquireOrRenew();
    expect(errors.map((x) => x.reason)).toEqual(['namespace_missing', 'forbidden']);
    expect(errors[0]!.hint).toMatch(/kubectl create namespace gone\) with the Role and RoleBinding redline-controller-leader-election/);
    expect(errors[0]!.message).toMatch(/HTTP 403/);
  });
});
