import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthorityConfig,
  type AuthorityState,
  type Decision,
  DEFAULT_CA_LIFETIME_MS,
  DEFAULT_RENEW_FRACTION,
  DEFAULT_SERVING_LIFETIME_MS,
  apply,
  decide,
  normalizeCaBundle,
  renewalTime,
  resolveAuthorityConfig,
  servingDnsNames,
} from '../../certs/authority.js';
import {
  type CertAndKey,
  type KeyPairPem,
  generateKeyPair,
  isIssuedBy,
  issueCa,
  issueLeaf,
  parseCertificate,
} from '../../certs/x509.js';

const SEC = 1000;
const HOUR = 3600 * SEC;
const DAY = 24 * HOUR;
const T0 = new Date('2030-01-01T00:00:00.000Z');
const SERVICE_DNS = 'redline-webhook.redline-system.svc';

const cfg: AuthorityConfig = resolveAuthorityConfig({ serviceName: 'redline-webhook', namespace: 'redline-system' });

// Key pool: RSA keygen is the slow part; none of these behaviours depend on a fresh key.
let keys: KeyPairPem[] = [];
let next = 0;
const pooledKey = async (): Promise<KeyPairPem> => {
  const k = keys[next++ % keys.length];
  if (!k) throw new Error('key pool empty');
  return k;
};
const opts = { generateKeyPair: pooledKey };
const at = (ms: number) => new Date(T0.getTime() + ms);
const fingerprints = (pems: string[]) => pems.map((p) => parseCertificate(p).fingerprintSha256);

let fresh: AuthorityState;

beforeAll(async () => {
  keys = await Promise.all(Array.from({ length: 5 }, () => generateKeyPair()));
  fresh = await apply(null, decide(null, cfg, T0), cfg, T0, opts);
});

async function step(state: AuthorityState | null, now: Date): Promise<{ decision: Decision; state: AuthorityState }> {
  const decision = decide(state, cfg, now);
  if (decision.action === 'none' && state) return { decision, state };
  return { decision, state: await apply(state, decision, cfg, now, opts) };
}

describe('config helpers', () => {
  it('resolveAuthorityConfig fills defaults and validates', () => {
    expect(cfg.caLifetimeMs).toBe(DEFAULT_CA_LIFETIME_MS);
    expect(cfg.servingLifetimeMs).toBe(DEFAULT_SERVING_LIFETIME_MS);
    expect(cfg.renewFraction).toBe(DEFAULT_RENEW_FRACTION);
    expect(DEFAULT_CA_LIFETIME_MS).toBe(5 * 365 * DAY);
    expect(DEFAULT_SERVING_LIFETIME_MS).toBe(90 * DAY);
    expect(() => resolveAuthorityConfig({ serviceName: 'x', namespace: 'y', renewFraction: 1 })).toThrow(/renewFraction/);
    expect(() => resolveAuthorityConfig({ serviceName: 'x', namespace: 'y', servingLifetimeMs: -1 })).toThrow(/servingLifetimeMs/);
    expect(() => resolveAuthorityConfig({ serviceName: 'Bad_Name', namespace: 'y' })).toThrow(/serviceName/);
    expect(() => resolveAuthorityConfig({ serviceName: 'x', namespace: 'y', ipAddresses: ['nope'] })).toThrow(/IP/);
  });

  it('servingDnsNames lists short, namespaced, .svc and cluster.local names plus extras, deduped', () => {
    expect(servingDnsNames({ serviceName: 'redline-webhook', namespace: 'redline-system', extraDnsNames: ['Webhook.Example.com', 'redline-webhook'] })).toEqual([
      'redline-webhook',
      'redline-webhook.redline-system',
      'redline-webhook.redline-system.svc',
      'redline-webhook.redline-system.svc.cluster.local',
      'webhook.example.com',
    ]);
  });
});

describe('decide / apply: fresh authority and serving renewal', () => {
  it('decide(null) is issue-all and apply builds a consistent state', () => {
    expect(decide(null, cfg, T0)).toEqual({ action: 'issue-all', reason: expect.any(String) });
    const ca = parseCertificate(fresh.ca.certPem);
    const sv = parseCertificate(fresh.serving.certPem);
    expect(ca.isCa).toBe(true);
    expect(ca.notAfter.getTime()).toBe(T0.getTime() + DEFAULT_CA_LIFETIME_MS);
    expect(sv.subject).toBe(`CN=${SERVICE_DNS}`);
    expect(sv.dnsNames.sort()).toEqual(servingDnsNames(cfg).sort());
    expect(sv.notAfter.getTime()).toBe(T0.getTime() + DEFAULT_SERVING_LIFETIME_MS);
    expect(isIssuedBy(fresh.serving.certPem, fresh.ca.certPem)).toBe(true);
    expect(fresh.caBundle).toEqual([fresh.ca.certPem]);
  });

  it('at t=0 nothing to do; nextCheckAt is the serving renewal time (2/3 of its life)', () => {
    const d = decide(fresh, cfg, T0);
    const sv = parseCertificate(fresh.serving.certPem);
    const renewAt = renewalTime(sv, 2 / 3);
    expect(d).toEqual({ action: 'none', nextCheckAt: renewAt });
    // 2/3 of (90 d + 5 min backdate), counted from the backdated notBefore
    expect(renewAt.getTime()).toBe(sv.notBefore.getTime() + (2 / 3) * (90 * DAY + 5 * 60 * SEC));
  });

  it('just before 2/3 of the serving life: none; at/just after: renew-serving', async () => {
    const renewAt = renewalTime(parseCertificate(fresh.serving.certPem), cfg.renewFraction).getTime();
    expect(decide(fresh, cfg, new Date(renewAt - SEC)).action).toBe('none');
    const after = decide(fresh, cfg, new Date(renewAt + SEC));
    expect(after).toMatchObject({ action: 'renew-serving', reason: expect.stringMatching(/renewal time/) });

    const now = new Date(renewAt + SEC);
    const renewed = await apply(fresh, after, cfg, now, opts);
    expect(renewed.ca).toEqual(fresh.ca); // CA untouched
    expect(renewed.caBundle).toEqual(fresh.caBundle);
    expect(renewed.serving.certPem).not.toBe(fresh.serving.certPem);
    expect(isIssuedBy(renewed.serving.certPem, renewed.ca.certPem)).toBe(true);
    expect(parseCertificate(renewed.serving.certPem).notAfter.getTime()).toBe(
      Math.floor((now.getTime() + DEFAULT_SERVING_LIFETIME_MS) / 1000) * 1000,
    );
    expect(decide(renewed, cfg, now).action).toBe('none');
  });

  it('apply does not mutate its input', async () => {
    const copy = structuredClone(fresh);
    await apply(fresh, { action: 'renew-ca', reason: 't' }, cfg, at(DAY), opts);
    expect(fresh).toEqual(copy);
  });
});

describe('decide: broken or mismatched state', () => {
  it('expired serving certificate -> renew-serving', () => {
    const notAfter = parseCertificate(fresh.serving.certPem).notAfter.getTime();
    expect(decide(fresh, cfg, new Date(notAfter))).toMatchObject({ action: 'renew-serving', reason: expect.stringMatching(/expired/) });
  });

  it('serving certificate not yet valid -> renew-serving', async () => {
    const k = await pooledKey();
    const future = issueLeaf(fresh.ca, {
      commonName: SERVICE_DNS,
      dnsNames: servingDnsNames(cfg),
      notBefore: at(DAY),
      lifetimeMs: 90 * DAY,
      key: k,
    });
    const d = decide({ ...fresh, serving: future }, cfg, at(HOUR));
    expect(d).toMatchObject({ action: 'renew-serving', reason: expect.stringMatching(/not yet valid/) });
  });

  it('SAN mismatch with the config -> renew-serving', () => {
    const withExtra = { ...cfg, extraDnsNames: ['webhook.example.com'] };
    expect(decide(fresh, withExtra, T0)).toMatchObject({ action: 'renew-serving', reason: expect.stringMatching(/SANs/) });
    const withIp = { ...cfg, ipAddresses: ['10.0.0.7'] };
    expect(decide(fresh, withIp, T0)).toMatchObject({ action: 'renew-serving', reason: expect.stringMatching(/SANs/) });
  });

  it('IP SANs compare canonically', async () => {
    const ipCfg = { ...cfg, ipAddresses: ['0:0:0:0:0:0:0:1', '10.0.0.7'] };
    const s = await apply(fresh, { action: 'renew-serving', reason: 't' }, ipCfg, T0, opts);
    expect(parseCertificate(s.serving.certPem).ipAddresses).toEqual(['::1', '10.0.0.7']);
    expect(decide(s, { ...cfg, ipAddresses: ['10.0.0.7', '::1'] }, T0).action).toBe('none');
  });

  it('serving key does not match the certificate -> renew-serving', () => {
    const d = decide({ ...fresh, serving: { ...fresh.serving, keyPem: fresh.ca.keyPem } }, cfg, T0);
    expect(d).toMatchObject({ action: 'renew-serving', reason: expect.stringMatching(/key does not match/) });
  });

  it('serving certificate not signed by the current CA -> renew-serving', async () => {
    const otherCa: CertAndKey = issueCa({ commonName: 'other', notBefore: T0, lifetimeMs: 365 * DAY, key: await pooledKey() });
    const d = decide({ ...fresh, ca: otherCa, caBundle: [otherCa.certPem] }, cfg, T0);
    expect(d).toMatchObject({ action: 'renew-serving', reason: expect.stringMatching(/not signed by the current CA/) });
  });

  it('unparsable serving certificate -> renew-serving; unparsable CA -> renew-ca', () => {
    expect(decide({ ...fresh, serving: { ...fresh.serving, certPem: 'garbage' } }, cfg, T0).action).toBe('renew-serving');
    expect(decide({ ...fresh, ca: { ...fresh.ca, certPem: 'garbage' } }, cfg, T0).action).toBe('renew-ca');
  });

  it('CA key mismatch, expired CA, not-yet-valid CA -> renew-ca', () => {
    expect(decide({ ...fresh, ca: { ...fresh.ca, keyPem: fresh.serving.keyPem } }, cfg, T0)).toMatchObject({
      action: 'renew-ca',
      reason: expect.stringMatching(/CA private key/),
    });
    const caNotAfter = parseCertificate(fresh.ca.certPem).notAfter.getTime();
    expect(decide(fresh, cfg, new Date(caNotAfter))).toMatchObject({ action: 'renew-ca', reason: expect.stringMatching(/expired/) });
    expect(decide(fresh, cfg, at(-HOUR))).toMatchObject({ action: 'renew-ca', reason: expect.stringMatching(/not yet valid/) });
  });

  it('bundle without the current CA, or with duplicates -> update-bundle, and apply repairs it', async () => {
    const missing = { ...fresh, caBundle: [] };
    expect(decide(missing, cfg, T0)).toMatchObject({ action: 'update-bundle', reason: expect.stringMatching(/current CA/) });
    const dup = { ...fresh, caBundle: [fresh.ca.certPem, fresh.ca.certPem] };
    const d = decide(dup, cfg, T0);
    expect(d.action).toBe('update-bundle');
    const repaired = await apply(dup, d, cfg, T0, opts);
    expect(repaired.caBundle).toEqual([fresh.ca.certPem]);
    expect(repaired.serving).toEqual(fresh.serving);
  });
});

describe('CA rotation', () => {
  it('renew-ca at 2/3 of CA life: new CA current, old CA kept in bundle until its expiry, then pruned', async () => {
    const oldCa = parseCertificate(fresh.ca.certPem);
    const caRenewAt = renewalTime(oldCa, cfg.renewFraction);
    // Simulate a well-behaved controller that wakes at nextCheckAt, from just before CA renewal.
    let state = fresh;
    let now = new Date(caRenewAt.getTime() - SEC);
    // Bring serving up to date first (it was issued at T0 and is long expired by then).
    ({ state } = await step(state, now));
    expect(state.ca).toEqual(fresh.ca);

    now = caRenewAt;
    const d = decide(state, cfg, now);
    expect(d).toMatchObject({ action: 'renew-ca', reason: expect.stringMatching(/CA certificate reached renewal time/) });
    state = await apply(state, d, cfg, now, opts);
    const newCa = parseCertificate(state.ca.certPem);
    expect(newCa.fingerprintSha256).not.toBe(oldCa.fingerprintSha256);
    expect(fingerprints(state.caBundle)).toEqual([newCa.fingerprintSha256, oldCa.fingerprintSha256]);
    expect(isIssuedBy(state.serving.certPem, state.ca.certPem)).toBe(true);

    // Run the controller loop until past the old CA's expiry.
    const end = oldCa.notAfter.getTime() + 30 * DAY;
    let sawOldCaUntil = 0;
    let pruned = false;
    let guard = 0;
    while (now.getTime() < end) {
      if (++guard > 100) throw new Error('loop did not converge');
      const dec = decide(state, cfg, now);
      if (dec.action === 'none') {
        expect(dec.nextCheckAt.getTime()).toBeGreaterThan(now.getTime());
        now = dec.nextCheckAt;
        continue;
      }
      expect(dec.action === 'renew-serving' || dec.action === 'update-bundle').toBe(true);
      state = await apply(state, dec, cfg, now, opts);
      const fps = fingerprints(state.caBundle);
      expect(fps[0]).toBe(newCa.fingerprintSha256);
      expect(isIssuedBy(state.serving.certPem, state.ca.certPem)).toBe(true);
      if (fps.includes(oldCa.fingerprintSha256)) {
        expect(now.getTime()).toBeLessThan(oldCa.notAfter.getTime());
        sawOldCaUntil = now.getTime();
      } else {
        expect(now.getTime()).toBeGreaterThanOrEqual(oldCa.notAfter.getTime());
        if (dec.action === 'update-bundle') pruned = true;
      }
    }
    expect(sawOldCaUntil).toBeGreaterThan(caRenewAt.getTime());
    // The controller was woken exactly at the old CA's expiry to prune it.
    expect(pruned).toBe(true);
    expect(fingerprints(state.caBundle)).toEqual([newCa.fingerprintSha256]);
  });

  it('normalizeCaBundle drops expired, non-CA and duplicate entries and puts the current CA first', async () => {
    const k = await pooledKey();
    const shortCa = issueCa({ commonName: 'short', notBefore: T0, lifetimeMs: DAY, key: k }).certPem;
    const bundle = normalizeCaBundle(fresh.ca.certPem, [shortCa, fresh.serving.certPem, fresh.ca.certPem, 'junk'], at(HOUR));
    expect(bundle).toEqual([fresh.ca.certPem, shortCa]);
    expect(normalizeCaBundle(fresh.ca.certPem, [shortCa], at(2 * DAY))).toEqual([fresh.ca.certPem]);
  });

  it('nextCheckAt includes the expiry of a previous CA still in the bundle', async () => {
    const k = await pooledKey();
    const oldCa = issueCa({ commonName: 'old', notBefore: T0, lifetimeMs: 10 * DAY, key: k }).certPem;
    const state = { ...fresh, caBundle: [fresh.ca.certPem, oldCa] };
    const d = decide(state, cfg, at(HOUR));
    expect(d).toEqual({ action: 'none', nextCheckAt: parseCertificate(oldCa).notAfter });
    expect(decide(state, cfg, at(10 * DAY))).toMatchObject({ action: 'update-bundle', reason: expect.stringMatching(/expired/) });
  });
});

describe('CA rotation over real TLS', () => {
  async function handshake(leaf: CertAndKey, ca: string[]): Promise<void> {
    const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (_q, r) => r.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      await new Promise<void>((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port, ca, servername: SERVICE_DNS, agent: false }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  it('a client trusting the published bundle accepts serving certs from both old and new CA', async () => {
    const now = new Date(); // real clock: TLS verification uses it
    const before = await apply(null, { action: 'issue-all', reason: 't' }, cfg, now, opts);
    const after = await apply(before, { action: 'renew-ca', reason: 't' }, cfg, now, opts);
    expect(after.caBundle).toHaveLength(2);

    // API server trusts the new bundle: old serving cert (still being served during rollout) and new one both verify.
    await handshake(before.serving, after.caBundle);
    await handshake(after.serving, after.caBundle);
    // Old bundle still verifies the old serving cert.
    await handshake(before.serving, before.caBundle);
    // Expected: a client trusting only the OLD CA does not accept the NEW serving cert.
    await expect(handshake(after.serving, before.caBundle)).rejects.toThrow();
  });
});
