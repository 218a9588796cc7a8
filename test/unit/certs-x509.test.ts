import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CLOCK_SKEW_BACKDATE_MS,
  type CertAndKey,
  type KeyPairPem,
  canonicalIp,
  generateKeyPair,
  isIssuedBy,
  issueCa,
  issueLeaf,
  keyMatchesCertificate,
  parseCertificate,
  splitPemBundle,
} from '../../certs/x509.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const SERVICE_DNS = 'redline-webhook.redline-system.svc';

let keys: KeyPairPem[] = [];
const key = (i: number): KeyPairPem => {
  const k = keys[i % keys.length];
  if (!k) throw new Error('key pool empty');
  return k;
};

beforeAll(async () => {
  keys = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()]);
});

/** Serves `leaf` over real TLS on 127.0.0.1 and connects with `ca` as the only trust anchors. */
async function tlsHandshake(leaf: CertAndKey, ca: string[], servername: string): Promise<void> {
  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await new Promise<void>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port, path: '/', ca, servername, agent: false, timeout: 10_000 },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('generateKeyPair', () => {
  it('returns PKCS#8 / SPKI PEM RSA-2048 keys', () => {
    const k = key(0);
    expect(k.privateKeyPem).toContain('-----BEGIN PRIVATE KEY-----');
    expect(k.publicKeyPem).toContain('-----BEGIN PUBLIC KEY-----');
  });
});

describe('issueCa / issueLeaf / parseCertificate', () => {
  const issuedAt = new Date('2030-01-01T00:00:00.000Z');

  it('issues a CA with the right extensions, backdated notBefore and positive 128-bit serial', () => {
    const ca = issueCa({ commonName: 'test-ca', notBefore: issuedAt, lifetimeMs: 10 * DAY, key: key(0) });
    const info = parseCertificate(ca.certPem);
    expect(info.subject).toBe('CN=test-ca');
    expect(info.issuer).toBe('CN=test-ca');
    expect(info.isCa).toBe(true);
    expect(info.notBefore.getTime()).toBe(issuedAt.getTime() - CLOCK_SKEW_BACKDATE_MS);
    expect(info.notAfter.getTime()).toBe(issuedAt.getTime() + 10 * DAY);
    expect(info.serialHex).toMatch(/^[89a-f][0-9a-f]{31}$/);
    expect(info.fingerprintSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(ca.keyPem).toBe(key(0).privateKeyPem);
    expect(keyMatchesCertificate(ca.certPem, ca.keyPem)).toBe(true);
    expect(isIssuedBy(ca.certPem, ca.certPem)).toBe(true);

    const legacy = new X509Certificate(ca.certPem).toLegacyObject() as unknown as Record<string, unknown>;
    expect(legacy['ca']).toBe(true);
    expect(legacy['ext_key_usage']).toBeUndefined();
    expect(new X509Certificate(ca.certPem).toString()).toContain('-----BEGIN CERTIFICATE-----');
  });

  it('serials are random', () => {
    const a = issueCa({ commonName: 'a', notBefore: issuedAt, lifetimeMs: DAY, key: key(0) });
    const b = issueCa({ commonName: 'a', notBefore: issuedAt, lifetimeMs: DAY, key: key(0) });
    expect(parseCertificate(a.certPem).serialHex).not.toBe(parseCertificate(b.certPem).serialHex);
  });

  it('issues a serving leaf with SANs, serverAuth EKU, signed by the CA', () => {
    const ca = issueCa({ commonName: 'test-ca', notBefore: issuedAt, lifetimeMs: 10 * DAY, key: key(0) });
    const leaf = issueLeaf(ca, {
      commonName: SERVICE_DNS,
      dnsNames: [SERVICE_DNS, `${SERVICE_DNS}.cluster.local`],
      ipAddresses: ['10.0.0.1', '::1', '2001:db8:0:0:1:0:0:1'],
      notBefore: issuedAt,
      lifetimeMs: DAY,
      key: key(1),
    });
    const info = parseCertificate(leaf.certPem);
    expect(info.subject).toBe(`CN=${SERVICE_DNS}`);
    expect(info.issuer).toBe('CN=test-ca');
    expect(info.isCa).toBe(false);
    expect(info.dnsNames).toEqual([SERVICE_DNS, `${SERVICE_DNS}.cluster.local`]);
    expect(info.ipAddresses).toEqual(['10.0.0.1', '::1', '2001:db8::1:0:0:1']);
    expect(info.notBefore.getTime()).toBe(issuedAt.getTime() - CLOCK_SKEW_BACKDATE_MS);
    expect(info.notAfter.getTime()).toBe(issuedAt.getTime() + DAY);
    expect(isIssuedBy(leaf.certPem, ca.certPem)).toBe(true);
    expect(keyMatchesCertificate(leaf.certPem, leaf.keyPem)).toBe(true);
    expect(keyMatchesCertificate(leaf.certPem, ca.keyPem)).toBe(false);

    const x = new X509Certificate(leaf.certPem);
    expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth
    const text = x.toLegacyObject() as unknown as Record<string, unknown>;
    expect(text['ca']).toBe(false);
  });

  it('does not accept a leaf from a different CA (AKI/signature)', () => {
    const ca = issueCa({ commonName: 'same-name', notBefore: issuedAt, lifetimeMs: DAY, key: key(0) });
    const other = issueCa({ commonName: 'same-name', notBefore: issuedAt, lifetimeMs: DAY, key: key(2) });
    const leaf = issueLeaf(ca, { commonName: 'x', dnsNames: ['x'], notBefore: issuedAt, lifetimeMs: HOUR, key: key(1) });
    expect(isIssuedBy(leaf.certPem, ca.certPem)).toBe(true);
    expect(isIssuedBy(leaf.certPem, other.certPem)).toBe(false);
  });

  it('clamps a leaf to its CA notAfter and rejects empty SANs / bad IPs / bad lifetimes', () => {
    const ca = issueCa({ commonName: 'short-ca', notBefore: issuedAt, lifetimeMs: DAY, key: key(0) });
    const leaf = issueLeaf(ca, { commonName: 'x', dnsNames: ['x'], notBefore: issuedAt, lifetimeMs: 30 * DAY, key: key(1) });
    expect(parseCertificate(leaf.certPem).notAfter).toEqual(parseCertificate(ca.certPem).notAfter);
    expect(() => issueLeaf(ca, { commonName: 'x', dnsNames: [], notBefore: issuedAt, lifetimeMs: HOUR, key: key(1) })).toThrow(
      /at least one/,
    );
    expect(() =>
      issueLeaf(ca, { commonName: 'x', dnsNames: ['x'], ipAddresses: ['300.1.1.1'], notBefore: issuedAt, lifetimeMs: HOUR, key: key(1) }),
    ).toThrow(/invalid IP/);
    expect(() => issueCa({ commonName: 'x', notBefore: issuedAt, lifetimeMs: 0, key: key(0) })).toThrow(/lifetime/);
  });

  it('handles validity after 2049 (GeneralizedTime)', () => {
    const late = new Date('2049-12-01T00:00:00Z');
    const ca = issueCa({ commonName: 'late', notBefore: late, lifetimeMs: 365 * DAY, key: key(0) });
    expect(parseCertificate(ca.certPem).notAfter.toISOString()).toBe('2050-12-01T00:00:00.000Z');
  });

  it('encodes subject and issuer names as UTF8String, which strict parsers (Go) accept for any name', () => {
    // '@' is not allowed in a PrintableString; Go's x509 refuses such a certificate outright.
    const ca = issueCa({ commonName: 'redline-webhook.redline-system-ca@1893456000', notBefore: issuedAt, lifetimeMs: 10 * DAY, key: key(0) });
    const leaf = issueLeaf(ca, { commonName: 'under_score', dnsNames: ['localhost'], notBefore: issuedAt, lifetimeMs: DAY, key: key(1) });
    const UTF8_STRING = 0x0c;
    const COMMON_NAME_OID = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]); // 2.5.4.3
    for (const pem of [ca.certPem, leaf.certPem]) {
      const der = new X509Certificate(pem).raw;
      let count = 0;
      for (let at = der.indexOf(COMMON_NAME_OID); at >= 0; at = der.indexOf(COMMON_NAME_OID, at + 1)) {
        expect(der[at + COMMON_NAME_OID.length]).toBe(UTF8_STRING);
        count++;
      }
      expect(count).toBe(2); // issuer and subject
    }
    expect(parseCertificate(leaf.certPem).subject).toContain('under_score');
  });

  it('parseCertificate throws on garbage', () => {
    expect(() => parseCertificate('not a cert')).toThrow();
  });
});

describe('splitPemBundle / canonicalIp', () => {
  it('splits concatenated PEMs and ignores surrounding text and CRLF', () => {
    const issuedAt = new Date('2030-01-01T00:00:00Z');
    const a = issueCa({ commonName: 'a', notBefore: issuedAt, lifetimeMs: DAY, key: key(0) }).certPem;
    const b = issueCa({ commonName: 'b', notBefore: issuedAt, lifetimeMs: DAY, key: key(1) }).certPem;
    const text = `# comment\n${a.replace(/\n/g, '\r\n')}\nsome text\n${b}`;
    const parts = splitPemBundle(text);
    expect(parts).toEqual([a, b]);
    expect(splitPemBundle('')).toEqual([]);
    expect(splitPemBundle('garbage')).toEqual([]);
  });

  it('canonicalises IPs', () => {
    expect(canonicalIp('127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalIp('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalIp('2001:DB8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('localhost')).toBeNull();
    expect(canonicalIp('1.2.3')).toBeNull();
  });
});

describe('real TLS handshake', () => {
  it('a client trusting the CA bundle verifies the service name; a foreign CA fails; wrong name fails', async () => {
    const now = new Date(); // TLS verification uses the real clock
    const ca = issueCa({ commonName: 'redline-ca', notBefore: now, lifetimeMs: DAY, key: key(0) });
    const foreign = issueCa({ commonName: 'redline-ca', notBefore: now, lifetimeMs: DAY, key: key(2) });
    const leaf = issueLeaf(ca, {
      commonName: SERVICE_DNS,
      dnsNames: ['redline-webhook', 'redline-webhook.redline-system', SERVICE_DNS, `${SERVICE_DNS}.cluster.local`],
      ipAddresses: ['127.0.0.1'],
      notBefore: now,
      lifetimeMs: HOUR,
      key: key(1),
    });

    await expect(tlsHandshake(leaf, [ca.certPem], SERVICE_DNS)).resolves.toBeUndefined();
    // Bundle with an unrelated CA in it still works.
    await expect(tlsHandshake(leaf, [foreign.certPem, ca.certPem], SERVICE_DNS)).resolves.toBeUndefined();
    await expect(tlsHandshake(leaf, [foreign.certPem], SERVICE_DNS)).rejects.toThrow(
      /unable to verify|self.signed|signature|certificate/i,
    );
    await expect(tlsHandshake(leaf, [ca.certPem], 'evil.example.com')).rejects.toThrow(/altnames|Hostname/i);
  });
});
