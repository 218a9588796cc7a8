import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../certs/clock.js';
import { DEV_CA_LIFETIME_MS, ensureDevCertificates } from '../../certs/dev.js';
import { type KeyPairPem, generateKeyPair, isIssuedBy, parseCertificate } from '../../certs/x509.js';

const DAY = 24 * 3600_000;

let keys: KeyPairPem[] = [];
let n = 0;
const generate = async (): Promise<KeyPairPem> => keys[n++ % keys.length] as KeyPairPem;
let root: string;

beforeAll(async () => {
  keys = await Promise.all(Array.from({ length: 4 }, () => generateKeyPair()));
  root = await mkdtemp(join(tmpdir(), 'redline-certs-dev-'));
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function snapshot(paths: string[]) {
  return Promise.all(paths.map(async (p) => ({ content: await readFile(p, 'utf8'), mtimeMs: (await stat(p)).mtimeMs })));
}

describe('ensureDevCertificates', () => {
  it('creates CA + localhost serving cert with a 0600 key, then reuses them unchanged', async () => {
    const dir = join(root, 'a', '.redline', 'dev');
    const t0 = new Date('2030-01-01T00:00:00Z');
    const clock: Clock = () => t0;
    const first = await ensureDevCertificates(dir, clock, { generateKeyPair: generate });
    expect(first.reused).toBe(false);
    expect(first.caPath).toBe(join(dir, 'ca.crt'));
    expect(first.certPath).toBe(join(dir, 'tls.crt'));
    expect(first.keyPath).toBe(join(dir, 'tls.key'));
    expect((await stat(first.keyPath)).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']); // no temp files left

    const ca = await readFile(first.caPath, 'utf8');
    const cert = await readFile(first.certPath, 'utf8');
    const info = parseCertificate(cert);
    expect(info.dnsNames).toEqual(['localhost']);
    expect(info.ipAddresses).toEqual(['127.0.0.1', '::1']);
    expect(parseCertificate(ca).isCa).toBe(true);
    expect(isIssuedBy(cert, ca)).toBe(true);

    const before = await snapshot([first.caPath, first.certPath, first.keyPath]);
    const later: Clock = () => new Date(t0.getTime() + 30 * DAY);
    const second = await ensureDevCertificates(dir, later, { generateKeyPair: generate });
    expect(second).toEqual({ ...first, reused: true });
    expect(await snapshot([first.caPath, first.certPath, first.keyPath])).toEqual(before);
  });

  it('regenerates when expired or about to expire (<= 1 day left)', async () => {
    const dir = join(root, 'b');
    const t0 = new Date('2030-01-01T00:00:00Z');
    const first = await ensureDevCertificates(dir, () => t0, { generateKeyPair: generate });
    const oldCert = await readFile(first.certPath, 'utf8');

    const almost = new Date(t0.getTime() + DEV_CA_LIFETIME_MS - DAY);
    const second = await ensureDevCertificates(dir, () => almost, { generateKeyPair: generate });
    expect(second.reused).toBe(false);
    const newCert = await readFile(second.certPath, 'utf8');
    expect(newCert).not.toBe(oldCert);
    expect(parseCertificate(newCert).notAfter.getTime()).toBeGreaterThan(almost.getTime() + 300 * DAY);

    const expired = new Date(t0.getTime() + 3 * DEV_CA_LIFETIME_MS);
    const third = await ensureDevCertificates(dir, () => expired, { generateKeyPair: generate });
    expect(third.reused).toBe(false);
    expect(parseCertificate(await readFile(third.certPath, 'utf8')).notBefore.getTime()).toBeLessThan(expired.getTime());
  });

  it('regenerates when files are corrupt, missing or mismatched', async () => {
    const dir = join(root, 'c');
    const clock: Clock = () => new Date('2030-01-01T00:00:00Z');
    const first = await ensureDevCertificates(dir, clock, { generateKeyPair: generate });
    await writeFile(first.keyPath, 'garbage');
    expect((await ensureDevCertificates(dir, clock, { generateKeyPair: generate })).reused).toBe(false);
    await rm(first.caPath);
    expect((await ensureDevCertificates(dir, clock, { generateKeyPair: generate })).reused).toBe(false);
    expect((await ensureDevCertificates(dir, clock, { generateKeyPair: generate })).reused).toBe(true);
  });

  it('serves real TLS for localhost and 127.0.0.1 with the default (native) key generator', async () => {
    const dir = join(root, 'd');
    const paths = await ensureDevCertificates(dir, () => new Date());
    const [ca, cert, key] = await Promise.all([paths.caPath, paths.certPath, paths.keyPath].map((p) => readFile(p, 'utf8')));
    const server = https.createServer({ cert, key }, (_q, r) => r.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const get = (servername?: string) =>
      new Promise<void>((resolve, reject) => {
        const req = https.request(
          { host: '127.0.0.1', port, ca, agent: false, ...(servername ? { servername } : {}) },
          (res) => {
            res.resume();
            res.on('end', resolve);
          },
        );
        req.on('error', reject);
        req.end();
      });
    try {
      await get('localhost');
      await get(); // verifies against IP SAN 127.0.0.1
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
