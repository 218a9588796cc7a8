// Prometheus metrics of Redline's webhook certificates, in a Registry the caller passes in (serve's
// and the controller's each have their own). Label values are bounded: certificate ∈ {serving, ca},
// kind ∈ CertErrorKind; `serial` changes only on a rotation, and the expiry gauge is computed at
// scrape time from what is served/managed right now, so a rotated-away serial disappears at once.
//
//   redline_certificate_expiry_timestamp_seconds{certificate="serving"|"ca", serial}   notAfter, Unix s
//   redline_certificate_rotations_total{certificate="serving"|"ca"}                   new certs written
//   redline_certificate_errors_total{kind}                                           see CertErrorKind

import { Counter, Gauge, type Registry } from 'prom-client';
import { splitPemBundle, tryParseCertificate } from './x509.js';

export type CertificateRole = 'serving' | 'ca';

export type CertErrorKind =
  | 'secret_read' // the Secret could not be read (API error)
  | 'secret_write' // creating/updating the Secret failed (not a conflict)
  | 'secret_conflict' // a 409: someone else changed the Secret first; re-read and re-decided
  | 'secret_corrupt' // the Secret's data is unusable; a fresh authority is issued (managed mode)
  | 'external_invalid' // external mode: the Secret is missing or unusable; nothing Redline can fix
  | 'issue' // generating keys / issuing certificates failed
  | 'inject'; // patching caBundle into a webhook configuration failed

export const CERT_ERROR_KINDS: readonly CertErrorKind[] = Object.freeze([
  'secret_read',
  'secret_write',
  'secret_conflict',
  'secret_corrupt',
  'external_invalid',
  'issue',
  'inject',
]);

export interface ExposedCertificate {
  certificate: CertificateRole;
  /** PEM (the first certificate is used). */
  pem: string;
}

export const EXPIRY_METRIC = 'redline_certificate_expiry_timestamp_seconds';

/** A small cache: parsing a certificate costs ~0.1 ms, scrapes happen every few seconds. */
const parsed = new Map<string, { serial: string; notAfter: number } | null>();
function info(pem: string): { serial: string; notAfter: number } | null {
  let v = parsed.get(pem);
  if (v === undefined) {
    const first = splitPemBundle(pem)[0];
    const c = first === undefined ? null : tryParseCertificate(first);
    v = c ? { serial: c.serialHex, notAfter: Math.floor(c.notAfter.getTime() / 1000) } : null;
    if (parsed.size > 64) parsed.clear();
    parsed.set(pem, v);
  }
  return v;
}

/**
 * Registers redline_certificate_expiry_timestamp_seconds on `registry`, computed at scrape time from
 * `source()` (what is served or managed right now). Unparsable entries are skipped.
 */
export function registerCertificateExpiry(registry: Registry, source: () => readonly ExposedCertificate[]): Gauge<'certificate' | 'serial'> {
  return new Gauge({
    name: EXPIRY_METRIC,
    help: 'notAfter of a certificate (Unix seconds): the serving certificate, and each CA in the trusted bundle.',
    labelNames: ['certificate', 'serial'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const c of source()) {
        const i = info(c.pem);
        if (i) this.set({ certificate: c.certificate, serial: i.serial }, i.notAfter);
      }
    },
  });
}

/** The certificate metrics of the controller's CertManager. */
export class CertMetrics {
  readonly rotations: Counter<'certificate'>;
  readonly errors: Counter<'kind'>;
  readonly expiry: Gauge<'certificate' | 'serial'>;
  private exposed: readonly ExposedCertificate[] = [];

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.rotations = new Counter({
      name: 'redline_certificate_rotations_total',
      help: 'Certificates newly issued and written to the Secret, by certificate (serving, ca).',
      labelNames: ['certificate'] as const,
      registers,
    });
    this.errors = new Counter({
      name: 'redline_certificate_errors_total',
      help: `Certificate management errors by kind: ${CERT_ERROR_KINDS.join(', ')}.`,
      labelNames: ['kind'] as const,
      registers,
    });
    // Zero-initialise so rate() and alerts work before the first event.
    for (const c of ['serving', 'ca'] as const) this.rotations.labels(c).inc(0);
    for (const k of CERT_ERROR_KINDS) this.errors.labels(k).inc(0);
    this.expiry = registerCertificateExpiry(registry, () => this.exposed);
  }

  rotated(certificate: CertificateRole): void {
    this.rotations.labels(certificate).inc();
  }

  error(kind: CertErrorKind): void {
    this.errors.labels(kind).inc();
  }

  /** What the expiry gauge reports from now on: the serving certificate and each CA of the bundle. */
  expose(servingPem: string | null, caBundle: readonly string[]): void {
    this.exposed = [
      ...(servingPem ? [{ certificate: 'serving' as const, pem: servingPem }] : []),
      ...caBundle.map((pem) => ({ certificate: 'ca' as const, pem })),
    ];
  }
}
