// `redline certs` without a cluster: usage errors, `show --dir` (text and JSON), the report of
// missing/expired/untrusted material, and a Secret snapshot written by CertManager.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, decide, resolveAuthorityConfig } from '../../certs/authority.js';
import { encodeSecretData } from '../../certs/secret.js';
import { ANNOTATION_ROTATE } from '../../core/vocabulary.js';
import { SECRET_LABELS, type SecretSnapshot } from '../../certs/secret-store.js';
import { type KeyPairPem, generateKeyPair, parseCertificate } from '../../certs/x509.js';
import { buildReport, duration, formatReport, reportFromSecret, runCerts } from '../../cli/certs.js';

class Capture {
  text = '';
  write(s: string | Uint8Array): boolean {
    this.text += typeof s === 'string' ? s : Buffer.from(s).toString();
    return true;
  }
}

const T0 = new Date('2030-01-01T00:00:00Z');
const cfg = resolveAuthorityConfig({ serviceName: 'redline-webhook', namespace: 'redline-system', ipAddresses: ['127.0.0.1'] });
let keys: KeyPairPem[];
let dir: string;

beforeAll(async () => {
  keys = await Promise.all([generateKeyPair(), generateKeyPair()]);
  dir = mkdtempSync(path.join(os.tmpdir(), 'redline-certs-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function authority(now = T0) {
  let i = 0;
  return apply(null, decide(null, cfg, now), cfg, now, { generateKeyPair: async () => keys[i++ % 2]! });
}

describe('redline certs', () => {
  it('usage: help, unknown subcommand and bad flags', async () => {
    const out = new Capture();
    expect(await runCerts([], { stdout: out })).toBe(2);
    expect(out.text).toContain('redline certs show');
    expect(await runCerts(['--help'], { stdout: out })).toBe(0);
    await expect(runCerts(['renew'])).rejects.toThrow(expect.objectContaining({ kind: 'usage', code: 'usage' }));
    await expect(runCerts(['show', '--bogus'])).rejects.toThrow(/--bogus/);
    await expect(runCerts(['show', 'extra'])).rejects.toThrow(/unexpected argument/);
    await expect(runCerts(['show', '--dir', dir, '--namespace', 'x'])).rejects.toThrow(/cannot be combined/);
    await expect(runCerts(['show', '--dir', dir, '--output', 'yaml'])).rejects.toThrow(/--output/);
    await expect(runCerts(['rotate', '--timeout', 'soon', '--kubeconfig', '/nonexistent'])).rejects.toThrow(/--timeout/);
    await expect(runCerts(['show', '--namespace', 'Bad_NS', '--kubeconfig', '/x'])).rejects.toThrow(/namespace/);
    // a runtime failure is exit 1 with a message, not a usage error
    const err = new Capture();
    expect(await runCerts(['show', '--kubeconfig', path.join(dir, 'missing-kubeconfig')], { stderr: err })).toBe(1);
    expect(err.text).toContain('missing-kubeconfig');
  });

  it('show --dir: text and JSON of a mounted Secret', async () => {
    const state = await authority(new Date());
    const mount = path.join(dir, 'mount');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(mount);
    for (const [k, v] of Object.entries(encodeSecretData(state))) writeFileSync(path.join(mount, k), Buffer.from(v, 'base64'));
    const out = new Capture();
    expect(await runCerts(['show', '--dir', mount], { stdout: out })).toBe(0);
    const serving = parseCertificate(state.serving.certPem);
    expect(out.text).toContain(`serial:       ${serving.serialHex}`);
    expect(out.text).toContain('DNS names:    redline-webhook, redline-webhook.redline-system, redline-webhook.redline-system.svc, redline-webhook.redline-system.svc.cluster.local');
    expect(out.text).toContain('IP addresses: 127.0.0.1');
    expect(out.text).toMatch(/not after: +\S+ \(89d 23h left\)/);
    expect(out.text).toMatch(/renewal: +\S+ \(in 59d \d+h; at 2\/3/);
    expect(out.text).toContain('CA bundle (1)');
    const json = new Capture();
    expect(await runCerts(['show', '--dir', mount, '--output', 'json'], { stdout: json })).toBe(0);
    const r = JSON.parse(json.text);
    expect(r.serving.serial).toBe(serving.serialHex);
    expect(r.caBundle[0].current).toBe(true);
    // serve's own mount carries only tls.crt and tls.key: fine, nothing to check the chain against
    const servedOnly = path.join(dir, 'served-only');
    mkdirSync(servedOnly);
    writeFileSync(path.join(servedOnly, 'tls.crt'), state.serving.certPem);
    writeFileSync(path.join(servedOnly, 'tls.key'), state.serving.keyPem);
    const only = new Capture();
    expect(await runCerts(['show', '--dir', servedOnly], { stdout: only })).toBe(0);
    expect(only.text).toContain('CA bundle (0)');
    // a broken key: exit 1 and the reason
    writeFileSync(path.join(mount, 'tls.key'), state.ca.keyPem);
    const bad = new Capture();
    expect(await runCerts(['show', '--dir', mount], { stdout: bad })).toBe(1);
    expect(bad.text).toContain('NOT USABLE: serving private key does not match the certificate');
  });

  it('reports from a Secret: owner, pending rotation, previous CAs, expiry and untrusted certificates', async () => {
    const a = await authority();
    const rotatedAt = new Date(T0.getTime() + 3600_000);
    let i = 0;
    const b = await apply(a, { action: 'renew-ca', reason: 'test' }, cfg, rotatedAt, { generateKeyPair: async () => keys[i++ % 2]! });
    const snap: SecretSnapshot = {
      namespace: 'redline-system',
      name: 'redline-webhook-tls',
      resourceVersion: '1',
      type: 'kubernetes.io/tls',
      data: encodeSecretData(b),
      labels: { ...SECRET_LABELS },
      annotations: { [ANNOTATION_ROTATE]: 'serving' },
    };
    const r = reportFromSecret(snap, rotatedAt);
    expect(r.managedBy).toBe('redline');
    expect(r.rotationRequested).toBe('serving');
    expect(r.caBundle.map((c) => c.current)).toEqual([true, false]);
    const text = formatReport(r, rotatedAt);
    expect(text).toContain('rotation requested: serving');
    expect(text).toContain('[previous]');
    expect(reportFromSecret({ ...snap, labels: {} }, rotatedAt).serving?.renewalAt).toBeNull();
    // expired
    const late = new Date(T0.getTime() + 200 * 86400_000);
    const expired = reportFromSecret(snap, late);
    expect(expired.serving?.ready).toBe(false);
    expect(formatReport(expired, late)).toMatch(/expired \d+d \d+h ago/);
    // a serving certificate no CA of the bundle signed
    const untrusted = buildReport({ source: 'x', managedBy: 'unknown', certPem: a.serving.certPem, keyPem: a.serving.keyPem, bundlePem: b.ca.certPem, caPem: b.ca.certPem, now: T0 });
    expect(untrusted.problem).toContain('no CA of the bundle signed');
    expect(buildReport({ source: 'x', managedBy: 'unknown', certPem: undefined, keyPem: undefined, bundlePem: undefined, caPem: undefined, now: T0 }).problem).toContain('missing');
  });

  it('formats durations', () => {
    expect(duration(90 * 86400_000 - 1000)).toBe('89d 23h');
    expect(duration(3 * 3600_000 + 2 * 60_000)).toBe('3h 02m');
    expect(duration(61_000)).toBe('1m 01s');
    expect(duration(-5_000)).toBe('5s');
  });
});
