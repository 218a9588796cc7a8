// Settings of the controller's certificate part (`controller.certs.*`): their type, defaults and
// table rows (appended to the controller's table, controller.ts), and the one check of their values
// (validateCertSettings) that the settings, the certificate authority and the CertManager all use.

import { isIP } from 'node:net';
import { RedlineError } from '../errors.js';
import { isDnsLabel } from '../names.js';
import { formatProblem, type FieldProblem } from '../result.js';
import { CERT_SECRET_DEFAULTS } from '../vocabulary.js';
import type { Setting } from './spec.js';

export const CERT_MODES = ['managed', 'external'] as const;
export type CertMode = (typeof CERT_MODES)[number];

export interface CertSettings {
  enabled: boolean;
  mode: CertMode;
  inject: boolean;
  namespace: string;
  secretName: string;
  serviceName: string;
  validatingWebhookConfiguration: string;
  mutatingWebhookConfiguration: string;
  caLifetimeMs: number;
  servingLifetimeMs: number;
  renewFraction: number;
  checkIntervalMs: number;
  resyncMs: number;
  caRolloutDelayMs: number;
  /** Extra SANs (config file only). */
  extraDnsNames: string[];
  ipAddresses: string[];
}

const DAY = 86_400_000;

export const DEFAULT_CERT_SETTINGS: Readonly<CertSettings> = Object.freeze({
  enabled: true,
  mode: 'managed' as CertMode,
  inject: true,
  ...CERT_SECRET_DEFAULTS,
  validatingWebhookConfiguration: 'redline',
  mutatingWebhookConfiguration: 'redline',
  caLifetimeMs: 5 * 365 * DAY,
  servingLifetimeMs: 90 * DAY,
  renewFraction: 2 / 3,
  checkIntervalMs: 10_000,
  resyncMs: 300_000,
  caRolloutDelayMs: 60_000,
  extraDnsNames: [] as string[],
  ipAddresses: [] as string[],
});

const d = DEFAULT_CERT_SETTINGS;

/** Rows of the controller's table; paths are inside the `controller:` section. */
export const CERT_SETTINGS: readonly Setting[] = Object.freeze([
  { path: 'certs.enabled', kind: 'bool', env: 'REDLINE_CONTROLLER_CERTS', flag: '--certs', default: d.enabled, doc: 'manage the webhook serving certificate Secret and the caBundle of the webhook configurations' },
  { path: 'certs.mode', kind: 'enum', values: CERT_MODES, env: 'REDLINE_CONTROLLER_CERTS_MODE', flag: '--certs-mode', default: d.mode, doc: 'managed: Redline issues and rotates a CA + serving certificate; external: the Secret is cert-manager\'s or yours (never written)' },
  { path: 'certs.inject', kind: 'bool', env: 'REDLINE_CONTROLLER_CERTS_INJECT', flag: '--certs-inject', default: d.inject, doc: 'server-side apply caBundle (field manager redline-cainjector) into the webhook configurations; off: leave it to cert-manager\'s cainjector' },
  { path: 'certs.namespace', kind: 'name', env: 'REDLINE_CONTROLLER_CERTS_NAMESPACE', flag: '--certs-namespace', default: d.namespace, doc: 'namespace of the Secret and of the webhook Service' },
  { path: 'certs.secretName', kind: 'name', env: 'REDLINE_CONTROLLER_CERTS_SECRET', flag: '--certs-secret', default: d.secretName, doc: 'the Secret (kubernetes.io/tls: tls.crt, tls.key, ca.crt, ca.key, ca-bundle.crt)' },
  { path: 'certs.serviceName', kind: 'name', env: 'REDLINE_CONTROLLER_CERTS_SERVICE', flag: '--certs-service', default: d.serviceName, doc: 'webhook Service: the certificate is for <service>, <service>.<ns>, <service>.<ns>.svc, <service>.<ns>.svc.cluster.local' },
  { path: 'certs.validatingWebhookConfiguration', kind: 'name', env: 'REDLINE_CONTROLLER_VALIDATING_WEBHOOK', flag: '--validating-webhook', default: d.validatingWebhookConfiguration, doc: 'ValidatingWebhookConfiguration whose every webhook gets the caBundle' },
  { path: 'certs.mutatingWebhookConfiguration', kind: 'name', env: 'REDLINE_CONTROLLER_MUTATING_WEBHOOK', flag: '--mutating-webhook', default: d.mutatingWebhookConfiguration, doc: 'MutatingWebhookConfiguration whose every webhook gets the caBundle' },
  { path: 'certs.caLifetimeMs', kind: 'int', env: 'REDLINE_CONTROLLER_CERTS_CA_LIFETIME_MS', default: d.caLifetimeMs, min: DAY, max: 20 * 365 * DAY, doc: 'CA lifetime (default 5 years); renewed at renewFraction, the old CA stays trusted until it expires' },
  { path: 'certs.servingLifetimeMs', kind: 'int', env: 'REDLINE_CONTROLLER_CERTS_SERVING_LIFETIME_MS', default: d.servingLifetimeMs, min: 3_600_000, max: 5 * 365 * DAY, doc: 'serving certificate lifetime (default 90 days), never past the CA\'s' },
  { path: 'certs.renewFraction', kind: 'number', env: 'REDLINE_CONTROLLER_CERTS_RENEW_FRACTION', default: d.renewFraction, min: 0.1, max: 0.9, doc: 'renew a certificate once this fraction of its lifetime has passed (default 2/3)' },
  { path: 'certs.checkIntervalMs', kind: 'int', env: 'REDLINE_CONTROLLER_CERTS_CHECK_INTERVAL_MS', default: d.checkIntervalMs, min: 1_000, max: 600_000, doc: 'wall-clock poll: the leader reads the Secret this often and acts when something is due or changed' },
  { path: 'certs.resyncMs', kind: 'int', env: 'REDLINE_CONTROLLER_CERTS_RESYNC_MS', default: d.resyncMs, min: 10_000, max: DAY, doc: 'full check (Secret + caBundle of every webhook) at least this often' },
  { path: 'certs.caRolloutDelayMs', kind: 'int', env: 'REDLINE_CONTROLLER_CERTS_CA_ROLLOUT_DELAY_MS', default: d.caRolloutDelayMs, min: 0, max: 3_600_000, doc: 'CA rotation: time between injecting the bundle with the new CA and switching the serving certificate to it' },
  { path: 'certs.extraDnsNames', kind: 'list', env: 'REDLINE_CONTROLLER_CERTS_EXTRA_DNS_NAMES', default: d.extraDnsNames, doc: 'more DNS names for the serving certificate' },
  { path: 'certs.ipAddresses', kind: 'list', env: 'REDLINE_CONTROLLER_CERTS_IP_ADDRESSES', default: d.ipAddresses, doc: 'IP addresses for the serving certificate (a webhook registered by URL on an IP)' },
] satisfies Setting[]);

/**
 * Every check of certificate settings, in one place: each field that is present, then (`complete`:
 * all the fields the rules relate are given) what the per-field table cannot see — the serving
 * certificate outlives its CA; a CA rotation leaves no time before the serving certificate expires.
 * The table's narrower ranges (controller.ts) apply to settings an operator writes; this check is
 * what every user of the values (settings, authority, CertManager) needs to hold. A problem's path
 * is the field of CertSettings (e.g. servingLifetimeMs).
 */
export function validateCertSettings(s: Partial<CertSettings>, opts: { complete?: boolean } = {}): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const at = (path: string, message: string): void => void problems.push({ path, message });
  if (s.mode !== undefined && !(CERT_MODES as readonly string[]).includes(s.mode)) at('mode', `must be managed or external, got ${String(s.mode)}`);
  for (const k of ['serviceName', 'namespace'] as const) {
    const v = s[k];
    if (v !== undefined && !isDnsLabel(v)) at(k, `must be a DNS label, got ${JSON.stringify(v)}`);
  }
  for (const k of ['caLifetimeMs', 'servingLifetimeMs', 'checkIntervalMs', 'resyncMs'] as const) {
    const v = s[k];
    if (v !== undefined && (!Number.isFinite(v) || v <= 0)) at(k, `must be a positive number of ms, got ${v}`);
  }
  if (s.caRolloutDelayMs !== undefined && !(s.caRolloutDelayMs >= 0)) at('caRolloutDelayMs', `must be ≥ 0, got ${s.caRolloutDelayMs}`);
  if (s.renewFraction !== undefined && !(s.renewFraction > 0 && s.renewFraction < 1)) at('renewFraction', `must be in (0, 1), got ${s.renewFraction}`);
  for (const ip of s.ipAddresses ?? []) {
    if (isIP(ip) === 0) at('ipAddresses', `${JSON.stringify(ip)} is not an IP address`);
  }
  if (opts.complete && problems.length === 0) {
    const c = s as CertSettings;
    if (c.servingLifetimeMs >= c.caLifetimeMs) at('servingLifetimeMs', 'must be shorter than certs.caLifetimeMs');
    if (c.mode === 'managed' && c.servingLifetimeMs * (1 - c.renewFraction) <= c.caRolloutDelayMs + 2 * c.checkIntervalMs) {
      at('caRolloutDelayMs', 'must leave time before a serving certificate expires (lower it or raise servingLifetimeMs)');
    }
  }
  return problems;
}

/** validateCertSettings of complete settings, as `controller.certs.<field>: message` lines. */
export function checkCertSettings(s: CertSettings): string[] {
  return validateCertSettings(s, { complete: true }).map((p) => formatProblem({ ...p, path: `controller.certs.${p.path}` }));
}

/** Throws an Error listing every problem (for code that receives values from a caller, not a file). */
export function assertCertSettings(s: Partial<CertSettings>, opts: { complete?: boolean } = {}): void {
  const problems = validateCertSettings(s, opts);
  if (problems.length) throw new RedlineError('config-invalid', `invalid certificate settings: ${problems.map(formatProblem).join('; ')}`, { problems: problems.map(formatProblem) });
}
