/**
 * Low-level X.509 helpers for Redline's webhook certificates.
 *
 * - Keys come from Node's native crypto (fast, non-blocking when async).
 *   node-forge builds the certificate and runs its signing procedure
 *   (TBSCertificate + SHA-256 digest); the RSA private-key operation itself
 *   is delegated to native crypto (see nativeRsaSigner). We never use
 *   forge's pure-JS RSA key generation or RSA math.
 * - Parsing uses node:crypto's X509Certificate (fast, native).
 * - Nothing in here reads the wall clock: issuance times are passed in.
 */
import { RedlineError } from '../core/errors.js';
import {
  X509Certificate,
  constants as cryptoConstants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair as nodeGenerateKeyPair,
  privateEncrypt,
  randomBytes,
} from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface KeyPairPem {
  /** PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"). */
  privateKeyPem: string;
  /** SPKI PEM ("-----BEGIN PUBLIC KEY-----"). */
  publicKeyPem: string;
}

export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

export interface IssueCaOptions {
  commonName: string;
  /** Issuance time. The certificate's notBefore is backdated by CLOCK_SKEW_BACKDATE_MS. */
  notBefore: Date;
  /** notAfter = notBefore (issuance time) + lifetimeMs. */
  lifetimeMs: number;
  key: KeyPairPem;
}

export interface IssueLeafOptions {
  commonName: string;
  dnsNames: string[];
  ipAddresses?: string[];
  /** Issuance time. The certificate's notBefore is backdated by CLOCK_SKEW_BACKDATE_MS. */
  notBefore: Date;
  /** notAfter = notBefore (issuance time) + lifetimeMs, clamped to the CA's notAfter. */
  lifetimeMs: number;
  key: KeyPairPem;
}

export interface CertInfo {
  subject: string;
  issuer: string;
  /** Lower-case hex, no leading zeros, no separators. */
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  /** DNS subjectAltNames, as written in the certificate. */
  dnsNames: string[];
  /** IP subjectAltNames, canonicalised (IPv4 dotted quad, IPv6 RFC 5952 compressed). */
  ipAddresses: string[];
  isCa: boolean;
  /** Colon-separated upper-case hex, as printed by openssl / X509Certificate.fingerprint256. */
  fingerprintSha256: string;
}

/**
 * Every certificate we issue has its notBefore set this far before the
 * issuance time, so that peers whose clocks run slightly behind ours (API
 * server, other replicas) do not reject a freshly issued certificate as
 * "not yet valid".
 */
export const CLOCK_SKEW_BACKDATE_MS = 5 * 60 * 1000;

export const RSA_MODULUS_BITS = 2048;

// ---------------------------------------------------------------------------
// Keys

/** Generates an RSA-2048 key pair with Node's native crypto, off the main thread. */
export function generateKeyPair(): Promise<KeyPairPem> {
  return new Promise((resolve, reject) => {
    nodeGenerateKeyPair(
      'rsa',
      {
        modulusLength: RSA_MODULUS_BITS,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      },
      (err, publicKey, privateKey) => {
        if (err) reject(err);
        else resolve({ privateKeyPem: privateKey, publicKeyPem: publicKey });
      },
    );
  });
}

// ---------------------------------------------------------------------------
// Issuance

/**
 * A subject with one commonName, encoded as UTF8String: forge's default PrintableString cannot hold
 * characters such as '@' or '_', and Go's x509 (the kube-apiserver calling the webhook) rejects
 * such a certificate outright.
 */
function subjectName(commonName: string): forge.pki.CertificateField[] {
  return [{ name: 'commonName', value: commonName, valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class }];
}

/** Issues a self-signed CA certificate for `opts.key`. */
export function issueCa(opts: IssueCaOptions): CertAndKey {
  const publicKey = forgePublicKey(opts.key);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerialHex();
  setValidity(cert, opts.notBefore, opts.lifetimeMs);
  const name = subjectName(opts.commonName);
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(nativeRsaSigner(opts.key.privateKeyPem), forge.md.sha256.create());
  return { certPem: normalizePem(forge.pki.certificateToPem(cert)), keyPem: opts.key.privateKeyPem };
}

/** Issues a TLS server certificate for `opts.key`, signed by `ca`. */
export function issueLeaf(ca: CertAndKey, opts: IssueLeafOptions): CertAndKey {
  const ipAddresses = opts.ipAddresses ?? [];
  if (opts.dnsNames.length === 0 && ipAddresses.length === 0) {
    throw new RedlineError('config-invalid', 'issueLeaf: at least one DNS name or IP address is required');
  }
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const publicKey = forgePublicKey(opts.key);

  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerialHex();
  setValidity(cert, opts.notBefore, opts.lifetimeMs);
  // Never outlive the issuing CA: a leaf valid past its CA is useless anyway.
  if (cert.validity.notAfter.getTime() > caCert.validity.notAfter.getTime()) {
    cert.validity.notAfter = new Date(caCert.validity.notAfter.getTime());
  }
  cert.setSubject(subjectName(opts.commonName));
  cert.setIssuer(caCert.subject.attributes);

  const altNames: Array<{ type: number; value: string }> = [];
  for (const dns of opts.dnsNames) altNames.push({ type: 2, value: dns });
  for (const ip of ipAddresses) {
    const bytes = ipToBytes(ip);
    if (!bytes) throw new RedlineError('config-invalid', `issueLeaf: invalid IP address ${JSON.stringify(ip)}`);
    // Raw bytes: forge's own IPv6 parser is unreliable, so we pass the octets.
    altNames.push({ type: 7, value: bytes.toString('binary') });
  }

  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: subjectKeyIdentifierBytes(caCert) },
  ]);
  cert.sign(nativeRsaSigner(ca.keyPem), forge.md.sha256.create());
  return { certPem: normalizePem(forge.pki.certificateToPem(cert)), keyPem: opts.key.privateKeyPem };
}

// ---------------------------------------------------------------------------
// Parsing & checks

/** Parses one PEM certificate (the first one if given a bundle). Throws on invalid input. */
export function parseCertificate(pem: string): CertInfo {
  const x = new X509Certificate(pem);
  const notBefore = new Date(x.validFrom);
  const notAfter = new Date(x.validTo);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw new RedlineError('certificate-invalid', `cannot parse certificate validity (${x.validFrom} / ${x.validTo})`);
  }
  const { dnsNames, ipAddresses } = parseSubjectAltName(x.subjectAltName);
  return {
    subject: x.subject.split('\n').join(', '),
    issuer: x.issuer.split('\n').join(', '),
    serialHex: x.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''),
    notBefore,
    notAfter,
    dnsNames,
    ipAddresses,
    isCa: x.ca,
    fingerprintSha256: x.fingerprint256,
  };
}

/** Like parseCertificate but returns null instead of throwing. */
export function tryParseCertificate(pem: string): CertInfo | null {
  try {
    return parseCertificate(pem);
  } catch {
    return null;
  }
}

/** Splits text into its PEM CERTIFICATE blocks (normalised to "\n" line endings, trailing newline). */
export function splitPemBundle(text: string): string[] {
  const re = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
  return (text.match(re) ?? []).map(normalizePem);
}

/** True if `keyPem` is the private key for the (first) certificate in `certPem`. Never throws. */
export function keyMatchesCertificate(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** True if `certPem` names `caPem` as its issuer and carries a valid signature from it. Never throws. */
export function isIssuedBy(certPem: string, caPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** True if the string parses as a private key (any format Node understands). Never throws. */
export function isParsablePrivateKey(keyPem: string): boolean {
  try {
    createPrivateKey(keyPem);
    return true;
  } catch {
    return false;
  }
}

/** Canonical text form of an IP address (IPv6 compressed per WHATWG/RFC 5952), or null if invalid. */
export function canonicalIp(ip: string): string | null {
  const v = isIP(ip);
  if (v === 4) return ip.split('.').map((o) => String(Number(o))).join('.');
  if (v === 6) {
    try {
      return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
    } catch {
      return null;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------
// Internals

function forgePublicKey(key: KeyPairPem): forge.pki.rsa.PublicKey {
  // Guard against a mismatched pair: the certificate would carry a key nobody holds.
  const spki = (pem: string) => createPublicKey(pem).export({ type: 'spki', format: 'der' });
  if (!spki(key.privateKeyPem).equals(spki(key.publicKeyPem))) {
    throw new RedlineError('certificate-invalid', 'key pair mismatch: publicKeyPem does not belong to privateKeyPem');
  }
  return forge.pki.publicKeyFromPem(key.publicKeyPem) as forge.pki.rsa.PublicKey;
}

// DER prefix of DigestInfo { AlgorithmIdentifier sha256, NULL } for a 32-byte digest (RFC 8017 §9.2 note 1).
const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * A signer for forge's `cert.sign(key, md)`: forge builds the TBSCertificate and computes the
 * SHA-256 digest; the RSA private-key operation (RSASSA-PKCS1-v1_5 over DigestInfo) is done by
 * Node's native crypto. forge's pure-JS RSA takes ~100 ms per signature and blocks the event
 * loop; native takes ~1-2 ms. The resulting signature is byte-identical to forge's.
 */
function nativeRsaSigner(privateKeyPem: string): forge.pki.rsa.PrivateKey {
  const key = createPrivateKey(privateKeyPem);
  const signer = {
    sign(md: forge.md.MessageDigest): string {
      if (md.algorithm !== 'sha256') throw new RedlineError('certificate-invalid', `unsupported digest ${md.algorithm}`);
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      const digestInfo = Buffer.concat([SHA256_DIGEST_INFO_PREFIX, digest]);
      return privateEncrypt({ key, padding: cryptoConstants.RSA_PKCS1_PADDING }, digestInfo).toString('binary');
    },
  };
  return signer as unknown as forge.pki.rsa.PrivateKey;
}

function setValidity(cert: forge.pki.Certificate, issuedAt: Date, lifetimeMs: number): void {
  if (!Number.isFinite(lifetimeMs) || lifetimeMs <= 0) {
    throw new RedlineError('config-invalid', `certificate lifetime must be a positive number of ms, got ${lifetimeMs}`);
  }
  const t = issuedAt.getTime();
  if (Number.isNaN(t)) throw new RedlineError('config-invalid', 'certificate issuance time is an invalid Date');
  // X.509 times have 1-second resolution; truncate so that what we compute is what gets encoded.
  const floorSec = (ms: number) => Math.floor(ms / 1000) * 1000;
  cert.validity.notBefore = new Date(floorSec(t - CLOCK_SKEW_BACKDATE_MS));
  cert.validity.notAfter = new Date(floorSec(t + lifetimeMs));
}

/** Random positive 128-bit serial, DER-minimal: top bit forced on and a 0x00 sign octet prepended. */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) | 0x80;
  return `00${bytes.toString('hex')}`;
}

function subjectKeyIdentifierBytes(cert: forge.pki.Certificate): string {
  const ext = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  if (ext?.subjectKeyIdentifier) return forge.util.hexToBytes(ext.subjectKeyIdentifier);
  return cert.generateSubjectKeyIdentifier().getBytes();
}

function normalizePem(pem: string): string {
  return `${pem.replace(/\r\n?/g, '\n').trim()}\n`;
}

function ipToBytes(ip: string): Buffer | null {
  const canon = canonicalIp(ip);
  if (canon === null) return null;
  if (isIP(canon) === 4) return Buffer.from(canon.split('.').map(Number));
  // canon is compressed IPv6 without an embedded IPv4 part (WHATWG serialisation).
  const [head = '', tail] = canon.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return null;
  const buf = Buffer.alloc(16);
  groups.forEach((g, i) => buf.writeUInt16BE(parseInt(g, 16), i * 2));
  return buf;
}

/**
 * Parses X509Certificate.subjectAltName, e.g.
 * `DNS:a.example, DNS:"odd\u002cname", IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1`.
 * Values containing special characters are JSON-quoted by Node.
 */
function parseSubjectAltName(san: string | undefined): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  if (!san) return { dnsNames, ipAddresses };
  let i = 0;
  while (i < san.length) {
    const colon = san.indexOf(':', i);
    if (colon < 0) break;
    const type = san.slice(i, colon).trim();
    let value: string;
    let j = colon + 1;
    if (san[j] === '"') {
      // JSON string literal: find the closing unescaped quote.
      let k = j + 1;
      while (k < san.length && san[k] !== '"') k += san[k] === '\\' ? 2 : 1;
      const literal = san.slice(j, k + 1);
      try {
        value = JSON.parse(literal) as string;
      } catch {
        value = literal.slice(1, -1);
      }
      j = k + 1;
    } else {
      const comma = san.indexOf(', ', j);
      const end = comma < 0 ? san.length : comma;
      value = san.slice(j, end);
      j = end;
    }
    if (type === 'DNS') dnsNames.push(value);
    else if (type === 'IP Address') ipAddresses.push(canonicalIp(value) ?? value);
    // skip ", "
    const next = san.indexOf(', ', j);
    i = next < 0 ? san.length : next + 2;
  }
  return { dnsNames, ipAddresses };
}
