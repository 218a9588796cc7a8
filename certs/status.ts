/**
 * Readiness view of the serving certificate: is what we would serve right now usable?
 */
import { keyMatchesCertificate, splitPemBundle, tryParseCertificate } from './x509.js';

export interface ServingStatus {
  ready: boolean;
  reason: string;
  notAfter?: Date;
}

/**
 * Not ready if the certificate or key is missing, the certificate is unparsable, not yet valid,
 * expired, or the key does not match it. `certPem` may be a chain; the first certificate is judged.
 */
export function servingStatus(
  certPem: string | null | undefined,
  keyPem: string | null | undefined,
  now: Date,
): ServingStatus {
  if (!certPem || certPem.trim() === '') return { ready: false, reason: 'serving certificate is missing' };
  if (!keyPem || keyPem.trim() === '') return { ready: false, reason: 'serving private key is missing' };
  const leaf = splitPemBundle(certPem)[0];
  const info = leaf === undefined ? null : tryParseCertificate(leaf);
  if (leaf === undefined || !info) return { ready: false, reason: 'serving certificate cannot be parsed' };
  const notAfter = info.notAfter;
  const t = now.getTime();
  if (t < info.notBefore.getTime()) {
    return { ready: false, reason: `serving certificate not yet valid (notBefore ${info.notBefore.toISOString()})`, notAfter };
  }
  if (t >= notAfter.getTime()) {
    return { ready: false, reason: `serving certificate expired at ${notAfter.toISOString()}`, notAfter };
  }
  if (!keyMatchesCertificate(leaf, keyPem)) {
    return { ready: false, reason: 'serving private key does not match the certificate', notAfter };
  }
  return { ready: true, reason: `serving certificate valid until ${notAfter.toISOString()}`, notAfter };
}
