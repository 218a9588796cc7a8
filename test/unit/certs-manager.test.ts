// CertManager over an in-memory Secret and injector, with an injected clock: issuance, renewal at
// 2/3, two-phase CA rotation (old CA kept until it expires), corrupt data, leadership, 409s,
// external mode, forced rotations, wall-clock polling and metrics.
import { Registry } from 'prom-client';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renewalTime } from '../../certs/authority.js';
import { MemoryCaBundleInjector } from '../../certs/inject.js';
import { CertManager, type CertManagerOptions } from '../../certs/manager.js';
import { decodeSecretData, encodeSecretData } from '../../certs/secret.js';
import { ANNOTATION_ROTATE } from '../../core/vocabulary.js';
import { MemorySecretStore } from '../../certs/secret-store.js';
import { createCertManager } from '../../certs/create.js';
import { CERT_SETTINGS, DEFAULT_CERT_SETTINGS, checkCertSettings } from '../../core/settings/certs.js';
import { type KeyPairPem, generateKeyPair, isIssuedBy, parseCertificate, splitPemBundle } from '../../certs/x509.js';
import { until } from '../helpers/wait.js';

const SEC = 1000;
const HOUR = 3600 * SEC;
const DAY = 24 * HOUR;
const T0 = Date.parse('2030-01-01T00:00:00.000Z');

let keys: KeyPairPem[] = [];
let nextKey = 0;
const pooledKey = async (): Promise<KeyPairPem> => keys[nextKey++ % keys.length]!;

beforeAll(async () => {
  keys = await Promise.all(Array.from({ length: 4 }, () => generateKeyPair()));
});

interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

class Harness {
  now = T0;
  leader = true;
  readonly store = new MemorySecretStore();
  readonly injector = new MemoryCaBundleInjector();
  readonly registry = new Registry();
  readonly lines: LogLine[] = [];
  readonly manager: CertManager;

  constructor(opts: Partial<CertManagerOptions> = {}) {
    const log = (level: string) => (obj: object, msg: string) => void this.lines.push({ level, obj: obj as Record<string, unknown>, msg });
    this.manager = new CertManager({
      authority: { serviceName: 'redline-webhook', namespace: 'redline-system', caLifetimeMs: 30 * DAY, servingLifetimeMs: 3 * DAY },
      store: this.store,
      injector: this.injector,
      clock: () => new Date(this.now),
      logger: { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') },
      registry: this.registry,
      isLeader: () => this.leader,
      resyncMs: 365 * DAY,
      caRolloutDelayMs: 60 * SEC,
      generateKeyPair: pooledKey,
      ...opts,
    });
  }

  secret() {
    const s = this.store.peek();
    if (!s) throw new Error('no secret');
    const d = decodeSecretData(s.data);
    if (!d.ok) throw new Error(d.problem);
    return { snapshot: s, state: d.value, serving: parseCertificate(d.value.serving.certPem), ca: parseCertificate(d.value.ca.certPem) };
  }

  async metric(name: string): Promise<Array<{ labels: Record<string, string | number>; value: number }>> {
    const m = (await this.registry.getMetricsAsJSON()).find((x) => x.name === name);
    return (m?.values ?? []) as Array<{ labels: Record<string, string | number>; value: number }>;
  }

  async counter(name: string, label: string, value: string): Promise<number> {
    return (await this.metric(name)).find((v) => v.labels[label] === value)?.value ?? 0;
  }
}

const serials = (pems: string[]) => pems.map((p) => parseCertificate(p).serialHex);

describe('CertManager (managed)', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
  });

  it('issues a CA and a serving certificate when the Secret is absent, and injects the bundle', async () => {
    const r = await h.manager.reconcileOnce();
    expect(r.action).toBe('issue-all');
    expect(r.wrote).toBe(true);
    expect(r.error).toBeUndefined();
    const { snapshot, state, serving, ca } = h.secret();
    expect(snapshot.type).toBe('kubernetes.io/tls');
    expect(snapshot.labels['app.kubernetes.io/managed-by']).toBe('redline');
    expect(Object.keys(snapshot.data).sort()).toEqual(['ca-bundle.crt', 'ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(serving.dnsNames).toContain('redline-webhook.redline-system.svc');
    expect(serving.dnsNames).toContain('redline-webhook.redline-system.svc.cluster.local');
    expect(ca.isCa).toBe(true);
    expect(ca.notAfter.getTime()).toBe(T0 + 30 * DAY);
    expect(serving.notAfter.getTime()).toBe(T0 + 3 * DAY);
    expect(isIssuedBy(state.serving.certPem, state.ca.certPem)).toBe(true);
    expect(h.injector.bundle).toBe(state.ca.certPem);
    // next check: the serving renewal time (2/3 of its life), the earliest thing due
    expect(r.nextCheckAt.getTime()).toBe(renewalTime(serving, 2 / 3).getTime());
    expect(await h.counter('redline_certificate_rotations_total', 'certificate', 'serving')).toBe(1);
    expect(await h.counter('redline_certificate_rotations_total', 'certificate', 'ca')).toBe(1);
    const expiry = await h.metric('redline_certificate_expiry_timestamp_seconds');
    expect(expiry).toEqual(
      expect.arrayContaining([
        { labels: { certificate: 'serving', serial: serving.serialHex }, value: (T0 + 3 * DAY) / 1000 },
        { labels: { certificate: 'ca', serial: ca.serialHex }, value: (T0 + 30 * DAY) / 1000 },
      ]),
    );
    expect(expiry).toHaveLength(2);
  });

  it('does nothing until 2/3 of the serving lifetime, then renews it from the same CA', async () => {
    await h.manager.reconcileOnce();
    const first = h.secret();
    const renewAt = renewalTime(first.serving, 2 / 3).getTime();
    h.now = renewAt - SEC;
    const quiet = await h.manager.reconcileOnce();
    expect(quiet.action).toBe('none');
    expect(h.store.writes).toBe(1);
    h.now = renewAt;
    const r = await h.manager.reconcileOnce();
    expect(r.action).toBe('renew-serving');
    const second = h.secret();
    expect(second.serving.serialHex).not.toBe(first.serving.serialHex);
    expect(second.ca.serialHex).toBe(first.ca.serialHex);
    expect(second.serving.notAfter.getTime()).toBe(renewAt + 3 * DAY);
    expect(await h.counter('redline_certificate_rotations_total', 'certificate', 'serving')).toBe(2);
    expect(await h.counter('redline_certificate_rotations_total', 'certificate', 'ca')).toBe(1);
    // the expiry gauge follows: the old serial is gone
    const servingSeries = (await h.metric('redline_certificate_expiry_timestamp_seconds')).filter((v) => v.labels['certificate'] === 'serving');
    expect(servingSeries.map((v) => v.labels['serial'])).toEqual([second.serving.serialHex]);
  });

  it('renews the CA in two phases and keeps the old CA in the bundle until it expires', async () => {
    await h.manager.reconcileOnce();
    const oldCa = h.secret().state.ca.certPem;
    const oldCaInfo = parseCertificate(oldCa);
    const caRenewAt = renewalTime(oldCaInfo, 2 / 3).getTime();
    // Follow the manager's own schedule (what the poll loop does) up to the CA renewal.
    let guard = 0;
    while (h.secret().state.ca.certPem === oldCa) {
      h.now = Math.max(h.now + SEC, h.manager.nextCheckAt.getTime());
      await h.manager.reconcileOnce();
      if (++guard > 50) throw new Error('CA never renewed');
    }
    expect(h.now).toBe(caRenewAt);
    // Phase A: new CA first in the bundle, old CA kept, serving certificate not switched yet.
    const a = h.secret();
    expect(serials(a.state.caBundle)).toEqual(serials([a.state.ca.certPem, oldCa]));
    expect(isIssuedBy(a.state.serving.certPem, oldCa)).toBe(true);
    expect(h.injector.bundle).toBe(a.state.ca.certPem + oldCa);
    expect(h.manager.nextCheckAt.getTime()).toBe(caRenewAt + 60 * SEC);
    // Not before the rollout delay...
    h.now = caRenewAt + 59 * SEC;
    expect((await h.manager.reconcileOnce()).action).toBe('wait-ca-rollout');
    expect(h.secret().serving.serialHex).toBe(a.serving.serialHex);
    // ...then phase B: a serving certificate from the new CA.
    h.now = caRenewAt + 60 * SEC;
    const b = await h.manager.reconcileOnce();
    expect(b.action).toBe('renew-serving');
    const after = h.secret();
    expect(isIssuedBy(after.state.serving.certPem, after.state.ca.certPem)).toBe(true);
    expect(serials(after.state.caBundle)).toEqual(serials([after.state.ca.certPem, oldCa]));
    // The old CA stays until its notAfter, then is pruned.
    guard = 0;
    while (h.now < oldCaInfo.notAfter.getTime() - SEC) {
      h.now = Math.min(Math.max(h.now + SEC, h.manager.nextCheckAt.getTime()), oldCaInfo.notAfter.getTime() - SEC);
      await h.manager.reconcileOnce();
      expect(h.secret().state.caBundle).toContain(oldCa);
      expect(h.injector.bundle).toContain(oldCa);
      if (++guard > 50) throw new Error('runaway');
    }
    h.now = oldCaInfo.notAfter.getTime();
    await h.manager.reconcileOnce();
    expect(h.secret().state.caBundle).toEqual([h.secret().state.ca.certPem]);
    expect(h.injector.bundle).toBe(h.secret().state.ca.certPem);
    expect(await h.counter('redline_certificate_rotations_total', 'certificate', 'ca')).toBe(2);
  });

  it('corrupt Secret data: logs an error naming the key and issues a fresh authority, never throws', async () => {
    await h.manager.reconcileOnce();
    const good = h.secret();
    h.store.modify((s) => {
      s.data['ca.key'] = '!!! not base64 !!!';
    });
    const r = await h.manager.reconcileOnce();
    expect(r.error).toBeUndefined();
    expect(r.action).toBe('issue-all');
    const err = h.lines.find((l) => l.level === 'error');
    expect(err?.msg).toContain('"ca.key"');
    expect(err?.obj['reason']).toContain('"ca.key" is not valid base64');
    expect(await h.counter('redline_certificate_errors_total', 'kind', 'secret_corrupt')).toBe(1);
    const fresh = h.secret();
    expect(fresh.ca.serialHex).not.toBe(good.ca.serialHex);
    // What may still be served stays trusted: the old CA is kept in the bundle, and the intact old
    // serving pair stays in service until the new CA has been rolled out.
    expect(fresh.state.caBundle).toContain(good.state.ca.certPem);
    expect(fresh.serving.serialHex).toBe(good.serving.serialHex);

    // Entirely garbage data (no salvage possible): a fresh authority at once.
    h.store.modify((s) => {
      s.data = { 'tls.crt': Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString('base64'), 'tls.key': 'eA==' };
    });
    const r2 = await h.manager.reconcileOnce();
    expect(r2.action).toBe('issue-all');
    expect(h.lines.filter((l) => l.level === 'error').at(-1)?.msg).toContain('"tls.crt"');
    const fresh2 = h.secret();
    expect(isIssuedBy(fresh2.state.serving.certPem, fresh2.state.ca.certPem)).toBe(true);
    expect(fresh2.state.caBundle).toHaveLength(1);
  });

  it('does nothing at all while not the leader (no reads, no writes, no injection)', async () => {
    h.leader = false;
    const r = await h.manager.reconcileOnce();
    expect(r.skipped).toBe('not-leader');
    await h.manager.tick();
    h.now += 400 * DAY;
    await h.manager.tick();
    expect(h.store.stats).toEqual({ reads: 0, creates: 0, updates: 0, conflicts: 0 });
    expect(h.injector.calls).toBe(0);
    // Leadership lost between the read and the write: nothing is written.
    let calls = 0;
    const h2 = new Harness({ isLeader: () => ++calls <= 2 });
    const r2 = await h2.manager.reconcileOnce();
    expect(r2.skipped).toBe('not-leader');
    expect(h2.store.writes).toBe(0);
    expect(h2.injector.calls).toBe(0);
  });

  it('a 409 re-reads and decides again', async () => {
    // Someone else (another leader that was still writing) creates the Secret between our read and create.
    const other = new Harness();
    await other.manager.reconcileOnce();
    const theirs = other.store.peek()!;
    h.store.beforeWrite = (s) => {
      s.beforeWrite = undefined;
      s.set({ data: theirs.data, labels: theirs.labels });
    };
    const r = await h.manager.reconcileOnce();
    expect(r.error).toBeUndefined();
    expect(h.store.stats.conflicts).toBe(1);
    expect(r.action).toBe('none'); // theirs is valid: adopted, not overwritten
    expect(h.store.peek()!.data).toEqual(theirs.data);
    expect(await h.counter('redline_certificate_errors_total', 'kind', 'secret_conflict')).toBe(1);

    // A stale update: the Secret changes between our read and our update.
    h.now = renewalTime(h.secret().serving, 2 / 3).getTime();
    h.store.beforeWrite = (s) => {
      s.beforeWrite = undefined;
      s.modify((x) => {
        x.annotations['touched'] = 'yes';
      });
    };
    const before = h.store.stats.updates;
    const r2 = await h.manager.reconcileOnce();
    expect(r2.action).toBe('renew-serving');
    expect(h.store.stats.conflicts).toBe(2);
    expect(h.store.stats.updates).toBe(before + 1);
    expect(h.store.peek()!.annotations['touched']).toBe('yes');
  });

  it('gives up after repeated conflicts without throwing and retries with backoff', async () => {
    h.store.beforeWrite = (s) => s.set({ data: { junk: 'eA==' } });
    const r = await h.manager.reconcileOnce();
    expect(r.error).toMatch(/resourceVersion|exists/);
    expect(r.nextCheckAt.getTime()).toBe(T0 + 1000);
    const r2 = await h.manager.reconcileOnce();
    expect(r2.nextCheckAt.getTime()).toBe(T0 + 2000);
    h.store.beforeWrite = undefined;
    expect((await h.manager.reconcileOnce()).wrote).toBe(true);
  });

  it('injection failure is counted and retried; the Secret is not rewritten', async () => {
    h.injector.failNext = new Error('boom');
    const r = await h.manager.reconcileOnce();
    expect(r.error).toContain('boom');
    expect(await h.counter('redline_certificate_errors_total', 'kind', 'inject')).toBe(1);
    const r2 = await h.manager.reconcileOnce();
    expect(r2.action).toBe('none');
    expect(h.store.writes).toBe(1);
    expect(h.injector.bundle).toBe(h.secret().state.ca.certPem);
  });

  it('forced rotations (annotation from `redline certs rotate`) are carried out and cleared', async () => {
    await h.manager.reconcileOnce();
    const first = h.secret();
    h.now += HOUR;
    h.store.modify((s) => {
      s.annotations[ANNOTATION_ROTATE] = 'serving';
    });
    expect((await h.manager.reconcileOnce()).action).toBe('renew-serving');
    const second = h.secret();
    expect(second.serving.serialHex).not.toBe(first.serving.serialHex);
    expect(second.ca.serialHex).toBe(first.ca.serialHex);
    expect(second.snapshot.annotations[ANNOTATION_ROTATE]).toBeUndefined();

    h.store.modify((s) => {
      s.annotations[ANNOTATION_ROTATE] = 'ca';
    });
    expect((await h.manager.reconcileOnce()).action).toBe('renew-ca');
    const third = h.secret();
    expect(third.ca.serialHex).not.toBe(first.ca.serialHex);
    expect(third.serving.serialHex).toBe(second.serving.serialHex); // phase A
    expect(serials(third.state.caBundle)).toEqual([third.ca.serialHex, first.ca.serialHex]);
    expect(third.snapshot.annotations[ANNOTATION_ROTATE]).toBeUndefined();
    h.now += 60 * SEC;
    expect((await h.manager.reconcileOnce()).action).toBe('renew-serving');
    expect(isIssuedBy(h.secret().state.serving.certPem, third.state.ca.certPem)).toBe(true);

    h.store.modify((s) => {
      s.annotations[ANNOTATION_ROTATE] = 'everything';
    });
    const writes = h.store.writes;
    expect((await h.manager.reconcileOnce()).action).toBe('none');
    expect(h.store.writes).toBe(writes + 1); // only the invalid request removed
    expect(h.store.peek()!.annotations[ANNOTATION_ROTATE]).toBeUndefined();
    expect(h.lines.some((l) => l.level === 'warn' && l.msg.includes('invalid rotation request'))).toBe(true);
  });

  it('polls the wall clock: quiet ticks only read; due, slept-through or changed Secret → full check', async () => {
    await h.manager.tick(); // first tick after becoming leader: full check
    expect(h.store.writes).toBe(1);
    const reads = h.store.stats.reads;
    await h.manager.tick();
    expect(h.store.stats.reads).toBe(reads + 1); // cheap resourceVersion check
    expect(h.store.writes).toBe(1);
    expect(h.injector.calls).toBe(1);
    // Somebody deletes the Secret: the next tick notices and re-issues.
    h.store.set(null);
    await h.manager.tick();
    expect(h.store.writes).toBe(2);
    // The machine slept for 100 days: the first tick after waking up renews what is due.
    const before = h.secret();
    h.now += 100 * DAY;
    await h.manager.tick();
    const after = h.secret();
    expect(after.ca.serialHex).not.toBe(before.ca.serialHex);
    expect(after.ca.notBefore.getTime()).toBeGreaterThan(T0 + 99 * DAY);
    // Losing and regaining leadership forces a full check; a standby reports no expiries.
    h.leader = false;
    await h.manager.tick();
    expect(await h.metric('redline_certificate_expiry_timestamp_seconds')).toEqual([]);
    h.leader = true;
    const calls = h.injector.calls;
    await h.manager.tick();
    expect(h.injector.calls).toBe(calls + 1);
  });

  it('start/stop drive tick on an interval', async () => {
    const p = new Harness({ checkIntervalMs: 20 });
    p.manager.start({ isLeader: () => p.leader });
    await until('the first tick writes the Secret', () => p.store.writes > 0, 5_000, 10);
    await p.manager.stop();
    expect(p.store.writes).toBe(1);
    const reads = p.store.stats.reads;
    // A fixed wait on purpose: no tick may read during it (four check intervals of 20 ms).
    await new Promise((r) => setTimeout(r, 80));
    expect(p.store.stats.reads).toBe(reads);
  });
});

describe('CertManager (external)', () => {
  it('never writes the Secret, injects its ca.crt, and reports what is wrong', async () => {
    const managed = new Harness();
    await managed.manager.reconcileOnce();
    const theirs = managed.store.peek()!;

    const h = new Harness({ mode: 'external' });
    // absent
    const r0 = await h.manager.reconcileOnce();
    expect(r0.error).toContain('not found');
    expect(await h.counter('redline_certificate_errors_total', 'kind', 'external_invalid')).toBe(1);
    // present (cert-manager style: tls.crt, tls.key, ca.crt only)
    h.store.set({ data: { 'tls.crt': theirs.data['tls.crt']!, 'tls.key': theirs.data['tls.key']!, 'ca.crt': theirs.data['ca.crt']! }, annotations: { [ANNOTATION_ROTATE]: 'ca' } });
    const r1 = await h.manager.reconcileOnce();
    expect(r1.action).toBe('external');
    expect(r1.error).toBeUndefined();
    expect(h.injector.bundle).toBe(Buffer.from(theirs.data['ca.crt']!, 'base64').toString('utf8'));
    expect(h.lines.some((l) => l.level === 'warn' && l.msg.includes('managed externally'))).toBe(true);
    const serving = (await h.metric('redline_certificate_expiry_timestamp_seconds')).filter((v) => v.labels['certificate'] === 'serving');
    expect(serving).toHaveLength(1);
    // expired, corrupt: still never written
    h.now += 400 * DAY;
    await h.manager.reconcileOnce();
    h.store.modify((s) => {
      s.data['tls.key'] = 'garbage';
    });
    await h.manager.reconcileOnce();
    h.store.set(null);
    await h.manager.reconcileOnce();
    await h.manager.tick();
    expect(h.store.writes).toBe(0);

    // inject: false → the injector is never called (cert-manager's cainjector does it)
    const quiet = new Harness({ mode: 'external', inject: false });
    quiet.store.set({ data: theirs.data });
    expect((await quiet.manager.reconcileOnce()).action).toBe('external');
    expect(quiet.injector.calls).toBe(0);
    expect(quiet.store.writes).toBe(0);
    expect(splitPemBundle(Buffer.from(theirs.data['ca.crt']!, 'base64').toString())).toHaveLength(1);
  });

  it('rejects inconsistent options', () => {
    const store = new MemorySecretStore();
    const authority = { serviceName: 'redline-webhook', namespace: 'redline-system' };
    expect(() => new CertManager({ authority, store })).toThrow(/injector/);
    expect(() => new CertManager({ authority, store, inject: false, mode: 'other' as never })).toThrow(/mode/);
    expect(() => new CertManager({ authority, store, inject: false, checkIntervalMs: 0 })).toThrow(/checkIntervalMs/);
    expect(encodeSecretData).toBeTypeOf('function');
  });
});

describe('certificate settings', () => {
  it('defaults: CA 5 years, serving 90 days, renew at 2/3; cross-field checks', () => {
    expect(DEFAULT_CERT_SETTINGS.caLifetimeMs).toBe(5 * 365 * DAY);
    expect(DEFAULT_CERT_SETTINGS.servingLifetimeMs).toBe(90 * DAY);
    expect(DEFAULT_CERT_SETTINGS.renewFraction).toBeCloseTo(2 / 3);
    expect(checkCertSettings(DEFAULT_CERT_SETTINGS)).toEqual([]);
    expect(checkCertSettings({ ...DEFAULT_CERT_SETTINGS, servingLifetimeMs: 6 * 365 * DAY })[0]).toContain('servingLifetimeMs');
    expect(new Set(CERT_SETTINGS.map((s) => s.path)).size).toBe(CERT_SETTINGS.length);
    for (const row of CERT_SETTINGS) {
      const key = row.path.replace(/^certs\./, '') as keyof typeof DEFAULT_CERT_SETTINGS;
      expect(DEFAULT_CERT_SETTINGS[key], row.path).toEqual(row.default);
    }
    const api = { request: async () => { throw Object.assign(new Error('nope'), { status: 404 }); } };
    const m = createCertManager({ api, settings: { ...DEFAULT_CERT_SETTINGS, mode: 'external', inject: false } });
    expect(m.mode).toBe('external');
    expect(m.inject).toBe(false);
    expect(() => createCertManager({ api, settings: { ...DEFAULT_CERT_SETTINGS, servingLifetimeMs: 6 * 365 * DAY } })).toThrow(/servingLifetimeMs/);
  });
});
