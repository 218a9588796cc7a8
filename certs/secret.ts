/**
 * The one on-cluster format of Redline's certificate Secret, plus reading a
 * mounted Secret volume for bring-your-own certificates (e.g. cert-manager).
 *
 * Secret data keys (values base64, as in a Kubernetes Secret's `data`):
 *   tls.crt        serving certificate
 *   tls.key        serving private key
 *   ca.crt         current CA certificate
 *   ca.key         current CA private key
 *   ca-bundle.crt  all trusted CAs (current first, then previous not-yet-expired), concatenated
 *
 * readSecretTexts is the one reader of a Secret's data (every user goes through it): each key's
 * text, or why it has none. decodeSecretData judges those texts strictly (the state CertManager
 * rotates); salvageSecret keeps what can still be trusted from a Secret decodeSecretData refused.
 * Decoding never throws: it returns a failed Result whose problem names the offending key.
 */
import { RedlineError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuthorityState } from './authority.js';
import { servingStatus } from './status.js';
import { type CertAndKey, isParsablePrivateKey, keyMatchesCertificate, splitPemBundle, tryParseCertificate } from './x509.js';

export const SECRET_KEYS = {
  servingCert: 'tls.crt',
  servingKey: 'tls.key',
  caCert: 'ca.crt',
  caKey: 'ca.key',
  caBundle: 'ca-bundle.crt',
} as const;

export type SecretKey = (typeof SECRET_KEYS)[keyof typeof SECRET_KEYS];

/** One key of Secret data: its text, or why there is none. */
export type SecretText = Result<string, 'missing' | 'not-base64'>;

export type SecretTexts = Record<SecretKey, SecretText>;

/** Every key of the certificate Secret's data (base64 values) as text. Never throws. */
export function readSecretTexts(data: Record<string, string> | undefined | null): SecretTexts {
  const one = (key: SecretKey): SecretText => {
    const raw = data?.[key];
    if (raw === undefined || raw === null) return fail('missing');
    const text = decodeBase64Strict(raw);
    return text === null ? fail('not-base64') : ok(text);
  };
  return Object.fromEntries(Object.values(SECRET_KEYS).map((k) => [k, one(k)])) as SecretTexts;
}

/** The text of one key, or undefined when it is missing or not base64. */
export function textOf(texts: SecretTexts, key: SecretKey): string | undefined {
  const t = texts[key];
  return t.ok ? t.value : undefined;
}

/** What can still be trusted or served from a Secret that decodeSecretData refused. */
export interface Salvage {
  /** CA certificates not yet expired, from ca.crt and ca-bundle.crt. */
  cas: string[];
  /** The serving pair, when it is usable now. */
  serving: CertAndKey | null;
}

export function salvageSecret(data: Record<string, string>, now: Date): Salvage {
  const texts = readSecretTexts(data);
  const text = (k: SecretKey): string => textOf(texts, k) ?? '';
  const cas = [...splitPemBundle(text(SECRET_KEYS.caCert)), ...splitPemBundle(text(SECRET_KEYS.caBundle))].filter((pem) => {
    const i = tryParseCertificate(pem);
    return i !== null && i.isCa && now.getTime() < i.notAfter.getTime();
  });
  const certPem = splitPemBundle(text(SECRET_KEYS.servingCert))[0];
  const keyPem = text(SECRET_KEYS.servingKey);
  const serving = certPem && servingStatus(certPem, keyPem, now).ready ? { certPem, keyPem } : null;
  return { cas, serving };
}

export type DecodeResult = Result<AuthorityState, string>;

/** Serving material from a mounted Secret volume (bring-your-own mode). */
export interface ServingMaterial {
  /** Contents of tls.crt (leaf first, possibly followed by intermediates). */
  certPem: string;
  keyPem: string;
  /** CA certificates from ca-bundle.crt, or ca.crt if there is no ca-bundle.crt. */
  caBundle: string[];
  /** Which file caBundle came from. */
  caSource: 'ca-bundle.crt' | 'ca.crt';
}

export type ReadServingResult = Result<ServingMaterial, string>;

export function encodeSecretData(state: AuthorityState): Record<string, string> {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return {
    [SECRET_KEYS.servingCert]: b64(state.serving.certPem),
    [SECRET_KEYS.servingKey]: b64(state.serving.keyPem),
    [SECRET_KEYS.caCert]: b64(state.ca.certPem),
    [SECRET_KEYS.caKey]: b64(state.ca.keyPem),
    [SECRET_KEYS.caBundle]: b64(state.caBundle.join('')),
  };
}

/**
 * Decodes Secret `data`. Checks: every key present (ca-bundle.crt may be absent, then it defaults
 * to ca.crt), valid base64, PEM of the right kind, keys match their certificates.
 * It does NOT judge validity periods, SANs or issuer; that is decide()'s job.
 */
export function decodeSecretData(data: Record<string, string> | undefined | null): DecodeResult {
  try {
    return decodeUnsafe(data);
  } catch (err) {
    // Defensive: nothing above should throw, but this function must never throw.
    return fail(`cannot decode secret: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function decodeUnsafe(data: Record<string, string> | undefined | null): DecodeResult {
  if (!data || typeof data !== 'object' || Object.keys(data).length === 0) {
    return fail('secret has no data');
  }
  const texts = readSecretTexts(data);
  const text = (key: SecretKey, optional = false): Result<string | undefined, string> => {
    const t = texts[key];
    if (!t.ok && t.problem === 'missing') {
      return optional ? ok(undefined) : fail(`secret key "${key}" is missing`);
    }
    if (!t.ok) return fail(`secret key "${key}" is not valid base64`);
    if (t.value.trim() === '') return fail(`secret key "${key}" is empty`);
    return ok(t.value);
  };
  const cert = (key: SecretKey) => {
    const t = text(key);
    if (!t.ok) return t;
    const pem = splitPemBundle(t.value ?? '')[0];
    if (pem === undefined) return fail(`secret key "${key}" does not contain a PEM certificate`);
    if (!tryParseCertificate(pem)) return fail(`secret key "${key}" contains a corrupt certificate`);
    return ok(pem);
  };
  const key = (k: SecretKey) => {
    const t = text(k);
    if (!t.ok) return t;
    const v = t.value ?? '';
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v)) {
      return fail(`secret key "${k}" does not contain a PEM private key`);
    }
    if (!isParsablePrivateKey(v)) return fail(`secret key "${k}" contains a corrupt private key`);
    return ok(v);
  };

  const servingCert = cert(SECRET_KEYS.servingCert);
  if (!servingCert.ok) return servingCert;
  const servingKey = key(SECRET_KEYS.servingKey);
  if (!servingKey.ok) return servingKey;
  const caCert = cert(SECRET_KEYS.caCert);
  if (!caCert.ok) return caCert;
  const caKey = key(SECRET_KEYS.caKey);
  if (!caKey.ok) return caKey;

  if (!keyMatchesCertificate(servingCert.value, servingKey.value)) {
    return fail(`secret key "${SECRET_KEYS.servingKey}" does not match the certificate in "${SECRET_KEYS.servingCert}"`);
  }
  if (!keyMatchesCertificate(caCert.value, caKey.value)) {
    return fail(`secret key "${SECRET_KEYS.caKey}" does not match the certificate in "${SECRET_KEYS.caCert}"`);
  }

  let caBundle: string[];
  const bundleText = text(SECRET_KEYS.caBundle, true);
  if (!bundleText.ok) return bundleText;
  if (bundleText.value === undefined) {
    caBundle = [caCert.value];
  } else {
    caBundle = splitPemBundle(bundleText.value);
    if (caBundle.length === 0) {
      return fail(`secret key "${SECRET_KEYS.caBundle}" does not contain any PEM certificate`);
    }
    const bad = caBundle.findIndex((pem) => !tryParseCertificate(pem));
    if (bad >= 0) return fail(`secret key "${SECRET_KEYS.caBundle}" certificate #${bad + 1} is corrupt`);
  }

  return ok({
    ca: { certPem: caCert.value, keyPem: caKey.value },
    serving: { certPem: servingCert.value, keyPem: servingKey.value },
    caBundle,
  });
}

/**
 * Reads a mounted TLS Secret volume (bring-your-own mode): tls.crt, tls.key and
 * ca-bundle.crt (preferred) or ca.crt. Never throws. Validity periods are not judged
 * here (see servingStatus); only presence, parsability and key/cert match.
 */
export async function readServingFromFiles(dir: string): Promise<ReadServingResult> {
  try {
    const read = async (name: string): Promise<string | undefined> => {
      try {
        return await readFile(join(dir, name), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new RedlineError('certificate-unreadable', `cannot read ${join(dir, name)}: ${(err as Error).message}`, { cause: err });
      }
    };
    const [crt, keyPem, bundle, ca] = await Promise.all([
      read('tls.crt'),
      read('tls.key'),
      read('ca-bundle.crt'),
      read('ca.crt'),
    ]);
    if (crt === undefined) return fail(`file "tls.crt" is missing in ${dir}`);
    if (keyPem === undefined) return fail(`file "tls.key" is missing in ${dir}`);
    const chain = splitPemBundle(crt);
    const leaf = chain[0];
    if (leaf === undefined) return fail(`file "tls.crt" does not contain a PEM certificate`);
    const badChain = chain.findIndex((pem) => !tryParseCertificate(pem));
    if (badChain >= 0) return fail(`file "tls.crt" certificate #${badChain + 1} is corrupt`);
    if (!isParsablePrivateKey(keyPem)) return fail(`file "tls.key" does not contain a valid private key`);
    if (!keyMatchesCertificate(leaf, keyPem)) {
      return fail(`file "tls.key" does not match the certificate in "tls.crt"`);
    }

    const caSource = bundle !== undefined && bundle.trim() !== '' ? 'ca-bundle.crt' : 'ca.crt';
    const caText = caSource === 'ca-bundle.crt' ? bundle : ca;
    if (caText === undefined || caText.trim() === '') {
      return fail(`neither "ca-bundle.crt" nor "ca.crt" (non-empty) found in ${dir}`);
    }
    const caBundle = splitPemBundle(caText);
    if (caBundle.length === 0) return fail(`file "${caSource}" does not contain a PEM certificate`);
    const badCa = caBundle.findIndex((pem) => !tryParseCertificate(pem));
    if (badCa >= 0) return fail(`file "${caSource}" certificate #${badCa + 1} is corrupt`);

    return ok({ certPem: chain.join(''), keyPem, caBundle, caSource });
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
}

/** Strict base64 (standard alphabet, whitespace tolerated, padding optional). Returns null if invalid. */
function decodeBase64Strict(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const s = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  if (s.length % 4 === 1) return null;
  const buf = Buffer.from(s, 'base64');
  const text = buf.toString('utf8');
  // Reject binary junk that happens to be valid base64.
  if (Buffer.from(text, 'utf8').length !== buf.length || text.includes('\u0000')) return null;
  return text;
}
