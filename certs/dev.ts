/**
 * Development certificates: a local CA plus a serving certificate for localhost,
 * 127.0.0.1 and ::1, kept under a directory such as `.redline/dev/`.
 * Reused across runs while still valid; regenerated otherwise.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Clock } from './clock.js';
import {
  type KeyPairPem,
  generateKeyPair,
  isIssuedBy,
  issueCa,
  issueLeaf,
  keyMatchesCertificate,
  tryParseCertificate,
} from './x509.js';

const DAY_MS = 24 * 60 * 60 * 1000;
export const DEV_CA_LIFETIME_MS = 365 * DAY_MS;
export const DEV_SERVING_LIFETIME_MS = 365 * DAY_MS;
/** Existing dev certificates are reused only if they stay valid for more than this. */
export const DEV_MIN_REMAINING_MS = DAY_MS;
export const DEV_DNS_NAMES = ['localhost'];
export const DEV_IP_ADDRESSES = ['127.0.0.1', '::1'];

export interface DevCertificatePaths {
  caPath: string;
  certPath: string;
  keyPath: string;
  /** True if existing files were reused unchanged. */
  reused: boolean;
}

export interface DevCertificateOptions {
  /** Key source; defaults to node:crypto RSA-2048. */
  generateKeyPair?: () => Promise<KeyPairPem>;
}

export async function ensureDevCertificates(
  dir: string,
  clock: Clock,
  opts: DevCertificateOptions = {},
): Promise<DevCertificatePaths> {
  const caPath = resolve(dir, 'ca.crt');
  const certPath = resolve(dir, 'tls.crt');
  const keyPath = resolve(dir, 'tls.key');
  const now = clock();

  const [ca, cert, key] = await Promise.all([readIfExists(caPath), readIfExists(certPath), readIfExists(keyPath)]);
  if (ca !== undefined && cert !== undefined && key !== undefined && reusable(ca, cert, key, now)) {
    return { caPath, certPath, keyPath, reused: true };
  }

  const genKey = opts.generateKeyPair ?? generateKeyPair;
  const [caKey, leafKey] = await Promise.all([genKey(), genKey()]);
  const newCa = issueCa({
    commonName: `redline-dev-ca@${Math.floor(now.getTime() / 1000)}`,
    notBefore: now,
    lifetimeMs: DEV_CA_LIFETIME_MS,
    key: caKey,
  });
  const leaf = issueLeaf(newCa, {
    commonName: 'localhost',
    dnsNames: DEV_DNS_NAMES,
    ipAddresses: DEV_IP_ADDRESSES,
    notBefore: now,
    lifetimeMs: DEV_SERVING_LIFETIME_MS,
    key: leafKey,
  });

  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Key first: a crash between renames leaves a key/cert mismatch, which the next run detects and repairs.
  await writeAtomic(keyPath, leaf.keyPem, 0o600);
  await writeAtomic(certPath, leaf.certPem, 0o644);
  await writeAtomic(caPath, newCa.certPem, 0o644);
  return { caPath, certPath, keyPath, reused: false };
}

function reusable(caPem: string, certPem: string, keyPem: string, now: Date): boolean {
  const ca = tryParseCertificate(caPem);
  const leaf = tryParseCertificate(certPem);
  if (!ca || !leaf || !ca.isCa) return false;
  const t = now.getTime();
  for (const c of [ca, leaf]) {
    if (t < c.notBefore.getTime() || c.notAfter.getTime() - t <= DEV_MIN_REMAINING_MS) return false;
  }
  const dns = new Set(leaf.dnsNames.map((d) => d.toLowerCase()));
  if (!DEV_DNS_NAMES.every((d) => dns.has(d))) return false;
  if (!DEV_IP_ADDRESSES.every((ip) => leaf.ipAddresses.includes(ip))) return false;
  return keyMatchesCertificate(certPem, keyPem) && isIssuedBy(certPem, caPem);
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Write to a temp file in the same directory, then rename over the target (atomic on POSIX). */
async function writeAtomic(path: string, content: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(tmp, content, { mode, flag: 'wx' });
    await chmod(tmp, mode); // umask may have stripped bits; make the mode exact.
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
